"""Validation in batches and a fixed gallery: equal to the all-at-once values when they cover
the set, and the row-weighted mean of fixed seeded batches otherwise."""

import contextlib

import numpy as np
import pytest
import torch

from geoloc.encoders import build_location_encoder
from geoloc.params import ModelParams, TrainParams
from geoloc.train.contrastive import ContrastiveModel
from geoloc.train.data import ArrayRows, read_rows
from geoloc.train.loss import ContrastiveLoss
from geoloc.train.objective import ObjectiveModel
from geoloc.train.retrieval import retrieval_metrics
from geoloc.train.validation import Validation
from tests.train.train_fixtures import synthetic_observations

CPU = torch.device("cpu")


def _setup(n=300, **train):
    lat, lon, feat, sp = synthetic_observations(n=n, seed=7)
    source = ArrayRows(lat, lon, feat, sp)
    params = TrainParams(**train)
    encoder = build_location_encoder(ModelParams(pe="sh", legendre=5, hidden=16, dim=8), seed=0)
    contrastive = ContrastiveModel(encoder, source.dim, ContrastiveLoss(0.1))
    model = ObjectiveModel(encoder, contrastive, None).eval()
    rows = np.flatnonzero(np.arange(n) % 3 == 0)  # the "validation" rows
    return source, params, model, rows


def _all_at_once(source, model, rows):
    model = model.contrastive
    with torch.no_grad():
        lat = torch.as_tensor(source.lat[rows], dtype=torch.float32)
        lon = torch.as_tensor(source.lon[rows], dtype=torch.float32)
        loc = model.embed_locations(lat, lon)
        img = model.embed_features(torch.from_numpy(source.features[rows]))
        species = torch.from_numpy(source.species_key[rows])
        loss = model.loss(loc, img, species, local=True).item()
    return loss, retrieval_metrics(loc, img, lat.double(), lon.double())


def test_batched_validation_equals_all_at_once_when_one_batch_and_the_gallery_cover_it():
    source, params, model, rows = _setup(chunk_rows=16, buffer_chunks=2)
    validation = Validation(source, rows, params, batch_rows=len(rows), device=CPU)
    assert validation.n_gallery == len(rows) and len(validation.buffers) > 1  # streamed
    row = validation.evaluate(model, contextlib.nullcontext)
    loss, scores = _all_at_once(source, model, rows)
    assert row["val_loss"] == pytest.approx(loss, rel=1e-6)
    assert {k: row[f"val_{k}"] for k in scores} == scores


def test_smaller_batches_average_the_loss_of_fixed_seeded_batches_over_rows():
    source, params, model, rows = _setup(seed=3)
    validation = Validation(source, rows, params, batch_rows=32, device=CPU)
    order = np.concatenate(validation.buffers)
    assert sorted(order) == list(rows) and not np.array_equal(order, rows)  # shuffled (seed)
    losses = [_all_at_once(source, model, order[s : s + 32])[0] for s in range(0, len(rows), 32)]
    sizes = [len(order[s : s + 32]) for s in range(0, len(rows), 32)]
    first = validation.evaluate(model, contextlib.nullcontext)
    assert first["val_loss"] == pytest.approx(np.average(losses, weights=sizes), rel=1e-6)
    assert validation.evaluate(model, contextlib.nullcontext) == first  # the same every epoch


def test_gallery_is_a_fixed_seeded_sample_of_val_gallery_rows():
    source, params, model, rows = _setup(val_gallery=40)
    validation = Validation(source, rows, params, batch_rows=64, device=CPU)
    assert validation.n_gallery == 40 and validation.n_rows == len(rows)
    again = Validation(source, rows, params, batch_rows=64, device=CPU)
    torch.testing.assert_close(validation.gallery_feat, again.gallery_feat, rtol=0, atol=0)
    gallery = np.sort(np.random.default_rng(params.seed).choice(rows, 40, replace=False))
    np.testing.assert_array_equal(
        validation.gallery_feat.numpy(), read_rows(source, gallery, params.chunk_rows)
    )
    row = validation.evaluate(model, contextlib.nullcontext)
    _, scores = _all_at_once(source, model, gallery)
    assert {k: row[f"val_{k}"] for k in scores} == scores
