import numpy as np
import pytest

from geoloc.errors import GeolocError
from geoloc.params import ModelParams
from geoloc.registry import COVARIATES
from geoloc.sdm import CovariateCache, CovariateContext, coords_features, covariate_function

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


def test_covariates_are_computed_once():
    calls = []

    def features(lat, lon):
        calls.append(len(lat))
        return coords_features(lat, lon)

    cache = CovariateCache(np.array([45.0, 46.0]), np.array([1.0, 2.0]), {"c": features})
    assert cache["c"] is cache["c"]
    assert calls == [2]
