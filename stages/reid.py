"""DVC stage `reid`: synthetic individuals -> results/reid/metrics.json (k-NN accuracy, CMC
top-k and mAP of `reid.matcher`, with the global backbone's and grey pixels' beside it)."""

import click

from geoloc.entry import stage_command
from geoloc.reid import run_reid


@stage_command()
def main(params, layout):
    """Re-identify the synthetic individuals with `reid.matcher` and its peers."""
    p = params.reid
    metrics = run_reid(params, layout.reid())
    name = p.backbone if p.matcher == "global" else p.matcher
    click.echo(f"reid ({name}): acc {metrics['acc']:.3f}, mAP {metrics['map']:.3f}")


if __name__ == "__main__":
    main()
