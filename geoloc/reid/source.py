"""What re-identification runs on: labelled photos (the synthetic individuals demo, an image
folder with one sub-folder per identity, a CSV of image paths) or labelled embeddings (.h5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geoloc.errors import GeolocError
from geoloc.layout import ReidPaths
from geoloc.params import ReidParams

EMBEDDING_SUFFIXES = (".h5", ".hdf5")


class ImagesOnDemand(Sequence):
    """Image files as a sequence of RGB images, each opened when read: a pass over a large
    folder holds one batch of photos in memory, not the whole folder."""

    def __init__(self, paths):
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        from geoloc.embed.labelled import open_rgb

        if isinstance(index, slice):
            return [open_rgb(path) for path in self.paths[index]]
        return open_rgb(self.paths[index])


@dataclass
class ReidSource:
    """Identity labels with either the photos (PIL images) or their embeddings."""

    labels: np.ndarray
    photos: Sequence | None = None
    embeddings: np.ndarray | None = None


def load_reid_source(p: ReidParams, paths: ReidPaths) -> ReidSource:
    """The photos or embeddings named by `paths.source` (None: the synthetic individuals)."""
    if paths.source is None:
        from geoloc.sim.individuals import make_reid_demo

        images, identities = make_reid_demo(
            p.demo_individuals, p.demo_photos, p.demo_image_size, seed=p.seed
        )
        return ReidSource(identities, photos=images)
    from geoloc.embed.labelled import from_embeddings, list_images

    source = Path(paths.source)
    if not source.exists():
        raise GeolocError(f"not found: {source}")
    if source.suffix.lower() in EMBEDDING_SUFFIXES:
        x, labels = from_embeddings(source, paths.identities, p.label_column)
        return ReidSource(labels, embeddings=x)
    if paths.identities is not None:
        raise GeolocError("an identities CSV labels an embedding (.h5) source, not photos")
    files, labels = list_images(source, p.label_column)
    return ReidSource(labels, photos=ImagesOnDemand(files))
