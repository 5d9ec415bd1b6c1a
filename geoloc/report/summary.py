"""A short plain-text digest of the metrics a pipeline run wrote under results/: the numbers
to look at first, one block per dataset, instead of `dvc metrics show`'s one very wide row."""

from __future__ import annotations

from geoloc.layout import ReportPaths, run_record
from geoloc.report.results import dataset_folders, read_json


def _auc_rows(sdm: dict) -> list[str]:
    sets = [k.removeprefix("auc_") for k in sdm if k.startswith("auc_")]
    rows = [f"  {'covariates':<10} {'cv AUC':>7} {'truth AUC':>9}"]
    for name in sorted(sets, key=lambda s: -sdm.get(f"truth_auc_{s}", sdm[f"auc_{s}"])):
        truth = sdm.get(f"truth_auc_{name}")
        truth_text = f"{truth:9.3f}" if truth is not None else f"{'-':>9}"
        rows.append(f"  {name:<10} {sdm[f'auc_{name}']:7.3f} {truth_text}")
    return rows


def dataset_lines(name: str, sdm: dict | None, ident: dict | None) -> list[str]:
    """One dataset's block: SDM AUC per covariate set, then identification."""
    lines = [f"{name}:"]
    if sdm:
        lines.append(f"  SDM ({sdm['n_species']} species, {sdm['n_skipped']} skipped):")
        lines += _auc_rows(sdm)
    if ident:
        lines.append(
            f"  identify: family top-1 {ident['family_top1']:.3f}; hybrid accuracy "
            f"{ident['hybrid_accuracy']:.3f} at coverage {ident['hybrid_coverage']:.3f}; "
            f"location prior top-1 gain {ident['prior_top1_gain']:+.3f}"
        )
    return lines


def _reid_line(reid: dict, run: dict | None) -> str:
    """The matcher's accuracy (named from its run record) with its peers' beside it."""
    peers = [
        f"{peer} {reid[f'acc_{key}']:.3f}"
        for key, peer in (("global", "global backbone"), ("pixels", "pixel floor"))
        if f"acc_{key}" in reid
    ]
    matcher = f" ({run['matcher']})" if run else ""
    return (
        f"reid{matcher}: 1-NN accuracy {reid['acc']:.3f}, mAP {reid['map']:.3f} "
        f"({reid['n_identities']} identities)" + (f"; {', '.join(peers)}" if peers else "")
    )


def summary_text(paths: ReportPaths) -> str:
    """The encoder, every dataset with metrics, then the re-identification and clustering demos."""
    lines: list[str] = []
    train = read_json(paths.train / "metrics.json")
    if train:
        lines.append(
            "location encoder (all datasets): median image->location error "
            f"{train['val_median_km_init']:.0f} km untrained -> {train['val_median_km']:.0f} km"
        )
    evaluated = dict(dataset_folders(paths.evaluate, "metrics.json"))
    identified = dict(dataset_folders(paths.identifier, "metrics.json"))
    for name in sorted(evaluated.keys() | identified.keys()):
        sdm = read_json(evaluated[name] / "metrics.json") if name in evaluated else None
        ident = read_json(identified[name] / "metrics.json") if name in identified else None
        lines += dataset_lines(name, sdm, ident)
    reid = read_json(paths.reid)
    if reid:
        lines.append(_reid_line(reid, read_json(run_record(paths.reid))))
    cluster = read_json(paths.cluster)
    if cluster:
        lines.append(
            f"cluster: {cluster['n_clusters']} clusters, ARI {cluster['ari']:.3f}, "
            f"NMI {cluster['nmi']:.3f}, unclustered {cluster['unclustered']:.3f}"
        )
    if paths.out.is_file():
        lines.append(f"report: {paths.out}")
    return "\n".join(lines)
