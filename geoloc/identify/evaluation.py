"""Measuring the fitted identifier on the held-out split: the hybrid calibrated on validation
for the target coverage, image-only and with the location prior fused in, and the prior's gain.

Prediction runs `identify.predict_batch` observations at a time and keeps per-observation summaries only
(geoloc/identify/ranked.py), so memory holds (batch x species) probabilities, never
(observations x species).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoloc.identify.calibration import accuracy_coverage_curve, calibrate_thresholds
from geoloc.identify.dataset import IdentifyData
from geoloc.identify.hybrid import REJECTED, Thresholds, component_tops, route_tops, summarize
from geoloc.identify.metrics import classification_report, per_class_table
from geoloc.identify.model import IdentifierModel
from geoloc.identify.ranked import Ranked, ranked_in_batches
from geoloc.params import IdentifyParams


def classifier_ranks(clf, data: IdentifyData, part: np.ndarray, batch_size: int) -> Ranked:
    """The summary (Ranked) of a classifier's probabilities of the observations `part`."""

    def probas(start, stop):
        return {"p": clf.predict_proba(data.features(part[start:stop]))}

    return ranked_in_batches(probas, len(part), batch_size)["p"]


def component_ranks(
    model: IdentifierModel, data: IdentifyData, part: np.ndarray, batch_size: int
) -> dict[str, Ranked]:
    """Summaries of the components' probabilities of the observations `part`: image only
    (`classifier`, `prototype`) and, when the model has a location prior, fused with it
    (`fused_classifier`, `fused_prototype`); the images are run through the heads once."""

    def probas(start, stop):
        idx = part[start:stop]
        image = model.image_probas(data.features(idx))
        out = model.combine(image, None)
        if model.prior is not None:
            fused = model.combine(image, model.prior.presence(data.lat[idx], data.lon[idx]))
            out.update(fused_classifier=fused["classifier"], fused_prototype=fused["prototype"])
        return out

    return ranked_in_batches(probas, len(part), batch_size)


def hybrid_tops(ranks: dict[str, Ranked], data: IdentifyData, prefix: str = "") -> tuple:
    """The hybrid's component tops of `ranks` (prefix "fused_" for the prior-fused ones)."""
    return component_tops(
        ranks[f"{prefix}classifier"], ranks[f"{prefix}prototype"], data.common_idx, data.rare_mask
    )


def evaluate_hybrid(val_tops, test_tops, data: IdentifyData, params: IdentifyParams):
    """Calibrate on validation for the target coverage; measure on test; trace the curve."""
    y_val, y_test = data.y[data.val], data.y[data.test]
    thresholds = calibrate_thresholds(val_tops, y_val, params.target_coverage)
    val_routed = route_tops(*val_tops, thresholds)
    out = summarize(route_tops(*test_tops, thresholds), y_test, data.rare_mask)
    out["coverage_val"] = float((val_routed.pred != REJECTED).mean())
    curve = accuracy_coverage_curve((val_tops, y_val), (test_tops, y_test))
    return thresholds, {
        "metrics": out,
        "thresholds": thresholds.as_dict(),
        "curve": curve,
        "operating_point": {"coverage": out["coverage"], "accuracy": out["accuracy"]},
    }


@dataclass
class Evaluation:
    thresholds: Thresholds
    thresholds_prior: Thresholds | None  # None without a location prior
    metrics: dict
    details: dict
    per_class: pd.DataFrame  # the prototypes' test accuracy of every species


def evaluate(model: IdentifierModel, data: IdentifyData, params: IdentifyParams) -> Evaluation:
    """The prototypes' test report and the hybrid calibrated on validation, image only and, with
    a location prior, fused with it (plus the prior's gain)."""
    val = component_ranks(model, data, data.val, params.predict_batch)
    test = component_ranks(model, data, data.test, params.predict_batch)
    names, y_test = data.labels.species_names, data.y[data.test]
    report = classification_report(y_test, test["prototype"], names)
    metrics = {f"proto_{k}": report[k] for k in ("top1", "top5", "macro_f1")}
    thresholds, hybrid = evaluate_hybrid(
        hybrid_tops(val, data), hybrid_tops(test, data), data, params
    )
    metrics.update({f"hybrid_{k}": v for k, v in hybrid.pop("metrics").items()})
    details = {"species_prototypes": report, "hybrid": hybrid}
    per_class = per_class_table(y_test, test["prototype"].pred, names)
    found = Evaluation(thresholds, None, metrics, details, per_class)
    if model.prior is not None:
        fused = [hybrid_tops(ranks, data, "fused_") for ranks in (val, test)]
        found.thresholds_prior, hybrid = evaluate_hybrid(*fused, data, params)
        metrics.update({f"prior_hybrid_{k}": v for k, v in hybrid.pop("metrics").items()})
        metrics.update(prior_gain(val, test, data))
        details["hybrid_prior"] = hybrid
    return found


def prior_gain(val: dict[str, Ranked], test: dict[str, Ranked], data: IdentifyData) -> dict:
    """Top-1 of the hybrid at full coverage (no rejection) and of the prototypes, image-only vs
    fused with the location prior, on test: overall and on rare species."""
    y_val, y_test = data.y[data.val], data.y[data.test]
    rare = data.rare_mask[y_test]
    out = {}
    for tag, prefix in (("image", ""), ("fused", "fused_")):
        full = calibrate_thresholds(hybrid_tops(val, data, prefix), y_val, 1.0)
        correct = route_tops(*hybrid_tops(test, data, prefix), full).pred == y_test
        out[f"prior_top1_{tag}"] = float(correct.mean())
        out[f"prior_top1_rare_{tag}"] = float(correct[rare].mean()) if rare.any() else math.nan
        out[f"prior_proto_top1_{tag}"] = float((test[f"{prefix}prototype"].pred == y_test).mean())
    out["prior_top1_gain"] = out["prior_top1_fused"] - out["prior_top1_image"]
    out["prior_top1_rare_gain"] = out["prior_top1_rare_fused"] - out["prior_top1_rare_image"]
    out["prior_proto_top1_gain"] = out["prior_proto_top1_fused"] - out["prior_proto_top1_image"]
    return out
