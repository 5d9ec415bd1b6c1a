"""Discovery on one embedding set: HDBSCAN with pseudo-label refinement, then few-shot accuracy,
flattened into the short metric keys DVC shows (`ari`, `r<i>_ari`, `<method>_<k>shot_acc`)."""

from __future__ import annotations

import numpy as np

from geoloc.discovery.cluster import refine_clusters
from geoloc.discovery.fewshot import evaluate_fewshot

PER_ROUND = ("ari", "nmi", "unclustered", "n_clusters")


def discovery_metrics(x: np.ndarray, truth: np.ndarray, cluster_params) -> dict:
    """Final-round clustering metrics, the same per round, and few-shot accuracy per K.

    `cluster_params` is params.yaml `cluster:` (geoloc.params.ClusterParams).
    """
    p = cluster_params
    _, history = refine_clusters(
        x,
        truth,
        reduction=p.reduction,
        reduce_dim=p.reduce_dim,
        min_cluster_size=p.min_cluster_size,
        min_samples=p.min_samples,
        rounds=p.rounds,
        head_dim=p.head_dim,
        epochs=p.epochs,
        lr=p.lr,
        seed=p.seed,
    )
    metrics = {k: v for k, v in history[-1].items() if k != "round"}
    metrics["rounds"] = len(history) - 1
    for h in history:
        metrics.update({f"r{h['round']}_{k}": h[k] for k in PER_ROUND if k in h})
    f = p.fewshot
    for k_shot in f.k_shot:
        scores = evaluate_fewshot(
            x,
            truth,
            n_way=f.n_way,
            k_shot=k_shot,
            n_query=f.n_query,
            episodes=f.episodes,
            methods=f.methods,
            seed=p.seed,
        )
        metrics.update({key.replace("_", f"_{k_shot}shot_", 1): v for key, v in scores.items()})
    return metrics
