"""The DISDAT presence-only / presence-absence benchmark (Elith et al. 2020): the region reader,
the covariate sets (environment, the SDM covariate sets of geoloc.registry.COVARIATES, their
compositions), the learners and backgrounds, the protocol (`run_benchmark`, `geoloc bench
disdat`) and its tables."""

from geoloc.bench.disdat.covariates import (
    EMBEDDINGS,
    REGION_MODEL,
    REGION_TRAIN,
    CovariateSet,
    DisdatOptions,
    RegionCovariates,
    RegionFrame,
    parse_set,
)
from geoloc.bench.disdat.data import EnvTransform, Region, load_region, region_names
from geoloc.bench.disdat.learners import (
    BACKGROUNDS,
    Ensemble,
    Member,
    fit_predict_group,
    fit_predict_region,
    parse_learner,
)
from geoloc.bench.disdat.run import (
    CHOSEN,
    DEFAULT_BACKGROUNDS,
    DEFAULT_LEARNERS,
    DEFAULT_SETS,
    BenchmarkRun,
    RegionResult,
    evaluate_region,
    run_benchmark,
)
from geoloc.bench.disdat.sites import Sites, region_sites
from geoloc.bench.disdat.tables import (
    auc_figure,
    auc_table,
    markdown_table,
    paired_table,
    summarise,
)

__all__ = [
    "BACKGROUNDS",
    "CHOSEN",
    "DEFAULT_BACKGROUNDS",
    "DEFAULT_LEARNERS",
    "DEFAULT_SETS",
    "EMBEDDINGS",
    "REGION_MODEL",
    "REGION_TRAIN",
    "BenchmarkRun",
    "CovariateSet",
    "DisdatOptions",
    "Ensemble",
    "EnvTransform",
    "Member",
    "Region",
    "RegionCovariates",
    "RegionFrame",
    "RegionResult",
    "Sites",
    "auc_figure",
    "auc_table",
    "evaluate_region",
    "fit_predict_group",
    "fit_predict_region",
    "load_region",
    "markdown_table",
    "paired_table",
    "parse_learner",
    "parse_set",
    "region_names",
    "region_sites",
    "run_benchmark",
    "summarise",
]
