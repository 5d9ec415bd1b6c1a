"""Species distribution models as the yardstick of location embeddings: covariate sets,
learners, the presence-only protocol with spatial block cross-validation, truth scoring and
statistics. `run_evaluate` is the pipeline's evaluate step."""

from geoloc.sdm.background import Background, target_group_background
from geoloc.sdm.covariates import (
    CovariateContext,
    coords_features,
    covariate_function,
    covariate_matrix,
)
from geoloc.sdm.crossval import BlockScores, cross_validate, out_of_fold_aucs
from geoloc.sdm.design import SpeciesBlock, SpeciesDesign, species_design
from geoloc.sdm.evaluate import SdmResult, SetScores, evaluate_sdm
from geoloc.sdm.learners import get_learner
from geoloc.sdm.stats import auc, bootstrap_ci, grouped_auc, paired_difference, summarize
from geoloc.sdm.step import OUTPUTS, run_evaluate, write_outputs
from geoloc.sdm.summary import auc_by_set, summaries
from geoloc.sdm.truth import load_truth

__all__ = [
    "OUTPUTS",
    "Background",
    "BlockScores",
    "CovariateContext",
    "SdmResult",
    "SetScores",
    "SpeciesBlock",
    "SpeciesDesign",
    "auc",
    "auc_by_set",
    "bootstrap_ci",
    "coords_features",
    "covariate_function",
    "covariate_matrix",
    "cross_validate",
    "evaluate_sdm",
    "get_learner",
    "grouped_auc",
    "load_truth",
    "out_of_fold_aucs",
    "paired_difference",
    "run_evaluate",
    "species_design",
    "summaries",
    "summarize",
    "target_group_background",
    "write_outputs",
]
