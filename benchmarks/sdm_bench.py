"""SDM learner speed: scikit-learn LogisticRegression fitted species by species (the floor) vs the
batched torch logistic (`get_learner("logistic")`) fitting all species in one problem.

Same data for both: 200 virtual species over France with Gaussian niches, target-group
background (geoloc.sdm.background), covariates = untrained spherical harmonics (64 features),
the same penalty (C=1, class-balanced). Reports fit time, speed-up and the mean AUC of both on
held-out spatial blocks (goal: >= 20x faster at |delta mean AUC| <= 0.005).

    .venv/bin/python benchmarks/sdm_bench.py [--species 200] [--device auto] [--threads 1]

One thread each by default: on a shared machine multi-threaded BLAS/torch kernels measure the
neighbours' load more than the methods.
"""

from __future__ import annotations

import platform
import time

import click
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from geoloc.encoders.positional import build_encoding
from geoloc.geometry import spatial_folds
from geoloc.runtime import resolve_device
from geoloc.sdm.background import target_group_background
from geoloc.sdm.learners import get_learner


def simulate(n_species: int, per_species: int, seed: int = 0):
    """Observations (lat, lon, species) of virtual species with Gaussian niches in France."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform([43.0, -2.0], [50.0, 7.0], size=(n_species, 2))
    widths = rng.uniform(0.8, 3.0, n_species)
    counts = rng.integers(per_species // 4, per_species * 2, n_species)
    niches = list(zip(centres, widths, counts, strict=True))
    lat = np.concatenate([rng.normal(c[0], w, k) for c, w, k in niches])
    lon = np.concatenate([rng.normal(c[1], w * 1.4, k) for c, w, k in niches])
    keep = (lat > 42.3) & (lat < 51.1) & (lon > -4.8) & (lon < 8.2)
    species = np.repeat(np.arange(n_species), counts)
    return lat[keep], lon[keep], species[keep]


def design(n_species: int, per_species: int, background: int):
    lat, lon, species = simulate(n_species, per_species)
    keys = np.arange(n_species)
    bg = target_group_background(species, keys, background, seed=0)
    rows = np.union1d(np.arange(len(species)), bg.index)
    Y = (species[rows, None] == keys[None, :]).astype(np.float32)
    in_bg = np.zeros_like(Y, dtype=bool)
    in_bg[np.searchsorted(rows, bg.index)] = bg.members()
    weights = ((Y > 0) | in_bg).astype(np.float32)
    encoding = build_encoding("sh", degrees=8)
    with torch.no_grad():
        X = encoding(torch.tensor(lat[rows]), torch.tensor(lon[rows])).float().numpy()
    test = spatial_folds(lat[rows], lon[rows], 50.0, 5, seed=0) == 0
    return X, Y, weights, test


def mean_auc(Y, weights, test, scores) -> float:
    aucs = []
    for s in range(Y.shape[1]):
        rows = test & (weights[:, s] > 0)
        if 0 < Y[rows, s].sum() < rows.sum():
            aucs.append(roc_auc_score(Y[rows, s], scores[rows, s]))
    return float(np.mean(aucs))


@click.command()
@click.option("--species", default=200, show_default=True)
@click.option("--per-species", default=150, show_default=True)
@click.option("--background", default=5000, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option(
    "--threads", default=1, show_default=True, help="CPU threads for both (BLAS and torch)."
)
def main(species, per_species, background, device, threads):
    torch.set_num_threads(threads)
    with threadpool_limits(threads):
        run(species, per_species, background, device)
    print(f"CPU threads per method: {threads}")


def run(species, per_species, background, device):
    X, Y, weights, test = design(species, per_species, background)
    train = weights * ~test[:, None]
    Xs = (X - X.mean(0)) / X.std(0)
    print(f"design: {X.shape[0]} rows x {X.shape[1]} covariates, {Y.shape[1]} species")

    start = time.perf_counter()
    sk_scores = np.zeros_like(Y)
    for s in range(Y.shape[1]):
        rows = train[:, s] > 0
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
        model.fit(Xs[rows], Y[rows, s])
        sk_scores[:, s] = model.decision_function(Xs)
    t_sklearn = time.perf_counter() - start
    auc_sklearn = mean_auc(Y, weights, test, sk_scores)
    print(f"sklearn per-species loop : {t_sklearn:8.2f} s  mean AUC {auc_sklearn:.4f}")

    devices = ["cpu"] + (["cuda"] if resolve_device(device).type == "cuda" else [])
    for dev in devices:
        # warm-up (imports, CUDA context, kernels) outside the timed fit
        get_learner("logistic", device=dev, max_iter=2).fit(X, Y, sample_weight=train)
        if dev == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        # tol=1e-4: the stopping rule of sklearn's lbfgs above (the learner's default is 1e-6)
        learner = get_learner("logistic", C=1.0, tol=1e-4, device=dev)
        learner.fit(X, Y, sample_weight=train)
        scores = learner.predict_proba(X)
        t_batched = time.perf_counter() - start
        auc_batched = mean_auc(Y, weights, test, scores)
        print(
            f"batched logistic ({dev:4s})  : {t_batched:8.2f} s  mean AUC {auc_batched:.4f}  "
            f"speed-up {t_sklearn / t_batched:5.1f}x  |delta AUC| {abs(auc_batched - auc_sklearn):.4f}"
            f"  Newton steps max {learner.n_iter_.max()}"
        )
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
