"""DVC stage `reid`: synthetic individuals -> backbone embeddings -> closed-set re-id metrics.

Writes results/reid/metrics.json: k-NN accuracy, CMC top-k and mAP of the backbone, and the
same metrics on grey-pixel thumbnails as a floor.
"""

from __future__ import annotations

import click

from geoloc.errors import exit_on_user_error


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--out", default="results/reid/metrics.json", show_default=True)
@exit_on_user_error
def main(params_path, out):
    from geoloc.data.reid_demo import make_reid_demo
    from geoloc.embed.backbones import get_backbone
    from geoloc.heads.reid import evaluate_reid, image_size_for, pixel_embeddings
    from geoloc.io import write_json
    from geoloc.params import load_params
    from geoloc.runtime import resolve_device, seed_everything

    params = load_params(params_path)
    p = params.reid
    seed_everything(p.seed)
    images, identities = make_reid_demo(
        p.demo_individuals, p.demo_photos, p.demo_image_size, seed=p.seed
    )
    backbone = get_backbone(
        p.backbone,
        image_size=p.image_size or image_size_for(p.backbone),
        device=resolve_device(params.runtime.device),
    )
    options = dict(
        k=p.k,
        top_k=tuple(p.top_k),
        query_fraction=p.query_fraction,
        seed=p.seed,
        engine=p.engine,
        max_rank=p.max_rank,
    )
    metrics = evaluate_reid(backbone.embed_pil(images), identities, **options)
    floor = evaluate_reid(pixel_embeddings(images), identities, **options)
    metrics.update({f"{key}_pixels": floor[key] for key in ("acc", "map")})
    write_json(out, metrics)
    click.echo(f"reid ({backbone.name}): acc {metrics['acc']:.3f}, mAP {metrics['map']:.3f}")


if __name__ == "__main__":
    main()
