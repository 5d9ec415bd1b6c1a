"""Identifying image files with a saved identifier: embed with the model's backbone, route,
and tabulate. Unreadable images are listed apart and never stop the run.

Location, when known, sharpens the answer through the location prior: one (lat, lon) for all
images given by the caller, otherwise each image's EXIF GPS tags, otherwise image-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geoloc.errors import GeolocError
from geoloc.identify.hybrid import REJECTED
from geoloc.identify.model import IdentifierModel

COLUMNS = (
    "image",
    "species_pred",
    "confidence",
    "method",
    "species_key",
    "rank_pred",
    "rank_confidence",
    "lat",
    "lon",
    "location_source",
    "classifier_top3",
    "prototype_top3",
    "prior_top3",
)
ERROR_COLUMNS = ("image", "reason")
UNKNOWN = "?"
GPS_IFD = 0x8825


def _degrees(dms, ref) -> float:
    value = float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600
    return -value if ref in ("S", "W", b"S", b"W") else value


def exif_latlon(image) -> tuple[float, float] | None:
    """(lat, lon) in degrees from a PIL image's EXIF GPS tags, or None when absent or invalid."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
        lat, lon = _degrees(gps[2], gps.get(1, "N")), _degrees(gps[4], gps.get(3, "E"))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError, AttributeError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


@dataclass
class Loaded:
    path: Path
    image: object  # PIL.Image in RGB
    location: tuple[float, float] | None
    source: str


def _open(path: Path, location: tuple[float, float] | None) -> Loaded:
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        gps = exif_latlon(img)
        rgb = img.convert("RGB")
    if location is not None:
        return Loaded(path, rgb, location, "given")
    return Loaded(path, rgb, gps, "exif" if gps else "")


def _top3(proba_row: np.ndarray, names: list[str]) -> str:
    order = np.argsort(-proba_row, kind="stable")[:3]
    return ";".join(f"{names[i]}:{proba_row[i]:.3f}" for i in order)


def _rows(batch: list[Loaded], X: np.ndarray, model: IdentifierModel, root: Path) -> list[dict]:
    """Identify one embedded batch; images with and without a location go separately."""
    out: list[dict | None] = [None] * len(batch)
    rank_p = model.rank_classifier.predict_proba(X)
    common_names = [model.species_names[i] for i in model.common_idx]
    located = np.array([b.location is not None for b in batch])
    for has_place in (True, False):
        idx = np.flatnonzero(located == has_place)
        if not len(idx):
            continue
        lat = np.array([batch[i].location[0] for i in idx]) if has_place else None
        lon = np.array([batch[i].location[1] for i in idx]) if has_place else None
        routed, comps = model.identify(X[idx], lat, lon)
        methods = routed.method
        for j, i in enumerate(idx):
            pred = int(routed.pred[j])
            item = batch[i]
            out[i] = {
                "image": _relative(item.path, root),
                "species_pred": UNKNOWN if pred == REJECTED else model.species_names[pred],
                "confidence": round(float(routed.confidence[j]), 4),
                "method": methods[j],
                "species_key": "" if pred == REJECTED else int(model.species_keys[pred]),
                "rank_pred": model.rank_names[int(rank_p[i].argmax())],
                "rank_confidence": round(float(rank_p[i].max()), 4),
                "lat": item.location[0] if has_place else "",
                "lon": item.location[1] if has_place else "",
                "location_source": item.source,
                "classifier_top3": _top3(comps["classifier"][j], common_names)
                if comps["classifier"].shape[1]
                else "",
                "prototype_top3": _top3(comps["prototype"][j], model.species_names),
                "prior_top3": _top3(comps["prior"][j], model.species_names)
                if "prior" in comps
                else "",
            }
    return out


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def identify_images(
    paths: list[Path],
    model: IdentifierModel,
    backbone,
    location: tuple[float, float] | None = None,
    batch_size: int = 32,
    root: Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results, errors) tables for `paths`; `backbone` has `.embed_pil(images) -> (N, D)`."""
    if location is not None and not (-90 <= location[0] <= 90 and -180 <= location[1] <= 180):
        raise GeolocError(f"location must be lat in [-90, 90], lon in [-180, 180]: {location}")
    root = root or Path(".")
    rows, errors = [], []
    progress = tqdm(total=len(paths), desc="identify", unit="img")
    for start in range(0, len(paths), batch_size):
        batch = []
        for path in paths[start : start + batch_size]:
            try:
                batch.append(_open(path, location))
            except Exception as err:  # any undecodable file is reported, never fatal
                errors.append(
                    {"image": _relative(path, root), "reason": f"{type(err).__name__}: {err}"}
                )
        if batch:
            X = np.asarray(backbone.embed_pil([b.image for b in batch]), dtype=np.float32)
            if X.shape[1] != model.info.get("dim", X.shape[1]):
                raise GeolocError(
                    f"backbone gives {X.shape[1]}-d embeddings but the model was trained on "
                    f"{model.info['dim']}-d ones ({model.info.get('backbone')})"
                )
            rows.extend(_rows(batch, X, model, root))
        progress.update(len(paths[start : start + batch_size]))
    progress.close()
    return pd.DataFrame(rows, columns=list(COLUMNS)), pd.DataFrame(
        errors, columns=list(ERROR_COLUMNS)
    )


def load_backbone(model: IdentifierModel, name: str | None = None, device="cpu"):
    """The image backbone the model was trained on (or `name`), from the embed registry."""
    from geoloc.embed.backbones import get_backbone

    name = name or model.info.get("backbone")
    if not name:
        raise GeolocError("the model does not record its backbone; pass --backbone")
    return get_backbone(name, image_size=model.info.get("image_size"), device=device)
