"""Discovery on one embedding set: HDBSCAN with pseudo-label refinement, then few-shot accuracy,
flattened into the short metric keys DVC shows (`ari`, `r<i>_ari`, `<method>_<k>shot_acc`)."""

from __future__ import annotations

import numpy as np

from geoloc.discovery.cluster import refine_clusters
from geoloc.discovery.fewshot import fewshot_metrics
from geoloc.params import ClusterParams

PER_ROUND = ("ari", "nmi", "unclustered", "n_clusters")


def discovery_metrics(x: np.ndarray, truth, p: ClusterParams) -> tuple[np.ndarray, dict]:
    """Final cluster ids, and metrics: the final round's, the same per round (`r<i>_...`) and,
    when labels are known (`truth` not None), few-shot accuracy per K."""
    pred, history = refine_clusters(x, truth, p)
    metrics = {k: v for k, v in history[-1].items() if k != "round"}
    metrics["rounds"] = len(history) - 1
    for h in history:
        metrics.update({f"r{h['round']}_{k}": h[k] for k in PER_ROUND if k in h})
    if truth is not None:
        metrics.update(fewshot_metrics(x, truth, p.fewshot, p.seed))
    return pred, metrics
