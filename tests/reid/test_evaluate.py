"""Re-identification: split invariants, k-NN against brute force, FAISS = dense, tie rules, mAP."""

import numpy as np
import pytest

from geoloc.errors import GeolocError
from geoloc.params import ReidParams
from geoloc.reid import evaluate as reid


def _labels(n_ids=30, rng=None):
    rng = rng or np.random.default_rng(0)
    return np.repeat(np.arange(n_ids), rng.integers(2, 15, n_ids))


def test_split_has_every_identity_in_both_parts_about_80_20():
    labels = np.concatenate([_labels(), [99]])  # 99 is seen once: dropped
    split = reid.closed_set_split(labels, 0.2, seed=3)
    g, q = set(labels[split.gallery]), set(labels[split.query])
    assert g == q == set(labels) - {99}
    assert list(split.dropped) == [len(labels) - 1]
    assert not set(split.gallery) & set(split.query)
    assert len(split.gallery) + len(split.query) + len(split.dropped) == len(labels)
    assert 0.15 < len(split.query) / (len(labels) - 1) < 0.3
    again = reid.closed_set_split(labels, 0.2, seed=3)
    assert np.array_equal(split.query, again.query)
    assert not np.array_equal(split.query, reid.closed_set_split(labels, 0.2, seed=4).query)


def test_split_needs_a_repeated_identity():
    with pytest.raises(GeolocError):
        reid.closed_set_split(np.arange(5))


def _brute_force(q, g, depth):
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    sims, idx = [], []
    for row in qn:
        s = [float(np.dot(row, col)) for col in gn]
        order = sorted(range(len(s)), key=lambda j: (-s[j], j))[:depth]
        idx.append(order)
        sims.append([s[j] for j in order])
    return np.array(sims), np.array(idx)


@pytest.mark.parametrize("engine", ["dense", "faiss"])
@pytest.mark.parametrize("depth", [7, 45])  # partial selection / full sort in the dense path
def test_search_matches_brute_force(engine, depth):
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(17, 12)), rng.normal(size=(60, 12)) * 3
    sims, idx = reid.search(q, g, depth=depth, engine=engine, block=5)
    ref_sims, ref_idx = _brute_force(q, g, depth)
    assert np.array_equal(idx, ref_idx)
    assert np.allclose(sims, ref_sims, atol=1e-5)


def test_faiss_and_dense_give_the_same_metrics():
    rng = np.random.default_rng(2)
    labels = _labels(rng=rng)
    x = rng.normal(size=(len(labels), 16)) + 1.5 * rng.normal(size=(30, 16))[labels]
    dense = reid.evaluate_reid(x, labels, ReidParams(engine="dense", k=3))
    faiss = reid.evaluate_reid(x, labels, ReidParams(engine="faiss", k=3))
    assert dense == faiss
    assert 0.3 < dense["acc"] <= 1


def test_knn_tie_goes_to_higher_mean_similarity():
    sims = np.array([[0.9, 0.8, 0.7, 0.2], [0.9, 0.5, 0.5, 0.45]])
    labels = np.array([[5, 7, 7, 5], [5, 7, 5, 7]])
    # row 0: 5 and 7 have two votes each; means 0.55 vs 0.75 -> 7
    # row 1: two votes each; means 0.7 vs 0.475 -> 5
    assert list(reid.knn_predict(sims, labels, k=4)) == [7, 5]
    assert list(reid.knn_predict(sims, labels, k=1)) == [5, 5]
    # exact tie in count and mean: the nearer neighbour's label wins, whatever the label values
    assert reid.knn_predict(np.array([[0.8, 0.8]]), np.array([[9, 1]]), k=2)[0] == 9


def test_average_precision_hand_computed():
    # relevant at ranks 1, 3, 4 of 5; three relevant: (1/1 + 2/3 + 3/4) / 3
    ap = reid.average_precision([1, 0, 1, 1, 0], 3)
    assert ap == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    assert reid.average_precision([0, 0, 1], 1) == pytest.approx(1 / 3)


def test_evaluate_reid_on_a_hand_built_case():
    # identity a: gallery x-axis points, b: y-axis; queries split deterministically
    x = np.array([[1, 0.0], [1, 0.1], [1, -0.1], [0, 1.0], [0.1, 1], [-0.1, 1]])
    labels = np.array(["a", "a", "a", "b", "b", "b"])
    m = reid.evaluate_reid(x, labels, ReidParams(query_fraction=0.34, top_k=[1, 2]))
    assert m["acc"] == 1 and m["top1"] == 1 and m["top2"] == 1 and m["map"] == 1
    assert (m["n_query"], m["n_gallery"], m["n_identities"]) == (2, 4, 2)


def test_cmc_counts_identities_not_images():
    nb = np.array([[1, 1, 1, 2, 3]])
    assert reid.identity_ranking(nb, 2) == [[1, 2]]


def test_similarity_path_gives_the_embedding_metrics_from_cosine_similarities():
    rng = np.random.default_rng(5)
    labels = _labels(rng=rng)
    x = rng.normal(size=(len(labels), 8)) + 1.2 * rng.normal(size=(30, 8))[labels]
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    p = ReidParams(k=3, top_k=[1, 5], query_fraction=0.3, seed=2, max_rank=10, engine="dense")

    def cosine(rows, cols):
        return xn[rows] @ xn[cols].T

    by_matrix = reid.evaluate_similarity(cosine, labels, p)
    assert by_matrix == reid.evaluate_reid(x, labels, p)
    assert 0.3 < by_matrix["acc"] < 1
    with pytest.raises(GeolocError, match="shape"):
        reid.evaluate_similarity(lambda r, c: cosine(r, c)[:, 1:], labels)
