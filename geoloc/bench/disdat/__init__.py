"""The DISDAT presence-only / presence-absence benchmark (Elith et al. 2020): the region reader,
the covariate sets (environment, the SDM covariate sets of geoloc.registry.COVARIATES, their
compositions) and the protocol (`run_benchmark`, `geoloc bench disdat`)."""

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
from geoloc.bench.disdat.run import (
    DEFAULT_LEARNERS,
    DEFAULT_SETS,
    BenchmarkRun,
    RegionResult,
    auc_figure,
    auc_table,
    evaluate_region,
    fit_predict_group,
    learner_members,
    markdown_table,
    run_benchmark,
    summarise,
)

__all__ = [
    "DEFAULT_LEARNERS",
    "DEFAULT_SETS",
    "EMBEDDINGS",
    "REGION_MODEL",
    "REGION_TRAIN",
    "BenchmarkRun",
    "CovariateSet",
    "DisdatOptions",
    "EnvTransform",
    "Region",
    "RegionCovariates",
    "RegionFrame",
    "RegionResult",
    "auc_figure",
    "auc_table",
    "evaluate_region",
    "fit_predict_group",
    "learner_members",
    "load_region",
    "markdown_table",
    "parse_set",
    "region_names",
    "run_benchmark",
    "summarise",
]
