"""The evaluation's summaries: per covariate set and per pair with the reference set (`trained`
when evaluated, else the first set), as nested statistics and as the flat metrics DVC shows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoloc.sdm.stats import paired_difference, summarize


def summaries(table: pd.DataFrame, sets: list[str], sdm, has_truth: bool) -> tuple[dict, dict]:
    """(summary, metrics) of the per-species table for `sets`; bootstrap and seed from `sdm`."""
    reference = "trained" if "trained" in sets else sets[0]
    evaluated = table[~table["skipped"]]
    metrics: dict = {"n_species": int(len(evaluated)), "n_skipped": int(table["skipped"].sum())}
    summary: dict = {"reference": reference, "sets": {}, "deltas": {}}
    for prefix in ("auc", "truth_auc") if has_truth else ("auc",):
        for name in sets:
            stats = summarize(evaluated[f"{prefix}_{name}"], sdm.bootstrap, sdm.seed)
            summary["sets"].setdefault(name, {})[prefix] = stats
            metrics[f"{prefix}_{name}"] = _round(stats["mean"])
        for name in sets:
            if name == reference:
                continue
            delta = paired_difference(
                evaluated[f"{prefix}_{reference}"],
                evaluated[f"{prefix}_{name}"],
                sdm.bootstrap,
                sdm.seed,
            )
            summary["deltas"].setdefault(f"{reference}_{name}", {})[prefix] = delta
            short = "delta" if prefix == "auc" else "truth_delta"
            metrics[f"{short}_{reference}_{name}"] = _round(delta["mean"])
    return summary, metrics


def auc_by_set(summary: dict) -> pd.DataFrame:
    """One row per covariate set: mean AUC with CI (and truth AUC): the `dvc plots` table."""
    rows = []
    for name, stats in summary["sets"].items():
        row = {"set": name}
        for prefix, values in stats.items():
            row.update({f"{prefix}": values["mean"], f"{prefix}_median": values["median"]})
            row.update(
                {f"{prefix}_ci_low": values["ci_low"], f"{prefix}_ci_high": values["ci_high"]}
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _round(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)
