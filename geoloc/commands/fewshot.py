"""`geoloc fewshot`: N-way K-shot accuracy of embeddings over random episodes."""

from __future__ import annotations

import json

import click

from geoloc.errors import exit_on_user_error
from geoloc.heads.fewshot import METHODS
from geoloc.params import FewshotParams

_D = FewshotParams()


@click.command("fewshot")
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "--label-column",
    default="identity",
    show_default=True,
    help="Label column of a CSV source (or of --identities).",
)
@click.option(
    "--identities",
    type=click.Path(exists=True, dir_okay=False),
    help="For an .h5 source: CSV with gbif_id and label columns (default: species_key).",
)
@click.option(
    "--backbone",
    default="efficientnet-lite0",
    show_default=True,
    help="Image backbone for image folders/CSVs.",
)
@click.option("--n-way", default=_D.n_way, show_default=True)
@click.option("--k-shot", default=_D.k_shot[0], show_default=True)
@click.option("--n-query", default=_D.n_query, show_default=True, help="Queries per class.")
@click.option("--episodes", default=_D.episodes, show_default=True)
@click.option(
    "--method",
    "methods",
    multiple=True,
    type=click.Choice(METHODS),
    help="Classifier(s); repeat the option; default: all.",
)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the metrics JSON here.")
@exit_on_user_error
def fewshot(
    source,
    label_column,
    identities,
    backbone,
    n_way,
    k_shot,
    n_query,
    episodes,
    methods,
    seed,
    device,
    out,
):
    """Mean accuracy and 95% CI of prototypical, matching and relation-style classifiers over
    N-way K-shot episodes drawn from SOURCE (an .h5 file, image folder or CSV)."""
    from geoloc.heads.fewshot import evaluate_fewshot
    from geoloc.heads.labelled import load_labelled
    from geoloc.io import write_json
    from geoloc.runtime import resolve_device

    x, labels = load_labelled(
        source,
        label_column=label_column,
        identities_csv=identities,
        backbone=backbone,
        device=resolve_device(device),
    )
    metrics = evaluate_fewshot(
        x,
        labels,
        n_way=n_way,
        k_shot=k_shot,
        n_query=n_query,
        episodes=episodes,
        methods=methods or METHODS,
        seed=seed,
    )
    if out:
        write_json(out, metrics)
    click.echo(json.dumps(metrics, indent=2))
