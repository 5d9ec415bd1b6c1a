"""DVC stage `evaluate@<ds>`: SDM evaluation of every covariate set in params `sdm:`.

Reads data/filtered/<ds>.parquet, models/encoder.pt and, when data.archive is the built-in
demo, the true ranges in sdm.truth; writes results/<ds>/sdm/ (metrics.json, per_species.csv,
summary.json, auc_by_set.csv, maps.parquet, embedding_grid.parquet).
"""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.errors import exit_on_user_error

DEMO_ARCHIVE = "data/raw/demo.zip"  # written by the `demo` stage together with its truth table


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--dataset", required=True, help="A name from params.yaml data.datasets.")
@exit_on_user_error
def main(params_path, dataset):
    from geoloc.encoders.location_encoder import PIPELINE_ENCODER
    from geoloc.params import load_params
    from geoloc.runtime import resolve_device, seed_everything
    from geoloc.sdm.run import run_sdm

    params = load_params(params_path)
    params.check_dataset(dataset)
    seed_everything(params.sdm.seed)
    demo = Path(params.data.archive) == Path(DEMO_ARCHIVE)
    if not demo:
        click.echo(f"data.archive is not the demo ({DEMO_ARCHIVE}): no truth scoring", err=True)
    run_sdm(
        dataset,
        observations_path=f"data/filtered/{dataset}.parquet",
        encoder_path=PIPELINE_ENCODER,
        truth_path=params.sdm.truth if demo else None,
        out_dir=f"results/{dataset}/sdm",
        params=params,
        device=resolve_device(params.runtime.device),
    )


if __name__ == "__main__":
    main()
