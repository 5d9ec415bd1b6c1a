"""DVC stage `report`: results/ -> results/report.html (self-contained, opens offline)."""

from __future__ import annotations

import click

from geoloc.errors import exit_on_user_error


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@exit_on_user_error
def main(params_path):
    from geoloc.params import load_params
    from geoloc.report.build import build_report

    build_report("results", load_params(params_path), "results/report.html")


if __name__ == "__main__":
    main()
