"""Fitting and evaluating every identification component on one dataset's embeddings.

Split (stratified by species, fixed by seed) -> rank classifiers (each head x imbalance remedy,
the best on validation macro-F1 is kept) -> common-species classifier -> all-species prototypes
-> thresholds calibrated on validation -> location prior (when an encoder is given) -> test
metrics. Everything is measured on the held-out test split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geoloc.embed.store import EmbeddingTable
from geoloc.errors import GeolocError
from geoloc.identify.calibration import accuracy_coverage_curve, calibrate_thresholds
from geoloc.identify.classifier import EmbeddingClassifier
from geoloc.identify.hybrid import REJECTED, Thresholds, route, summarize
from geoloc.identify.location_prior import LocationPrior
from geoloc.identify.metrics import classification_report
from geoloc.identify.model import IdentifierModel, Labels, join_taxonomy, text_matrix
from geoloc.identify.prototypes import PrototypeClassifier
from geoloc.identify.split import stratified_split
from geoloc.io import to_jsonable
from geoloc.params import IdentifyParams


@dataclass
class Outcome:
    model: IdentifierModel
    metrics: dict  # flat numbers for results/identifier/<ds>/metrics.json
    details: dict  # confusion matrices, curves, per-class tables for the report


@dataclass(frozen=True)
class IdentifyData:
    """The labelled embeddings of one dataset, its split and which species are rare."""

    labels: Labels
    X: np.ndarray  # (N, D) embeddings of the labelled rows
    lat: np.ndarray
    lon: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    rare_mask: np.ndarray  # (S,) species with at most identify.rare_max_count observations
    common_idx: np.ndarray  # indices of the other species

    @property
    def y(self) -> np.ndarray:
        return self.labels.y

    @property
    def y_rank(self) -> np.ndarray:
        return self.labels.y_rank


def prepare_data(table: EmbeddingTable, taxonomy: pd.DataFrame, params: IdentifyParams):
    """Join the taxonomy, split train/val/test by species and mark the rare species."""
    labels = join_taxonomy(table, taxonomy, params.rank)
    train, val, test = stratified_split(
        labels.y, params.val_fraction, params.test_fraction, params.seed
    )
    if len(val) == 0 or len(test) == 0:
        raise GeolocError("too few observations per species for a train/val/test split")
    counts = np.bincount(labels.y, minlength=len(labels.species_keys))
    rare_mask = counts <= params.rare_max_count
    return IdentifyData(
        labels=labels,
        X=table.embedding[labels.rows],
        lat=table.lat[labels.rows],
        lon=table.lon[labels.rows],
        train=train,
        val=val,
        test=test,
        rare_mask=rare_mask,
        common_idx=np.flatnonzero(~rare_mask),
    )


def split_counts(data: IdentifyData) -> dict:
    """The sizes the metrics start with: observations, species (common, rare), split parts."""
    return {
        "n_obs": len(data.y),
        "n_species": len(data.labels.species_keys),
        "n_common": len(data.common_idx),
        "n_rare": int(data.rare_mask.sum()),
        "n_train": len(data.train),
        "n_val": len(data.val),
        "n_test": len(data.test),
    }


def fit_rank_classifiers(data: IdentifyData, params: IdentifyParams, device, progress):
    """Every head x remedy on the rank labels; keep the best by validation macro-F1."""
    names, y_rank = data.labels.rank_names, data.y_rank
    runs, best, best_score, flat = [], None, -1.0, {}
    for head in params.heads:
        for remedy in params.remedies:
            clf = EmbeddingClassifier(head=head, remedy=remedy, hidden=params.hidden)
            clf.fit(data.X[data.train], y_rank[data.train], params, len(names), device)
            progress.update()
            val_report = classification_report(
                y_rank[data.val], clf.predict_proba(data.X[data.val]), names
            )
            test_report = classification_report(
                y_rank[data.test], clf.predict_proba(data.X[data.test]), names
            )
            minority = minority_recall(test_report, y_rank[data.train], len(names))
            runs.append(
                {
                    "head": head,
                    "remedy": remedy,
                    "val_macro_f1": val_report["macro_f1"],
                    "minority_recall": minority,
                    **{
                        k: test_report[k] for k in ("top1", "top5", "macro_f1", "balanced_accuracy")
                    },
                }
            )
            for key in ("top1", "top5", "macro_f1"):
                flat[f"{params.rank}_{head}_{remedy}_{key}"] = test_report[key]
            if val_report["macro_f1"] > best_score:
                best, best_score = (clf, test_report, f"{head}/{remedy}"), val_report["macro_f1"]
    clf, report, label = best
    flat.update({f"{params.rank}_{k}": report[k] for k in ("top1", "top5", "macro_f1")})
    flat[f"{params.rank}_balanced_accuracy"] = report["balanced_accuracy"]
    return clf, {"best": label, "runs": runs, "test": report, "metrics": flat}


def minority_recall(report: dict, y_train: np.ndarray, n: int) -> float:
    """Mean test accuracy over the rarer half of the classes (by training count)."""
    counts = np.bincount(y_train, minlength=n)
    present = [i for i, row in enumerate(report["per_class"]) if row["accuracy"] is not None]
    rare = sorted(present, key=lambda i: counts[i])[: max(1, len(present) // 2)]
    return float(np.mean([report["per_class"][i]["accuracy"] for i in rare]))


def fit_species_classifier(data: IdentifyData, params: IdentifyParams, device):
    """(classifier or None, whether it has an "other" column): common species keep their own
    class; rare ones share an "other" class (identify.classifier_other) or are left out."""
    rare_mask, common_idx, y = data.rare_mask, data.common_idx, data.y
    other = params.classifier_other and bool(rare_mask.any())
    if not len(common_idx):
        return None, other
    to_class = np.full(len(rare_mask), len(common_idx) if other else -1)
    to_class[common_idx] = np.arange(len(common_idx))
    rows = data.train[to_class[y[data.train]] >= 0]
    clf = EmbeddingClassifier(
        head=params.species_head, remedy=params.species_remedy, hidden=params.hidden
    )
    clf.fit(data.X[rows], to_class[y[rows]], params, len(common_idx) + other, device)
    return clf, other


def fit_prototypes(data: IdentifyData, table: EmbeddingTable, params: IdentifyParams):
    """All-species prototypes on the training split, blended with species-name text embeddings
    when identify.text_prototypes is on and the backbone has them."""
    species_keys = data.labels.species_keys
    text = text_matrix(table, species_keys) if params.text_prototypes else None
    return PrototypeClassifier().fit(
        data.X[data.train], data.y[data.train], len(species_keys), params, text=text
    )


def assemble_model(data, table, params, rank, classifier, prototypes) -> IdentifierModel:
    """The identifier from its fitted parts; `rank` is (rank classifier, its details), and
    `classifier` (species classifier, whether it has an "other" column). Its thresholds never
    fire until calibrated."""
    labels = data.labels
    rank_clf, rank_details = rank
    clf, other = classifier
    return IdentifierModel(
        species_keys=labels.species_keys,
        species_names=labels.species_names,
        common_idx=data.common_idx,
        rare_mask=data.rare_mask,
        classifier=clf,
        prototypes=prototypes,
        thresholds=Thresholds(math.inf, math.inf, math.inf),
        rank=params.rank,
        rank_names=labels.rank_names,
        rank_classifier=rank_clf,
        classifier_other=other,
        info={
            "backbone": table.attrs.get("backbone"),
            "image_size": table.attrs.get("image_size"),
            "dim": table.dim,
            "rank_classifier": rank_details["best"],
            "rare_max_count": params.rare_max_count,
            "target_coverage": params.target_coverage,
        },
    )


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


def train_identifier(
    table: EmbeddingTable,
    taxonomy: pd.DataFrame,
    params: IdentifyParams,
    encoder=None,
    device="cpu",
) -> Outcome:
    """Fit and evaluate on `table`; `encoder` (anything with `.encode(lat, lon)`) enables the
    location prior when identify.prior.enabled."""
    data = prepare_data(table, taxonomy, params)
    with_prior = encoder is not None and params.prior.enabled
    jobs = len(params.heads) * len(params.remedies) + 2 + with_prior
    metrics = split_counts(data)
    details = {"rank": params.rank, "species_names": data.labels.species_names}
    with tqdm(total=jobs, desc="train-identifier: fitting", unit="model") as progress:
        rank_clf, rank_details = fit_rank_classifiers(data, params, device, progress)
        metrics.update(rank_details.pop("metrics"))
        details["rank_classifier"] = rank_details
        classifier = fit_species_classifier(data, params, device)
        progress.update()
        proto = fit_prototypes(data, table, params)
        progress.update()
        metrics.update(
            proto_uses_text=int(proto.uses_text),
            proto_temperature=proto.learned_temperature,
            proto_visual_weight=proto.visual_weight,
        )
        model = assemble_model(data, table, params, (rank_clf, rank_details), classifier, proto)
        model.thresholds, image_probas, found, shown = evaluate_image_only(model, data, params)
        metrics.update(found)
        details.update(shown)
        if with_prior:
            train = data.train
            model.prior = LocationPrior(encoder, len(data.labels.species_keys)).fit(
                data.lat[train], data.lon[train], data.y[train], params.prior, params.seed
            )
            progress.update()
            model.thresholds_prior, found, shown = evaluate_with_prior(
                model, data, params, image_probas
            )
            metrics.update(found)
            details.update(shown)
    return Outcome(model=model, metrics=to_jsonable(metrics), details=to_jsonable(details))
