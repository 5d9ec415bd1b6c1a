"""DVC stage `cluster`: synthetic bird-call ROIs -> mel-image embeddings -> HDBSCAN with
pseudo-label refinement, and few-shot accuracy on the same embeddings.

Writes results/cluster/metrics.json: final-round ARI, AMI, NMI, purity, unclustered fraction
and cluster count, the same per round (`r<i>_...`), and `<method>_<k>shot_acc` / `_ci95`.
The WAV files live in a temporary folder: they are regenerated from the seed, not outputs.
"""

from __future__ import annotations

import tempfile

import click

from geoloc.errors import exit_on_user_error


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--out", default="results/cluster/metrics.json", show_default=True)
@exit_on_user_error
def main(params_path, out):
    from geoloc.discovery.evaluate import discovery_metrics
    from geoloc.embed.audio.rois import AudioSettings, embed_rois, label_codes, list_rois
    from geoloc.io import write_json
    from geoloc.params import load_params
    from geoloc.reid.evaluate import image_size_for
    from geoloc.runtime import resolve_device, seed_everything
    from geoloc.sim.calls import write_calls_demo

    params = load_params(params_path)
    p = params.cluster
    seed_everything(p.seed)
    with tempfile.TemporaryDirectory() as tmp:
        rois = list_rois(write_calls_demo(tmp, p.demo_per_type, seed=p.seed))
        x, _ = embed_rois(
            rois.paths,
            p.backbone,
            p.image_size or image_size_for(p.backbone),
            AudioSettings(**p.audio.model_dump()),
            device=resolve_device(params.runtime.device),
        )
    truth, _ = label_codes(rois.labels)
    metrics = discovery_metrics(x, truth, p)
    write_json(out, metrics)
    click.echo(
        f"cluster: ARI {metrics['ari']:.3f}, NMI {metrics['nmi']:.3f}, "
        f"unclustered {metrics['unclustered']:.2f}"
    )


if __name__ == "__main__":
    main()
