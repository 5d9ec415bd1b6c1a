"""`geoloc identify-train`: fit and evaluate the species/rank identifier on one dataset."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.errors import GeolocError, exit_on_user_error


@click.command("identify-train")
@click.option("--dataset", help="Dataset name; fills the paths below with the pipeline's layout.")
@click.option("--embeddings", type=click.Path(path_type=Path), help="data/embeddings/<ds>.h5")
@click.option("--filtered", type=click.Path(path_type=Path), help="data/filtered/<ds>.parquet")
@click.option(
    "--encoder",
    type=click.Path(path_type=Path),
    help="Location encoder for the prior  [default with --dataset: models/encoder.pt if present]",
)
@click.option("--model-dir", type=click.Path(path_type=Path), help="Where the model is written.")
@click.option(
    "--results-dir", type=click.Path(path_type=Path), help="Where metrics.json etc. are written."
)
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@exit_on_user_error
def identify_train(dataset, embeddings, filtered, encoder, model_dir, results_dir, params_path):
    """Train the identifier: rank classifiers (linear/MLP x imbalance remedies), a common-species
    classifier, Proto-CLIP style prototypes, thresholds calibrated for `identify.target_coverage`
    and, with --encoder, a location prior. Prints the test metrics."""
    from geoloc.encoders.location_encoder import PIPELINE_ENCODER
    from geoloc.identify.train import run_training
    from geoloc.params import load_params
    from geoloc.runtime import resolve_device

    params = load_params(params_path)
    if dataset:
        params.check_dataset(dataset)
        embeddings = embeddings or Path(f"data/embeddings/{dataset}.h5")
        filtered = filtered or Path(f"data/filtered/{dataset}.parquet")
        model_dir = model_dir or Path(f"models/{dataset}/identify")
        results_dir = results_dir or Path(f"results/{dataset}/identify")
        encoder = encoder or (PIPELINE_ENCODER if PIPELINE_ENCODER.is_file() else None)
    missing = [n for n, v in (("--embeddings", embeddings), ("--filtered", filtered),
                              ("--model-dir", model_dir)) if v is None]  # fmt: skip
    if missing:
        raise GeolocError(f"give --dataset or {', '.join(missing)}")
    metrics = run_training(
        embeddings,
        filtered,
        params.identify,
        model_dir,
        results_dir or model_dir,
        encoder_path=encoder,
        device=resolve_device(params.runtime.device),
    )
    for key in ("hybrid_accuracy", "hybrid_coverage", f"{params.identify.rank}_top1"):
        click.echo(f"{key}: {metrics.get(key)}")
    if "prior_top1_gain" in metrics:
        click.echo(f"prior_top1_gain: {metrics['prior_top1_gain']}")
