"""The headline metrics: a handful of short keys per dataset (and for the encoder and the demos),
the only files DVC tracks as `metrics`, so `dvc exp show` and `dvc metrics diff` stay readable.
The full metrics of every step stay beside their outputs (results/<step>/...) as plain files.

Each file holds one block named after what it describes (`{"plants": {...}}`), so the column names
in `dvc exp show` are unique and short (`plants.truth_gain`) instead of prefixed with file paths.
"""

from __future__ import annotations

from geoloc.layout import ReportPaths
from geoloc.report.results import dataset_folders, read_json

TRAINED = "trained"


def sdm_headline(metrics: dict) -> dict:
    """Trained encoder vs the best other covariate set, cross-validated and (demo) on the truth."""
    out = {}
    for prefix, short in (("truth_auc", "truth"), ("auc", "cv")):
        scores = {k.removeprefix(f"{prefix}_"): v for k, v in metrics.items()
                  if k.startswith(f"{prefix}_") and v is not None}  # fmt: skip
        if TRAINED not in scores:
            continue
        others = {name: value for name, value in scores.items() if name != TRAINED}
        out[f"{short}_trained"] = scores[TRAINED]
        if others:
            best = max(others.values())
            out[f"{short}_best"] = best
            out[f"{short}_gain"] = round(scores[TRAINED] - best, 4)
    return out


def identify_headline(metrics: dict) -> dict:
    """The identifier's answer rate and accuracy at its calibrated operating point."""
    keys = {"id_accuracy": "hybrid_accuracy", "id_coverage": "hybrid_coverage",
            "id_prior_gain": "prior_top1_gain"}  # fmt: skip
    return {short: metrics[key] for short, key in keys.items() if metrics.get(key) is not None}


def headlines(paths: ReportPaths, datasets=None) -> dict[str, dict]:
    """Block name -> its short metrics, for every dataset with results, the encoder and the
    demos (absent results give no block)."""
    blocks: dict[str, dict] = {}
    train = read_json(paths.train / "metrics.json")
    if train:
        blocks["encoder"] = {k: train[k] for k in ("val_median_km", "val_top10") if k in train}
    evaluated = dict(dataset_folders(paths.evaluate, "metrics.json", datasets))
    identified = dict(dataset_folders(paths.identifier, "metrics.json", datasets))
    for name in dict.fromkeys([*evaluated, *identified]):  # data.datasets order first
        block = {}
        if name in evaluated:
            block |= sdm_headline(read_json(evaluated[name] / "metrics.json") or {})
        if name in identified:
            block |= identify_headline(read_json(identified[name] / "metrics.json") or {})
        blocks[name] = block
    demos = {}
    for demo, path, keys in (("reid", paths.reid, ("acc", "map")),
                             ("cluster", paths.cluster, ("ari", "nmi"))):  # fmt: skip
        metrics = read_json(path) or {}
        demos |= {f"{demo}_{key}": metrics[key] for key in keys if key in metrics}
    if demos:
        blocks["demos"] = demos
    return {
        name: {key: round(float(value), 4) for key, value in block.items()}
        for name, block in blocks.items()
        if block
    }
