"""`geoloc summary`: the headline metrics of a pipeline run, readable in a terminal."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.entry import params_options
from geoloc.errors import GeolocError, exit_on_user_error


@click.command("summary")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The experiment folder (a checkout) whose results/ to read.",
)
@click.option(
    "--write",
    is_flag=True,
    help="Also write results/headline/ as the `summary` stage does (otherwise only print).",
)
@params_options
@exit_on_user_error
def summary(root, write, params):
    """Print the training retrieval error, per dataset the SDM AUC per covariate set
    (cross-validated and against the demo's true ranges) and identification accuracy, then the
    re-id and clustering demos. The headline keys DVC tracks are in results/headline/."""
    from geoloc.layout import Layout
    from geoloc.report import run_summary, summary_text

    paths = Layout(root).report()
    inputs = (paths.train, paths.evaluate, paths.identifier, paths.reid, paths.cluster)
    if not any(path.exists() for path in inputs):
        raise GeolocError(f"no results under {root}: run `dvc repro` first")
    if write:
        run_summary(params, paths)
    click.echo(summary_text(paths) or f"no metrics under {root} yet")
