"""Re-identification by nearest neighbours, in the MegaDescriptor / wildlife-tools manner.

Deep features, cosine similarity, a k-NN classifier (k=1 by default) and a closed-set split in
which every identity appears in both the gallery (database, ~80%) and the query set (~20%).
Metrics: k-NN accuracy, CMC top-k accuracy (true identity among the k best-ranked identities)
and mean average precision over the ranked gallery. Similarities come from a dense matrix
multiply in query blocks, or from a FAISS flat inner-product index for galleries too large for
that; both return the same neighbours in the same order. Pairwise matchers (local features,
geoloc/reid/sift.py) feed a similarity matrix to the same metrics instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geoloc.errors import GeolocError
from geoloc.params import ReidParams

DENSE_LIMIT = 50_000_000  # query x gallery similarities above which "auto" uses FAISS


def pixel_embeddings(images, size: int = 24) -> np.ndarray:
    """Floor features: grey thumbnails, standardised per image (what matching pixels gives)."""
    rows = []
    for img in images:
        grey = np.asarray(img.convert("L").resize((size, size)), dtype=np.float32).ravel()
        rows.append((grey - grey.mean()) / (grey.std() + 1e-6))
    return np.stack(rows)


@dataclass
class Split:
    """Indices of a closed-set split; `dropped` holds samples of identities seen only once."""

    gallery: np.ndarray
    query: np.ndarray
    dropped: np.ndarray


def closed_set_split(labels, query_fraction: float = 0.2, seed: int = 0) -> Split:
    """Split so every identity with >= 2 samples is in both parts, ~`query_fraction` in query.

    Each identity contributes round(n * query_fraction) samples to the query set, clipped to
    [1, n - 1]; identities with a single sample cannot be in both parts and are dropped.
    """
    if not 0 < query_fraction < 1:
        raise GeolocError(f"query fraction must be in (0, 1), not {query_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    gallery, query, dropped = [], [], []
    for identity in np.unique(labels):
        members = np.flatnonzero(labels == identity)
        if len(members) < 2:
            dropped.append(members)
            continue
        members = rng.permutation(members)
        n_query = int(np.clip(round(len(members) * query_fraction), 1, len(members) - 1))
        query.append(members[:n_query])
        gallery.append(members[n_query:])
    if not query:
        raise GeolocError("re-identification needs at least one identity with two or more samples")

    def _cat(parts):
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    return Split(gallery=_cat(gallery), query=_cat(query), dropped=_cat(dropped))


def _normalise(x) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _sorted_desc(sims: np.ndarray, idx: np.ndarray, depth: int):
    """Order each row by similarity descending, ties by gallery index ascending."""
    order = np.lexsort((idx, -sims), axis=1)[:, :depth]
    return np.take_along_axis(sims, order, 1), np.take_along_axis(idx, order, 1)


def top_neighbours(sims: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The `depth` best columns of each row of a similarity matrix: (similarities, indices),
    sorted by similarity descending, ties by column index ascending."""
    if depth < sims.shape[1] // 2:  # partial selection first, then order the few kept
        idx = np.argpartition(-sims, depth - 1, axis=1)[:, :depth]
        return _sorted_desc(np.take_along_axis(sims, idx, 1), idx, depth)
    idx = np.argsort(-sims, axis=1, kind="stable")[:, :depth]  # stable: ties by index
    return np.take_along_axis(sims, idx, 1), idx


def _dense_search(query, gallery, depth, block):
    parts = [
        top_neighbours(query[start : start + block] @ gallery.T, depth)
        for start in range(0, len(query), block)
    ]
    return np.concatenate([s for s, _ in parts]), np.concatenate([i for _, i in parts])


def _faiss_search(query, gallery, depth):
    try:
        import faiss
    except ImportError:
        raise GeolocError("engine 'faiss' needs faiss-cpu: pip install faiss-cpu") from None
    index = faiss.IndexFlatIP(gallery.shape[1])
    index.add(gallery)
    sims, idx = index.search(query, depth)
    return _sorted_desc(sims, idx.astype(np.int64), depth)


def search(
    query, gallery, depth: int, engine: str = "auto", block: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Top-`depth` cosine neighbours of each query in the gallery: (similarities, indices).

    Rows are sorted by similarity descending, ties by gallery index (which of several equal
    similarities straddling the depth cut-off are kept is unspecified, as in FAISS). `engine`
    is `dense` (numpy, in query blocks), `faiss` (flat inner-product index) or `auto` (FAISS
    once the similarity matrix would exceed DENSE_LIMIT entries).
    """
    query, gallery = _normalise(query), _normalise(gallery)
    if query.shape[1] != gallery.shape[1]:
        raise GeolocError(f"query dim {query.shape[1]} != gallery dim {gallery.shape[1]}")
    depth = int(min(depth, len(gallery)))
    if depth < 1:
        raise GeolocError("search depth must be at least 1 and the gallery non-empty")
    if engine == "auto":
        engine = "faiss" if len(query) * len(gallery) > DENSE_LIMIT else "dense"
    if engine == "dense":
        return _dense_search(query, gallery, depth, block)
    if engine == "faiss":
        return _faiss_search(query, gallery, depth)
    raise GeolocError(f"unknown search engine {engine!r}; use auto, dense or faiss")


def knn_predict(sims: np.ndarray, neighbour_labels: np.ndarray, k: int = 1) -> np.ndarray:
    """Majority label among the k nearest neighbours; ties go to the higher mean similarity.

    A tie that remains after that (equal counts and equal mean similarity) goes to the label
    of the nearer neighbour, so the answer never depends on label values.
    """
    sims, labs = sims[:, :k], neighbour_labels[:, :k]
    preds = np.empty(len(sims), dtype=labs.dtype)
    for row, (s, lab) in enumerate(zip(sims, labs, strict=True)):
        uniq, first, inverse, counts = np.unique(
            lab, return_index=True, return_inverse=True, return_counts=True
        )
        mean_sim = np.bincount(inverse, weights=s, minlength=len(uniq)) / counts
        best = np.lexsort((first, -mean_sim, -counts))[0]
        preds[row] = uniq[best]
    return preds


def identity_ranking(neighbour_labels: np.ndarray, top: int) -> list[list]:
    """The first `top` distinct identities in each ranked neighbour list (CMC ranking)."""
    ranking = []
    for lab in neighbour_labels:
        _, first = np.unique(lab, return_index=True)
        ranking.append(list(lab[np.sort(first)][:top]))
    return ranking


def average_precision(relevant: np.ndarray, n_relevant: int) -> float:
    """AP of one ranked list: mean precision at each relevant hit, over min(n_relevant, len)."""
    relevant = np.asarray(relevant, dtype=bool)
    denom = min(n_relevant, len(relevant))
    if denom == 0:
        return 0.0
    hits = np.cumsum(relevant)
    precision = hits / np.arange(1, len(relevant) + 1)
    return float(precision[relevant].sum() / denom)


def evaluate_reid(embeddings, labels, p: ReidParams | None = None) -> dict:
    """Closed-set split, cosine k-NN and retrieval metrics; returns a flat metrics dict.

    `p` (params.yaml `reid:`, defaults when None) gives k, top_k, query_fraction, seed, the
    search engine and max_rank. `acc` is k-NN classification accuracy, `top<k>` the CMC accuracy,
    `map` the mean average precision over the first `max_rank` gallery items (exact when the
    gallery is no larger).
    """
    p = p or ReidParams()
    embeddings = np.asarray(embeddings)
    if len(embeddings) != len(labels):
        raise GeolocError(f"{len(embeddings)} embeddings but {len(labels)} labels")

    def neighbours(split, depth):
        return search(embeddings[split.query], embeddings[split.gallery], depth, p.engine)

    return _evaluate(neighbours, labels, p)


def evaluate_similarity(similarity, labels, p: ReidParams | None = None) -> dict:
    """`evaluate_reid` for matchers that score pairs rather than embed images.

    `similarity(query_indices, gallery_indices)` returns the (n_query, n_gallery) score matrix
    (higher = more alike) for the split it is given, so only query-gallery pairs are scored.
    """

    def neighbours(split, depth):
        scores = np.asarray(similarity(split.query, split.gallery), dtype=np.float64)
        if scores.shape != (len(split.query), len(split.gallery)):
            raise GeolocError(
                f"similarity gave shape {scores.shape}, expected "
                f"{(len(split.query), len(split.gallery))}"
            )
        return top_neighbours(scores, depth)

    return _evaluate(neighbours, labels, p or ReidParams())


def _evaluate(neighbours, labels, p: ReidParams) -> dict:
    """Split, rank the gallery for each query with `neighbours(split, depth)`, and score."""
    labels = np.asarray(labels)
    split = closed_set_split(labels, p.query_fraction, p.seed)
    g_lab, q_lab = labels[split.gallery], labels[split.query]
    depth = min(len(split.gallery), max(p.max_rank, p.k))
    sims, idx = neighbours(split, depth)
    nb_lab = g_lab[idx]
    pred = knn_predict(sims, nb_lab, p.k)
    ranking = identity_ranking(nb_lab, max(p.top_k))
    per_identity = dict(zip(*np.unique(g_lab, return_counts=True), strict=True))
    ap = [
        average_precision(row == q, per_identity[q]) for row, q in zip(nb_lab, q_lab, strict=True)
    ]
    return {
        "acc": float(np.mean(pred == q_lab)),
        **{
            f"top{t}": float(np.mean([q in r[:t] for q, r in zip(q_lab, ranking, strict=True)]))
            for t in p.top_k
        },
        "map": float(np.mean(ap)),
        "k": int(p.k),
        "n_identities": int(len(per_identity)),
        "n_gallery": int(len(split.gallery)),
        "n_query": int(len(split.query)),
        "n_dropped": int(len(split.dropped)),
    }
