import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.metrics import roc_auc_score

from geoloc.errors import GeolocError
from geoloc.sdm.learners import get_learner
from geoloc.sdm.multispecies import MultiSpeciesSDM, TargetGroups, _Entries

SMALL = {"hidden": 32, "epochs": 25, "lr": 3e-3, "batch_size": 128, "seed": 3, "device": "cpu"}


def _world(n=600, seed=0):
    """Three species with planted niches in two groups (some sites in both): covariates, the
    group ids, their (sites, species) mask and the presences (inside each species' mask)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    row_groups = np.zeros((n, 2), bool)
    row_groups[: n // 2, 0] = True
    row_groups[n // 3 :, 1] = True
    species_groups = np.eye(2, dtype=bool)[[0, 0, 1]]
    mask = row_groups[:, [0, 0, 1]]
    logit = np.stack([2 * X[:, 0], -2 * X[:, 1], 2 * X[:, 2]], 1)
    Y = (rng.random((n, 3)) < 1 / (1 + np.exp(-logit))) & mask
    return X, TargetGroups(row_groups, species_groups), mask, Y


@pytest.mark.parametrize("loss", ["maxent", "an_full"])
def test_each_loss_learns_the_planted_niches(loss):
    X, groups, mask, Y = _world()
    scores = get_learner(loss, **SMALL).fit(X, Y, groups=groups).decision_function(X)
    aucs = [roc_auc_score(Y[mask[:, s], s], scores[mask[:, s], s]) for s in range(3)]
    assert min(aucs) > 0.8, aucs


@pytest.mark.parametrize("loss", ["maxent", "an_full"])
def test_group_ids_give_the_same_fit_as_the_same_background_as_pairs(loss):
    X, groups, mask, Y = _world()
    by_groups = get_learner(loss, **SMALL).fit(X, Y, groups=groups)
    weights = sparse.csr_array(mask.astype(np.float32))
    by_pairs = get_learner(loss, **SMALL).fit(X, sparse.csr_array(Y * 1.0), sample_weight=weights)
    np.testing.assert_array_equal(by_groups.decision_function(X), by_pairs.decision_function(X))


def test_the_fit_is_deterministic_on_cpu_and_the_seed_matters():
    X, groups, _, Y = _world()
    first = get_learner("maxent", **SMALL).fit(X, Y, groups=groups).decision_function(X)
    again = get_learner("maxent", **SMALL).fit(X, Y, groups=groups).decision_function(X)
    other = get_learner("maxent", **{**SMALL, "seed": 4}).fit(X, Y, groups=groups)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other.decision_function(X))


def test_batch_entries_are_the_dense_mask_of_group_ids_and_of_pairs():
    X, groups, mask, Y = _world(n=50)
    rows = np.array([40, 3, 17, 25])
    expected_background = mask[rows] | Y[rows]
    for entries in (
        _Entries(Y, None, groups),
        _Entries(Y * 1.0, mask.astype(float), None),
    ):
        presence, background = entries.batch(rows, "cpu")
        np.testing.assert_array_equal(presence.numpy(), Y[rows])
        np.testing.assert_array_equal(background.numpy(), expected_background)
        n_presence, n_background = entries.counts("cpu")
        np.testing.assert_array_equal(n_presence, Y.sum(0))
        np.testing.assert_array_equal(n_background, (mask | Y).sum(0))


def _maxent_by_formula(f, Y, M):
    """DeepMaxent's loss written out species by species (M: background, presences included)."""
    terms = []
    for s in range(Y.shape[1]):
        present = Y[:, s] > 0
        if present.any():
            terms.append(-f[present, s].mean() + torch.logsumexp(f[M[:, s] | present, s], 0))
    return torch.stack(terms).mean()


def _an_full_by_formula(f, Y, M, pos_weight):
    total, count = 0.0, 0
    for s in range(Y.shape[1]):
        for i in range(Y.shape[0]):
            if Y[i, s]:
                total = total + pos_weight[s] * torch.nn.functional.softplus(-f[i, s])
            elif M[i, s]:
                total = total + torch.nn.functional.softplus(f[i, s])
            count += bool(Y[i, s] or M[i, s])
    return total / count


@pytest.mark.parametrize("loss", ["maxent", "an_full"])
def test_the_learner_descends_the_loss_of_the_formula(loss):
    # One full-batch Adam step without weight decay moves every weight by -lr x sign(gradient):
    # the signs tell which loss the learner minimises.
    X, groups, mask, Y = _world(n=60)
    options = {"layers": 1, "hidden": 8, "epochs": 1, "batch_size": 60, "weight_decay": 0.0}
    model = get_learner(loss, **{**SMALL, **options, "lr": 1e-3}).fit(X, Y, groups=groups)
    start = model._network(4, 3, SMALL["seed"])
    f = start(model._standardise(X))
    Yt = torch.as_tensor(Y)
    if loss == "maxent":
        objective = _maxent_by_formula(f, Yt, torch.as_tensor(mask))
    else:
        n_negative = (mask | Y).sum(0) - Y.sum(0)
        objective = _an_full_by_formula(f, Yt, torch.as_tensor(mask), n_negative / Y.sum(0))
    objective.backward()
    checked = 0
    for before, after in zip(start.parameters(), model.networks_[0].parameters(), strict=True):
        moved = (after - before).detach()
        clear = before.grad.abs() > 1e-5  # (maxent's output biases have none: shift-invariant)
        assert torch.equal(torch.sign(moved[clear]), -torch.sign(before.grad[clear]))
        checked += int(clear.sum())
    assert checked > 50


def test_maxent_scores_are_normalised_to_mean_intensity_one_over_the_background():
    X, groups, mask, Y = _world()
    scores = get_learner("maxent", **SMALL).fit(X, Y, groups=groups).decision_function(X)
    for s in range(3):
        assert np.exp(scores[mask[:, s] | Y[:, s], s]).mean() == pytest.approx(1.0, rel=1e-4)


def test_seeds_average_the_scores_of_one_network_per_seed():
    X, groups, _, Y = _world()
    both = get_learner("an_full", **{**SMALL, "seeds": 2}).fit(X, Y, groups=groups)
    single = [
        get_learner("an_full", **{**SMALL, "seed": seed}).fit(X, Y, groups=groups)
        for seed in (3, 4)
    ]
    expected = np.mean([model.decision_function(X) for model in single], axis=0)
    np.testing.assert_allclose(both.decision_function(X), expected, atol=1e-6)


def test_a_linear_head_fits_each_species_as_if_alone():
    # an_full with a linear head and no weight decay is one convex logistic loss per species,
    # the species coupled only by the shared normaliser: full-batch Adam reaches each species'
    # own optimum, fitted with the others or alone
    X, groups, mask, Y = _world()
    options = {**SMALL, "layers": 0, "epochs": 400, "lr": 0.05, "batch_size": len(X)}
    options["weight_decay"] = 0.0
    joint = get_learner("an_full", **options).fit(X, Y, groups=groups).decision_function(X)
    for s in range(3):
        weights = mask[:, [s]].astype(np.float32)
        alone = get_learner("an_full", **options).fit(X, Y[:, [s]] * 1.0, sample_weight=weights)
        np.testing.assert_allclose(joint[:, s], alone.decision_function(X)[:, 0], atol=2e-3)


def test_a_species_without_rows_is_left_unfitted():
    X, _, mask, Y = _world()
    weights = mask.astype(np.float32)
    weights[:, 1] = 0  # e.g. a species without training rows in this fold
    model = get_learner("maxent", **SMALL).fit(X, Y * 1.0, sample_weight=weights)
    proba = model.predict_proba(X)
    assert np.isnan(proba[:, 1]).all() and np.isfinite(proba[:, [0, 2]]).all()
    assert ((proba[:, [0, 2]] > 0) & (proba[:, [0, 2]] < 1)).all()


def test_registered_names_and_bad_options():
    assert get_learner("maxent").loss == "maxent" and get_learner("maxent").shares_species
    an_full = get_learner("an_full", epochs=5)
    assert (an_full.loss, an_full.epochs, an_full.weight_decay) == ("an_full", 5, 3e-4)
    with pytest.raises(GeolocError, match="bad options"):
        get_learner("maxent", loss="an_full")
    X, groups, _, Y = _world(n=40)
    with pytest.raises(GeolocError, match="loss='poisson'.*'maxent' or 'an_full'"):
        MultiSpeciesSDM(loss="poisson").fit(X, Y, groups=groups)
    with pytest.raises(ValueError, match="either sample_weight or groups"):
        MultiSpeciesSDM().fit(X, Y, np.ones_like(Y), groups=groups)
