"""The cluster step (stage `cluster`, command `geoloc cluster`): HDBSCAN with pseudo-label
refinement and few-shot accuracy on one set of embeddings.

The embeddings come from sounds (the synthetic bird calls, a folder or a CSV manifest of ROIs,
embedded as mel images) or from an embedding .h5 file. Without labels (unlabelled sounds, or an
.h5 whose species_key is -1) there is nothing to score against: only the cluster counts, no
ARI/NMI/purity and no few-shot keys.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geoloc.discovery.evaluate import discovery_metrics
from geoloc.errors import GeolocError
from geoloc.layout import ClusterPaths
from geoloc.params import Params

EMBEDDING_SUFFIXES = (".h5", ".hdf5")


@dataclass
class ClusterInput:
    """Embeddings with their row ids and, when known, integer labels."""

    embeddings: np.ndarray
    ids: np.ndarray
    truth: np.ndarray | None


def run_cluster(params: Params, paths: ClusterPaths) -> dict:
    """Cluster `paths.source`; write the metrics (and the assignments) where `paths` says."""
    from geoloc.io import write_csv, write_json
    from geoloc.runtime import seed_everything

    p = params.cluster
    seed_everything(p.seed)
    data = load_cluster_input(params, paths.source)
    pred, metrics = discovery_metrics(data.embeddings, data.truth, p)
    if paths.assignments is not None:
        import pandas as pd

        write_csv(pd.DataFrame({"gbif_id": data.ids, "cluster": pred}), paths.assignments)
    if paths.out is not None:
        write_json(paths.out, metrics)
    return metrics


def load_cluster_input(params: Params, source: Path | None) -> ClusterInput:
    """Embeddings of `source`: an .h5 file as stored, sounds embedded now (None: the demo's)."""
    if source is None:
        with tempfile.TemporaryDirectory() as tmp:  # regenerated from the seed: not an output
            from geoloc.sim.calls import write_calls_demo

            p = params.cluster
            return _embed_sounds(params, write_calls_demo(tmp, p.demo_per_type, seed=p.seed))
    source = Path(source)
    if not source.exists():
        raise GeolocError(f"not found: {source}")
    if source.suffix.lower() not in EMBEDDING_SUFFIXES:
        return _embed_sounds(params, source)
    from geoloc.embed.store import read_embeddings

    table = read_embeddings(source)
    labelled = bool((table.species_key >= 0).all())
    return ClusterInput(table.embedding, table.gbif_id, table.species_key if labelled else None)


def _embed_sounds(params: Params, source: Path) -> ClusterInput:
    """ROIs of a folder or CSV manifest as mel images through `cluster.backbone`."""
    from geoloc.embed.audio.rois import embed_rois, label_codes, list_rois
    from geoloc.runtime import resolve_device

    p = params.cluster
    rois = list_rois(source)
    x, _ = embed_rois(
        rois.paths,
        p.backbone,
        mel_image_size(p.backbone, p.image_size),
        p.audio,
        device=resolve_device(params.runtime.device),
    )
    truth = label_codes(rois.labels)[0] if rois.labels is not None else None
    return ClusterInput(x, np.arange(len(x), dtype=np.int64), truth)


def mel_image_size(backbone: str, image_size: int | None) -> int | None:
    """Mel images are drawn at `image_size`, else the backbone's own input size; BirdNET
    takes the sound itself (None)."""
    from geoloc.embed.audio.rois import BIRDNET
    from geoloc.embed.backbones import native_image_size

    if image_size or backbone == BIRDNET:
        return image_size
    return native_image_size(backbone)
