"""Measuring the fitted identifier on the held-out split: the hybrid calibrated on validation
for the target coverage, image-only and with the location prior fused in, and the prior's gain."""

from __future__ import annotations

import math

import numpy as np

from geoloc.identify.calibration import accuracy_coverage_curve, calibrate_thresholds
from geoloc.identify.dataset import IdentifyData
from geoloc.identify.hybrid import REJECTED, route, summarize
from geoloc.identify.metrics import classification_report
from geoloc.identify.model import IdentifierModel
from geoloc.params import IdentifyParams


def component_probas(model: IdentifierModel, X: np.ndarray, presence=None):
    """(classifier, prototype) probabilities of `X`, fused with `presence` when given."""
    comps = model.fused_components(X, presence)
    return comps["classifier"], comps["prototype"]


def evaluate_hybrid(val_p, test_p, data: IdentifyData, params: IdentifyParams):
    """Calibrate on validation for the target coverage; measure on test; trace the curve."""
    y_val, y_test = data.y[data.val], data.y[data.test]
    common_idx, rare_mask = data.common_idx, data.rare_mask
    thresholds = calibrate_thresholds(*val_p, y_val, common_idx, rare_mask, params.target_coverage)
    val_routed = route(*val_p, common_idx, rare_mask, thresholds)
    test_routed = route(*test_p, common_idx, rare_mask, thresholds)
    out = summarize(test_routed, y_test, rare_mask)
    out["coverage_val"] = float((val_routed.pred != REJECTED).mean())
    curve = accuracy_coverage_curve((*val_p, y_val), (*test_p, y_test), common_idx, rare_mask)
    return thresholds, {
        "metrics": out,
        "thresholds": thresholds.as_dict(),
        "curve": curve,
        "operating_point": {"coverage": out["coverage"], "accuracy": out["accuracy"]},
    }


def evaluate_image_only(model: IdentifierModel, data: IdentifyData, params: IdentifyParams):
    """The prototypes' test report and the hybrid calibrated on image probabilities alone:
    (thresholds, (val, test) probabilities, metrics, details)."""
    probas = component_probas(model, data.X[data.val]), component_probas(model, data.X[data.test])
    report = classification_report(data.y[data.test], probas[1][1], data.labels.species_names)
    metrics = {f"proto_{k}": report[k] for k in ("top1", "top5", "macro_f1")}
    thresholds, hybrid = evaluate_hybrid(*probas, data, params)
    metrics.update({f"hybrid_{k}": v for k, v in hybrid.pop("metrics").items()})
    return thresholds, probas, metrics, {"species_prototypes": report, "hybrid": hybrid}


def evaluate_with_prior(model: IdentifierModel, data: IdentifyData, params, image_probas):
    """The hybrid recalibrated with the location prior fused in, and its gain over
    `image_probas` (the image-only (val, test) probabilities): (thresholds, metrics, details)."""
    fused = tuple(
        component_probas(model, data.X[rows], model.prior.presence(data.lat[rows], data.lon[rows]))
        for rows in (data.val, data.test)
    )
    thresholds, hybrid = evaluate_hybrid(*fused, data, params)
    metrics = {f"prior_hybrid_{k}": v for k, v in hybrid.pop("metrics").items()}
    metrics.update(prior_gain(image_probas, fused, data))
    return thresholds, metrics, {"hybrid_prior": hybrid}


def prior_gain(image_probas, fused_probas, data: IdentifyData) -> dict:
    """Top-1 of the hybrid at full coverage (no rejection) and of the prototypes, image-only vs
    fused with the location prior, on test: overall and on rare species."""
    y_val, y_test = data.y[data.val], data.y[data.test]
    common_idx, rare_mask = data.common_idx, data.rare_mask
    rare = rare_mask[y_test]
    out = {}
    for tag, (val, test) in (("image", image_probas), ("fused", fused_probas)):
        full = calibrate_thresholds(*val, y_val, common_idx, rare_mask, 1.0)
        correct = route(*test, common_idx, rare_mask, full).pred == y_test
        out[f"prior_top1_{tag}"] = float(correct.mean())
        out[f"prior_top1_rare_{tag}"] = float(correct[rare].mean()) if rare.any() else math.nan
        proto_correct = test[1].argmax(axis=1) == y_test
        out[f"prior_proto_top1_{tag}"] = float(proto_correct.mean())
    out["prior_top1_gain"] = out["prior_top1_fused"] - out["prior_top1_image"]
    out["prior_top1_rare_gain"] = out["prior_top1_rare_fused"] - out["prior_top1_rare_image"]
    out["prior_proto_top1_gain"] = out["prior_proto_top1_fused"] - out["prior_proto_top1_image"]
    return out
