"""`geoloc evaluate`: SDM evaluation of location encoders and baselines on one dataset."""

from __future__ import annotations

import json

import click

from geoloc.entry import params_options
from geoloc.errors import exit_on_user_error


@click.command()
@click.option("--dataset", required=True, help="A name from params.yaml data.datasets.")
@click.option(
    "--observations",
    type=click.Path(dir_okay=False),
    help="Filtered table  [default: data/filtered/<dataset>.parquet]",
)
@click.option(
    "--encoder",
    type=click.Path(dir_okay=False),
    help="Trained encoder for the `trained` set  [default: models/encoder.pt]",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False),
    help="True ranges (long: species_key, lat, lon, present) to score truth AUC against  "
    "[default: data/raw/demo_truth.parquet when data.archive is the demo's, else none]",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Output folder  [default: results/evaluate/<dataset>]",
)
@exit_on_user_error
@params_options
def evaluate(dataset, observations, encoder, truth, out, params):
    """Fit presence-only SDMs (target-group background, spatial block CV) with each covariate
    set of params `sdm.covariates` and report the mean AUC per set (and the truth AUC where the
    true ranges are known). Without path options this is the `evaluate@<dataset>` stage.
    """
    from geoloc.layout import Layout
    from geoloc.sdm import run_evaluate

    paths = Layout().evaluate(params.check_dataset(dataset), params.data.archive)
    paths = paths.with_options(observations=observations, encoder=encoder, truth=truth, out_dir=out)
    click.echo(json.dumps(run_evaluate(params, paths), indent=2))
