"""Pydantic models for params.yaml: every knob validated before any work starts.

An unknown key, a wrong type or a bad value raises GeolocError naming the key (e.g.
`data.datasets.plants.kingdom`) and, where the value is constrained, the allowed values.
Sections that a stage does not use may be absent; they then take their defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from geoloc.errors import GeolocError

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]

TAXON_RANKS = ("kingdom", "phylum", "class", "order", "family", "genus")


class Section(BaseModel):
    """Base for every params section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class DataParams(Section):
    archive: str = "data/raw/demo.zip"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "FR"
    datasets: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {
            "plants": {"kingdom": "Plantae"},
            "mushrooms": {"kingdom": "Fungi"},
            "arthropods": {"phylum": "Arthropoda"},
        }
    )
    basis_of_record: list[str] = Field(default_factory=lambda: ["HUMAN_OBSERVATION"])
    require_image: bool = True
    max_uncertainty_m: PositiveFloat = 1000.0
    reject_issues: list[str] = Field(default_factory=list)
    drop_duplicates: bool = True
    min_obs_per_species: PositiveInt = 10

    @field_validator("datasets")
    @classmethod
    def _datasets_are_taxon_groups(cls, value: dict[str, dict[str, str]]):
        if not value:
            raise ValueError("at least one dataset is required")
        for name, group in value.items():
            if not name.isidentifier():
                raise ValueError(
                    f"dataset name {name!r} must be a plain identifier (letters, digits, _)"
                )
            if len(group) != 1:
                raise ValueError(
                    f"dataset {name!r} must name exactly one rank, one of {', '.join(TAXON_RANKS)}"
                )
            ((rank, taxon),) = group.items()
            if rank not in TAXON_RANKS:
                raise ValueError(
                    f"dataset {name!r}: unknown rank {rank!r}; allowed: {', '.join(TAXON_RANKS)}"
                )
            if not taxon:
                raise ValueError(f"dataset {name!r}: empty taxon name")
        return value


class DemoParams(Section):
    seed: NonNegativeInt = 0
    species_per_dataset: Annotated[int, Field(ge=2)] = 12
    observations: PositiveInt = 1500
    image_size: Annotated[int, Field(ge=16, le=512)] = 64
    noise_fraction: Fraction = 0.08
    truth_grid_km: PositiveFloat = 10.0


class EmbedParams(Section):
    """Image embedding (stage embed@<ds>); owned by geoloc/embed."""

    backbone: str = "efficientnet-lite0"
    image_size: Annotated[int, Field(ge=16, le=1024)] = 224
    batch_size: PositiveInt = 64
    workers: PositiveInt = 4
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"
    timeout_s: PositiveFloat = 20.0
    retries: NonNegativeInt = 3
    max_bytes: PositiveInt = 20_000_000
    text: bool = True


class ModelParams(Section):
    """Location encoder architecture (geoloc/encoders); `dvc exp run -S model.dim=256`."""

    pe: Literal["sh", "rff", "wrap", "sphere2vec", "raw"] = "sh"
    legendre: PositiveInt = 10
    net: Literal["siren", "resmlp", "mlp"] = "siren"
    hidden: PositiveInt = 256
    layers: PositiveInt = 2
    dim: PositiveInt = 128


class TrainParams(Section):
    """Contrastive training (geoloc/train, stage train@<ds>)."""

    epochs: PositiveInt = 30
    batch_size: PositiveInt = 512
    lr: PositiveFloat = 1e-3
    weight_decay: Annotated[float, Field(ge=0)] = 1e-4
    temperature: PositiveFloat = 0.07
    seed: NonNegativeInt = 0


class SdmParams(Section):
    """Species distribution model evaluation (geoloc/sdm, stage evaluate@<ds>)."""

    covariates: list[Literal["trained", "geoclip", "sh", "rff", "wrap", "coords", "random"]] = (
        Field(default_factory=lambda: ["trained", "geoclip", "sh", "rff", "coords", "random"])
    )
    learner: Literal["logistic", "rf_downsampled", "mlp"] = "logistic"
    block_km: PositiveFloat = 50.0
    folds: Annotated[int, Field(ge=2)] = 5
    background: PositiveInt = 5000
    min_presences: PositiveInt = 10
    seed: NonNegativeInt = 0


class RuntimeParams(Section):
    device: Annotated[str, Field(pattern=r"^(auto|cpu|cuda|cuda:\d+)$")] = "auto"
    launcher: str = "python"


class LoggingParams(Section):
    wandb: bool = False


class Params(Section):
    data: DataParams = Field(default_factory=DataParams)
    demo: DemoParams = Field(default_factory=DemoParams)
    embed: EmbedParams = Field(default_factory=EmbedParams)
    model: ModelParams = Field(default_factory=ModelParams)
    train: TrainParams = Field(default_factory=TrainParams)
    sdm: SdmParams = Field(default_factory=SdmParams)
    runtime: RuntimeParams = Field(default_factory=RuntimeParams)
    logging: LoggingParams = Field(default_factory=LoggingParams)

    def dataset_names(self) -> list[str]:
        return list(self.data.datasets)

    def check_dataset(self, name: str) -> str:
        """Return `name` if it is a configured dataset, else fail listing the known ones."""
        if name not in self.data.datasets:
            raise GeolocError(
                f"unknown dataset {name!r}; params.yaml data.datasets has: "
                + ", ".join(self.data.datasets)
            )
        return name


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid parameters"]
    for problem in err.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = f"unknown key; allowed here: {', '.join(_allowed_keys(problem['loc']))}"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names of the section that holds the unknown key at `loc`."""
    model: type[BaseModel] = Params
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            break
    return sorted(model.model_fields)


def parse_params(raw: dict, source: str = "params") -> Params:
    """Validate an already-loaded mapping."""
    try:
        return Params.model_validate(raw or {})
    except ValidationError as err:
        raise GeolocError(_describe(err, source)) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml; a missing file or bad YAML is a user error."""
    path = Path(path)
    if not path.is_file():
        raise GeolocError(f"params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise GeolocError(f"{path}: not valid YAML: {err}") from None
    if raw is not None and not isinstance(raw, dict):
        raise GeolocError(f"{path}: top level must be a mapping of sections")
    return parse_params(raw, str(path))
