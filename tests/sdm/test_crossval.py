import numpy as np

from geoloc.params import SdmParams
from geoloc.sdm import crossval, get_learner, species_design
from tests.sdm.sdm_data import virtual_world


def _block_and_covariates():
    obs, _ = virtual_world(n_species=3, per_species=[60, 25, 40], rare=False)
    design = species_design(obs, SdmParams(background=30, folds=3, block_km=150))
    X = np.column_stack([design.lat, design.lon, design.lat * design.lon]).astype(np.float32)
    (block,) = design.blocks(3)
    return design, block, X


def test_pair_predictions_in_chunks_equal_the_dense_predictions(monkeypatch):
    design, block, X = _block_and_covariates()
    model = get_learner("logistic", device="cpu").fit(X, *block.matrices())
    dense = model.predict_proba(X)  # (R, 3): fine at this size
    monkeypatch.setattr(crossval, "_CHUNK_ROWS", 7)  # many chunks, pairs straddling them
    out = crossval.pair_predictions(model, X, block.rows, block.species)
    np.testing.assert_allclose(out, dense[block.rows, block.species], rtol=1e-6, atol=1e-7)


def test_out_of_fold_scores_come_from_the_model_that_did_not_see_the_row():
    design, block, X = _block_and_covariates()
    learner = get_learner("logistic", device="cpu")
    scores = crossval.cross_validate(learner, X, X[:5], block, design.folds, 3)
    assert scores.grid.shape == (5, 3)
    held_out = design.folds[block.rows]
    for fold in range(3):
        train = held_out != fold
        model = get_learner("logistic", device="cpu").fit(X, *block.matrices(train))
        test = np.flatnonzero(~train)
        expected = model.predict_proba(X)[block.rows[test], block.species[test]]
        np.testing.assert_allclose(scores.out_of_fold[test], expected, atol=1e-4)
    aucs = crossval.out_of_fold_aucs(block, scores.out_of_fold)
    assert aucs.shape == (3,) and (aucs > 0.6).all()


def test_species_without_two_presences_and_two_background_rows_are_not_fitted():
    _, block, _ = _block_and_covariates()
    train = ~(block.presence & (block.species == 1))  # species 1 loses its presences
    train[np.flatnonzero(block.presence & (block.species == 1))[:2]] = True
    assert crossval.fittable(block, train).tolist() == [True, True, True]
    train[np.flatnonzero(block.presence & (block.species == 1))[1]] = False
    assert crossval.fittable(block, train).tolist() == [True, False, True]
