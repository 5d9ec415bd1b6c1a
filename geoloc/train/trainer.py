"""Training of a location encoder with `train.objective` (geoloc/train/objective.py):
contrastive against a paired modality, presence-only on the records' species, or both.

The paired modality is generic: frozen image embeddings for the pipeline (streamed from the HDF5
files, geoloc.embed.store.EmbeddingRows), environment vectors for the DISDAT benchmark (arrays,
`train_location_encoder`); `train_presence_encoder` trains on presence records alone. Memory is
of the order of a batch and the model: features are read in chunks and block-shuffled
(geoloc/train/data.py), validation runs in batches and retrieves in a fixed-size gallery
(geoloc/train/validation.py). bf16 autocast on CUDA, deterministic for a seed
on CPU, checkpoints that an interrupted run resumes from, DDP under torchrun with negatives
gathered across ranks.
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

from geoloc.encoders.extent import TrainingExtent
from geoloc.encoders.location_encoder import (
    LocationEncoder,
    build_location_encoder,
    check_coordinates,
    model_config,
)
from geoloc.geometry import spatial_block_split
from geoloc.io import atomic_path
from geoloc.runtime import DistContext, distributed, resolve_device, seed_everything, torch_threads
from geoloc.train.contrastive import ContrastiveModel, LocationQueue, jitter
from geoloc.train.data import (
    ArrayRows,
    Batch,
    BatchStream,
    locations_only,
    scan,
    shuffled_buffers,
)
from geoloc.train.distributed import gather
from geoloc.train.loss import ContrastiveLoss
from geoloc.train.objective import ObjectiveModel
from geoloc.train.presence import PresenceHead, PresenceLabels
from geoloc.train.validation import Validation

log = logging.getLogger(__name__)
CHECKPOINT = "last.pt"


@dataclass
class TrainResult:
    encoder: LocationEncoder
    image_head: nn.Module | None  # projects the paired features (None: presence objective)
    history: list[dict] = field(default_factory=list)  # one dict per epoch (epoch 0: untrained)
    metrics: dict = field(default_factory=dict)  # final flat metrics (metrics.json)
    timing: dict = field(default_factory=dict)  # steps run and seconds spent in the step loop


def _adamw(model: ObjectiveModel, tp) -> torch.optim.AdamW:
    """AdamW with `train.weight_decay` on every weight except the contrastive temperature."""
    no_decay = [] if model.contrastive is None else [model.contrastive.loss.logit_scale]
    decay = [p for p in model.parameters() if all(p is not q for q in no_decay)]
    groups = [{"params": decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return torch.optim.AdamW(groups, lr=tp.lr, weight_decay=tp.weight_decay)


def _lr_lambda(warmup_steps: int, total_steps: int):
    """Linear warm-up then cosine decay to 0 (CLIP's schedule)."""

    def fn(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return fn


def _fingerprint(config: dict, train_params, arrays, features_digest: str, world_size) -> str:
    """Identifies the run a checkpoint belongs to: params, data (the rows' `arrays` and their
    features' digest) and the training code itself."""
    keyed = train_params.model_dump(exclude={"checkpoint_every"})
    digest = hashlib.sha256(json.dumps([config, keyed, world_size], sort_keys=True).encode())
    package = Path(__file__).resolve().parents[1]
    code = [
        *package.glob("train/*.py"),
        *package.glob("encoders/**/*.py"),
        package / "sdm/presence.py",
    ]
    for path in sorted(code):
        digest.update(path.read_bytes())
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(features_digest.encode())
    return digest.hexdigest()[:16]


class Trainer:
    """One training run of a location encoder against paired features, in the order the numbers
    depend on: split, build (seeded), resume, then per epoch a shuffled pass and a validation
    row that is logged, kept and checkpointed. `run()` does it all and returns the TrainResult.

    `source` holds the rows (geoloc/train/data.py); `dist` places this process in a torchrun
    launch (geoloc.runtime.distributed) and names the device; `live` is anything with dvclive's
    `log_metric(name, value)` and `next_step()`; `checkpoint_dir` receives a checkpoint every
    `train.checkpoint_every` epochs, removed when the run finishes; `groups` (N,) are the rows'
    target groups for the presence objective (None: one group).
    """

    def __init__(
        self,
        source,
        model_params,
        train_params,
        *,
        dist: DistContext,
        live=None,
        checkpoint_dir: str | Path | None = None,
        groups=None,
    ):
        tp = train_params
        self.params, self.dist, self.device, self.live = tp, dist, dist.device, live
        self.checkpoint = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir else None
        self.source = source = locations_only(source) if tp.objective == "presence" else source
        check_coordinates(torch.from_numpy(source.lat), torch.from_numpy(source.lon))
        # whole spatial blocks go to validation, so it measures places the encoder never saw
        is_val = spatial_block_split(
            source.lat, source.lon, tp.val_fraction, tp.val_block_km, tp.seed
        )
        self.train_rows, val_rows = np.flatnonzero(~is_val), np.flatnonzero(is_val)
        self.labels = None
        if tp.objective != "contrastive":
            self.labels = PresenceLabels.of(source.species_key, groups, self.train_rows)
        self.build(model_params, source.dim)
        features_digest = scan(source, tp.chunk_rows)
        group = None if self.labels is None else self.labels.group
        self.validation = Validation(
            source,
            val_rows,
            tp,
            self.batch * dist.world_size,
            self.device,
            group=group,
            retrieval=self.model.contrastive is not None,
        )
        config = model_config(model_params, seed=tp.seed)
        arrays = (source.lat, source.lon, source.species_key) + (() if group is None else (group,))
        self.fingerprint = _fingerprint(config, tp, arrays, features_digest, dist.world_size)
        self.history: list[dict] = []  # one row per epoch (epoch 0: untrained)
        self.best: dict = {"epoch": 0, "val_loss": math.inf, "state": None}  # train.select_best
        self.start_epoch, self.loop_seconds = 0, 0.0

    def build(self, model_params, feature_dim: int) -> None:
        """Model, AdamW (no decay on the temperature), warm-up + cosine schedule, the shuffling
        generator and the optional location queue, all from `train.seed`."""
        tp, device, world = self.params, self.device, self.dist.world_size
        self.batch = min(tp.batch_size, max(1, len(self.train_rows) // world))
        self.steps_per_epoch = max(1, len(self.train_rows) // (self.batch * world))
        seed_everything(tp.seed)
        encoder = build_location_encoder(model_params, seed=tp.seed)
        contrastive = presence = None
        if tp.objective != "presence":
            loss_fn = ContrastiveLoss(tp.temperature, tp.min_temperature, tp.mask_same_species)
            contrastive = ContrastiveModel(encoder, feature_dim, loss_fn)
        if self.labels is not None:
            train = self.train_rows
            bounds = TrainingExtent.of_points(self.source.lat[train], self.source.lon[train]).bounds
            n_random = self.steps_per_epoch * self.batch * world  # one per record of a pass
            presence = PresenceHead(encoder.dim, self.labels, tp.presence_loss, bounds, n_random)
        self.model = ObjectiveModel(encoder, contrastive, presence, tp.presence_weight).to(device)
        self.optimizer = _adamw(self.model, tp)
        total_steps = self.steps_per_epoch * tp.epochs
        warmup_steps = min(tp.warmup_epochs * self.steps_per_epoch, total_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _lr_lambda(warmup_steps, total_steps)
        )
        self.generator = torch.Generator(device=device).manual_seed(tp.seed)
        self.queue = LocationQueue(tp.queue, device) if tp.queue and contrastive else None

    def resume(self) -> None:
        """Continue an interrupted run from its checkpoint if it belongs to the same params, data
        and code (else start afresh, with a warning). A finished run leaves no checkpoint."""
        path = self.checkpoint
        if path is None or not path.is_file():
            return
        try:  # weights_only: a crafted file cannot run code
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as err:  # a foreign or damaged file surfaces as many error types
            log.warning(
                "%s is not a checkpoint geoloc wrote (%s); training from scratch", path, err
            )
            return
        if not isinstance(state, dict) or state.get("fingerprint") != self.fingerprint:
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
        due = every and epochs_done % every == 0 and epochs_done < self.params.epochs
        return bool(self.checkpoint is not None and self.dist.is_main and due)

    def evaluate(self) -> dict:
        """Validation loss and retrieval on the held-out blocks (geoloc/train/validation.py)."""
        return self.validation.evaluate(self.model, lambda: _autocast(self.device))

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

    def _step(self, step_model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        """One optimisation step on this rank's slice of the step's global batch; its loss
        terms (ObjectiveModel)."""
        tp, queue, presence = self.params, self.queue, self.model.presence
        b_lat, b_lon = batch.lat, batch.lon
        if tp.jitter_km > 0:
            b_lat, b_lon = jitter(b_lat, b_lon, tp.jitter_km, self.generator)
        background = (
            None if presence is None else presence.random_background(len(batch), self.generator)
        )
        with _autocast(self.device):
            terms = step_model(
                b_lat,
                b_lon,
                batch.feat,
                batch.species,
                group=batch.group,
                queue=queue.get() if queue else None,
                background=background,
            )
        self.optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        self.optimizer.step()
        self.scheduler.step()
        if queue is not None:
            queue.push(gather(b_lat), gather(b_lon), gather(batch.species))
        return {key: value.detach() for key, value in terms.items()}

    def stream(self) -> BatchStream:
        """This rank's batches of one shuffled pass over the training rows."""
        tp, world, rank, batch = self.params, self.dist.world_size, self.dist.rank, self.batch
        buffers = shuffled_buffers(self.train_rows, tp.chunk_rows, tp.buffer_chunks, self.generator)
        spans = [
            ((step * world + rank) * batch, (step * world + rank + 1) * batch)
            for step in range(self.steps_per_epoch)
        ]
        group = None if self.labels is None else self.labels.group
        return BatchStream(self.source, buffers, spans, tp.chunk_rows, self.device, group)

    def epoch(self, epoch: int, step_model: nn.Module, progress) -> dict:
        """One shuffled pass over the training set, then its validation row: the mean of each
        loss term, the temperature (contrastive) and the validation metrics."""
        tic = time.perf_counter()
        sums: dict[str, torch.Tensor] = {}
        for batch in self.stream():
            for key, value in self._step(step_model, batch).items():
                sums[key] = sums.get(key, torch.zeros((), device=self.device)) + value
            progress.update()
        means = {key: value.item() / self.steps_per_epoch for key, value in sums.items()}
        self.loop_seconds += time.perf_counter() - tic  # .item() waited: the loop is complete
        temperature = self.model.temperature
        return {
            "epoch": epoch + 1,
            **means,
            **({} if temperature is None else {"temperature": temperature}),
            **self.evaluate(),
        }

    def run(self, resume: bool = False) -> TrainResult:
        """Train (continuing an interrupted run when `resume`) to `train.epochs` and return the
        result."""
        tp = self.params
        if resume:
            self.resume()
        for row in self.history:  # a resumed run writes fresh curves: replay the epochs it holds
            self.log(row)
        if not self.history:
            self.record({"epoch": 0, **self.evaluate()})
        world = self.dist.world_size
        step_model = nn.parallel.DistributedDataParallel(self.model) if world > 1 else self.model
        self.model.train()
        progress = tqdm(
            total=self.steps_per_epoch * tp.epochs,
            initial=self.start_epoch * self.steps_per_epoch,
            unit="step",
            disable=not self.dist.is_main,
        )
        for epoch in range(self.start_epoch, tp.epochs):
            _show(progress, epoch + 1, tp.epochs, self.history[-1])
            self.record(self.epoch(epoch, step_model, progress))
            if self._checkpoint_due(epoch + 1):
                self.save(epoch + 1)
        _show(progress, tp.epochs, tp.epochs, self.history[-1])
        progress.close()
        if self.checkpoint is not None and self.dist.is_main:
            self.checkpoint.unlink(missing_ok=True)  # finished: nothing to resume
        return self.result()

    def result(self) -> TrainResult:
        """The final (or, with train.select_best, the best epoch's) weights and flat metrics."""
        tp, history, best = self.params, self.history, self.best
        if tp.select_best:
            self.model.load_state_dict(best["state"])
        final = dict(history[best["epoch"] if tp.select_best else -1])
        final.pop("epoch")
        untrained = {
            f"{key}_init": round(history[0][key], 6)
            for key in ("val_median_km", "val_top10")
            if key in history[0]  # retrieval: an objective with paired features
        }
        metrics = {
            **{k: round(v, 6) for k, v in final.items()},
            **untrained,
            "epochs": tp.epochs,
            "best_epoch": best["epoch"] if tp.select_best else tp.epochs,
            "n_train": len(self.train_rows),
            "n_val": self.validation.n_rows,
            **({"n_gallery": self.validation.n_gallery} if untrained else {}),
        }
        self.model.eval()
        steps = (tp.epochs - self.start_epoch) * self.steps_per_epoch
        timing = {"steps": steps, "loop_s": self.loop_seconds}
        model, train = self.model, self.train_rows
        model.encoder.extent = TrainingExtent.of_points(
            self.source.lat[train], self.source.lon[train]
        )
        image_head = None if model.contrastive is None else model.contrastive.image_head.cpu()
        return TrainResult(model.encoder.cpu(), image_head, history, metrics, timing)


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
    """Train an encoder so that (lat[i], lon[i]) embeds close to features[i] (arrays in memory).

    `species_key` (N,) enables same-species masking; the other arguments: see `train_on_rows`.
    """
    return train_on_rows(
        ArrayRows(lat, lon, features, species_key),
        model_params,
        train_params,
        device=device,
        live=live,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
    )


def train_presence_encoder(
    lat, lon, species, group, model_params, train_params, **options
) -> TrainResult:
    """Train an encoder on presence records alone: record i is species[i] seen at (lat[i],
    lon[i]), and group[i] (any ids, e.g. the taxon group) makes the records of its group its
    species' background (geoloc/train/presence.py). No paired features: `train.objective` is
    taken as `presence`, `train.presence_loss` chooses the loss. `options`: `device`, `live`,
    `checkpoint_dir`, `resume` of `train_on_rows`. The result has no image head and no retrieval
    metrics.
    """
    model_params, train_params = _params(model_params, train_params)
    empty = np.zeros((len(np.asarray(lat)), 0), np.float32)
    presence = train_params.model_copy(update={"objective": "presence"})
    source = ArrayRows(lat, lon, empty, species)
    return train_on_rows(source, model_params, presence, groups=group, **options)


def train_on_rows(
    source,
    model_params,
    train_params,
    *,
    device="cpu",
    live=None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    groups=None,
) -> TrainResult:
    """Train an encoder on the rows of `source` (geoloc/train/data.py: embedding files or arrays).

    `device` is a torch.device or a runtime.device string; `live`, `checkpoint_dir`, `groups`:
    see `Trainer`; `resume=True` continues an interrupted run from its checkpoint when it
    belongs to the same params, data and code. Runs with `train.cpu_threads` torch threads,
    inside the torchrun process group when launched by one.
    """
    model_params, train_params = _params(model_params, train_params)
    device = resolve_device(device) if isinstance(device, str) else device
    with torch_threads(train_params.cpu_threads), distributed(device) as dist:
        trainer = Trainer(
            source,
            model_params,
            train_params,
            dist=dist,
            live=live,
            checkpoint_dir=checkpoint_dir,
            groups=groups,
        )
        return trainer.run(resume=resume)


def _params(model_params, train_params):
    """The `model:` and `train:` sections, validated when given as dicts."""
    from geoloc.params import ModelParams, TrainParams

    if isinstance(model_params, dict):
        model_params = ModelParams(**model_params)
    if isinstance(train_params, dict):
        train_params = TrainParams(**train_params)
    return model_params, train_params


def _show(progress, epoch: int, epochs: int, row: dict) -> None:
    """The progress bar names the epoch and shows the last epoch's loss and validation."""
    progress.set_description(f"epoch {epoch}/{epochs}", refresh=False)
    shown = {k: row[k] for k in ("loss", "val_loss", "val_median_km") if k in row}
    progress.set_postfix({k: f"{v:.4g}" for k, v in shown.items()})


def _autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op context on CPU (exact, deterministic fp32)."""
    return torch.autocast(
        device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"
    )
