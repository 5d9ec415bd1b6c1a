"""DVC stage `reid`: synthetic individuals -> re-identification metrics, matcher against peers.

Writes results/reid/metrics.json: k-NN accuracy, CMC top-k and mAP of `reid.matcher`, plus
acc/mAP of the global backbone (`*_global`, when the matcher is another one) and of grey-pixel
thumbnails (`*_pixels`), so every run shows what the chosen matcher gains over both.
"""

from __future__ import annotations

import click

from geoloc.errors import exit_on_user_error


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--out", default="results/reid/metrics.json", show_default=True)
@exit_on_user_error
def main(params_path, out):
    from geoloc.embed.backbones import get_backbone
    from geoloc.io import write_json
    from geoloc.params import load_params
    from geoloc.reid.evaluate import (
        evaluate_reid,
        evaluate_similarity,
        image_size_for,
        pixel_embeddings,
    )
    from geoloc.reid.sift import match_similarity, sift_features
    from geoloc.runtime import resolve_device, seed_everything
    from geoloc.sim.individuals import make_reid_demo

    params = load_params(params_path)
    p = params.reid
    seed_everything(p.seed)
    images, identities = make_reid_demo(
        p.demo_individuals, p.demo_photos, p.demo_image_size, seed=p.seed
    )
    options = dict(
        k=p.k,
        top_k=tuple(p.top_k),
        query_fraction=p.query_fraction,
        seed=p.seed,
        max_rank=p.max_rank,
    )
    backbone = get_backbone(
        p.backbone,
        image_size=p.image_size or image_size_for(p.backbone),
        device=resolve_device(params.runtime.device),
    )
    by_backbone = evaluate_reid(backbone.embed_pil(images), identities, engine=p.engine, **options)
    if p.matcher == "global":
        metrics = by_backbone
    else:
        features = sift_features(images, p.sift_size)

        def similarity(rows, cols):
            return match_similarity(features, rows, cols, p.sift_ratio, p.sift_verify)

        metrics = evaluate_similarity(similarity, identities, **options)
        metrics.update({f"{key}_global": by_backbone[key] for key in ("acc", "map")})
    floor = evaluate_reid(pixel_embeddings(images), identities, engine=p.engine, **options)
    metrics.update({f"{key}_pixels": floor[key] for key in ("acc", "map")})
    write_json(out, metrics)
    name = backbone.name if p.matcher == "global" else p.matcher
    click.echo(f"reid ({name}): acc {metrics['acc']:.3f}, mAP {metrics['map']:.3f}")


if __name__ == "__main__":
    main()
