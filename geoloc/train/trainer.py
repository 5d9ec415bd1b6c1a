"""Contrastive training of a location encoder against a paired modality.

The paired modality is generic: frozen image embeddings for the pipeline, environment vectors for
the DISDAT benchmark. All data lives as tensors on the device; a step is a handful of indexing and
tensor ops, with no per-sample Python. bf16 autocast on CUDA, deterministic for a seed on CPU,
resumable checkpoints, DDP under torchrun with negatives gathered across ranks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from geoloc.encoders.location_encoder import (
    LocationEncoder,
    build_location_encoder,
    check_coordinates,
    model_config,
)
from geoloc.errors import GeolocError
from geoloc.geometry import KM_PER_DEGREE, spatial_block_split
from geoloc.io import atomic_path
from geoloc.runtime import resolve_device, seed_everything
from geoloc.train import distributed
from geoloc.train.loss import ContrastiveLoss
from geoloc.train.retrieval import retrieval_metrics

log = logging.getLogger(__name__)
CHECKPOINT = "last.pt"


@dataclass
class TrainResult:
    encoder: LocationEncoder
    image_head: nn.Module  # projects the paired features into the encoder's space
    history: list[dict] = field(default_factory=list)  # one dict per epoch (epoch 0: untrained)
    metrics: dict = field(default_factory=dict)  # final flat metrics (metrics.json)
    timing: dict = field(default_factory=dict)  # steps run and seconds spent in the step loop


class ContrastiveModel(nn.Module):
    """Location encoder + linear projection of the paired features + the loss (and its T)."""

    def __init__(self, encoder: LocationEncoder, feature_dim: int, loss: ContrastiveLoss):
        super().__init__()
        self.encoder = encoder
        self.image_head = nn.Linear(feature_dim, encoder.dim)
        self.loss = loss

    def embed_locations(self, lat, lon):
        return F.normalize(self.encoder.embed(lat, lon).float(), dim=1)

    def embed_features(self, features):
        return F.normalize(self.image_head(features).float(), dim=1)

    def forward(self, lat, lon, features, species=None, queue=None):
        loc = self.embed_locations(lat, lon)
        img = self.embed_features(features)
        queue_loc = queue_species = None
        if queue is not None:
            queue_loc = self.embed_locations(queue[0], queue[1])
            queue_species = queue[2]
        return self.loss(loc, img, species, queue_loc, queue_species)


class LocationQueue:
    """Ring buffer of past (lat, lon, species) on the device: extra negatives (GeoCLIP)."""

    def __init__(self, size: int, device: torch.device):
        self.size, self.ptr, self.filled = size, 0, 0
        self.lat = torch.zeros(size, device=device)
        self.lon = torch.zeros(size, device=device)
        self.species = torch.full((size,), -1, dtype=torch.long, device=device)

    def push(self, lat, lon, species) -> None:
        n = min(len(lat), self.size)
        idx = (torch.arange(n, device=lat.device) + self.ptr) % self.size
        self.lat[idx], self.lon[idx], self.species[idx] = lat[-n:], lon[-n:], species[-n:]
        self.ptr, self.filled = (self.ptr + n) % self.size, min(self.filled + n, self.size)

    def get(self):
        if self.filled == 0:
            return None
        return self.lat[: self.filled], self.lon[: self.filled], self.species[: self.filled]

    def state_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("ptr", "filled", "lat", "lon", "species")}

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value.to(self.lat.device) if torch.is_tensor(value) else value)


def jitter(lat, lon, km: float, generator: torch.Generator):
    """Gaussian displacement of about `km` km; latitude clamped, longitude wrapped."""
    noise = torch.randn(2, len(lat), generator=generator, device=lat.device) * (km / KM_PER_DEGREE)
    lat = (lat + noise[0]).clamp(-90.0, 90.0)
    lon = lon + noise[1] / torch.cos(torch.deg2rad(lat)).clamp_min(1e-3)
    return lat, torch.remainder(lon + 180.0, 360.0) - 180.0


def _lr_lambda(warmup_steps: int, total_steps: int):
    """Linear warm-up then cosine decay to 0 (CLIP's schedule)."""

    def fn(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return fn


def _fingerprint(config: dict, train_params, lat, lon, features, species, world_size) -> str:
    """Identifies the run a checkpoint belongs to: params, data and the training code itself."""
    keyed = train_params.model_dump(exclude={"checkpoint_every"})
    digest = hashlib.sha256(json.dumps([config, keyed, world_size], sort_keys=True).encode())
    package = Path(__file__).resolve().parents[1]
    for source in sorted([*package.glob("train/*.py"), *package.glob("encoders/**/*.py")]):
        digest.update(source.read_bytes())
    for array in (lat, lon, features, species):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _as_tensor(array, device, dtype=torch.float32):
    return torch.as_tensor(np.asarray(array), dtype=dtype).to(device)


def train_location_encoder(
    lat, lon, features, model_params, train_params, **options
) -> TrainResult:
    """Train an encoder so that (lat[i], lon[i]) embeds close to features[i].

    Options: `species_key` (N,) for same-species masking; `device`; `live`, anything with
    dvclive's `log_metric(name, value)` and `next_step()`; `checkpoint_dir`, where a checkpoint is
    written every `train.checkpoint_every` epochs and at the end; `resume=True` continues from it
    when it belongs to the same params, data and code (else training starts afresh, with a
    warning). Runs with `train.cpu_threads` torch threads, restored afterwards.
    """
    from geoloc.params import ModelParams, TrainParams

    if isinstance(model_params, dict):
        model_params = ModelParams(**model_params)
    if isinstance(train_params, dict):
        train_params = TrainParams(**train_params)
    before = torch.get_num_threads()
    if train_params.cpu_threads:
        torch.set_num_threads(train_params.cpu_threads)
    try:
        return _train(lat, lon, features, model_params, train_params, **options)
    finally:
        torch.set_num_threads(before)


def _train(
    lat,
    lon,
    features,
    model_params,
    train_params,
    *,
    species_key=None,
    device="cpu",
    live=None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
) -> TrainResult:
    tp = train_params
    device = resolve_device(device) if isinstance(device, str) else device
    ctx = distributed.setup(device)
    device = distributed.device_for_rank(device, ctx)

    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    features = np.asarray(features, dtype=np.float32)
    check_coordinates(torch.from_numpy(lat), torch.from_numpy(lon))
    if features.ndim != 2 or len(features) != len(lat):
        raise GeolocError(
            f"features must be (N, D) with N = {len(lat)} locations; got {features.shape}"
        )
    if not np.isfinite(features).all():
        raise GeolocError("features contain NaN or infinite values")
    species = (
        np.arange(len(lat), dtype=np.int64)
        if species_key is None
        else np.asarray(species_key, dtype=np.int64)
    )

    is_val = spatial_block_split(lat, lon, tp.val_fraction, tp.val_block_km, tp.seed)
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    tr = {
        "lat": _as_tensor(lat[train_idx], device),
        "lon": _as_tensor(lon[train_idx], device),
        "feat": _as_tensor(features[train_idx], device),
        "species": _as_tensor(species[train_idx], device, torch.long),
    }
    val = {
        "lat": _as_tensor(lat[val_idx], device),
        "lon": _as_tensor(lon[val_idx], device),
        "feat": _as_tensor(features[val_idx], device),
        "species": _as_tensor(species[val_idx], device, torch.long),
    }

    seed_everything(tp.seed)
    encoder = build_location_encoder(model_params, seed=tp.seed)
    loss_fn = ContrastiveLoss(tp.temperature, tp.min_temperature, tp.mask_same_species)
    model = ContrastiveModel(encoder, features.shape[1], loss_fn).to(device)
    no_decay = [model.loss.logit_scale]
    decay = [p for n, p in model.named_parameters() if n != "loss.logit_scale"]
    optimizer = torch.optim.AdamW(
        [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=tp.lr,
        weight_decay=tp.weight_decay,
    )
    batch = min(tp.batch_size, max(1, len(train_idx) // ctx.world_size))
    steps_per_epoch = max(1, len(train_idx) // (batch * ctx.world_size))
    total_steps = steps_per_epoch * tp.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(min(tp.warmup_epochs * steps_per_epoch, total_steps), total_steps)
    )
    generator = torch.Generator(device=device).manual_seed(tp.seed)
    queue = LocationQueue(tp.queue, device) if tp.queue else None

    history: list[dict] = []
    best: dict = {"epoch": 0, "val_loss": math.inf, "state": None}  # train.select_best
    start_epoch = 0
    config = model_config(model_params, seed=tp.seed)
    fingerprint = _fingerprint(config, tp, lat, lon, features, species, ctx.world_size)
    ckpt_path = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir else None
    if resume and ckpt_path is not None and ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        if state.get("fingerprint") != fingerprint:
            log.warning("%s belongs to other params or data; training from scratch", ckpt_path)
        else:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            generator.set_state(state["generator"].to(generator.get_state().device))
            torch.set_rng_state(state["cpu_rng"])
            if queue is not None:
                queue.load_state_dict(state["queue"])
            history, start_epoch, best = state["history"], state["epoch"], state["best"]
            log.info("resumed from %s at epoch %d", ckpt_path, start_epoch)

    def save_checkpoint(epoch: int) -> None:
        state = {
            "fingerprint": fingerprint,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "generator": generator.get_state(),
            "cpu_rng": torch.get_rng_state(),
            "queue": queue.state_dict() if queue is not None else None,
            "history": history,
            "best": best,
        }
        with atomic_path(ckpt_path) as tmp:
            torch.save(state, tmp)

    def evaluate() -> dict:
        model.eval()
        with torch.no_grad(), _autocast(device):
            loc = model.embed_locations(val["lat"], val["lon"])
            img = model.embed_features(val["feat"])
            val_loss = model.loss(loc, img, val["species"], local=True).item()
        model.train()
        scores = retrieval_metrics(loc, img, val["lat"].double(), val["lon"].double())
        return {"val_loss": val_loss, **{f"val_{k}": v for k, v in scores.items()}}

    def publish(row: dict) -> None:
        if live is not None and ctx.is_main:
            for key, value in row.items():
                if key != "epoch":
                    live.log_metric(key, value)
            live.next_step()

    def report(row: dict) -> None:
        history.append(row)
        if tp.select_best and row["val_loss"] < best["val_loss"]:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best.update(epoch=row["epoch"], val_loss=row["val_loss"], state=state)
        publish(row)

    # A resumed run writes fresh curves: replay the epochs the checkpoint already holds, so they
    # are whole (and exist at all when the checkpoint is the finished run's).
    for row in history:
        publish(row)
    if start_epoch == 0 and not history:
        report({"epoch": 0, **evaluate()})

    step_model = nn.parallel.DistributedDataParallel(model) if ctx.world_size > 1 else model
    model.train()
    progress = tqdm(
        total=total_steps,
        initial=start_epoch * steps_per_epoch,
        unit="step",
        desc="train",
        disable=not ctx.is_main,
    )
    loop_seconds = 0.0
    for epoch in range(start_epoch, tp.epochs):
        tic = time.perf_counter()
        perm = torch.randperm(len(train_idx), generator=generator, device=device)
        loss_sum = torch.zeros((), device=device)
        for step in range(steps_per_epoch):
            start = (step * ctx.world_size + ctx.rank) * batch
            idx = perm[start : start + batch]
            b_lat, b_lon = tr["lat"][idx], tr["lon"][idx]
            if tp.jitter_km > 0:
                b_lat, b_lon = jitter(b_lat, b_lon, tp.jitter_km, generator)
            b_species = tr["species"][idx]
            with _autocast(device):
                loss = step_model(
                    b_lat, b_lon, tr["feat"][idx], b_species, queue.get() if queue else None
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach()
            if queue is not None:
                queue.push(
                    distributed.gather(b_lat),
                    distributed.gather(b_lon),
                    distributed.gather(b_species),
                )
            progress.update()
        loss_value = loss_sum.item()  # waits for the device: the loop time is complete
        loop_seconds += time.perf_counter() - tic
        report(
            {
                "epoch": epoch + 1,
                "loss": loss_value / steps_per_epoch,
                "temperature": model.loss.temperature,
                **evaluate(),
            }
        )
        last = epoch + 1 == tp.epochs
        every = tp.checkpoint_every
        if ckpt_path is not None and ctx.is_main and (last or (every and (epoch + 1) % every == 0)):
            save_checkpoint(epoch + 1)
    progress.close()

    if tp.select_best:
        model.load_state_dict(best["state"])
    final = dict(history[best["epoch"] if tp.select_best else -1])
    final.pop("epoch")
    metrics = {
        **{k: round(v, 6) for k, v in final.items()},
        "val_median_km_init": round(history[0]["val_median_km"], 6),
        "val_top10_init": round(history[0]["val_top10"], 6),
        "epochs": tp.epochs,
        "best_epoch": best["epoch"] if tp.select_best else tp.epochs,
        "n_train": len(train_idx),
        "n_val": len(val_idx),
    }
    model.eval()
    timing = {"steps": (tp.epochs - start_epoch) * steps_per_epoch, "loop_s": loop_seconds}
    return TrainResult(model.encoder.cpu(), model.image_head.cpu(), history, metrics, timing)


def _autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op context on CPU (exact, deterministic fp32)."""
    return torch.autocast(
        device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"
    )
