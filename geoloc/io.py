"""File helpers shared by every step: outputs appear complete or not at all, and JSON is standard
(DVC, browsers and `jq` reject NaN)."""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; rename it onto `path` only if the block succeeds.

    A killed or failing stage therefore never leaves a half-written output under the real name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def to_jsonable(value):
    """NaN and infinity -> None, NumPy scalars -> Python numbers, tuples -> lists, recursively."""
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(path: str | os.PathLike, obj) -> None:
    """Write `obj` as indented standard JSON atomically (metrics and reports are read by DVC and
    people)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def write_csv(frame, path: str | os.PathLike, float_format: str | None = None) -> None:
    """A DataFrame as CSV, atomically, without the index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format=float_format)


def write_parquet(frame, path: str | os.PathLike) -> None:
    """A DataFrame as Parquet, atomically, without the index."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
