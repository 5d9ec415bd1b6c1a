"""Every path of the pipeline, in one place.

Each step takes a small frozen dataclass of the paths it reads and writes. `Layout` fills them
with the pipeline's layout (the paths dvc.yaml names); the `geoloc` commands start from the same
objects and replace only the paths a user gives as options, so a DVC stage and its command run
the same code on the same files unless told otherwise. tests/test_layout.py holds dvc.yaml to
these paths. The results layout is documented in docs/results.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class StepPaths:
    """Base of the per-step path sets: `with_options` swaps in the paths a user gave."""

    def with_options(self, **given):
        """A copy with every non-None keyword replacing the field of that name."""
        known = {f.name for f in fields(self)}
        unknown = set(given) - known
        if unknown:
            raise TypeError(f"{type(self).__name__} has no path {', '.join(sorted(unknown))}")
        return replace(self, **{k: _as_path(v) for k, v in given.items() if v is not None})


def _as_path(value):
    if isinstance(value, list | tuple):
        return [Path(v) for v in value]
    return Path(value)


@dataclass(frozen=True)
class DemoPaths(StepPaths):
    archive: Path
    truth: Path
    images: Path


@dataclass(frozen=True)
class FilterPaths(StepPaths):
    archive: Path
    out_dir: Path  # <dataset>.parquet per dataset, report.json


@dataclass(frozen=True)
class EmbedPaths(StepPaths):
    table: Path  # the filtered observations
    out: Path  # the embedding HDF5
    work: Path  # resumable work in progress (kept across `dvc repro`)


@dataclass(frozen=True)
class TrainPaths(StepPaths):
    embeddings: list[Path]
    encoder: Path
    results: Path  # metrics.json and live/ (dvclive curves)
    checkpoints: Path  # resumable checkpoints (kept across `dvc repro`)


@dataclass(frozen=True)
class EvaluatePaths(StepPaths):
    observations: Path
    encoder: Path | None
    truth: Path | None  # the demo's true ranges; None: no truth scoring
    out_dir: Path


@dataclass(frozen=True)
class IdentifierPaths(StepPaths):
    embeddings: Path
    observations: Path  # the filtered table, for the taxonomy
    encoder: Path | None  # for the location prior
    model_dir: Path
    results: Path


@dataclass(frozen=True)
class ReidPaths(StepPaths):
    source: Path | None  # images or embeddings; None: the synthetic individuals demo
    out: Path | None  # metrics.json; None: not written (the command prints the metrics)
    identities: Path | None = None  # embeddings source: CSV of gbif_id -> identity

    @property
    def run(self) -> Path | None:
        """Which matcher and backbone produced the metrics (not a metric), beside them."""
        return None if self.out is None else run_record(self.out)


def run_record(metrics: Path) -> Path:
    """`<name>.run.json` beside a metrics file `<name>.json`: how those metrics were made."""
    return Path(metrics).with_suffix(".run.json")


@dataclass(frozen=True)
class ClusterPaths(StepPaths):
    source: Path | None  # sounds or embeddings; None: the synthetic bird-call demo
    out: Path | None  # metrics.json; None: not written (the command prints the metrics)
    assignments: Path | None = None  # CSV gbif_id,cluster of the final round; None: not written


@dataclass(frozen=True)
class ReportPaths(StepPaths):
    train: Path  # the train step's results folder
    evaluate: Path  # one evaluate results folder per dataset inside
    identifier: Path  # one identifier results folder per dataset inside
    reid: Path  # the reid step's metrics.json
    cluster: Path  # the cluster step's metrics.json
    out: Path  # report.html
    headline: Path  # the summary step's folder of headline metrics (one small file per block)


@dataclass(frozen=True)
class Layout:
    """The pipeline's files under `root` (the repository)."""

    root: Path = Path(".")

    def _path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def demo(self) -> DemoPaths:
        raw = self._path("data", "raw")
        return DemoPaths(raw / "demo.zip", raw / "demo_truth.parquet", raw / "demo_images")

    def filtered(self, dataset: str) -> Path:
        return self._path("data", "filtered", f"{dataset}.parquet")

    def embeddings(self, dataset: str) -> Path:
        return self._path("data", "embeddings", f"{dataset}.h5")

    @property
    def encoder(self) -> Path:
        return self._path("models", "encoder.pt")

    @property
    def params_check(self) -> Path:
        """Written by the `params` stage once params.yaml validates; every stage depends on it."""
        return self._path("results", "params.valid")

    def filter(self, archive: str | Path) -> FilterPaths:
        return FilterPaths(self._path(str(archive)), self._path("data", "filtered"))

    def embed(self, dataset: str) -> EmbedPaths:
        work = self._path(".dvc", "tmp", "embed", dataset)
        return EmbedPaths(self.filtered(dataset), self.embeddings(dataset), work)

    def train(self, datasets) -> TrainPaths:
        return TrainPaths(
            [self.embeddings(d) for d in datasets],
            self.encoder,
            self._path("results", "train"),
            self._path(".dvc", "tmp", "train"),
        )

    def evaluate(self, dataset: str, archive: str | Path) -> EvaluatePaths:
        """Truth is scored only when the archive is the demo's, whose truth table exists."""
        demo = self.demo()
        truth = demo.truth if self._path(str(archive)) == demo.archive else None
        return EvaluatePaths(
            self.filtered(dataset),
            self.encoder,
            truth,
            self._path("results", "evaluate", dataset),
        )

    def identifier(self, dataset: str) -> IdentifierPaths:
        return IdentifierPaths(
            self.embeddings(dataset),
            self.filtered(dataset),
            self.encoder,
            self._path("models", "identifier", dataset),
            self._path("results", "identifier", dataset),
        )

    def reid(self) -> ReidPaths:
        return ReidPaths(None, self._path("results", "reid", "metrics.json"))

    def cluster(self) -> ClusterPaths:
        return ClusterPaths(None, self._path("results", "cluster", "metrics.json"))

    def report(self) -> ReportPaths:
        """What every step wrote under results/ (the per-dataset folders sit inside `evaluate` and
        `identifier`, as `evaluate()` and `identifier()` name them)."""
        results = self._path("results")
        return ReportPaths(
            self.train([]).results,
            results / "evaluate",
            results / "identifier",
            self.reid().out,
            self.cluster().out,
            results / "report.html",
            results / "headline",
        )
