"""`geoloc demo`: write the built-in virtual-species GBIF archive, its photos and its truth."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.errors import exit_on_user_error


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="data/raw",
    show_default=True,
    help="Folder for demo.zip, demo_truth.parquet and demo_images/.",
)
@click.option(
    "--params",
    "params_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="params.yaml with the `demo:` section (sizes, seed) and `data.datasets` (taxon groups) "
    "[default: ./params.yaml if present, else the built-in defaults].",
)
@click.option("--seed", type=int, default=None, help="Override demo.seed.")
@exit_on_user_error
def demo(out_dir: str, params_path: str | None, seed: int | None) -> None:
    """Simulate the built-in demo: a GBIF Darwin Core Archive of VIRTUAL species in France.

    Fictional species with environmental niches (mountains, coasts, Mediterranean, ...),
    observations drawn from habitat suitability times observer effort near real cities,
    procedurally drawn photos and realistic GBIF noise rows for the filter to remove. Writes
    OUT/demo.zip, OUT/demo_images/<gbifID>_<k>.jpg (referenced from multimedia.txt by their
    path relative to the current directory) and OUT/demo_truth.parquet (true suitability and
    range of every species on a grid). The same params give the same bytes.
    """
    from geoloc.params import Params, load_params
    from geoloc.sim.demo import build_demo

    if params_path is None and Path("params.yaml").is_file():
        params_path = "params.yaml"
    params = load_params(params_path) if params_path else Params()
    settings = params.demo if seed is None else params.demo.model_copy(update={"seed": seed})
    out = Path(out_dir)
    summary = build_demo(
        settings,
        params.data.datasets,
        out / "demo.zip",
        out / "demo_truth.parquet",
        out / "demo_images",
    )
    kept = ", ".join(f"{name} {n}" for name, n in summary.clean.items())
    click.echo(
        f"wrote {out / 'demo.zip'}: {summary.rows} occurrence rows ({kept} clean; "
        f"{sum(summary.noise.values())} noise rows for the filter), {summary.species} virtual "
        f"species, {summary.images} photos in {out / 'demo_images'}, "
        f"{summary.truth_rows} truth rows in {out / 'demo_truth.parquet'}"
    )
