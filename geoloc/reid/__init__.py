"""Re-identification of individuals: global embeddings (cosine k-NN) and SIFT matching."""

from geoloc.reid.evaluate import (
    closed_set_split,
    evaluate_reid,
    evaluate_similarity,
    pixel_embeddings,
    search,
)
from geoloc.reid.sift import match_similarity, sift_features
from geoloc.reid.source import ReidSource, load_reid_source
from geoloc.reid.step import run_reid

__all__ = [
    "ReidSource",
    "closed_set_split",
    "evaluate_reid",
    "evaluate_similarity",
    "load_reid_source",
    "match_similarity",
    "pixel_embeddings",
    "run_reid",
    "search",
    "sift_features",
]
