"""Reading what the steps wrote, for the report and the summary: per-dataset folders (in the
order of `data.datasets`, then any others) and metrics files that may not exist yet."""

from __future__ import annotations

import json
from pathlib import Path


def read_json(path: Path) -> dict | None:
    """The JSON object at `path`, or None before the step that writes it has run."""
    return json.loads(path.read_text()) if path.is_file() else None


def dataset_folders(parent: Path, marker: str, datasets=None) -> list[tuple[str, Path]]:
    """(dataset, folder) for every sub-folder of `parent` holding `marker`, configured datasets
    (`datasets`, None: none) first in their order, then the rest alphabetically."""
    found = sorted(p.parent.name for p in Path(parent).glob(f"*/{marker}"))
    ordered = [d for d in datasets or [] if d in found]
    ordered += [d for d in found if d not in ordered]
    return [(d, Path(parent) / d) for d in ordered]
