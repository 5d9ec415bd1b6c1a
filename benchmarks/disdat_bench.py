"""DISDAT real-data SDM benchmark: `geoloc bench disdat` (its defaults: the chosen configuration,
target-group background) on the project's DISDAT data folder ($GEOLOC_SHARED_DATA/disdat),
printed beside the reference numbers published for the same four regions (random-background
logistic and RF, and DeepMaxent; Valavi et al. 2022's ensemble: 0.732 over six regions).

Runs only where the shared data folder exists (the project's own machines); elsewhere it says so
and exits 0. Usage: .venv/bin/python benchmarks/disdat_bench.py [--out DIR]
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GEOLOC_SHARED_DATA", REPO.parent / "shared" / "data")) / "disdat"

# measured independently with the same protocol (2026-12-01), four regions (species): AWT 40,
# CAN 20, NSW 54, NZ 52
REFERENCE = {
    "logistic env": {"AWT": 0.660, "CAN": 0.594, "NSW": 0.698, "NZ": 0.731},
    "logistic env+coords": {"AWT": 0.664, "CAN": 0.594, "NSW": 0.701, "NZ": 0.732},
    "down-sampled RF env": {"AWT": 0.683, "CAN": 0.579, "NSW": 0.718, "NZ": 0.745},
    "RF env+coords": {"AWT": 0.660, "CAN": 0.572, "NSW": 0.727, "NZ": 0.748},
    # DeepMaxent (Ryckewaert et al. 2024) with its published defaults, re-implemented independently
    # (mean of 3 seeds), target-group background, env
    "DeepMaxent (published defaults)": {"AWT": 0.714, "CAN": 0.730, "NSW": 0.748, "NZ": 0.752},
}
SPECIES = {"AWT": 40, "CAN": 20, "NSW": 54, "NZ": 52}


def reference_rows() -> list[str]:
    rows = []
    for name, by_region in REFERENCE.items():
        overall = sum(by_region[r] * n for r, n in SPECIES.items()) / sum(SPECIES.values())
        cells = " | ".join(f"{by_region[r]:.3f}" for r in SPECIES)
        rows.append(f"| reference {name} | {cells} | {overall:.3f} |")
    return rows


@click.command()
@click.option(
    "--out", type=click.Path(file_okay=False), help="Output folder (default: a temp dir)."
)
def main(out):
    if not DATA.is_dir():
        click.echo(f"disdat benchmark skipped: {DATA} not found (only on the project's machines)")
        return
    sys.path.insert(0, str(REPO))
    from geoloc.bench.disdat import auc_table, markdown_table, run_benchmark

    out = Path(out or tempfile.mkdtemp(prefix="disdat-"))
    wall = time.perf_counter()
    run = run_benchmark(DATA, out)
    wall = time.perf_counter() - wall
    usage = resource.getrusage(resource.RUSAGE_SELF)
    click.echo(markdown_table(auc_table(run.summary)), nl=False)
    click.echo("\nreference (published with the data), regions AWT CAN NSW NZ then ALL:")
    click.echo("\n".join(reference_rows()))
    click.echo(
        f"\nwall {wall:.0f} s, CPU {usage.ru_utime + usage.ru_stime:.0f} s (user+sys); "
        f"outputs in {out}"
    )


if __name__ == "__main__":
    main()
