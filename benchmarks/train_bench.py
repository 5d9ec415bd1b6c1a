"""Training throughput: the real loop against the bare optimisation step, same model and batch.

(a) floor: forward + backward + optimizer step on one batch of tensors already in memory;
(b) the real loop of `train_on_rows` on an embedding file written as the embed stage writes it
    (features streamed from the HDF5 file in chunks, block shuffle, prefetch thread, batch
    transfer, scheduler, loss bookkeeping, progress bar), timed over its step loop only;
(c) the same call end to end (opening the file, the scan, split, model build, per-epoch
    validation in batches and gallery retrieval).
Goal: (b) >= 0.9 x (a) on CPU. On CUDA it also prints samples/s for the default config.
`--quick`: tiny sizes, to check that the benchmark runs (its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geoloc.embed.store import EmbeddingRows  # noqa: E402
from geoloc.embed.writer import write_embedding_file  # noqa: E402
from geoloc.encoders import build_location_encoder  # noqa: E402
from geoloc.params import ModelParams, TrainParams  # noqa: E402
from geoloc.runtime import resolve_device, torch_threads  # noqa: E402
from geoloc.train import ContrastiveLoss, train_on_rows  # noqa: E402
from geoloc.train.contrastive import ContrastiveModel  # noqa: E402


def observations(n: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(42.5, 51.0, n), rng.uniform(-4.5, 8.0, n)
    feat = rng.normal(size=(n, dim)).astype(np.float32)
    feat /= np.linalg.norm(feat, axis=1, keepdims=True)
    return lat, lon, feat, rng.integers(0, 50, n)


def floor_steps_per_s(model_p, train_p, feat_dim, device, steps):
    with torch_threads(train_p.cpu_threads):  # the same thread count the training loop uses
        return _floor(model_p, train_p, feat_dim, device, steps)


def _floor(model_p, train_p, feat_dim, device, steps):
    encoder = build_location_encoder(model_p, seed=0)
    loss = ContrastiveLoss(train_p.temperature, train_p.min_temperature, train_p.mask_same_species)
    model = ContrastiveModel(encoder, feat_dim, loss).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=train_p.lr)
    lat, lon, feat, sp = observations(train_p.batch_size, feat_dim, seed=1)
    b = [torch.as_tensor(a).to(device) for a in (lat, lon, feat, sp)]
    b[0], b[1] = b[0].float(), b[1].float()
    autocast = torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda")

    def step():
        with autocast:
            value = model(*b)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        return value

    for _ in range(5):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    tic = time.perf_counter()
    for _ in range(steps):
        value = step()
    value.item()
    return steps / (time.perf_counter() - tic)


def write_file(path: Path, n: int, dim: int) -> None:
    """Synthetic observations as an embedding file, through the embed stage's writer."""
    lat, lon, feat, sp = observations(n, dim)
    empty = np.zeros(0, np.int64)
    write_embedding_file(
        path, gbif_id=np.arange(n), embedding=feat, lat=lat, lon=lon, species_key=sp,
        failed_id=empty, failed_reason=np.zeros(0, object),
        attrs={"backbone": "synthetic", "weights_id": "none", "image_size": 0, "precision": "fp32"},
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    quick = parser.parse_args().quick
    device = resolve_device("auto")
    model_p, feat_dim = ModelParams(), 1280  # efficientnet-lite0 embeddings
    n = 12_000 if device.type == "cpu" else 200_000
    epochs = 3
    if quick:
        model_p, feat_dim, n, epochs = ModelParams(hidden=32, dim=16), 32, 2_000, 1
    train_p = TrainParams(epochs=epochs, val_fraction=0.05)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.h5"
        write_file(path, n, feat_dim)
        tic = time.perf_counter()
        with EmbeddingRows([path]) as rows:
            result = train_on_rows(rows, model_p, train_p, device=device)
        total = time.perf_counter() - tic
    steps = result.timing["steps"]
    loop = steps / result.timing["loop_s"]
    floor = floor_steps_per_s(model_p, train_p, feat_dim, device, steps)
    print(
        f"device={device} threads={train_p.cpu_threads or torch.get_num_threads()} model={model_p.pe}+{model_p.net} "
        f"batch={train_p.batch_size} feature_dim={feat_dim} n={n} steps={steps} (streamed from HDF5)"
    )
    print(f"(a) bare forward+backward+step : {floor:8.2f} steps/s")
    print(f"(b) real training loop         : {loop:8.2f} steps/s  ratio b/a = {loop / floor:.2f}")
    print(f"(c) end to end incl. validation: {steps / total:8.2f} steps/s  ({total:.1f} s)")
    print(f"samples/s (b): {loop * train_p.batch_size:,.0f}")


if __name__ == "__main__":
    main()
