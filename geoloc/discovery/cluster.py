"""Unsupervised discovery: HDBSCAN on embeddings and pseudo-label refinement.

After Darksound / Meta Embedded Clustering: reduce (PCA, or UMAP when `umap-learn` is
installed), cluster with HDBSCAN (noise points are left unclustered), then for a few rounds
fine-tune a small projection head on the cluster ids as pseudo-labels, re-embed through it and
re-cluster. Against known labels: ARI, AMI and NMI on the clustered points, purity, and the
fraction left unclustered.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from geoloc.errors import GeolocError
from geoloc.params import ClusterParams


def reduce(x: np.ndarray, method: str = "pca", dim: int = 16, seed: int = 0) -> np.ndarray:
    """Project embeddings to `dim` dimensions before density clustering (`none` keeps them)."""
    x = np.asarray(x, dtype=np.float32)
    if method == "none" or dim >= x.shape[1]:
        return x
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=min(dim, len(x)), random_state=seed).fit_transform(x)
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise GeolocError("reduction 'umap' needs umap-learn: pip install umap-learn") from None
        return umap.UMAP(n_components=dim, random_state=seed).fit_transform(x)
    raise GeolocError(f"unknown reduction {method!r}; use none, pca or umap")


def hdbscan(x: np.ndarray, min_cluster_size: int = 10, min_samples: int | None = None):
    """Cluster ids per sample, -1 for noise (sklearn.cluster.HDBSCAN)."""
    from sklearn.cluster import HDBSCAN

    if len(x) < 2:
        raise GeolocError("clustering needs at least two samples")
    model = HDBSCAN(
        min_cluster_size=min(min_cluster_size, len(x)), min_samples=min_samples, copy=True
    )
    return model.fit_predict(x)


def cluster_metrics(pred, truth=None) -> dict:
    """Counts always; ARI, AMI, NMI and purity on the clustered points when `truth` is given."""
    pred = np.asarray(pred)
    clustered = pred >= 0
    out = {
        "n_clusters": int(len(np.unique(pred[clustered]))),
        "unclustered": float(1 - clustered.mean()),
    }
    if truth is None:
        return out
    truth = np.asarray(truth)
    p, t = pred[clustered], truth[clustered]
    if len(p) == 0:
        return {**out, "ari": 0.0, "ami": 0.0, "nmi": 0.0, "purity": 0.0}
    contingency = skm.cluster.contingency_matrix(t, p)
    out.update(
        ari=float(skm.adjusted_rand_score(t, p)),
        ami=float(skm.adjusted_mutual_info_score(t, p)),
        nmi=float(skm.normalized_mutual_info_score(t, p)),
        purity=float(contingency.max(axis=0).sum() / len(p)),
    )
    return out


def _fit_head(x: np.ndarray, pseudo: np.ndarray, dim: int, epochs: int, lr: float, seed: int):
    """Train projection + linear classifier on pseudo-labels; return the projection."""
    from geoloc.runtime import torch_threads

    with torch_threads(1):  # a tiny head: thread sync costs more than it saves
        return _train_head(x, pseudo, dim, epochs, lr, seed)


def _train_head(x, pseudo, dim, epochs, lr, seed):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(np.unique(pseudo, return_inverse=True)[1].astype(np.int64))
    proj = nn.Sequential(nn.Linear(x.shape[1], 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
    classifier = nn.Linear(dim, int(yt.max()) + 1)
    opt = torch.optim.Adam([*proj.parameters(), *classifier.parameters()], lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        z = nn.functional.normalize(proj(xt), dim=1)
        loss = nn.functional.cross_entropy(classifier(z) / 0.1, yt)
        loss.backward()
        opt.step()
    return proj


def _embed(proj, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.nn.functional.normalize(proj(torch.from_numpy(x)), dim=1).numpy()


def refine_clusters(embeddings, truth, p: ClusterParams) -> tuple[np.ndarray, list[dict]]:
    """Cluster, then `p.rounds` times: fit a head on pseudo-labels, re-embed, re-cluster.

    The head is trained on the clustered points only, on the input embeddings, and every
    round re-embeds all points. Returns the final cluster ids and one metrics dict per round
    (round 0 is plain HDBSCAN); `truth` (None: unknown) adds ARI, AMI, NMI and purity.
    """
    x = np.asarray(embeddings, dtype=np.float32)
    current = reduce(x, p.reduction, p.reduce_dim, p.seed)
    history = []
    pred = None
    for round_ in range(p.rounds + 1):
        if round_ > 0:
            keep = pred >= 0
            if len(np.unique(pred[keep])) < 2:
                break  # nothing to learn from a single cluster
            proj = _fit_head(x[keep], pred[keep], p.head_dim, p.epochs, p.lr, p.seed + round_)
            current = _embed(proj, x)
        pred = hdbscan(current, p.min_cluster_size, p.min_samples)
        history.append({"round": round_, **cluster_metrics(pred, truth)})
    return pred, history
