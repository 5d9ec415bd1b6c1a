"""`geoloc report`: the report step (geoloc.report.run_report) on an experiment's results."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.entry import params_options
from geoloc.errors import exit_on_user_error


@click.command()
@click.option(
    "--root",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The experiment folder (a checkout) whose results/ the report reads, laid out as the "
    "pipeline writes them.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the page here (default: ROOT/results/report.html, as the stage does).",
)
@click.option(
    "--svg",
    type=click.Path(dir_okay=False),
    help="Also write a static SVG of SDM truth AUC (CV AUC without a truth) by covariate set.",
)
@click.option(
    "--figure",
    type=click.Path(dir_okay=False),
    help="Also write a static PNG of one mapped species' true range beside the trained "
    "encoder's prediction, and the trained embedding map (the demo's results: a true range).",
)
@exit_on_user_error
@params_options  # inside: a bad --params/--set is a user error too
def report(params, root, out, svg, figure):
    """Write one HTML page (plotly.js inline, opens offline) with the SDM results, maps, the
    embedding map, training curves and every other section whose results exist, as the `report`
    stage does."""
    from geoloc.errors import GeolocError
    from geoloc.io import atomic_path
    from geoloc.layout import Layout
    from geoloc.report import auc_svg, load_sdm_results, range_png, run_report

    paths = Layout(root).report().with_options(out=out)
    click.echo(f"wrote {run_report(params, paths)['out']}")
    if not (svg or figure):
        return
    results = load_sdm_results(paths.evaluate, params.dataset_names())
    if not results:
        raise GeolocError(f"no SDM results under {paths.evaluate}: run the evaluate stages")
    if svg:
        prefix = "truth_auc" if any(r.has_truth for r in results) else "auc"
        with atomic_path(svg) as tmp:
            tmp.write_text(auc_svg(results, prefix))
        click.echo(f"wrote {svg}")
    if figure:
        with atomic_path(figure) as tmp:
            tmp.write_bytes(range_png(results))
        click.echo(f"wrote {figure}")
