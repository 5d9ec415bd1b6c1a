"""The embed step: one dataset's filtered observations -> its embedding HDF5 file.

The DVC stage `embed@<ds>` and `geoloc embed` both call `run_embed` with an `EmbedPaths`; the
work log (`paths.work`) lets an interrupted run resume where it stopped. Launched by torchrun,
each process embeds its share of the batches and rank 0 writes the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from geoloc.embed.pipeline import REQUIRED_COLUMNS, embed_table
from geoloc.errors import GeolocError
from geoloc.layout import EmbedPaths
from geoloc.params import Params

EMBEDDING_SUFFIXES = (".h5", ".hdf5")


def run_embed(
    params: Params, paths: EmbedPaths, *, retry_failed: bool = False, progress: bool = True
) -> dict:
    """Embed every row's photo with the backbone of `embed:` on `runtime.device`.

    `retry_failed` also retries ids that failed transiently (timeouts, 429, 5xx, no network) in
    earlier runs.
    Prints this process's summary to stderr and returns it as metrics.
    """
    from geoloc.embed.backbones import get_backbone
    from geoloc.runtime import decode_share_threads, distributed, resolve_device, torch_threads

    if not paths.table.is_file():
        raise GeolocError(f"filtered table not found: {paths.table} (run the filter stage first)")
    if paths.out.suffix not in EMBEDDING_SUFFIXES:
        raise GeolocError(f"the embedding file must be an .h5 file, not {paths.out}")
    table = read_observations(paths.table)
    embed = params.embed
    with distributed(resolve_device(params.runtime.device)) as ctx:
        threads = decode_share_threads(embed.cpu_threads, ctx.world_size)
        with torch_threads(threads if ctx.device.type == "cpu" else None):
            backbone = get_backbone(embed.backbone, embed.image_size, ctx.device, embed.precision)
            summary = embed_table(
                table,
                paths.out,
                backbone,
                embed,
                work=paths.work,
                retry_failed=retry_failed,
                ctx=ctx,
                progress=progress,
            )
    print(summary, file=sys.stderr)
    return summary.metrics()


def read_observations(path: Path) -> pd.DataFrame:
    """The columns embedding needs from a filtered table; GeolocError for anything else."""
    try:
        names = set(pq.read_schema(path).names)
    except (OSError, pa.ArrowException) as err:  # ArrowInvalid: not Parquet
        raise GeolocError(f"{path}: not a Parquet table of observations ({err})") from None
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise GeolocError(
            f"{path} lacks column(s) {', '.join(missing)} (write it with the filter step)"
        )
    optional = ["species"] if "species" in names else []  # for the species-name embeddings
    try:
        return pd.read_parquet(path, columns=[*REQUIRED_COLUMNS, *optional])
    except (OSError, pa.ArrowException) as err:
        raise GeolocError(f"{path}: cannot read the observations ({err})") from None
