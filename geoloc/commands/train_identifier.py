"""`geoloc train-identifier`: fit and evaluate the species/rank identifier on one dataset."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.entry import params_options
from geoloc.errors import GeolocError, exit_on_user_error

PATH = click.Path(path_type=Path)


@click.command("train-identifier")
@click.option(
    "--dataset",
    help="A name of data.datasets: every path of the stage train-identifier@<ds>; the options "
    "below replace single ones.",
)
@click.option(
    "--embeddings", type=PATH, help="Image embeddings  [with --dataset: data/embeddings/<ds>.h5]"
)
@click.option(
    "--observations", type=PATH, help="Taxonomy table  [with --dataset: data/filtered/<ds>.parquet]"
)
@click.option(
    "--encoder",
    type=PATH,
    help="Location encoder for the prior  [with --dataset: models/encoder.pt; without: no "
    "prior]. The prior is off with --set identify.prior.enabled=false.",
)
@click.option(
    "--model-dir", type=PATH, help="Model directory  [with --dataset: models/identifier/<ds>]"
)
@click.option(
    "--results",
    type=PATH,
    help="Metrics, report data, per-class table  [with --dataset: results/identifier/<ds>; "
    "without: the model dir]",
)
@exit_on_user_error
@params_options
def train_identifier(dataset, embeddings, observations, encoder, model_dir, results, params):
    """Train the identifier: rank classifiers (linear/MLP x imbalance remedies), a common-species
    classifier, Proto-CLIP style prototypes, thresholds calibrated for `identify.target_coverage`
    and, with an encoder, a location prior. Prints the test metrics."""
    from geoloc.identify import run_train_identifier
    from geoloc.layout import IdentifierPaths, Layout

    given = {
        "embeddings": embeddings,
        "observations": observations,
        "encoder": encoder,
        "model_dir": model_dir,
        "results": results,
    }
    if dataset:
        paths = Layout().identifier(params.check_dataset(dataset)).with_options(**given)
    else:
        required = ("embeddings", "observations", "model_dir")
        missing = [f"--{key.replace('_', '-')}" for key in required if given[key] is None]
        if missing:
            raise GeolocError(f"give --dataset or {', '.join(missing)}")
        paths = IdentifierPaths(embeddings, observations, encoder, model_dir, results or model_dir)
    metrics = run_train_identifier(params, paths)
    for key in ("hybrid_accuracy", "hybrid_coverage", f"{params.identify.rank}_top1"):
        click.echo(f"{key}: {metrics.get(key)}")
    if "prior_top1_gain" in metrics:
        click.echo(f"prior_top1_gain: {metrics['prior_top1_gain']}")
