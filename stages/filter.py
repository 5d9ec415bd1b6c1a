"""DVC stage `filter`: data.archive -> data/filtered/<dataset>.parquet + report.json."""

from __future__ import annotations

import click

from geoloc.errors import exit_on_user_error
from geoloc.gbif.filter import filter_archive
from geoloc.params import load_params

OUT_DIR = "data/filtered"


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@exit_on_user_error
def main(params_path: str) -> None:
    """Filter the archive named by data.archive with the rules in the `data:` section."""
    data = load_params(params_path).data
    filter_archive(data.archive, OUT_DIR, data)


if __name__ == "__main__":
    main()
