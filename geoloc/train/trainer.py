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
from torch import nn
from tqdm.auto import tqdm

from geoloc.encoders.location_encoder import (
    LocationEncoder,
    build_location_encoder,
    check_coordinates,
    model_config,
)
from geoloc.errors import GeolocError
from geoloc.geometry import spatial_block_split
from geoloc.io import atomic_path
from geoloc.runtime import DistContext, distributed, resolve_device, seed_everything, torch_threads
from geoloc.train.contrastive import ContrastiveModel, LocationQueue, jitter
from geoloc.train.distributed import gather
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


def _checked_arrays(lat, lon, features, species_key):
    """(lat, lon, features, species) as NumPy arrays, or a user error naming what is wrong.
    Without species keys every observation is its own species (nothing is masked)."""
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
    return lat, lon, features, species


@dataclass(frozen=True)
class Observations:
    """One side of the train/validation split, as tensors on the training device."""

    lat: torch.Tensor
    lon: torch.Tensor
    feat: torch.Tensor
    species: torch.Tensor

    @classmethod
    def take(cls, rows: np.ndarray, lat, lon, features, species, device) -> Observations:
        return cls(
            _as_tensor(lat[rows], device),
            _as_tensor(lon[rows], device),
            _as_tensor(features[rows], device),
            _as_tensor(species[rows], device, torch.long),
        )

    def __len__(self) -> int:
        return len(self.lat)


class Trainer:
    """One training run of a location encoder against paired features, in the order the numbers
    depend on: split, build (seeded), resume, then per epoch a shuffled pass and a validation
    row that is logged, kept and checkpointed. `run()` does it all and returns the TrainResult.

    `dist` places this process in a torchrun launch (geoloc.runtime.distributed) and names the
    device; `live` is anything with dvclive's `log_metric(name, value)` and `next_step()`;
    `checkpoint_dir` receives a checkpoint every `train.checkpoint_every` epochs and at the end.
    """

    def __init__(
        self,
        lat,
        lon,
        features,
        model_params,
        train_params,
        *,
        dist: DistContext,
        species_key=None,
        live=None,
        checkpoint_dir: str | Path | None = None,
    ):
        self.params, self.dist, self.device, self.live = train_params, dist, dist.device, live
        self.checkpoint = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir else None
        arrays = _checked_arrays(lat, lon, features, species_key)
        self.train_set, self.val_set = self.split(*arrays)
        self.build(model_params, arrays[2].shape[1])
        config = model_config(model_params, seed=train_params.seed)
        self.fingerprint = _fingerprint(config, train_params, *arrays, dist.world_size)
        self.history: list[dict] = []  # one row per epoch (epoch 0: untrained)
        self.best: dict = {"epoch": 0, "val_loss": math.inf, "state": None}  # train.select_best
        self.start_epoch, self.loop_seconds = 0, 0.0

    def split(self, lat, lon, features, species) -> tuple[Observations, Observations]:
        """Whole spatial blocks go to validation, so it measures places the encoder never saw."""
        tp = self.params
        is_val = spatial_block_split(lat, lon, tp.val_fraction, tp.val_block_km, tp.seed)
        arrays = (lat, lon, features, species, self.device)
        return (
            Observations.take(np.flatnonzero(~is_val), *arrays),
            Observations.take(np.flatnonzero(is_val), *arrays),
        )

    def build(self, model_params, feature_dim: int) -> None:
        """Model, AdamW (no decay on the temperature), warm-up + cosine schedule, the shuffling
        generator and the optional location queue, all from `train.seed`."""
        tp, device, world = self.params, self.device, self.dist.world_size
        seed_everything(tp.seed)
        encoder = build_location_encoder(model_params, seed=tp.seed)
        loss_fn = ContrastiveLoss(tp.temperature, tp.min_temperature, tp.mask_same_species)
        self.model = ContrastiveModel(encoder, feature_dim, loss_fn).to(device)
        no_decay = [self.model.loss.logit_scale]
        decay = [p for n, p in self.model.named_parameters() if n != "loss.logit_scale"]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=tp.lr,
            weight_decay=tp.weight_decay,
        )
        self.batch = min(tp.batch_size, max(1, len(self.train_set) // world))
        self.steps_per_epoch = max(1, len(self.train_set) // (self.batch * world))
        total_steps = self.steps_per_epoch * tp.epochs
        warmup_steps = min(tp.warmup_epochs * self.steps_per_epoch, total_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _lr_lambda(warmup_steps, total_steps)
        )
        self.generator = torch.Generator(device=device).manual_seed(tp.seed)
        self.queue = LocationQueue(tp.queue, device) if tp.queue else None

    def resume(self) -> None:
        """Continue from the checkpoint if it belongs to the same params, data and code (else
        start afresh, with a warning)."""
        path = self.checkpoint
        if path is None or not path.is_file():
            return
        state = torch.load(path, map_location=self.device, weights_only=False)
        if state.get("fingerprint") != self.fingerprint:
            log.warning("%s belongs to other params or data; training from scratch", path)
            return
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"].to(self.generator.get_state().device))
        torch.set_rng_state(state["cpu_rng"])
        if self.queue is not None:
            self.queue.load_state_dict(state["queue"])
        self.history, self.start_epoch, self.best = state["history"], state["epoch"], state["best"]
        log.info("resumed from %s at epoch %d", path, self.start_epoch)

    def save(self, epoch: int) -> None:
        """Write the resumable state after `epoch` atomically (rank 0 only)."""
        state = {
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "cpu_rng": torch.get_rng_state(),
            "queue": self.queue.state_dict() if self.queue is not None else None,
            "history": self.history,
            "best": self.best,
        }
        with atomic_path(self.checkpoint) as tmp:
            torch.save(state, tmp)

    def _checkpoint_due(self, epochs_done: int) -> bool:
        every = self.params.checkpoint_every
        due = epochs_done == self.params.epochs or (every and epochs_done % every == 0)
        return bool(self.checkpoint is not None and self.dist.is_main and due)

    def evaluate(self) -> dict:
        """Validation InfoNCE (this rank's rows as negatives) and retrieval on the held-out set."""
        model, val = self.model, self.val_set
        model.eval()
        with torch.no_grad(), _autocast(self.device):
            loc = model.embed_locations(val.lat, val.lon)
            img = model.embed_features(val.feat)
            val_loss = model.loss(loc, img, val.species, local=True).item()
        model.train()
        scores = retrieval_metrics(loc, img, val.lat.double(), val.lon.double())
        return {"val_loss": val_loss, **{f"val_{k}": v for k, v in scores.items()}}

    def log(self, row: dict) -> None:
        """One epoch's row to the live sinks (rank 0 only)."""
        if self.live is not None and self.dist.is_main:
            for key, value in row.items():
                if key != "epoch":
                    self.live.log_metric(key, value)
            self.live.next_step()

    def record(self, row: dict) -> None:
        """Keep an epoch's row (and, with train.select_best, its weights if the best) and log it."""
        self.history.append(row)
        if self.params.select_best and row["val_loss"] < self.best["val_loss"]:
            state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.best.update(epoch=row["epoch"], val_loss=row["val_loss"], state=state)
        self.log(row)

    def _step(self, step_model: nn.Module, perm: torch.Tensor, step: int) -> torch.Tensor:
        """One optimisation step on this rank's slice of the step's global batch."""
        tp, data, queue = self.params, self.train_set, self.queue
        start = (step * self.dist.world_size + self.dist.rank) * self.batch
        idx = perm[start : start + self.batch]
        b_lat, b_lon = data.lat[idx], data.lon[idx]
        if tp.jitter_km > 0:
            b_lat, b_lon = jitter(b_lat, b_lon, tp.jitter_km, self.generator)
        b_species = data.species[idx]
        with _autocast(self.device):
            loss = step_model(
                b_lat, b_lon, data.feat[idx], b_species, queue.get() if queue else None
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        if queue is not None:
            queue.push(gather(b_lat), gather(b_lon), gather(b_species))
        return loss.detach()

    def epoch(self, epoch: int, step_model: nn.Module, progress) -> dict:
        """One shuffled pass over the training set, then its validation row."""
        tic = time.perf_counter()
        perm = torch.randperm(len(self.train_set), generator=self.generator, device=self.device)
        loss_sum = torch.zeros((), device=self.device)
        for step in range(self.steps_per_epoch):
            loss_sum += self._step(step_model, perm, step)
            progress.update()
        loss_value = loss_sum.item()  # waits for the device: the loop time is complete
        self.loop_seconds += time.perf_counter() - tic
        return {
            "epoch": epoch + 1,
            "loss": loss_value / self.steps_per_epoch,
            "temperature": self.model.loss.temperature,
            **self.evaluate(),
        }

    def run(self, resume: bool = False) -> TrainResult:
        """Train (from the checkpoint when `resume`) to `train.epochs` and return the result."""
        tp = self.params
        if resume:
            self.resume()
        # A resumed run writes fresh curves: replay the epochs the checkpoint already holds, so
        # they are whole (and exist at all when the checkpoint is the finished run's).
        for row in self.history:
            self.log(row)
        if self.start_epoch == 0 and not self.history:
            self.record({"epoch": 0, **self.evaluate()})
        world = self.dist.world_size
        step_model = nn.parallel.DistributedDataParallel(self.model) if world > 1 else self.model
        self.model.train()
        progress = tqdm(
            total=self.steps_per_epoch * tp.epochs,
            initial=self.start_epoch * self.steps_per_epoch,
            unit="step",
            desc="train",
            disable=not self.dist.is_main,
        )
        for epoch in range(self.start_epoch, tp.epochs):
            self.record(self.epoch(epoch, step_model, progress))
            if self._checkpoint_due(epoch + 1):
                self.save(epoch + 1)
        progress.close()
        return self.result()

    def result(self) -> TrainResult:
        """The final (or, with train.select_best, the best epoch's) weights and flat metrics."""
        tp, history, best = self.params, self.history, self.best
        if tp.select_best:
            self.model.load_state_dict(best["state"])
        final = dict(history[best["epoch"] if tp.select_best else -1])
        final.pop("epoch")
        metrics = {
            **{k: round(v, 6) for k, v in final.items()},
            "val_median_km_init": round(history[0]["val_median_km"], 6),
            "val_top10_init": round(history[0]["val_top10"], 6),
            "epochs": tp.epochs,
            "best_epoch": best["epoch"] if tp.select_best else tp.epochs,
            "n_train": len(self.train_set),
            "n_val": len(self.val_set),
        }
        self.model.eval()
        steps = (tp.epochs - self.start_epoch) * self.steps_per_epoch
        timing = {"steps": steps, "loop_s": self.loop_seconds}
        model = self.model
        return TrainResult(model.encoder.cpu(), model.image_head.cpu(), history, metrics, timing)


def train_location_encoder(
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
    """Train an encoder so that (lat[i], lon[i]) embeds close to features[i].

    `species_key` (N,) enables same-species masking; `device` is a torch.device or a
    runtime.device string; `live`, `checkpoint_dir`: see `Trainer`; `resume=True` continues from
    the checkpoint when it belongs to the same params, data and code. Runs with
    `train.cpu_threads` torch threads, inside the torchrun process group when launched by one.
    """
    from geoloc.params import ModelParams, TrainParams

    if isinstance(model_params, dict):
        model_params = ModelParams(**model_params)
    if isinstance(train_params, dict):
        train_params = TrainParams(**train_params)
    device = resolve_device(device) if isinstance(device, str) else device
    with torch_threads(train_params.cpu_threads), distributed(device) as dist:
        trainer = Trainer(
            lat,
            lon,
            features,
            model_params,
            train_params,
            dist=dist,
            species_key=species_key,
            live=live,
            checkpoint_dir=checkpoint_dir,
        )
        return trainer.run(resume=resume)


def _autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op context on CPU (exact, deterministic fp32)."""
    return torch.autocast(
        device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"
    )
