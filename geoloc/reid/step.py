"""The reid step (stage `reid`, command `geoloc reid`): re-identification metrics of
`reid.matcher` and, beside it, of its peers on the same split.

With photos, the metrics of the global backbone (`acc_global`, `map_global`, when the matcher
is another one) and of grey-pixel thumbnails (`acc_pixels`, `map_pixels`) show what the chosen
matcher gains over both. An embeddings source has no pixels: only the global metrics, no peers.
Beside the metrics, `<name>.run.json` records which matcher and backbone produced them: names,
which `dvc metrics` would misread as numbers, stay out of the metrics file.
"""

from __future__ import annotations

from geoloc.errors import GeolocError
from geoloc.layout import ReidPaths
from geoloc.params import Params, ReidParams
from geoloc.reid.evaluate import evaluate_reid, evaluate_similarity, pixel_embeddings
from geoloc.reid.source import ReidSource, load_reid_source

PEER_KEYS = ("acc", "map")


def run_reid(params: Params, paths: ReidPaths) -> dict:
    """Evaluate re-identification on `paths.source`; write the metrics to `paths.out` if set."""
    from geoloc.io import write_json
    from geoloc.runtime import seed_everything

    p = params.reid
    seed_everything(p.seed)
    source = load_reid_source(p, paths)
    if source.photos is not None:
        metrics = photo_metrics(source, params)
    elif p.matcher == "global":
        metrics = evaluate_reid(source.embeddings, source.labels, p)
    else:
        raise GeolocError(
            f"reid.matcher {p.matcher!r} matches photos and {paths.source} holds embeddings: "
            "use reid.matcher=global (--matcher global), or give an image folder or CSV"
        )
    if paths.out is not None:
        write_json(paths.out, metrics)
        write_json(paths.run, run_description(p, source, paths))
    return metrics


def run_description(p: ReidParams, source: ReidSource, paths: ReidPaths) -> dict:
    """The matcher that ranked the gallery, the peers scored beside it and the backbone of the
    global metrics (with photos; an embeddings source brings its own)."""
    demo = "synthetic individuals demo"
    record = {"matcher": p.matcher, "source": demo if paths.source is None else str(paths.source)}
    if source.photos is None:
        return {**record, "peers": []}
    record["peers"] = (["global"] if p.matcher != "global" else []) + ["pixels"]
    record["backbone"] = p.backbone
    record["image_size"] = _image_size(p)
    if p.matcher == "sift":
        record["sift"] = {"size": p.sift_size, "ratio": p.sift_ratio, "verify": p.sift_verify}
    return record


def _image_size(p: ReidParams) -> int:
    """The size photos are embedded at: `reid.image_size`, or the backbone's own."""
    from geoloc.embed.backbones import native_image_size

    return p.image_size or native_image_size(p.backbone)


def photo_metrics(source: ReidSource, params: Params) -> dict:
    """The matcher's metrics, with the global backbone's and the pixel floor's as peers."""
    from geoloc.embed.backbones import get_backbone
    from geoloc.runtime import resolve_device

    p = params.reid
    backbone = get_backbone(
        p.backbone, image_size=_image_size(p), device=resolve_device(params.runtime.device)
    )
    by_backbone = evaluate_reid(backbone.embed_pil(source.photos), source.labels, p)
    if p.matcher == "global":
        metrics = by_backbone
    else:
        metrics = evaluate_similarity(_sift_similarity(source.photos, p), source.labels, p)
        metrics.update(_peer(by_backbone, "global"))
    floor = evaluate_reid(pixel_embeddings(source.photos), source.labels, p)
    metrics.update(_peer(floor, "pixels"))
    return metrics


def _sift_similarity(photos, p):
    """Pair scorer over the photos' SIFT features (computed once, up front)."""
    from geoloc.reid.sift import match_similarity, sift_features

    features = sift_features(photos, p.sift_size, total=len(photos))

    def similarity(rows, cols):
        return match_similarity(features, rows, cols, p.sift_ratio, p.sift_verify)

    return similarity


def _peer(metrics: dict, name: str) -> dict:
    return {f"{key}_{name}": metrics[key] for key in PEER_KEYS}
