"""`geoloc report`: the self-contained HTML report of everything under results/."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.errors import exit_on_user_error


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option(
    "--results",
    "results_dir",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False),
)
@click.option(
    "--out", default="results/report.html", show_default=True, type=click.Path(dir_okay=False)
)
@click.option(
    "--svg",
    type=click.Path(dir_okay=False),
    help="Also write a static SVG of SDM truth AUC (CV AUC without a truth) by covariate set.",
)
@exit_on_user_error
def report(params_path, results_dir, out, svg):
    """Write one HTML page (plotly.js inline, opens offline) with the SDM results, maps, the
    embedding map, training curves and every other section whose results exist."""
    from geoloc.errors import GeolocError
    from geoloc.io import atomic_path
    from geoloc.params import load_params
    from geoloc.report.build import build_report
    from geoloc.report.sdm_section import load_sdm_results
    from geoloc.report.static import auc_svg

    params = load_params(params_path)
    click.echo(f"wrote {build_report(results_dir, params, out)}")
    if svg:
        results = load_sdm_results(Path(results_dir), params.dataset_names())
        if not results:
            raise GeolocError(f"no SDM results under {results_dir}: run the evaluate stages first")
        prefix = "truth_auc" if any(r.has_truth for r in results) else "auc"
        with atomic_path(svg) as tmp:
            tmp.write_text(auc_svg(results, prefix))
        click.echo(f"wrote {svg}")
