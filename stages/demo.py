"""DVC stage `demo`: params `demo` + `data.datasets` -> the built-in virtual-species archive
(data/raw/demo.zip), its photos (data/raw/demo_images/) and the truth (data/raw/demo_truth.parquet)."""

from __future__ import annotations

import click

from geoloc.errors import exit_on_user_error
from geoloc.params import load_params
from geoloc.sim.demo import build_demo

ZIP = "data/raw/demo.zip"
TRUTH = "data/raw/demo_truth.parquet"
IMAGES = "data/raw/demo_images"


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@exit_on_user_error
def main(params_path: str) -> None:
    """Simulate the demo archive from the `demo:` section, one species group per dataset."""
    params = load_params(params_path)
    build_demo(params.demo, params.data.datasets, ZIP, TRUTH, IMAGES)


if __name__ == "__main__":
    main()
