"""LocationEncoder: every pe x net builds, inputs are checked, files round-trip exactly."""

import numpy as np
import pytest
import torch

from geoloc.encoders import (
    build_location_encoder,
    build_network,
    load_location_encoder,
    model_config,
    save_location_encoder,
)
from geoloc.encoders.extent import TrainingExtent
from geoloc.encoders.location_encoder import FORMAT, MAX_PARAMETERS, outside_training_extent
from geoloc.errors import GeolocError
from geoloc.params import ModelParams
from geoloc.registry import ENCODINGS, NETWORKS

SMALL = {"hidden": 32, "layers": 2, "dim": 16, "legendre": 6, "rff_features": 16}
LAT = torch.tensor([48.85, 43.3, 45.76, -33.9])
LON = torch.tensor([2.35, 5.37, 4.84, 151.2])


@pytest.mark.parametrize("pe", ENCODINGS.names())
@pytest.mark.parametrize("net", NETWORKS.names())
def test_every_registered_encoding_and_network_builds(pe, net):
    enc = build_location_encoder(ModelParams(pe=pe, net=net, **SMALL), seed=0)
    out = enc(LAT, LON)
    assert out.shape == (4, 16) and torch.isfinite(out).all()
    assert isinstance(enc.encoding, ENCODINGS.get(pe)) and isinstance(
        enc.network, NETWORKS.get(net)
    )


def test_config_takes_each_builders_options_from_params():
    params = ModelParams(pe="rff", net="siren", rff_sigmas=[2.0], w0=30.0, dropout=0.1, **SMALL)
    config = model_config(params, seed=5)
    assert config["pe_options"] == {
        "sigmas": (2.0,), "features": 16, "projection": "equal_earth", "seed": 5
    }  # fmt: skip
    assert config["net_options"] == {"dropout": 0.1, "w0": 30.0}
    assert model_config(params.model_copy(update={"net": "mlp"}))["net_options"] == {"dropout": 0.1}
    assert model_config(params.model_copy(update={"pe": "sh"}))["pe_options"] == {"degrees": 6}


def test_unknown_network_is_a_user_error_naming_the_known_ones():
    with pytest.raises(GeolocError, match="unknown network 'cnn'; known: siren, resmlp, mlp"):
        build_network("cnn", 2, 8, 1, 4)


def test_seed_fixes_the_weights():
    a = build_location_encoder(ModelParams(**SMALL), seed=1)
    b = build_location_encoder({**SMALL}, seed=1)
    c = build_location_encoder(ModelParams(**SMALL), seed=2)
    assert torch.equal(a(LAT, LON), b(LAT, LON))
    assert not torch.equal(a(LAT, LON), c(LAT, LON))


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        ([2.35, -33.9], [48.85, 151.2], None),  # in range: fine (order cannot be proven here)
        ([120.0, 2.0], [45.0, 46.0], "looks like \\(lon, lat\\) was passed"),
        ([45.0], [200.0], "longitude out of range"),
        ([95.0], [120.0], "latitude out of range"),
        ([float("nan")], [1.0], "NaN"),
        ([1.0, 2.0], [1.0], "equal length"),
    ],
)
def test_inputs_are_checked(lat, lon, message):
    enc = build_location_encoder(ModelParams(**SMALL), seed=0)
    lat_t, lon_t = torch.tensor(lat), torch.tensor(lon)
    if message is None:
        enc(lat_t, lon_t)
        return
    with pytest.raises(GeolocError, match=message):
        enc(lat_t, lon_t)
    with pytest.raises(GeolocError, match=message):
        enc.encode(np.array(lat), np.array(lon))


@pytest.mark.parametrize("pe", ["sh", "rff"])
def test_save_load_gives_identical_outputs(tmp_path, pe):
    enc = build_location_encoder(ModelParams(pe=pe, **SMALL), seed=0)
    with torch.no_grad():  # change weights from their init so the file must carry them
        for p in enc.parameters():
            p.add_(0.01)
    path = tmp_path / "encoder.pt"
    save_location_encoder(enc, path)
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == FORMAT and payload["version"] == 2
    for loaded in (load_location_encoder(path), load_location_encoder(path, map_location="cpu")):
        assert not loaded.training
        assert torch.equal(enc.eval()(LAT, LON), loaded(LAT, LON))
        np.testing.assert_array_equal(
            loaded.encode(LAT.numpy(), LON.numpy()), enc(LAT, LON).detach().numpy()
        )
    import geoloc

    assert torch.equal(geoloc.load_location_encoder(path)(LAT, LON), enc(LAT, LON))


def test_bad_files_are_user_errors(tmp_path):
    with pytest.raises(GeolocError, match="not found"):
        load_location_encoder(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(GeolocError, match="cannot be read"):
        load_location_encoder(junk)
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(GeolocError, match="not a geoloc location encoder"):
        load_location_encoder(tmp_path / "foreign.pt")
    enc = build_location_encoder(ModelParams(**SMALL), seed=0)
    save_location_encoder(enc, tmp_path / "enc.pt")
    payload = torch.load(tmp_path / "enc.pt", weights_only=True)
    torch.save({**payload, "version": 99}, tmp_path / "future.pt")
    with pytest.raises(GeolocError, match="version 99 is not supported"):
        load_location_encoder(tmp_path / "future.pt")


def test_coordinates_as_one_n_by_2_array_of_lat_lon():
    """GeoCLIP's and SatCLIP's form: columns (lat, lon), the same as two 1-D inputs."""
    enc = build_location_encoder(ModelParams(**SMALL), seed=0)
    coords = torch.stack([LAT, LON], dim=1)
    assert torch.equal(enc(coords), enc(LAT, LON))
    np.testing.assert_array_equal(enc.encode(coords.numpy()), enc.encode(LAT.numpy(), LON.numpy()))
    with pytest.raises(GeolocError, match=r"looks like \(lon, lat\)"):
        enc(coords.flip(1))  # swapped columns: Sydney's longitude 151 is not a latitude
    for bad in (torch.zeros(4, 3), LAT):
        with pytest.raises(GeolocError, match=r"one \(N, 2\) array of \(lat, lon\) columns"):
            enc(bad)


def test_an_encoder_too_large_to_allocate_is_a_user_error():
    params = ModelParams(hidden=8192, layers=64, dim=16)  # every size in bounds, ~8.6e9 weights
    with pytest.raises(GeolocError, match=f"above the {MAX_PARAMETERS:,}"):
        build_location_encoder(params, seed=0)


def test_the_training_extent_travels_in_the_file_and_flags_far_points(tmp_path):
    enc = build_location_encoder(ModelParams(**SMALL), seed=0)
    rng = np.random.default_rng(0)
    enc.extent = TrainingExtent.of_points(rng.uniform(43, 50, 500), rng.uniform(-1, 7, 500))
    save_location_encoder(enc, tmp_path / "enc.pt")
    loaded = load_location_encoder(tmp_path / "enc.pt")
    np.testing.assert_array_equal(loaded.extent.cells, enc.extent.cells)
    assert loaded.extent.bounds == enc.extent.bounds
    lat, lon = np.array([48.85, 43.3, -33.9, 60.0]), np.array([2.35, 5.37, 151.2, 3.0])
    expected = [False, False, True, True]  # Paris, Marseille in; Sydney, the North Sea out
    assert outside_training_extent(loaded, lat, lon).tolist() == expected
    assert outside_training_extent(loaded, np.stack([lat, lon], 1)).tolist() == expected
    with pytest.raises(GeolocError, match="latitude out of range"):
        outside_training_extent(loaded, lon, lat)


def test_version_1_files_still_load_without_an_extent(tmp_path):
    enc = build_location_encoder(ModelParams(**SMALL), seed=0)
    save_location_encoder(enc, tmp_path / "enc.pt")
    payload = torch.load(tmp_path / "enc.pt", weights_only=True)
    del payload["extent"]
    torch.save({**payload, "version": 1}, tmp_path / "v1.pt")
    old = load_location_encoder(tmp_path / "v1.pt")
    assert old.extent is None and torch.equal(old(LAT, LON), enc(LAT, LON))
    assert not outside_training_extent(old, LAT.numpy(), LON.numpy()).any()  # unknown: no flags


def test_geoclip_features_take_lat_lon_order():
    from geoloc.encoders.geoclip import _model, geoclip_features

    lat, lon = np.array([48.85, -33.9]), np.array([2.35, 151.2])
    out = geoclip_features(lat, lon)
    assert out.shape == (2, 512) and out.dtype == np.float32
    with torch.no_grad():
        direct = _model()(torch.tensor([[48.85, 2.35], [-33.9, 151.2]]))
    np.testing.assert_allclose(out, direct.numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(GeolocError, match="looks like"):
        geoclip_features(lon * 0 + 151.2, lat)


def _as_if_saved_on_cuda(src, dst):
    """Rewrite a torch zip file so every tensor is tagged as stored on cuda:0 (as a checkpoint
    written on a GPU machine is), without needing a GPU."""
    import zipfile

    cpu, cuda = b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"  # pickle BINUNICODE
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("/data.pkl"):
                assert cpu in data
                data = data.replace(cpu, cuda)
            zout.writestr(info.filename, data)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only machine's path")
def test_gpu_checkpoint_loads_on_a_cpu_only_machine(tmp_path):
    enc = build_location_encoder(ModelParams(**SMALL), seed=0)
    save_location_encoder(enc, tmp_path / "cpu.pt")
    _as_if_saved_on_cuda(tmp_path / "cpu.pt", tmp_path / "gpu.pt")
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(tmp_path / "gpu.pt", weights_only=True)  # what a naive loader hits
    loaded = load_location_encoder(tmp_path / "gpu.pt")
    assert torch.equal(loaded(LAT, LON), enc(LAT, LON))
