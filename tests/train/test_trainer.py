"""Training loop: learns, is deterministic, resumes exactly (interrupted runs only, from
checkpoints it wrote), streams from files in bounded memory, logs, checks inputs."""

import tracemalloc

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from geoloc.embed.store import EmbeddingRows
from geoloc.encoders import build_location_encoder
from geoloc.errors import GeolocError
from geoloc.geometry import spatial_block_split
from geoloc.params import ModelParams, TrainParams
from geoloc.train import data
from geoloc.train.retrieval import retrieval_metrics
from geoloc.train.trainer import (
    Trainer,
    train_location_encoder,
    train_on_rows,
    train_presence_encoder,
)
from tests.train.train_fixtures import CountingRows, write_store

MODEL = ModelParams(pe="sh", legendre=6, hidden=32, dim=16)
TRAIN = TrainParams(epochs=3, batch_size=64, lr=5e-3, val_block_km=100.0)


class RecordingLive:
    """dvclive's interface; optionally dies at a given step like a killed process."""

    def __init__(self, die_at_step=None):
        self.rows, self.row, self.die_at_step = [], {}, die_at_step

    def log_metric(self, name, value):
        self.row[name] = value

    def next_step(self):
        self.rows.append(self.row)
        self.row = {}
        if self.die_at_step is not None and len(self.rows) == self.die_at_step:
            raise KeyboardInterrupt


def _state(result):
    return {k: v.clone() for k, v in result.encoder.state_dict().items()}


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_training_learns_and_logs(observations):
    lat, lon, feat, sp = observations
    live = RecordingLive()
    params = TRAIN.model_copy(update={"epochs": 12})
    result = train_location_encoder(lat, lon, feat, MODEL, params, species_key=sp, live=live)
    assert [row["epoch"] for row in result.history] == list(range(13))
    assert set(live.rows[1]) == {
        "loss", "temperature", "val_loss", "val_top1", "val_top10", "val_median_km"
    }  # fmt: skip
    assert len(live.rows) == 13
    first, last = result.history[1], result.history[-1]
    assert last["loss"] < first["loss"]
    assert result.metrics["val_median_km"] < 0.7 * result.metrics["val_median_km_init"]
    assert result.metrics["n_train"] + result.metrics["n_val"] == len(lat)
    emb = result.encoder.encode(lat, lon)
    assert emb.shape == (len(lat), 16) and not result.encoder.training


def test_same_seed_same_result(observations):
    lat, lon, feat, sp = observations
    a = train_location_encoder(lat, lon, feat, MODEL, TRAIN, species_key=sp)
    b = train_location_encoder(lat, lon, feat, MODEL, TRAIN, species_key=sp)
    assert a.metrics == b.metrics
    _assert_same_state(_state(a), _state(b))
    c = train_location_encoder(
        lat, lon, feat, MODEL, TRAIN.model_copy(update={"seed": 1}), species_key=sp
    )
    assert c.metrics != a.metrics


def test_select_best_keeps_the_epoch_of_lowest_validation_loss(observations):
    lat, lon, feat, sp = observations
    feat = np.random.default_rng(1).permutation(feat)  # images unrelated to places: overfits
    params = TRAIN.model_copy(update={"epochs": 8, "select_best": True})
    model = MODEL.model_copy(update={"legendre": 10})  # finer features: validation loss turns up
    result = train_location_encoder(lat, lon, feat, model, params, species_key=sp)
    losses = [row["val_loss"] for row in result.history]
    best = int(np.argmin(losses))
    assert best < params.epochs  # the last epoch is not the best one
    assert result.metrics["best_epoch"] == best
    assert result.metrics["val_loss"] == round(losses[best], 6)
    # the returned weights are that epoch's: they reproduce its validation retrieval
    is_val = spatial_block_split(lat, lon, params.val_fraction, params.val_block_km, params.seed)
    with torch.no_grad():
        loc = F.normalize(torch.from_numpy(result.encoder.encode(lat[is_val], lon[is_val])), dim=1)
        img = F.normalize(result.image_head(torch.from_numpy(feat[is_val])), dim=1)
    scores = retrieval_metrics(
        loc, img, torch.from_numpy(lat[is_val]), torch.from_numpy(lon[is_val])
    )
    assert scores["top10"] == result.history[best]["val_top10"]
    last = train_location_encoder(
        lat, lon, feat, model, params.model_copy(update={"select_best": False}), species_key=sp
    )
    assert last.metrics["best_epoch"] == params.epochs and last.history == result.history


@pytest.mark.parametrize("shuffle", [{}, {"chunk_rows": 32, "buffer_chunks": 3}])
def test_resume_equals_uninterrupted(observations, tmp_path, shuffle):
    """Also with the block shuffle (several buffers a pass)."""
    lat, lon, feat, sp = observations
    params = TRAIN.model_copy(update={"epochs": 4, "queue": 96, "jitter_km": 5.0, **shuffle})
    full = train_location_encoder(lat, lon, feat, MODEL, params, species_key=sp)
    with pytest.raises(KeyboardInterrupt):  # killed while reporting epoch 3
        train_location_encoder(
            lat, lon, feat, MODEL, params, species_key=sp,
            live=RecordingLive(die_at_step=4), checkpoint_dir=tmp_path,
        )  # fmt: skip
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 2
    resumed = train_location_encoder(
        lat, lon, feat, MODEL, params, species_key=sp, checkpoint_dir=tmp_path, resume=True
    )
    _assert_same_state(_state(full), _state(resumed))
    assert resumed.history == full.history and resumed.metrics == full.metrics
    assert not (tmp_path / "last.pt").exists()  # finished: nothing left to resume
    # a checkpoint of other params is not resumed from
    other = params.model_copy(update={"lr": 1e-3})
    fresh = train_location_encoder(
        lat, lon, feat, MODEL, other, species_key=sp, checkpoint_dir=tmp_path, resume=True
    )
    assert len(fresh.history) == 5 and fresh.metrics != full.metrics


def test_resumed_runs_log_every_epoch_and_finished_runs_are_not_resumed(
    observations, tmp_path, caplog
):
    """Curves after a mid-run resume are whole; a rerun of the finished run retrains (no
    replay of the old run, as `dvc repro -f` once did) and gives the same curves."""
    lat, lon, feat, sp = observations
    params = TRAIN.model_copy(update={"epochs": 3})
    full = RecordingLive()
    train_location_encoder(lat, lon, feat, MODEL, params, species_key=sp, live=full)
    with pytest.raises(KeyboardInterrupt):
        train_location_encoder(
            lat, lon, feat, MODEL, params, species_key=sp,
            live=RecordingLive(die_at_step=3), checkpoint_dir=tmp_path,
        )  # fmt: skip
    for resumes in (True, False):  # resumes mid-run, then retrains the finished run
        live = RecordingLive()
        caplog.clear()
        with caplog.at_level("INFO", logger="geoloc.train.trainer"):
            train_location_encoder(
                lat, lon, feat, MODEL, params, species_key=sp,
                live=live, checkpoint_dir=tmp_path, resume=True,
            )  # fmt: skip
        assert ("resumed from" in caplog.text) == resumes
        assert live.rows == full.rows and len(live.rows) == 4
        assert not (tmp_path / "last.pt").exists()


def test_presence_objective_learns_from_locations_and_species_alone(observations):
    lat, lon, feat, sp = observations
    live = RecordingLive()
    params = TRAIN.model_copy(update={"epochs": 8})  # objective contrastive: taken as presence
    result = train_presence_encoder(lat, lon, sp, sp % 2, MODEL, params, live=live)
    assert set(live.rows[1]) == {"loss", "presence_loss", "val_loss", "val_presence_loss"}
    first, last = result.history[1], result.history[-1]
    assert last["loss"] < first["loss"]
    # held-out blocks: the species head ranks places far better than the untrained encoder's
    assert last["val_presence_loss"] < 0.9 * result.history[0]["val_presence_loss"]
    assert result.image_head is None
    assert not {"val_top10", "val_top10_init", "n_gallery", "temperature"} & set(result.metrics)
    untrained = build_location_encoder(MODEL, seed=params.seed).state_dict()
    trained = result.encoder.state_dict()
    assert all(not torch.equal(trained[k], untrained[k]) for k in untrained if "network" in k)
    assert result.encoder.encode(lat, lon).shape == (len(lat), 16)


def test_presence_objective_reads_no_features(observations):
    lat, lon, feat, sp = observations
    counted = CountingRows(data.ArrayRows(lat, lon, feat, sp))
    params = TRAIN.model_copy(update={"epochs": 1, "objective": "presence"})
    result = train_on_rows(counted, MODEL, params)
    assert counted.reads == [] and result.image_head is None


@pytest.mark.parametrize(
    ("objective", "loss"), [("presence", "maxent"), ("presence", "an_full"), ("both", "an_full")]
)
def test_presence_objectives_are_deterministic_and_resume_exactly(
    observations, tmp_path, objective, loss
):
    lat, lon, feat, sp = observations
    update = {"epochs": 4, "objective": objective, "presence_loss": loss, "jitter_km": 5.0}
    params = TRAIN.model_copy(update=update)

    def train(**options):
        source = data.ArrayRows(lat, lon, feat, sp)
        return train_on_rows(source, MODEL, params, groups=sp % 2, **options)

    full, again = train(), train()
    _assert_same_state(_state(full), _state(again))
    assert full.metrics == again.metrics
    with pytest.raises(KeyboardInterrupt):  # killed while reporting epoch 3
        train(live=RecordingLive(die_at_step=4), checkpoint_dir=tmp_path)
    resumed = train(checkpoint_dir=tmp_path, resume=True)
    _assert_same_state(_state(full), _state(resumed))
    assert resumed.history == full.history and resumed.metrics == full.metrics
    one_group = train_on_rows(data.ArrayRows(lat, lon, feat, sp), MODEL, params)
    assert one_group.metrics != full.metrics  # the target groups shape the background


class _WritesMarker:
    """Unpickling this runs code: what a crafted last.pt would do with weights_only=False."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_checkpoint_runs_no_code_and_is_not_resumed(observations, tmp_path, caplog):
    lat, lon, feat, sp = observations
    marker = tmp_path / "pwned"
    torch.save({"fingerprint": "x", "payload": _WritesMarker(marker)}, tmp_path / "last.pt")
    assert not marker.exists()
    with caplog.at_level("WARNING", logger="geoloc.train.trainer"):
        result = train_location_encoder(
            lat, lon, feat, MODEL, TRAIN, species_key=sp, checkpoint_dir=tmp_path, resume=True
        )
    assert not marker.exists()
    assert "not a checkpoint geoloc wrote" in caplog.text
    assert (
        result.metrics
        == train_location_encoder(lat, lon, feat, MODEL, TRAIN, species_key=sp).metrics
    )


def test_bad_inputs_are_user_errors(observations):
    lat, lon, feat, sp = observations
    with pytest.raises(GeolocError, match="features must be"):
        train_location_encoder(lat, lon, feat[:-1], MODEL, TRAIN)
    with pytest.raises(GeolocError, match=r"\(lat, lon\)"):
        train_location_encoder(lon + 100, lat, feat, MODEL, TRAIN)
    bad = feat.copy()
    bad[3, 0] = np.nan
    with pytest.raises(GeolocError, match="NaN"):
        train_location_encoder(lat, lon, bad, MODEL, TRAIN)


def test_progress_bar_shows_epoch_loss_and_validation(observations, capsys):
    lat, lon, feat, sp = observations
    train_location_encoder(lat, lon, feat, MODEL, TRAIN, species_key=sp)
    err = capsys.readouterr().err
    assert "epoch 3/3" in err and "loss=" in err and "val_median_km=" in err


def _h5(path, n, dim, seed=0):
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(42.5, 51.0, n), rng.uniform(-4.5, 8.0, n)
    feat = rng.normal(size=(n, dim)).astype(np.float32)
    feat[:, 0] += lat - 46  # something to learn
    write_store(
        path, lat, lon, feat / np.linalg.norm(feat, axis=1, keepdims=True), rng.integers(0, 40, n)
    )
    return path


class PeakStream(data.BatchStream):
    peak = 0

    def __iter__(self):
        yield from super().__iter__()
        PeakStream.peak = max(PeakStream.peak, self.peak_rows)


def _warm_up(tmp_path):
    """One tiny run first, so that tracemalloc measures training and not module imports."""
    with EmbeddingRows([_h5(tmp_path / "warm.h5", 300, 8)]) as rows:
        train_on_rows(rows, MODEL, TRAIN.model_copy(update={"epochs": 1}))


def _traced_peak(run) -> int:
    """Bytes that NumPy (and h5py's arrays) allocate at most at once during `run()`, above
    what is allocated when it starts."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def test_streams_a_file_larger_than_its_memory_budget(tmp_path, monkeypatch):
    """A file 20x larger than a pass holds in memory trains, reading a chunk at a time and
    holding at most two buffers of rows, exactly as the same rows held in memory do."""
    _warm_up(tmp_path)
    n, dim = 8000, 1024
    path = _h5(tmp_path / "big.h5", n, dim)
    update = {"epochs": 1, "batch_size": 64, "chunk_rows": 64, "buffer_chunks": 2}
    params = TRAIN.model_copy(update={**update, "val_gallery": 64})
    monkeypatch.setattr("geoloc.train.trainer.BatchStream", PeakStream)
    monkeypatch.setattr("geoloc.train.validation.BatchStream", PeakStream)
    PeakStream.peak = 0
    results = []

    def run():
        with EmbeddingRows([path]) as rows:
            counted = CountingRows(rows)
            results.append(train_on_rows(counted, MODEL, params))
        assert counted.largest_read <= params.chunk_rows
        assert counted.rows_read > 2 * n  # the scan, the gallery and each pass read the file

    peak = _traced_peak(run)
    budget_rows = (2 * params.buffer_chunks + 1) * params.chunk_rows + params.batch_size
    assert 0 < PeakStream.peak <= budget_rows < n / 20
    assert peak < n * dim * 2 / 4  # a quarter of the float16 embeddings themselves
    streamed = results[0]
    assert streamed.metrics["n_gallery"] == 64
    assert streamed.history[-1]["val_median_km"] < streamed.history[0]["val_median_km"]
    with h5py.File(path) as h5:
        arrays = h5["lat"][:], h5["lon"][:], h5["embedding"][:].astype(np.float32)
        species = h5["species_key"][:]
    in_memory = train_location_encoder(*arrays, MODEL, params, species_key=species)
    assert in_memory.metrics == streamed.metrics
    _assert_same_state(_state(in_memory), _state(streamed))


class _StopAfter(Exception):
    pass


@pytest.mark.slow
def test_a_million_rows_stream_in_bounded_memory(tmp_path, monkeypatch):
    """1M rows x 64-d: the scan, the split, validation and 300 steps of the first pass, with no
    more than a chunk read at once, two buffers held, and NumPy memory far below the size of the
    embeddings."""
    _warm_up(tmp_path)
    n, dim, steps = 1_000_000, 64, 300
    rng = np.random.default_rng(0)
    path = tmp_path / "million.h5"
    with h5py.File(path, "w") as h5:
        h5["gbif_id"] = np.arange(n)
        h5.create_dataset("embedding", (n, dim), np.float16, chunks=(4096, dim))
        for start in range(0, n, 100_000):  # written in parts: the test holds no (N, D) array
            h5["embedding"][start : start + 100_000] = rng.normal(size=(100_000, dim))
        h5["lat"], h5["lon"] = rng.uniform(42.5, 51.0, n), rng.uniform(-4.5, 8.0, n)
        h5["species_key"] = rng.integers(0, 5000, n)
    params = TrainParams(
        epochs=1, batch_size=256, val_fraction=0.05, val_gallery=512, buffer_chunks=4,
        mask_same_species=False,
    )  # fmt: skip
    model = ModelParams(pe="sh", legendre=3, hidden=8, layers=1, dim=8)
    step, taken = Trainer._step, []

    def counted_step(self, step_model, batch):
        taken.append(len(batch))
        if len(taken) > steps:
            raise _StopAfter
        return step(self, step_model, batch)

    monkeypatch.setattr(Trainer, "_step", counted_step)
    monkeypatch.setattr("geoloc.train.trainer.BatchStream", PeakStream)
    monkeypatch.setattr("geoloc.train.validation.BatchStream", PeakStream)
    PeakStream.peak = 0

    def run():
        with EmbeddingRows([path]) as rows, pytest.raises(_StopAfter):
            counted = CountingRows(rows)
            train_on_rows(counted, model, params)
        assert counted.largest_read <= params.chunk_rows

    peak = _traced_peak(run)
    assert taken[:steps] == [256] * steps
    assert PeakStream.peak <= (2 * params.buffer_chunks + 1) * params.chunk_rows + 256
    # lat/lon/species (24 B a row) and index arrays stay; the embeddings (128 MB) never load
    assert peak < 100 * n < n * dim * 2
