import numpy as np
import pytest

from geoloc.errors import GeolocError
from geoloc.params import ModelParams
from geoloc.registry import COVARIATES
from geoloc.sdm import CovariateContext, coords_features, covariate_function, covariate_matrix

CONTEXT = CovariateContext(ModelParams(legendre=3, rff_features=4, hidden=8, dim=4))
LAT, LON = np.array([45.0, 46.5, 43.2]), np.array([1.0, 2.0, -1.5])


def test_coords_are_lat_lon_their_squares_and_product():
    np.testing.assert_allclose(
        coords_features(LAT, LON),
        np.column_stack([LAT, LON, LAT**2, LON**2, LAT * LON]),
        rtol=1e-6,
    )


@pytest.mark.parametrize("name", ["coords", "sh", "rff", "wrap", "random"])
def test_every_registered_set_builds_through_the_registry(name):
    features = covariate_function(name, CONTEXT)(LAT, LON)
    assert features.shape[0] == 3 and np.isfinite(features).all()


def test_set_names_come_from_the_registry():
    assert set(COVARIATES.names()) == {
        "trained",
        "geoclip",
        "sh",
        "rff",
        "wrap",
        "coords",
        "random",
    }
    with pytest.raises(GeolocError, match="unknown covariate set 'env'; known: trained"):
        covariate_function("env", CONTEXT)
    with pytest.raises(GeolocError, match="needs an encoder file"):
        covariate_function("trained", CONTEXT)(LAT, LON)


def test_a_covariate_matrix_is_float32_and_a_bad_one_is_a_user_error():
    lat, lon = np.array([45.0, 46.0]), np.array([1.0, 2.0])
    features = covariate_matrix("coords", coords_features, lat, lon)
    assert features.dtype == np.float32 and features.shape == (2, 5)
    with pytest.raises(GeolocError, match="covariate set 'short' gave a bad matrix"):
        covariate_matrix("short", lambda la, lo: np.zeros((1, 3)), lat, lon)
    with pytest.raises(GeolocError, match="'nan' gave a bad matrix"):
        covariate_matrix("nan", lambda la, lo: np.full((2, 3), np.nan), lat, lon)


def test_positional_sets_encode_in_batches_like_all_at_once(monkeypatch):
    from geoloc.sdm import covariates

    lat, lon = np.linspace(43, 50, 7), np.linspace(-2, 7, 7)
    whole = covariate_function("sh", CONTEXT)(lat, lon)
    monkeypatch.setattr(covariates, "_BATCH", 3)
    np.testing.assert_array_equal(covariate_function("sh", CONTEXT)(lat, lon), whole)
