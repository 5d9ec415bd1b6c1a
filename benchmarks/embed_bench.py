"""Embedding throughput: (a) the model alone on pre-decoded tensors (the ceiling) vs (b) the full
pipeline from JPEG files on disk (fetch, decode, preprocess, embed, write), same backbone and
batch size, in one run. Goal: (b) >= 0.8 x (a), i.e. decoding hides behind the model.

    python benchmarks/embed_bench.py                       # demo backbone on CPU
    python benchmarks/embed_bench.py --backbone open_clip:ViT-B-16/ --image-size 224 \
        --device cuda --precision bf16 --images 4096 --batch-size 256 --workers 16

(`open_clip:ViT-B-16/` is BioCLIP's architecture with random weights: speed only.)
The passes alternate (a, b, a, b, ...) and the best of each is reported, so a noisy shared
machine penalises both the same way.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image


def write_jpegs(folder: Path, n: int, width: int, height: int, seed: int = 0) -> list[str]:
    """Photo-like JPEGs (smooth colour fields with texture) of the size iNaturalist serves."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paths = []
    for i in range(n):
        f = rng.uniform(0.005, 0.05, 3)
        field = np.stack([np.sin(xx * f[c] + yy * f[(c + 1) % 3] + i) for c in range(3)], -1)
        noise = rng.normal(0, 0.15, (height, width, 3)).astype(np.float32)
        pixels = np.clip((field * 0.4 + 0.5 + noise) * 255, 0, 255).astype(np.uint8)
        path = folder / f"{i}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(str(path))
    return paths


def forward_only(backbone, tensors: torch.Tensor, batch_size: int) -> float:
    """(a) images/s of the model on already decoded, preprocessed tensors."""
    start = time.perf_counter()
    for lo in range(0, len(tensors), batch_size):
        backbone.encode_images(tensors[lo : lo + batch_size]).cpu()
    if backbone.device.type == "cuda":
        torch.cuda.synchronize()
    return len(tensors) / (time.perf_counter() - start)


def full_pipeline(backbone, table: pd.DataFrame, config, folder: Path, run: int):
    """(b) images/s of the whole embed loop from files on disk to the HDF5 file, and the share
    of that time the model spent waiting for decoded images."""
    from geoloc.embed.pipeline import embed_table

    start = time.perf_counter()
    summary = embed_table(table, folder / f"run{run}.h5", backbone, config, progress=False)
    elapsed = time.perf_counter() - start
    assert summary.embedded == len(table), summary
    return len(table) / elapsed, summary.wait_s / elapsed


def main() -> None:
    from geoloc.embed.backbones import get_backbone
    from geoloc.embed.decode import decode_image
    from geoloc.params import EmbedParams
    from geoloc.runtime import decode_share_threads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--images", type=int, default=384)
    parser.add_argument("--jpeg-size", default="500x375", help="WxH of the JPEG files")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--threads", type=int, default=0, help="CPU torch threads (0: cores-1)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(decode_share_threads(args.threads))  # the pipeline's own policy

    backbone = get_backbone(args.backbone, args.image_size, args.device, args.precision)
    width, height = (int(v) for v in args.jpeg_size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_jpegs(folder, args.images, width, height)
        table = pd.DataFrame(
            {
                "gbif_id": np.arange(len(paths)),
                "image_url": paths,
                "lat": 45.0,
                "lon": 2.0,
                "species_key": 1,
                "species": "Genus species",
            }
        )
        tensors = torch.stack(
            [
                backbone.preprocess(decode_image(Path(p).read_bytes(), backbone.decode_size))
                for p in paths
            ]
        )
        config = EmbedParams(batch_size=args.batch_size, workers=args.workers, text=False)
        backbone.encode_images(tensors[: args.batch_size])  # warm-up
        forward, pipeline, waits = [], [], []
        for run in range(args.repeats):
            forward.append(forward_only(backbone, tensors, args.batch_size))
            rate, wait = full_pipeline(backbone, table, config, folder, run)
            pipeline.append(rate)
            waits.append(wait)

    a, b = max(forward), max(pipeline)
    paired = float(np.median(np.array(pipeline) / np.array(forward)))
    result = {
        "backbone": args.backbone,
        "image_size": backbone.image_size,
        "batch_size": args.batch_size,
        "jpeg_size": args.jpeg_size,
        "images": args.images,
        "workers": args.workers,
        "device": str(backbone.device),
        "precision": backbone.precision,
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "a_forward_img_s": round(a, 1),
        "b_pipeline_img_s": round(b, 1),
        "ratio_b_over_a": round(b / a, 3),  # best of each
        "ratio_median_paired": round(paired, 3),  # median over adjacent (a, b) pairs
        "model_wait_share": round(float(np.median(waits)), 3),
        "all_a": [round(v, 1) for v in forward],
        "all_b": [round(v, 1) for v in pipeline],
    }
    print(json.dumps(result, indent=2))
    print(
        f"(a) forward {a:.1f} img/s, (b) full pipeline {b:.1f} img/s, "
        f"b/a = {b / a:.2f} (goal >= 0.8), median paired b/a = {paired:.2f}, the model waited "
        f"for images {100 * np.median(waits):.0f}% of the pipeline time"
    )


if __name__ == "__main__":
    main()
