"""DVC stage `identify@<ds>`: species and rank identification on the dataset's embeddings.

Reads data/embeddings/<ds>.h5, the taxonomy in data/filtered/<ds>.parquet and the location
encoder models/encoder.pt (for the location prior); writes models/<ds>/identify/ and
results/<ds>/identify/{metrics.json, report.json, per_class.csv}.
"""

from __future__ import annotations

import click

from geoloc.errors import exit_on_user_error


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--dataset", required=True, help="A name from params.yaml data.datasets.")
@exit_on_user_error
def main(params_path, dataset):
    from geoloc.encoders.location_encoder import PIPELINE_ENCODER
    from geoloc.identify.train import run_training
    from geoloc.params import load_params
    from geoloc.runtime import resolve_device, seed_everything

    params = load_params(params_path)
    params.check_dataset(dataset)
    seed_everything(params.identify.seed)
    run_training(
        f"data/embeddings/{dataset}.h5",
        f"data/filtered/{dataset}.parquet",
        params.identify,
        model_dir=f"models/{dataset}/identify",
        results_dir=f"results/{dataset}/identify",
        encoder_path=PIPELINE_ENCODER,
        device=resolve_device(params.runtime.device),
    )


if __name__ == "__main__":
    main()
