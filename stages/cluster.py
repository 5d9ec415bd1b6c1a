"""DVC stage `cluster`: synthetic bird-call ROIs -> mel-image embeddings -> HDBSCAN with
pseudo-label refinement and few-shot accuracy -> results/cluster/metrics.json (final-round ARI,
AMI, NMI, purity, unclustered fraction and cluster count, the same per round `r<i>_...`, and
`<method>_<k>shot_acc` / `_ci95`)."""

import click

from geoloc.discovery import run_cluster
from geoloc.entry import stage_command


@stage_command()
def main(params, layout):
    """Discover the call types of the synthetic bird calls."""
    m = run_cluster(params, layout.cluster())
    click.echo(
        f"cluster: ARI {m['ari']:.3f}, NMI {m['nmi']:.3f}, unclustered {m['unclustered']:.2f}"
    )


if __name__ == "__main__":
    main()
