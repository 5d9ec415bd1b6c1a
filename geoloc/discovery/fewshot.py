"""N-way K-shot evaluation of frozen embeddings over random episodes.

Classifiers, all training-free on top of the embeddings:
- `prototypical`: SimpleShot-style CL2N: centre on the support mean, L2-normalise, nearest class
  centroid (Snell et al. 2017; Wang et al. 2019).
- `matching`: cosine attention over the support set, softmax-weighted label votes (Vinyals et al. 2016).
- `relation`: relation-style scoring (Sung et al. 2018) with a fixed, non-learned relation: each
  query is scored against each class by the mean of its k best cosine similarities to that
  class's support, which compares to samples rather than to one centroid.
Accuracy is averaged over episodes with a 95% normal confidence interval.
"""

from __future__ import annotations

import numpy as np

from geoloc.errors import GeolocError
from geoloc.params import FewshotParams

METHODS = ("prototypical", "matching", "relation")


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def prototypical(support: np.ndarray, support_y: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Nearest centroid after centring on the support mean and L2-normalising."""
    mean = support.mean(axis=0, keepdims=True)
    s, q = _l2(support - mean), _l2(query - mean)
    classes = np.unique(support_y)
    centroids = np.stack([s[support_y == c].mean(axis=0) for c in classes])
    dist = ((q[:, None, :] - centroids[None]) ** 2).sum(-1)
    return classes[dist.argmin(axis=1)]


def matching(
    support: np.ndarray, support_y: np.ndarray, query: np.ndarray, temperature: float = 0.1
) -> np.ndarray:
    """Softmax attention over cosine similarity to every support sample; votes summed per class."""
    att = _l2(query) @ _l2(support).T / temperature
    att = np.exp(att - att.max(axis=1, keepdims=True))
    att /= att.sum(axis=1, keepdims=True)
    classes, inverse = np.unique(support_y, return_inverse=True)
    votes = att @ np.eye(len(classes))[inverse]
    return classes[votes.argmax(axis=1)]


def relation(
    support: np.ndarray, support_y: np.ndarray, query: np.ndarray, top: int = 3
) -> np.ndarray:
    """Score each class by the mean of the query's `top` highest similarities to its support."""
    sims = _l2(query) @ _l2(support).T
    classes = np.unique(support_y)
    scores = []
    for c in classes:
        cs = np.sort(sims[:, support_y == c], axis=1)[:, ::-1]
        scores.append(cs[:, :top].mean(axis=1))
    return classes[np.stack(scores, axis=1).argmax(axis=1)]


CLASSIFIERS = {"prototypical": prototypical, "matching": matching, "relation": relation}


def sample_episode(labels: np.ndarray, n_way: int, k_shot: int, n_query: int, rng):
    """Indices (support, query) of one episode over `n_way` random classes."""
    classes, counts = np.unique(labels, return_counts=True)
    eligible = classes[counts >= k_shot + n_query]
    if len(eligible) < n_way:
        raise GeolocError(
            f"{n_way}-way {k_shot}-shot with {n_query} queries needs {n_way} classes with at "
            f">= {k_shot + n_query} samples; only {len(eligible)} have that many"
        )
    support, query = [], []
    for c in rng.choice(eligible, n_way, replace=False):
        members = rng.permutation(np.flatnonzero(labels == c))
        support.append(members[:k_shot])
        query.append(members[k_shot : k_shot + n_query])
    return np.concatenate(support), np.concatenate(query)


def evaluate_fewshot(
    embeddings,
    labels,
    *,
    n_way: int = 5,
    k_shot: int = 1,
    n_query: int = 5,
    episodes: int = 200,
    methods=METHODS,
    seed: int = 0,
) -> dict:
    """Mean accuracy and 95% CI per method over `episodes` shared episodes (flat keys)."""
    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray(labels)
    unknown = set(methods) - set(CLASSIFIERS)
    if unknown:
        raise GeolocError(f"unknown few-shot method(s) {sorted(unknown)}; use {list(CLASSIFIERS)}")
    rng = np.random.default_rng(seed)
    acc = {m: [] for m in methods}
    for _ in range(episodes):
        s, q = sample_episode(y, n_way, k_shot, n_query, rng)
        for m in methods:
            acc[m].append(np.mean(CLASSIFIERS[m](x[s], y[s], x[q]) == y[q]))
    out = {}
    for m, values in acc.items():
        values = np.asarray(values)
        out[f"{m}_acc"] = float(values.mean())
        spread = values.std(ddof=1) if len(values) > 1 else 0.0
        out[f"{m}_ci95"] = float(1.96 * spread / np.sqrt(len(values)))
    return out


def fewshot_metrics(embeddings, labels, p: FewshotParams, seed: int = 0) -> dict:
    """`evaluate_fewshot` for every K of `p.k_shot`, as flat `<method>_<K>shot_acc` / `_ci95`."""
    metrics = {}
    for k_shot in p.k_shot:
        scores = evaluate_fewshot(
            embeddings,
            labels,
            n_way=p.n_way,
            k_shot=k_shot,
            n_query=p.n_query,
            episodes=p.episodes,
            methods=p.methods,
            seed=seed,
        )
        metrics.update({key.replace("_", f"_{k_shot}shot_", 1): v for key, v in scores.items()})
    return metrics
