"""Fitting and evaluating every identification component on one dataset's embeddings.

Split (stratified by species, fixed by seed) -> rank classifiers (each head x imbalance remedy,
the best on validation macro-F1 is kept) -> common-species classifier -> all-species prototypes
-> thresholds calibrated on validation -> location prior (when an encoder is given) -> test
metrics. Everything is measured on the held-out test split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geoloc.embed.store import EmbeddingTable
from geoloc.errors import GeolocError
from geoloc.identify.calibration import accuracy_coverage_curve, calibrate_thresholds
from geoloc.identify.classifier import EmbeddingClassifier, TrainConfig
from geoloc.identify.hybrid import REJECTED, Thresholds, route, summarize
from geoloc.identify.location_prior import LocationPrior, PriorConfig
from geoloc.identify.metrics import classification_report
from geoloc.identify.model import IdentifierModel, join_taxonomy, text_matrix
from geoloc.identify.prototypes import PrototypeClassifier
from geoloc.identify.split import stratified_split
from geoloc.io import atomic_path, write_json


@dataclass
class Outcome:
    model: IdentifierModel
    metrics: dict  # flat numbers for results/<ds>/identify/metrics.json
    details: dict  # confusion matrices, curves, per-class tables for the report


def train_identifier(
    table: EmbeddingTable, taxonomy: pd.DataFrame, params, encoder=None, device: str = "cpu"
) -> Outcome:
    """Fit and evaluate on `table`; `params` is an IdentifyParams; `encoder` enables the prior."""
    labels = join_taxonomy(table, taxonomy, params.rank)
    X = table.embedding[labels.rows]
    lat, lon = table.lat[labels.rows], table.lon[labels.rows]
    y, y_rank = labels.y, labels.y_rank
    parts = stratified_split(y, params.val_fraction, params.test_fraction, params.seed)
    train, val, test = parts
    if len(val) == 0 or len(test) == 0:
        raise GeolocError("too few observations per species for a train/val/test split")
    counts = np.bincount(y, minlength=len(labels.species_keys))
    rare_mask = counts <= params.rare_max_count
    common_idx = np.flatnonzero(~rare_mask)
    config = TrainConfig(
        epochs=params.epochs,
        batch_size=params.batch_size,
        lr=params.lr,
        weight_decay=params.weight_decay,
        seed=params.seed,
        device=str(device),
    )
    metrics: dict = {
        "n_obs": len(y),
        "n_species": len(labels.species_keys),
        "n_common": len(common_idx),
        "n_rare": int(rare_mask.sum()),
        "n_train": len(train),
        "n_val": len(val),
        "n_test": len(test),
    }
    details: dict = {"rank": params.rank, "species_names": labels.species_names}
    jobs = len(params.heads) * len(params.remedies) + 2 + bool(encoder and params.prior.enabled)
    progress = tqdm(total=jobs, desc="identify: fitting", unit="model")

    rank_clf, rank_details = _fit_rank(
        X, y_rank, parts, labels.rank_names, params, config, progress
    )
    metrics.update(rank_details.pop("metrics"))
    details["rank_classifier"] = rank_details

    other = params.classifier_other and bool(rare_mask.any())
    clf = None
    if len(common_idx):
        # common species keep their own class; rare ones share an "other" class or are left out
        to_class = np.full(len(rare_mask), len(common_idx) if other else -1)
        to_class[common_idx] = np.arange(len(common_idx))
        rows = train[to_class[y[train]] >= 0]
        clf = EmbeddingClassifier(
            head=params.species_head,
            remedy=params.species_remedy,
            hidden=params.hidden,
            config=config,
        ).fit(X[rows], to_class[y[rows]], n_classes=len(common_idx) + other)
    progress.update()

    text = text_matrix(table, labels.species_keys) if params.text_prototypes else None
    proto_config = TrainConfig(
        epochs=params.proto_epochs,
        batch_size=params.batch_size,
        lr=params.proto_lr,
        seed=params.seed,
    )
    proto = PrototypeClassifier(proto_config).fit(
        X[train], y[train], len(labels.species_keys), text=text
    )
    progress.update()
    metrics.update(
        proto_uses_text=int(proto.uses_text),
        proto_temperature=proto.learned_temperature,
        proto_visual_weight=proto.visual_weight,
    )
    never = Thresholds(math.inf, math.inf, math.inf)  # replaced by the calibrated ones below
    model = IdentifierModel(
        species_keys=labels.species_keys,
        species_names=labels.species_names,
        common_idx=common_idx,
        rare_mask=rare_mask,
        classifier=clf,
        prototypes=proto,
        thresholds=never,
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

    def probas(rows, presence=None):
        comps = model.fused_components(X[rows], presence)
        return comps["classifier"], comps["prototype"]

    val_p, test_p = probas(val), probas(test)
    species_report = classification_report(y[test], test_p[1], labels.species_names)
    metrics.update({f"proto_{k}": species_report[k] for k in ("top1", "top5", "macro_f1")})
    details["species_prototypes"] = species_report
    model.thresholds, hybrid = _evaluate_hybrid(
        val_p, test_p, y[val], y[test], common_idx, rare_mask, params
    )
    metrics.update({f"hybrid_{k}": v for k, v in hybrid.pop("metrics").items()})
    details["hybrid"] = hybrid

    if encoder is not None and params.prior.enabled:
        p = params.prior
        model.prior = LocationPrior(
            encoder,
            len(labels.species_keys),
            PriorConfig(
                epochs=p.epochs,
                batch_size=p.batch_size,
                lr=p.lr,
                pos_weight=p.pos_weight,
                background_per_presence=p.background_per_presence,
                seed=params.seed,
            ),
        ).fit(lat[train], lon[train], y[train])
        progress.update()
        val_f = probas(val, model.prior.presence(lat[val], lon[val]))
        test_f = probas(test, model.prior.presence(lat[test], lon[test]))
        model.thresholds_prior, fused = _evaluate_hybrid(
            val_f, test_f, y[val], y[test], common_idx, rare_mask, params
        )
        metrics.update({f"prior_hybrid_{k}": v for k, v in fused.pop("metrics").items()})
        details["hybrid_prior"] = fused
        metrics.update(
            _prior_gain(val_p, test_p, val_f, test_f, y[val], y[test], common_idx, rare_mask)
        )
    progress.close()
    return Outcome(model=model, metrics=_json_numbers(metrics), details=_json_numbers(details))


def _fit_rank(X, y_rank, parts, names, params, config, progress):
    """Every head x remedy on the rank labels; keep the best by validation macro-F1."""
    train, val, test = parts
    table, best, best_score = [], None, -1.0
    flat = {}
    for head in params.heads:
        for remedy in params.remedies:
            clf = EmbeddingClassifier(head=head, remedy=remedy, hidden=params.hidden, config=config)
            clf.fit(X[train], y_rank[train], n_classes=len(names))
            progress.update()
            val_report = classification_report(y_rank[val], clf.predict_proba(X[val]), names)
            test_report = classification_report(y_rank[test], clf.predict_proba(X[test]), names)
            minority = _minority_recall(test_report, y_rank[train], len(names))
            row = {
                "head": head,
                "remedy": remedy,
                "val_macro_f1": val_report["macro_f1"],
                "minority_recall": minority,
                **{k: test_report[k] for k in ("top1", "top5", "macro_f1", "balanced_accuracy")},
            }
            table.append(row)
            for key in ("top1", "top5", "macro_f1"):
                flat[f"{params.rank}_{head}_{remedy}_{key}"] = test_report[key]
            if val_report["macro_f1"] > best_score:
                best, best_score = (clf, test_report, f"{head}/{remedy}"), val_report["macro_f1"]
    clf, report, label = best
    flat.update({f"{params.rank}_{k}": report[k] for k in ("top1", "top5", "macro_f1")})
    flat[f"{params.rank}_balanced_accuracy"] = report["balanced_accuracy"]
    return clf, {"best": label, "runs": table, "test": report, "metrics": flat}


def _minority_recall(report: dict, y_train: np.ndarray, n: int) -> float:
    """Mean test accuracy over the rarer half of the classes (by training count)."""
    counts = np.bincount(y_train, minlength=n)
    present = [i for i, row in enumerate(report["per_class"]) if row["accuracy"] is not None]
    rare = sorted(present, key=lambda i: counts[i])[: max(1, len(present) // 2)]
    return float(np.mean([report["per_class"][i]["accuracy"] for i in rare]))


def _evaluate_hybrid(val_p, test_p, y_val, y_test, common_idx, rare_mask, params):
    """Calibrate on validation for the target coverage; measure on test; trace the curve."""
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


def _prior_gain(val_p, test_p, val_f, test_f, y_val, y_test, common_idx, rare_mask) -> dict:
    """Top-1 of the hybrid at full coverage (no rejection) and of the prototypes, image-only vs
    fused with the location prior, on test: overall and on rare species."""
    rare = rare_mask[y_test]
    out = {}
    for tag, val, test in (("image", val_p, test_p), ("fused", val_f, test_f)):
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


def _json_numbers(obj):
    """NaN and infinity become null so the JSON is standard (DVC and browsers read it)."""
    if isinstance(obj, dict):
        return {k: _json_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_numbers(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def run_training(
    embeddings: str | Path,
    filtered: str | Path,
    params,
    model_dir: str | Path,
    results_dir: str | Path,
    encoder_path: str | Path | None = None,
    device: str = "cpu",
) -> dict:
    """Read inputs, train and evaluate, write the model dir and the results; return the metrics.

    Writes `model_dir/` (model.pt, meta.json, encoder.pt when the prior is on) and
    `results_dir/metrics.json`, `report.json` (figures' data) and `per_class.csv`.
    """
    from geoloc.embed.store import read_embeddings

    filtered = Path(filtered)
    if not filtered.is_file():
        raise GeolocError(f"filtered table not found: {filtered} (run the filter stage first)")
    table = read_embeddings(embeddings)
    taxonomy = pd.read_parquet(filtered, columns=["gbif_id", "species_key", "species", params.rank])
    encoder = None
    if encoder_path is not None and params.prior.enabled:
        from geoloc.encoders.location_encoder import load_location_encoder

        if not Path(encoder_path).is_file():
            raise GeolocError(f"location encoder not found: {encoder_path} (run train first)")
        encoder = load_location_encoder(encoder_path)
    outcome = train_identifier(table, taxonomy, params, encoder=encoder, device=device)
    results_dir = Path(results_dir)
    outcome.model.save(model_dir, encoder_path if encoder is not None else None)
    write_json(results_dir / "metrics.json", outcome.metrics)
    write_json(results_dir / "report.json", outcome.details)
    per_class = pd.DataFrame(outcome.details["rank_classifier"]["test"]["per_class"])
    per_class.insert(0, "level", params.rank)
    species = pd.DataFrame(outcome.details["species_prototypes"]["per_class"])
    species.insert(0, "level", "species")
    with atomic_path(results_dir / "per_class.csv") as tmp:
        pd.concat([per_class, species]).to_csv(tmp, index=False)
    return outcome.metrics
