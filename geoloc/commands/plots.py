"""`geoloc plots`: DVC's plots page, self-contained so that it opens offline."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.errors import exit_on_user_error


@click.command()
@click.argument("revisions", nargs=-1)
@click.option(
    "--root",
    default=".",
    show_default=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The experiment folder (a DVC checkout) whose plots to draw.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write index.html into (default: ROOT/dvc_plots, where DVC writes it).",
)
@exit_on_user_error
def plots(revisions, root, out):
    """Write the page of `dvc plots show` (with REVISIONS, e.g. two experiments' names:
    `dvc plots diff REVISIONS`) as one HTML file with Vega, Vega-Lite and Vega-Embed inline,
    so it opens without network: the training curves per epoch and, per dataset, the mean SDM
    AUC of each covariate set with its 95% CI."""
    from geoloc.report.plots import write_plots_page

    page = write_plots_page(root, out or root / "dvc_plots", tuple(revisions))
    click.echo(f"wrote {page}")
