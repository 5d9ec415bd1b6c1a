"""`geoloc cluster`: HDBSCAN discovery with pseudo-label refinement on an embedding file."""

from __future__ import annotations

import json

import click

from geoloc.errors import exit_on_user_error
from geoloc.params import ClusterParams

_D = ClusterParams()


@click.command("cluster")
@click.argument("embeddings", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--reduction",
    type=click.Choice(["none", "pca", "umap"]),
    default=_D.reduction,
    show_default=True,
    help="Projection before HDBSCAN (umap needs umap-learn).",
)
@click.option("--dim", default=_D.reduce_dim, show_default=True, help="Reduced dimension.")
@click.option("--min-cluster-size", default=_D.min_cluster_size, show_default=True)
@click.option("--min-samples", type=int, help="HDBSCAN min_samples (default: min cluster size).")
@click.option(
    "--rounds",
    default=_D.rounds,
    show_default=True,
    help="Pseudo-label refinement rounds (0: plain HDBSCAN).",
)
@click.option(
    "--epochs",
    default=_D.epochs,
    show_default=True,
    help="Training epochs of the pseudo-label head per round.",
)
@click.option(
    "--head-dim",
    default=_D.head_dim,
    show_default=True,
    help="Output dimension of the pseudo-label head (the re-embedding).",
)
@click.option("--seed", default=_D.seed, show_default=True)
@click.option(
    "--assignments",
    type=click.Path(dir_okay=False),
    help="Write gbif_id,cluster (-1 = unclustered) CSV here.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Also write per-round metrics JSON.")
@exit_on_user_error
def cluster(
    embeddings,
    reduction,
    dim,
    min_cluster_size,
    min_samples,
    rounds,
    epochs,
    head_dim,
    seed,
    assignments,
    out,
):
    """Cluster EMBEDDINGS (.h5 from embed or embed-audio) with HDBSCAN, refine with
    pseudo-labels, and report per round the number of clusters and unclustered fraction, plus
    ARI, AMI, NMI and purity when the file carries labels (species_key >= 0)."""
    import pandas as pd

    from geoloc.discovery.cluster import refine_clusters
    from geoloc.embed.store import read_embeddings
    from geoloc.io import atomic_path, write_json

    table = read_embeddings(embeddings)
    truth = table.species_key if (table.species_key >= 0).all() else None
    pred, history = refine_clusters(
        table.embedding,
        truth,
        reduction=reduction,
        reduce_dim=dim,
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        rounds=rounds,
        head_dim=head_dim,
        epochs=epochs,
        lr=_D.lr,
        seed=seed,
    )
    if assignments:
        with atomic_path(assignments) as tmp:
            pd.DataFrame({"gbif_id": table.gbif_id, "cluster": pred}).to_csv(tmp, index=False)
    if out:
        write_json(out, {"rounds": history})
    click.echo(json.dumps(history, indent=2))
