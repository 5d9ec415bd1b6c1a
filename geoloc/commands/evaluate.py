"""`geoloc evaluate`: SDM evaluation of location encoders and baselines on one dataset."""

from __future__ import annotations

import json

import click

from geoloc.errors import exit_on_user_error


@click.command()
@click.option("--dataset", required=True, help="A name from params.yaml data.datasets.")
@click.option("--params", "params_path", default="params.yaml", show_default=True)
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
    help="True ranges (the demo's truth table) to also score truth AUC against.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Output folder  [default: results/<dataset>/sdm]",
)
@exit_on_user_error
def evaluate(dataset, params_path, observations, encoder, truth, out):
    """Fit presence-only SDMs (target-group background, spatial block CV) with each covariate
    set of params `sdm.covariates` and report the mean AUC per set (and truth AUC with --truth).
    """
    from geoloc.encoders.location_encoder import PIPELINE_ENCODER
    from geoloc.params import load_params
    from geoloc.runtime import resolve_device, seed_everything
    from geoloc.sdm.run import run_sdm

    params = load_params(params_path)
    params.check_dataset(dataset)
    seed_everything(params.sdm.seed)
    metrics = run_sdm(
        dataset,
        observations_path=observations or f"data/filtered/{dataset}.parquet",
        encoder_path=encoder or PIPELINE_ENCODER,
        truth_path=truth,
        out_dir=out or f"results/{dataset}/sdm",
        params=params,
        device=resolve_device(params.runtime.device),
    )
    click.echo(json.dumps(metrics, indent=2))
