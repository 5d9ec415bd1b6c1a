"""`geoloc demo`: write the built-in virtual-species GBIF archive, its photos and its truth."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.entry import params_options
from geoloc.errors import exit_on_user_error


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for demo.zip, demo_truth.parquet and demo_images/ [default: data/raw, as the "
    "stage demo].",
)
@exit_on_user_error  # also for errors in --params / --set
@params_options
@click.option("--seed", type=int, default=None, help="Shortcut for --set demo.seed=...")
def demo(out_dir: Path | None, params, seed: int | None) -> None:
    """Simulate the built-in demo: a GBIF Darwin Core Archive of VIRTUAL species in France.

    Runs the same step as the DVC stage demo, from the `demo:` section (sizes, seed) and
    `data.datasets` (one taxon group each). Fictional species with environmental niches
    (mountains, coasts, Mediterranean, ...), observations drawn from habitat suitability times
    observer effort near real cities, procedurally drawn photos and realistic GBIF noise rows for
    the filter to remove. Writes OUT/demo.zip, OUT/demo_images/<gbifID>_<k>_<digest>.jpg
    (referenced from multimedia.txt by their path relative to the current directory) and
    OUT/demo_truth.parquet (true suitability and range of every species on a grid). The same
    params give the same bytes.
    """
    from geoloc.entry import apply_overrides
    from geoloc.layout import Layout
    from geoloc.sim import run_demo

    params = apply_overrides(params, [f"demo.seed={seed}"]) if seed is not None else params
    paths = Layout().demo()
    if out_dir is not None:
        paths = paths.with_options(
            archive=out_dir / "demo.zip",
            truth=out_dir / "demo_truth.parquet",
            images=out_dir / "demo_images",
        )
    done = run_demo(params, paths)
    kept = ", ".join(f"{name} {n}" for name, n in done["clean"].items())
    click.echo(
        f"wrote {paths.archive}: {done['rows']} occurrence rows ({kept} clean; "
        f"{sum(done['noise'].values())} noise rows for the filter), {done['species']} virtual "
        f"species, {done['images']} photos in {paths.images}, "
        f"{done['truth_rows']} truth rows in {paths.truth}"
    )
