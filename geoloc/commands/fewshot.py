"""`geoloc fewshot`: N-way K-shot accuracy of embeddings over random episodes."""

from __future__ import annotations

import click

from geoloc.commands.labelled_source import emit, labelled_source_options, load_source
from geoloc.discovery.fewshot import METHODS
from geoloc.errors import exit_on_user_error
from geoloc.params import FewshotParams

_D = FewshotParams()


@click.command("fewshot")
@labelled_source_options
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
@exit_on_user_error
def fewshot(
    source,
    label_column,
    identities,
    backbone,
    device,
    out,
    n_way,
    k_shot,
    n_query,
    episodes,
    methods,
    seed,
):
    """Mean accuracy and 95% CI of prototypical, matching and relation-style classifiers over
    N-way K-shot episodes drawn from SOURCE (an .h5 file, image folder or CSV)."""
    from geoloc.discovery.fewshot import evaluate_fewshot

    x, labels = load_source(source, label_column, identities, backbone, device)
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
    emit(metrics, out)
