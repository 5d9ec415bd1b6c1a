"""Hybrid routing: a classifier for common species, prototypes for rare ones, and "?" otherwise.

Order (fixed): classifier-confident -> rare-prototype -> classifier-low -> rejected.
1. `classifier_common`: the common-species classifier's top probability >= `classifier_high`;
2. `prototype_rare`: the prototype model's top species is rare and its probability >=
   `prototype_rare`;
3. `classifier_common_low`: the classifier's top probability >= `classifier_low`;
4. `rejected`: nothing is confident enough; the prediction is unknown ("?").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from geoloc.identify.ranked import Ranked

METHODS = ("classifier_common", "prototype_rare", "classifier_common_low", "rejected")
REJECTED = -1


@dataclass(frozen=True)
class Thresholds:
    classifier_high: float
    prototype_rare: float
    classifier_low: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Routed:
    """Per-sample outcome: species index (REJECTED for "?"), confidence, route (index into
    METHODS: small integers, cheap in the threshold search, which routes thousands of times)."""

    pred: np.ndarray
    confidence: np.ndarray
    route: np.ndarray

    @property
    def method(self) -> np.ndarray:
        """The route's name per sample."""
        return np.asarray(METHODS, dtype=object)[self.route]


def component_tops(
    clf: Ranked, proto: Ranked, common_idx: np.ndarray, rare_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Top species (global index) and probability of each component; the prototype's confidence is
    set to -inf where its top species is not rare, so it can only route rare species."""
    n = len(proto.pred)
    if clf.n_classes:
        clf_top, clf_conf = common_idx[clf.pred], clf.conf
    else:  # no common species: the classifier never answers
        clf_top, clf_conf = np.full(n, REJECTED), np.full(n, -np.inf)
    proto_conf = np.where(rare_mask[proto.pred], proto.conf, -np.inf)
    return clf_top, clf_conf, proto.pred, proto_conf


def route(
    clf_proba: np.ndarray,
    proto_proba: np.ndarray,
    common_idx: np.ndarray,
    rare_mask: np.ndarray,
    thresholds: Thresholds,
) -> Routed:
    """Apply the four routes in order; the first that fires decides each sample."""
    tops = component_tops(Ranked.of(clf_proba), Ranked.of(proto_proba), common_idx, rare_mask)
    return route_tops(*tops, thresholds)


def route_tops(clf_top, clf_conf, proto_top, proto_conf, thresholds: Thresholds) -> Routed:
    """`route` on precomputed component tops (evaluation and the threshold search)."""
    n = len(clf_top)
    pred = np.full(n, REJECTED)
    confidence = np.zeros(n)
    route = np.full(n, len(METHODS) - 1, dtype=np.int8)  # rejected unless a rule fires
    undecided = np.ones(n, dtype=bool)
    rules = (
        (clf_conf >= thresholds.classifier_high, clf_top, clf_conf),
        (proto_conf >= thresholds.prototype_rare, proto_top, proto_conf),
        (clf_conf >= thresholds.classifier_low, clf_top, clf_conf),
    )
    for code, (fires, top, conf) in enumerate(rules):
        take = undecided & fires
        pred[take], confidence[take], route[take] = top[take], conf[take], code
        undecided &= ~take
    return Routed(pred=pred, confidence=confidence, route=route)


def summarize(routed: Routed, y: np.ndarray, rare_mask: np.ndarray) -> dict:
    """Coverage and accuracy on covered samples: all, common and rare (by the true species)."""
    covered = routed.pred != REJECTED
    correct = routed.pred == y
    rare = rare_mask[y]

    def acc(mask):
        n = int((mask & covered).sum())
        return float(correct[mask & covered].sum() / n) if n else float("nan")

    out = {
        "coverage": float(covered.mean()) if len(y) else float("nan"),
        "accuracy": acc(np.ones_like(covered)),
        "accuracy_common": acc(~rare),
        "accuracy_rare": acc(rare),
        "coverage_common": float(covered[~rare].mean()) if (~rare).any() else float("nan"),
        "coverage_rare": float(covered[rare].mean()) if rare.any() else float("nan"),
    }
    for code, name in enumerate(METHODS):
        out[f"share_{name}"] = float((routed.route == code).mean()) if len(y) else float("nan")
    return out
