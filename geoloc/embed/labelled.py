"""Labelled embeddings for the re-id, few-shot and clustering commands, from any user source.

- an embedding HDF5 (the embed stage's schema): labels are `species_key`, or identities joined
  from a CSV with `gbif_id` and `identity` columns;
- an image folder with one sub-folder per identity, or a CSV with `path` and `identity` columns
  (paths relative to the CSV): images are embedded on the fly with an image backbone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from geoloc.embed.images import image_files
from geoloc.errors import GeolocError


def from_embeddings(path, identities_csv=None, label_column: str = "identity"):
    """(embeddings, labels) from an HDF5 store; unlabelled rows (-1 or no identity) dropped."""
    import pandas as pd

    from geoloc.embed.store import read_embeddings

    table = read_embeddings(path)
    if identities_csv is None:
        labels = table.species_key
        keep = labels >= 0
        return table.embedding[keep], labels[keep]
    ids = pd.read_csv(identities_csv)
    missing = {"gbif_id", label_column} - set(ids.columns)
    if missing:
        raise GeolocError(f"{identities_csv}: missing column(s) {', '.join(sorted(missing))}")
    mapping = dict(zip(ids["gbif_id"].astype(np.int64), ids[label_column].astype(str), strict=True))
    labels = np.array([mapping.get(int(g), "") for g in table.gbif_id])
    keep = labels != ""
    if not keep.any():
        raise GeolocError(f"{identities_csv}: no gbif_id matches the embedding file {path}")
    return table.embedding[keep], labels[keep]


def list_images(source, label_column: str = "identity") -> tuple[list[Path], np.ndarray]:
    """Image paths and labels from a folder of per-identity sub-folders or a CSV."""
    import pandas as pd

    source = Path(source)
    if source.is_dir():
        paths = [p for p in image_files(source) if p.parent != source]
        if not paths:
            raise GeolocError(f"{source}: no images in per-identity sub-folders")
        return paths, np.array([p.parent.name for p in paths])
    if source.suffix.lower() != ".csv" or not source.is_file():
        raise GeolocError(f"{source}: expected an .h5 file, an image folder or a CSV")
    table = pd.read_csv(source)
    missing = {"path", label_column} - set(table.columns)
    if missing:
        raise GeolocError(f"{source}: missing column(s) {', '.join(sorted(missing))}")
    paths = [p if p.is_absolute() else source.parent / p for p in map(Path, table["path"])]
    return paths, table[label_column].astype(str).to_numpy()


def open_rgb(path):
    """One image file as RGB; an unreadable file is a user error naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, UnidentifiedImageError) as err:
        raise GeolocError(f"{path}: cannot be read as an image ({err})") from None


def embed_images(paths, backbone: str, image_size=None, device="cpu", batch_size: int = 32):
    """L2-normalised embeddings of image files, read in batches."""
    from geoloc.embed.backbones import get_backbone

    model = get_backbone(backbone, image_size=image_size, device=device)
    out = []
    for start in tqdm(range(0, len(paths), batch_size), desc="embed images", unit="batch"):
        images = [open_rgb(p) for p in paths[start : start + batch_size]]
        out.append(model.embed_pil(images, batch_size=batch_size))
    return np.concatenate(out).astype(np.float32)


def load_labelled(
    source,
    *,
    label_column: str = "identity",
    identities_csv=None,
    backbone: str = "efficientnet-lite0",
    image_size=None,
    device="cpu",
):
    """(embeddings, labels) from an .h5 store, an image folder or a CSV of images."""
    source = Path(source)
    if not source.exists():
        raise GeolocError(f"not found: {source}")
    if source.suffix.lower() in (".h5", ".hdf5"):
        return from_embeddings(source, identities_csv, label_column)
    paths, labels = list_images(source, label_column)
    return embed_images(paths, backbone, image_size, device), labels
