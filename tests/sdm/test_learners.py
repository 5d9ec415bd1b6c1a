import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from geoloc.errors import GeolocError
from geoloc.registry import LEARNERS
from geoloc.sdm.learners import get_learner


def _species(n=1200, d=6, s=5, seed=0):
    """Shared covariates, s species with different linear niches, and per-species row masks."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32) * rng.uniform(0.5, 20, d) + rng.normal(0, 5, d)
    logits = ((X - X.mean(0)) / X.std(0)) @ rng.normal(size=(d, s)) - 1.5
    Y = (logits + rng.logistic(size=(n, s)) > 0).astype(np.float32)
    # Like presences + target-group background: the first half of the rows is shared by every
    # species (some left out at random), each row of the second half belongs to one species.
    weights = (rng.random((n, s)) < 0.8).astype(np.float32)
    weights[n // 2 :] = np.eye(s, dtype=np.float32)[np.arange(n - n // 2) % s]
    return X, Y, weights


def test_batched_logistic_matches_sklearn_per_species():
    X, Y, weights = _species()
    model = get_learner("logistic", C=0.5, device="cpu").fit(X, Y, sample_weight=weights)
    batched = model.predict_proba(X)
    assert batched.shape == Y.shape
    Xs = (X - X.mean(0)) / X.std(0)
    auc_batched, auc_sklearn = [], []
    for s in range(Y.shape[1]):
        rows = weights[:, s] > 0
        reference = LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000, tol=1e-8)
        reference.fit(Xs[rows], Y[rows, s])
        auc_sklearn.append(roc_auc_score(Y[:, s], reference.decision_function(Xs)))
        auc_batched.append(roc_auc_score(Y[:, s], batched[:, s]))
        np.testing.assert_allclose(model.coef_[:, s].numpy(), reference.coef_[0], atol=2e-3)
    assert abs(np.mean(auc_batched) - np.mean(auc_sklearn)) <= 0.005


@pytest.mark.parametrize("d", [40, 300])  # dense Newton; CG on Hessian-vector products
def test_batched_logistic_matches_sklearn_on_wide_covariates(d):
    X, Y, weights = _species(n=600, d=d, s=4, seed=1)
    model = get_learner("logistic", device="cpu").fit(X, Y, sample_weight=weights)
    Xs = (X - X.mean(0)) / X.std(0)
    for s in range(Y.shape[1]):
        rows = weights[:, s] > 0
        reference = LogisticRegression(class_weight="balanced", max_iter=5000, tol=1e-10)
        reference.fit(Xs[rows], Y[rows, s])
        np.testing.assert_allclose(model.coef_[:, s].numpy(), reference.coef_[0], atol=2e-3)
        np.testing.assert_allclose(model.intercept_[s].item(), reference.intercept_[0], atol=2e-3)


def test_a_constant_covariate_standardises_to_zero_and_changes_nothing():
    # e.g. the degree-0 spherical harmonic: float32 rounding must not turn it into a covariate
    X, Y, weights = _species(seed=3)
    with_constant = np.column_stack([X, np.full(len(X), 0.28209479, dtype=np.float32)])
    plain = get_learner("logistic", device="cpu").fit(X, Y, sample_weight=weights)
    model = get_learner("logistic", device="cpu").fit(with_constant, Y, sample_weight=weights)
    np.testing.assert_array_equal(model.coef_[-1].numpy(), 0.0)
    np.testing.assert_allclose(model.coef_[:-1].numpy(), plain.coef_.numpy(), atol=1e-6)
    np.testing.assert_allclose(
        model.predict_proba(with_constant), plain.predict_proba(X), rtol=1e-5, atol=1e-6
    )


def test_warm_start_refits_to_the_same_solution_in_fewer_steps():
    X, Y, weights = _species(seed=2)
    cold = get_learner("logistic", device="cpu").fit(X, Y, sample_weight=weights)
    fold = weights * (np.arange(len(X)) % 5 != 0)[:, None]
    warm = get_learner("logistic", device="cpu", warm_start=True).fit(X, Y, sample_weight=weights)
    warm.fit(X, Y, sample_weight=fold)
    reference = get_learner("logistic", device="cpu").fit(X, Y, sample_weight=fold)
    np.testing.assert_allclose(warm.coef_.numpy(), reference.coef_.numpy(), atol=1e-3)
    assert warm.n_iter_.sum() < reference.n_iter_.sum()
    assert cold.n_iter_.max() <= 15  # Newton: a handful of steps


def test_single_species_uses_the_sklearn_output_shape():
    X, Y, _ = _species(s=1)
    model = get_learner("logistic", device="cpu").fit(X, Y[:, 0])
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    assert model.predict(X).shape == (len(X),)
    assert roc_auc_score(Y[:, 0], proba[:, 1]) > 0.75


def test_rf_downsampled_trees_see_balanced_classes():
    X, Y, weights = _species(n=600, s=2)
    model = get_learner("rf_downsampled", n_estimators=15, seed=0).fit(X, Y, sample_weight=weights)
    for s, trees in enumerate(model.forests_):
        presences = int(((weights[:, s] > 0) & (Y[:, s] > 0)).sum())
        for tree in trees:
            root = tree.tree_
            assert root.weighted_n_node_samples[0] == 2 * presences
            np.testing.assert_allclose(root.value[0, 0], [0.5, 0.5])  # class shares at the root
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert roc_auc_score(Y[:, 0], proba[:, 0]) > 0.75


def test_batched_mlp_learns_every_species():
    X, Y, weights = _species(n=800, s=3)
    model = get_learner("mlp", epochs=50, batch_size=400, device="cpu", seed=0)
    model.fit(X, Y, sample_weight=weights)
    proba = model.predict_proba(X)
    for s in range(3):
        assert roc_auc_score(Y[:, s], proba[:, s]) > 0.8


def test_registry_errors_are_user_errors():
    with pytest.raises(GeolocError, match="known: logistic"):
        get_learner("maxant")
    with pytest.raises(GeolocError, match="no option 'depth'; its options: C, class_weight"):
        get_learner("logistic", depth=3)


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        (
            "logistic",
            {"C": 0},
            "bad option C=0 for SDM learner 'logistic': Input should be greater",
        ),
        ("logistic", {"class_weight": "balancd"}, "'balanced' or 'none'"),
        ("mlp", {"epochs": "many"}, "epochs='many'"),
        ("mlp", {"dtype": "float16"}, "'float32' or 'float64'"),
        ("rf_downsampled", {"max_features": 1.5}, "less than or equal to 1"),
        ("maxent", {"seeds": 0}, "seeds=0"),
        ("an_full", {"pos_weight": "x"}, "'balanced'"),
    ],
)
def test_option_values_are_checked_when_the_learner_is_built(name, options, expected):
    with pytest.raises(GeolocError, match=expected):
        get_learner(name, **options)


def test_good_option_values_pass_unchanged():
    forest = get_learner("rf_downsampled", max_features=0.5, n_estimators=3)
    assert (forest.max_features, forest.n_estimators) == (0.5, 3)
    assert get_learner("maxent", pos_weight=2, lr=1e-3).get_params()["pos_weight"] == 2


def test_targets_must_have_both_classes_per_species():
    X, Y, _ = _species(s=2)
    Y[:, 1] = 0
    with pytest.raises(ValueError, match="presence"):
        get_learner("logistic", device="cpu").fit(X, Y)


@pytest.mark.parametrize("name", LEARNERS.names())
def test_every_learner_takes_device_and_seed(name):
    X, Y, weights = _species(n=300, d=3, s=2)
    options = {"mlp": {"epochs": 2}, "rf_downsampled": {"n_estimators": 3}}.get(name, {})
    model = get_learner(name, device="cpu", seed=3, **options)
    assert (model.get_params()["device"], model.get_params()["seed"]) == ("cpu", 3)
    assert model.fit(X, Y, sample_weight=weights).predict_proba(X).shape == Y.shape


@pytest.mark.parametrize("name", LEARNERS.names())
def test_sparse_targets_and_weights_fit_the_same_model_as_dense_ones(name):
    from scipy import sparse

    X, Y, weights = _species(n=400, d=4, s=3)
    options = {"mlp": {"epochs": 3}, "rf_downsampled": {"n_estimators": 4}}.get(name, {})
    dense = get_learner(name, device="cpu", seed=1, **options).fit(X, Y, sample_weight=weights)
    # only the weighted entries are stored (targets with explicit zeros on background pairs)
    stored = sparse.csr_array(weights) * 0 + sparse.csr_array(Y * (weights > 0))
    sparse_fit = get_learner(name, device="cpu", seed=1, **options).fit(
        X, stored, sample_weight=sparse.csr_array(weights)
    )
    np.testing.assert_allclose(sparse_fit.predict_proba(X), dense.predict_proba(X), atol=1e-6)


def test_the_logistic_standardises_over_every_row_of_x_not_only_the_used_ones():
    X, Y, weights = _species(s=2)
    weights[: len(X) // 2] = 0  # the first half of the rows enters no model
    model = get_learner("logistic", device="cpu").fit(X, Y, sample_weight=weights)
    np.testing.assert_allclose(model.mean_.numpy(), X.mean(0), rtol=1e-5)
    np.testing.assert_allclose(model.scale_.numpy(), X.std(0), rtol=1e-5)
    used = weights.any(1)
    alone = get_learner("logistic", device="cpu").fit(X[used], Y[used], sample_weight=weights[used])
    assert not np.allclose(alone.scale_.numpy(), model.scale_.numpy(), rtol=1e-2)


@pytest.mark.parametrize("name", LEARNERS.names())
def test_a_species_without_rows_is_left_unfitted_and_predicts_nan(name):
    X, Y, weights = _species(n=400, d=4, s=3)
    weights[:, 1] = 0
    options = {"mlp": {"epochs": 3}, "rf_downsampled": {"n_estimators": 4}}.get(name, {})
    proba = get_learner(name, device="cpu", **options).fit(X, Y, sample_weight=weights)
    proba = proba.predict_proba(X)
    assert np.isnan(proba[:, 1]).all() and np.isfinite(proba[:, [0, 2]]).all()
    with pytest.raises(ValueError, match="no species has a row"):
        get_learner(name, device="cpu", **options).fit(X, Y, sample_weight=weights * 0)


def test_a_warm_start_continues_each_species_from_its_own_solution():
    X, Y, weights = _species(seed=4)
    fold = weights * (np.arange(len(X)) % 5 != 0)[:, None]
    fold[:, 2] = 0  # species 2 is not fittable in this fold: its column stays, empty
    warm = get_learner("logistic", device="cpu").fit(X, Y, sample_weight=weights)
    warm.fit(X, Y, sample_weight=fold)
    cold = get_learner("logistic", device="cpu", warm_start=False).fit(X, Y, sample_weight=fold)
    kept = [0, 1, 3, 4]
    np.testing.assert_allclose(warm.coef_[:, kept].numpy(), cold.coef_[:, kept].numpy(), atol=1e-3)
    assert (warm.n_iter_[kept] < cold.n_iter_[kept]).all()
    assert np.isnan(warm.coef_[:, 2].numpy()).all() and warm.n_iter_[2] == 0
    warm.fit(X, Y, sample_weight=weights)  # species 2 back: from zero, like a cold fit
    np.testing.assert_allclose(
        warm.coef_[:, 2].numpy(),
        get_learner("logistic", device="cpu").fit(X, Y, sample_weight=weights).coef_[:, 2],
        atol=1e-3,
    )
