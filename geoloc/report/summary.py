"""A short plain-text digest of the metrics a pipeline run wrote under results/: the numbers
to look at first, one block per dataset, instead of `dvc metrics show`'s one very wide row."""

from __future__ import annotations

import json
from pathlib import Path


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _auc_rows(sdm: dict) -> list[str]:
    sets = [k.removeprefix("auc_") for k in sdm if k.startswith("auc_")]
    rows = [f"  {'covariates':<10} {'cv AUC':>7} {'truth AUC':>9}"]
    for name in sorted(sets, key=lambda s: -sdm.get(f"truth_auc_{s}", sdm[f"auc_{s}"])):
        truth = sdm.get(f"truth_auc_{name}")
        truth_text = f"{truth:9.3f}" if truth is not None else f"{'-':>9}"
        rows.append(f"  {name:<10} {sdm[f'auc_{name}']:7.3f} {truth_text}")
    return rows


def dataset_lines(name: str, folder: Path) -> list[str]:
    lines = [f"{name}:"]
    sdm = _load(folder / "sdm" / "metrics.json")
    if sdm:
        lines.append(f"  SDM ({sdm['n_species']} species, {sdm['n_skipped']} skipped):")
        lines += _auc_rows(sdm)
    ident = _load(folder / "identify" / "metrics.json")
    if ident:
        lines.append(
            f"  identify: family top-1 {ident['family_top1']:.3f}; hybrid accuracy "
            f"{ident['hybrid_accuracy']:.3f} at coverage {ident['hybrid_coverage']:.3f}; "
            f"location prior top-1 gain {ident['prior_top1_gain']:+.3f}"
        )
    return lines


def summary_text(results: Path) -> str:
    """Every dataset folder with metrics, then the re-identification and clustering demos."""
    lines: list[str] = []
    train = _load(results / "train" / "metrics.json")
    if train:
        lines.append(
            "location encoder (all datasets): median image->location error "
            f"{train['val_median_km_init']:.0f} km untrained -> {train['val_median_km']:.0f} km"
        )
    for folder in sorted(p for p in results.iterdir() if p.is_dir()):
        if any((folder / stage / "metrics.json").is_file() for stage in ("sdm", "identify")):
            lines += dataset_lines(folder.name, folder)
    reid = _load(results / "reid" / "metrics.json")
    if reid:
        peers = [
            f"{peer} {reid[f'acc_{key}']:.3f}"
            for key, peer in (("global", "global backbone"), ("pixels", "pixel floor"))
            if f"acc_{key}" in reid
        ]
        lines.append(
            f"reid: 1-NN accuracy {reid['acc']:.3f}, mAP {reid['map']:.3f} "
            f"({reid['n_identities']} identities)" + (f"; {', '.join(peers)}" if peers else "")
        )
    cluster = _load(results / "cluster" / "metrics.json")
    if cluster:
        lines.append(
            f"cluster: {cluster['n_clusters']} clusters, ARI {cluster['ari']:.3f}, "
            f"NMI {cluster['nmi']:.3f}, unclustered {cluster['unclustered']:.3f}"
        )
    if (results / "report.html").is_file():
        lines.append(f"report: {results / 'report.html'}")
    return "\n".join(lines)
