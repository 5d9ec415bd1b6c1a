"""Where a report page comes from, for its header: the results folder, the time of the newest
result, the git commit of the checkout, the image backbone and the experiment's name.

Every fact derives from the results, the checkout and the run's environment, never from the
clock, so the same results give the same page byte for byte."""

from __future__ import annotations

import html
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from geoloc.layout import ReportPaths, run_record


def result_files(paths: ReportPaths) -> list[Path]:
    """Every file under the step results the report reads (whether a section uses it or not)."""
    files = []
    for path in (paths.train, paths.evaluate, paths.identifier):
        files += [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
    singles = (paths.reid, run_record(paths.reid), paths.cluster)
    return files + [path for path in singles if path.is_file()]


def newest_result_time(paths: ReportPaths) -> str | None:
    """When the newest result file was written (UTC, to the minute); None without results."""
    times = [path.stat().st_mtime for path in result_files(paths)]
    if not times:
        return None
    return datetime.fromtimestamp(max(times), UTC).strftime("%Y-%m-%d %H:%M UTC")


def git_commit(folder: Path) -> str | None:
    """The commit checked out where `folder` is (None outside a git checkout or without git)."""
    folder = Path(folder).resolve()
    while not folder.is_dir():
        folder = folder.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def experiment_name() -> str:
    """The DVC experiment's name under `dvc exp run` (DVC sets DVC_EXP_NAME), else workspace."""
    return os.environ.get("DVC_EXP_NAME") or "workspace"


def provenance_html(paths: ReportPaths, params, source: Path) -> str:
    """The header's facts, one line each."""
    commit = git_commit(source)
    facts = {
        "results": str(source),
        "newest result": newest_result_time(paths) or "none yet",
        "git commit": (
            f"{commit} (checked out when the page was built: the same results built at "
            "another commit show that commit)"
            if commit
            else "not available (not a git checkout)"
        ),
        "image backbone": params.embed.backbone if params is not None else "not known",
        "experiment": experiment_name(),
    }
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts.items()
    )
    return f'<table class="facts">{rows}</table>'
