"""`geoloc reid`: closed-set re-identification accuracy, by backbone embeddings (cosine k-NN)
or by local-feature matching of the photos (SIFT)."""

from __future__ import annotations

import click

from geoloc.commands.labelled_source import (
    emit,
    labelled_source_options,
    load_images,
    load_source,
)
from geoloc.errors import exit_on_user_error
from geoloc.params import ReidParams

_D = ReidParams()


@click.command("reid")
@labelled_source_options
@click.option(
    "--matcher",
    type=click.Choice(["global", "sift"]),
    default=_D.matcher,
    show_default=True,
    help="global: cosine k-NN on backbone embeddings (any SOURCE); sift: local-feature matching "
    "(image folders/CSVs; suits spotted or striped individuals; ignores the backbone options).",
)
@click.option(
    "--image-size",
    type=int,
    help="Input size; default: the backbone's own (518 for DINOv2/CLIP-L, 384 or 224 for others).",
)
@click.option("--k", "k", default=_D.k, show_default=True, help="Neighbours voting in k-NN.")
@click.option(
    "--top-k",
    default=",".join(map(str, _D.top_k)),
    show_default=True,
    help="Comma-separated ranks for CMC top-k accuracy.",
)
@click.option("--query-fraction", default=_D.query_fraction, show_default=True)
@click.option(
    "--engine",
    type=click.Choice(["auto", "dense", "faiss"]),
    default=_D.engine,
    show_default=True,
    help="Similarity search: dense matrix or FAISS index.",
)
@click.option(
    "--sift-size",
    type=click.IntRange(32, 4096),
    default=_D.sift_size,
    show_default=True,
    help="sift: long side, in pixels, each photo is resized to.",
)
@click.option(
    "--sift-ratio",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=_D.sift_ratio,
    show_default=True,
    help="sift: Lowe's ratio test.",
)
@click.option(
    "--sift-verify/--no-sift-verify",
    default=_D.sift_verify,
    show_default=True,
    help="sift: count only matches that agree on one affine transform (RANSAC inliers).",
)
@click.option(
    "--max-rank", default=_D.max_rank, show_default=True, help="Ranked gallery depth used for mAP."
)
@click.option("--seed", default=_D.seed, show_default=True)
@exit_on_user_error
def reid(
    source,
    label_column,
    identities,
    backbone,
    device,
    out,
    matcher,
    image_size,
    k,
    top_k,
    query_fraction,
    engine,
    sift_size,
    sift_ratio,
    sift_verify,
    max_rank,
    seed,
):
    """Split SOURCE ~80/20 with every identity in both parts and report k-NN accuracy,
    top-k accuracy and mAP of query-to-gallery retrieval.

    SOURCE is an embedding .h5 file, a folder with one sub-folder of images per identity, or
    a CSV with `path` and identity columns.
    """
    from geoloc.errors import GeolocError
    from geoloc.reid.evaluate import evaluate_reid, evaluate_similarity, image_size_for

    try:
        ranks = tuple(int(t) for t in top_k.split(","))
    except ValueError:
        raise GeolocError(f"--top-k must be comma-separated integers, not {top_k!r}") from None
    options = dict(k=k, top_k=ranks, query_fraction=query_fraction, seed=seed, max_rank=max_rank)
    if matcher == "sift":
        from geoloc.reid.sift import match_similarity, sift_features

        images, labels = load_images(source, label_column)
        features = sift_features(images, sift_size, total=len(labels))

        def similarity(rows, cols):
            return match_similarity(features, rows, cols, sift_ratio, sift_verify)

        metrics = evaluate_similarity(similarity, labels, **options)
    else:
        x, labels = load_source(
            source,
            label_column,
            identities,
            backbone,
            device,
            image_size or image_size_for(backbone),
        )
        metrics = evaluate_reid(x, labels, engine=engine, **options)
    emit(metrics, out)
