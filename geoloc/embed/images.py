"""Which files are images, and the images of a folder: one rule for every command that reads
photos (identification, re-identification, labelled sources)."""

from __future__ import annotations

from pathlib import Path

from geoloc.errors import GeolocError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})


def is_image_file(path: Path) -> bool:
    """A regular file whose suffix is an image format's."""
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def image_files(folder: str | Path) -> list[Path]:
    """Image files under `folder`, recursively, in a stable (sorted) order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GeolocError(f"image folder not found: {folder}")
    return sorted(p for p in folder.rglob("*") if is_image_file(p))
