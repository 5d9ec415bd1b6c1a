"""Training loop: learns, is deterministic, resumes exactly, logs, checks inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from geoloc.errors import GeolocError
from geoloc.geometry import spatial_block_split
from geoloc.params import ModelParams, TrainParams
from geoloc.train.retrieval import retrieval_metrics
from geoloc.train.trainer import train_location_encoder

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


def test_resume_equals_uninterrupted(observations, tmp_path):
    lat, lon, feat, sp = observations
    params = TRAIN.model_copy(
        update={"epochs": 4, "checkpoint_every": 1, "queue": 96, "jitter_km": 5.0}
    )
    full = train_location_encoder(lat, lon, feat, MODEL, params, species_key=sp)
    with pytest.raises(KeyboardInterrupt):  # killed while reporting epoch 3
        train_location_encoder(
            lat, lon, feat, MODEL, params, species_key=sp,
            live=RecordingLive(die_at_step=4), checkpoint_dir=tmp_path,
        )  # fmt: skip
    assert torch.load(tmp_path / "last.pt", weights_only=False)["epoch"] == 2
    resumed = train_location_encoder(
        lat, lon, feat, MODEL, params, species_key=sp, checkpoint_dir=tmp_path, resume=True
    )
    _assert_same_state(_state(full), _state(resumed))
    assert resumed.history == full.history and resumed.metrics == full.metrics
    # a checkpoint of other params is not resumed from
    other = params.model_copy(update={"lr": 1e-3})
    fresh = train_location_encoder(
        lat, lon, feat, MODEL, other, species_key=sp, checkpoint_dir=tmp_path, resume=True
    )
    assert len(fresh.history) == 5 and fresh.metrics != full.metrics


def test_resumed_runs_log_every_epoch(observations, tmp_path):
    """Curves after a resume (mid-run, or from the finished run's checkpoint) are whole."""
    lat, lon, feat, sp = observations
    params = TRAIN.model_copy(update={"epochs": 3, "checkpoint_every": 1})
    full = RecordingLive()
    train_location_encoder(lat, lon, feat, MODEL, params, species_key=sp, live=full)
    with pytest.raises(KeyboardInterrupt):
        train_location_encoder(
            lat, lon, feat, MODEL, params, species_key=sp,
            live=RecordingLive(die_at_step=3), checkpoint_dir=tmp_path,
        )  # fmt: skip
    for _ in range(2):  # resumes mid-run, then from the finished run's checkpoint
        live = RecordingLive()
        train_location_encoder(
            lat, lon, feat, MODEL, params, species_key=sp,
            live=live, checkpoint_dir=tmp_path, resume=True,
        )  # fmt: skip
        assert live.rows == full.rows and len(live.rows) == 4


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
