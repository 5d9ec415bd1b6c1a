"""Discovery: HDBSCAN with pseudo-label refinement, and few-shot evaluation of embeddings."""

from geoloc.discovery.cluster import cluster_metrics, hdbscan, reduce, refine_clusters
from geoloc.discovery.evaluate import discovery_metrics
from geoloc.discovery.fewshot import METHODS, evaluate_fewshot, fewshot_metrics
from geoloc.discovery.step import ClusterInput, load_cluster_input, run_cluster

__all__ = [
    "METHODS",
    "ClusterInput",
    "cluster_metrics",
    "discovery_metrics",
    "evaluate_fewshot",
    "fewshot_metrics",
    "hdbscan",
    "load_cluster_input",
    "reduce",
    "refine_clusters",
    "run_cluster",
]
