"""`geoloc fewshot`: N-way K-shot accuracy of embeddings over random episodes, with the
`cluster.fewshot` params and metric keys of the cluster step."""

from __future__ import annotations

import click

from geoloc.commands.labelled_source import comma_list, emit, load_source
from geoloc.discovery.fewshot import METHODS
from geoloc.entry import params_options, with_shortcuts
from geoloc.errors import exit_on_user_error


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
    help="Image backbone for image folders/CSVs (embedded on the fly).",
)
@click.option("--device", help="Shortcut for runtime.device.")
@click.option("--n-way", type=int, help="Shortcut for cluster.fewshot.n_way.")
@click.option(
    "--k-shot", callback=comma_list, help="Shortcut for cluster.fewshot.k_shot, e.g. 1,5."
)
@click.option("--n-query", type=int, help="Shortcut for cluster.fewshot.n_query (per class).")
@click.option("--episodes", type=int, help="Shortcut for cluster.fewshot.episodes.")
@click.option(
    "--method",
    "methods",
    multiple=True,
    type=click.Choice(METHODS),
    help="Shortcut for cluster.fewshot.methods; repeat the option.",
)
@click.option("--seed", type=int, help="Shortcut for cluster.seed (the episodes' seed).")
@exit_on_user_error
@params_options  # inside: a bad --params/--set is a user error too
def fewshot(params, source, label_column, identities, backbone, device, seed, methods, **options):
    """Mean accuracy and 95% CI (`<method>_<K>shot_acc`, `_ci95`) of prototypical, matching and
    relation-style classifiers over N-way K-shot episodes drawn from SOURCE (an .h5 file, an
    image folder with one sub-folder per label, or a CSV of image paths)."""
    from geoloc.discovery.fewshot import fewshot_metrics

    params = with_shortcuts(params, "cluster.fewshot", methods=list(methods) or None, **options)
    params = with_shortcuts(with_shortcuts(params, "cluster", seed=seed), "runtime", device=device)
    x, labels = load_source(source, label_column, identities, backbone, params.runtime.device)
    emit(fewshot_metrics(x, labels, params.cluster.fewshot, params.cluster.seed))
