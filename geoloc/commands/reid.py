"""`geoloc reid`: the reid step (geoloc.reid.run_reid) on SOURCE, or on the stage's synthetic
individuals when SOURCE is absent."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.commands.labelled_source import comma_list, emit, source_argument
from geoloc.entry import params_options, with_shortcuts
from geoloc.errors import exit_on_user_error


@click.command("reid")
@source_argument("[SOURCE]")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the metrics JSON here (without SOURCE: default results/reid/metrics.json).",
)
@click.option(
    "--identities",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="For an .h5 SOURCE: CSV of gbif_id and identity (default: species_key is the label).",
)
@click.option("--label-column", help="Shortcut for reid.label_column (CSV identity column).")
@click.option(
    "--matcher",
    type=click.Choice(["global", "sift"]),
    help="Shortcut for reid.matcher. global: cosine k-NN on backbone embeddings (any SOURCE); "
    "sift: local-feature matching of photos (spotted or striped individuals).",
)
@click.option("--backbone", help="Shortcut for reid.backbone (photos are embedded on the fly).")
@click.option("--image-size", type=int, help="Shortcut for reid.image_size.")
@click.option("--k", "k", type=int, help="Shortcut for reid.k (neighbours voting in k-NN).")
@click.option("--top-k", callback=comma_list, help="Shortcut for reid.top_k, e.g. 1,5.")
@click.option("--query-fraction", type=float, help="Shortcut for reid.query_fraction.")
@click.option("--engine", type=click.Choice(["auto", "dense", "faiss"]), help="reid.engine.")
@click.option("--sift-size", type=int, help="Shortcut for reid.sift_size.")
@click.option("--sift-ratio", type=float, help="Shortcut for reid.sift_ratio.")
@click.option("--sift-verify/--no-sift-verify", default=None, help="Shortcut for reid.sift_verify.")
@click.option("--max-rank", type=int, help="Shortcut for reid.max_rank (ranked depth for mAP).")
@click.option("--seed", type=int, help="Shortcut for reid.seed.")
@click.option("--device", help="Shortcut for runtime.device.")
@exit_on_user_error
@params_options  # inside: a bad --params/--set is a user error too
def reid(params, source, out, identities, device, **shortcuts):
    """Split SOURCE ~80/20 with every identity in both parts and print k-NN accuracy, CMC top-k
    accuracy and mAP of query-to-gallery retrieval, as the `reid` stage computes them.

    SOURCE is an image folder (one sub-folder per identity), a CSV with `path` and identity
    columns, or an embedding .h5 file; without SOURCE, the stage's synthetic individuals. With
    photos, the metrics of the global backbone (`*_global`, beside another matcher) and of grey
    pixels (`*_pixels`) come too; an .h5 file has no pixels: those keys are absent and only
    reid.matcher=global applies. Params come from --params and --set like the stage's.
    """
    from geoloc.layout import Layout, ReidPaths
    from geoloc.reid import run_reid

    params = with_shortcuts(with_shortcuts(params, "reid", **shortcuts), "runtime", device=device)
    if source is None:
        paths = Layout().reid().with_options(out=out, identities=identities)
    else:
        paths = ReidPaths(source, out, identities)
    emit(run_reid(params, paths))
