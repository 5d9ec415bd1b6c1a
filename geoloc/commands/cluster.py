"""`geoloc cluster`: the cluster step (geoloc.discovery.run_cluster) on SOURCE, or on the
stage's synthetic bird calls when SOURCE is absent."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.commands.labelled_source import emit, source_argument
from geoloc.entry import params_options, with_shortcuts
from geoloc.errors import exit_on_user_error


@click.command("cluster")
@source_argument("[SOURCE]")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the metrics JSON here (without SOURCE: default results/cluster/metrics.json).",
)
@click.option(
    "--assignments",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write gbif_id,cluster (-1 = unclustered) of the final round as CSV here.",
)
@click.option(
    "--reduction",
    type=click.Choice(["none", "pca", "umap"]),
    help="Shortcut for cluster.reduction (umap needs umap-learn).",
)
@click.option("--dim", "reduce_dim", type=int, help="Shortcut for cluster.reduce_dim.")
@click.option("--min-cluster-size", type=int, help="Shortcut for cluster.min_cluster_size.")
@click.option("--min-samples", type=int, help="Shortcut for cluster.min_samples.")
@click.option("--rounds", type=int, help="Shortcut for cluster.rounds (0: plain HDBSCAN).")
@click.option("--epochs", type=int, help="Shortcut for cluster.epochs (refinement head).")
@click.option("--head-dim", type=int, help="Shortcut for cluster.head_dim.")
@click.option("--backbone", help="Shortcut for cluster.backbone (sounds: mel-image backbone).")
@click.option("--seed", type=int, help="Shortcut for cluster.seed.")
@click.option("--device", help="Shortcut for runtime.device.")
@exit_on_user_error
@params_options  # inside: a bad --params/--set is a user error too
def cluster(params, source, out, assignments, device, **shortcuts):
    """Cluster SOURCE with HDBSCAN, refine with pseudo-labels, and print the metrics the
    `cluster` stage writes: cluster count and unclustered fraction per round, ARI, AMI, NMI and
    purity, and few-shot accuracy (cluster.fewshot) when SOURCE carries labels.

    SOURCE is an embedding .h5 file (from embed or embed-audio; labelled when every species_key
    is >= 0), or sounds: a folder of WAV/FLAC ROIs (labels = sub-folder names) or a CSV manifest
    with `path` and optional `label`, embedded as mel images like the stage's. Without SOURCE,
    the stage's synthetic bird calls. Params come from --params and --set like the stage's.
    """
    from geoloc.discovery import run_cluster
    from geoloc.layout import ClusterPaths, Layout

    params = with_shortcuts(
        with_shortcuts(params, "cluster", **shortcuts), "runtime", device=device
    )
    if source is None:
        paths = Layout().cluster().with_options(out=out, assignments=assignments)
    else:
        paths = ClusterPaths(source, out, assignments)
    emit(run_cluster(params, paths))
