"""Fitting every identification component on one dataset's embeddings.

Split (stratified by species, fixed by seed) -> rank classifiers (each head x imbalance remedy,
the best on validation macro-F1 is kept) -> common-species classifier -> all-species prototypes
-> thresholds calibrated on validation -> location prior (when an encoder is given) -> test
metrics. Everything is measured on the held-out test split (geoloc/identify/evaluation.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geoloc.embed.store import EmbeddingTable
from geoloc.identify.classifier import EmbeddingClassifier
from geoloc.identify.dataset import IdentifyData, prepare_data, split_counts
from geoloc.identify.evaluation import classifier_ranks, evaluate
from geoloc.identify.hybrid import Thresholds
from geoloc.identify.location_prior import LocationPrior
from geoloc.identify.metrics import (
    classification_report,
    macro_f1,
    minority_recall,
    per_class_table,
)
from geoloc.identify.model import IdentifierModel, text_matrix
from geoloc.identify.prototypes import PrototypeClassifier
from geoloc.io import to_jsonable
from geoloc.params import IdentifyParams


@dataclass
class Outcome:
    """What one training run gives: the fitted model and its test measurements."""

    model: IdentifierModel
    metrics: dict  # flat numbers for results/identifier/<ds>/metrics.json
    details: dict  # bounded report data: runs, confusion of the best-supported classes, curves
    per_class: pd.DataFrame  # level, name, support, test accuracy of every rank class and species


def fit_rank_classifiers(data: IdentifyData, params: IdentifyParams, device, progress):
    """Every head x remedy on the rank labels; keep the best by validation macro-F1.
    Returns (classifier, details for the report, its test accuracy per class)."""
    names, y_rank = data.labels.rank_names, data.y_rank
    y_val, y_test = y_rank[data.val], y_rank[data.test]
    runs, best, best_score, flat = [], None, -1.0, {}
    for head in params.heads:
        for remedy in params.remedies:
            clf = EmbeddingClassifier(head=head, remedy=remedy, hidden=params.hidden)
            clf.fit(data.X, y_rank[data.train], params, len(names), device, data.rows(data.train))
            progress.update()
            val_ranks = classifier_ranks(clf, data, data.val, params.predict_batch)
            val_f1 = macro_f1(y_val, val_ranks.pred, len(names))
            test_ranks = classifier_ranks(clf, data, data.test, params.predict_batch)
            test_report = classification_report(y_test, test_ranks, names)
            minority = minority_recall(y_test, test_ranks.pred, y_rank[data.train], len(names))
            runs.append(
                {
                    "head": head,
                    "remedy": remedy,
                    "val_macro_f1": val_f1,
                    "minority_recall": minority,
                    **{
                        k: test_report[k] for k in ("top1", "top5", "macro_f1", "balanced_accuracy")
                    },
                }
            )
            for key in ("top1", "top5", "macro_f1"):
                flat[f"{params.rank}_{head}_{remedy}_{key}"] = test_report[key]
            if val_f1 > best_score:
                best, best_score = (clf, test_report, f"{head}/{remedy}", test_ranks), val_f1
    clf, report, label, test_ranks = best
    flat.update({f"{params.rank}_{k}": report[k] for k in ("top1", "top5", "macro_f1")})
    flat[f"{params.rank}_balanced_accuracy"] = report["balanced_accuracy"]
    per_class = per_class_table(y_test, test_ranks.pred, names)
    return clf, {"best": label, "runs": runs, "test": report, "metrics": flat}, per_class


def fit_species_classifier(data: IdentifyData, params: IdentifyParams, device):
    """(classifier or None, whether it has an "other" column): common species keep their own
    class; rare ones share an "other" class (identify.classifier_other) or are left out."""
    rare_mask, common_idx, y = data.rare_mask, data.common_idx, data.y
    other = params.classifier_other and bool(rare_mask.any())
    if not len(common_idx):
        return None, other
    to_class = np.full(len(rare_mask), len(common_idx) if other else -1)
    to_class[common_idx] = np.arange(len(common_idx))
    part = data.train[to_class[y[data.train]] >= 0]
    clf = EmbeddingClassifier(
        head=params.species_head, remedy=params.species_remedy, hidden=params.hidden
    )
    clf.fit(data.X, to_class[y[part]], params, len(common_idx) + other, device, data.rows(part))
    return clf, other


def fit_prototypes(data: IdentifyData, table: EmbeddingTable, params: IdentifyParams):
    """All-species prototypes on the training split, blended with species-name text embeddings
    when identify.text_prototypes is on and the backbone has them."""
    species_keys = data.labels.species_keys
    text = text_matrix(table, species_keys) if params.text_prototypes else None
    return PrototypeClassifier().fit(
        data.X, data.y[data.train], len(species_keys), params, text=text, rows=data.rows(data.train)
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
    details = {"rank": params.rank}
    with tqdm(total=jobs, desc="train-identifier: fitting", unit="model") as progress:
        rank_clf, rank_details, rank_per_class = fit_rank_classifiers(
            data, params, device, progress
        )
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
        if with_prior:
            train = data.train
            model.prior = LocationPrior(encoder, len(data.labels.species_keys)).fit(
                data.lat[train],
                data.lon[train],
                data.y[train],
                params.prior,
                params.seed,
                params.sampled_classes,
            )
            progress.update()
    found = evaluate(model, data, params)
    model.thresholds, model.thresholds_prior = found.thresholds, found.thresholds_prior
    metrics.update(found.metrics)
    details.update(found.details)
    per_class = pd.concat(
        [rank_per_class.assign(level=params.rank), found.per_class.assign(level="species")]
    )
    return Outcome(
        model=model,
        metrics=to_jsonable(metrics),
        details=to_jsonable(details),
        per_class=per_class[["level", "name", "support", "accuracy"]],
    )
