"""Synthetic inputs at real-download size for benchmarks/scale_bench.py.

A filtered table (data contract: docs/data-contracts.md) and an embedding file in the store's
layout, written in chunks so that building 10^6 rows never holds them all in memory. Species
grow with records (S = 5 * sqrt(N): 500 at 10^4, 5,000 at 10^6) with Zipf abundances; each
species lives around a few centres over France and its photos' embeddings scatter around a
species direction, so training and SDMs have signal to find. The embeddings are synthetic (no
photos are embedded): they exercise the data path, the memory and the time of every stage,
not the quality of a backbone.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 100_000
LAT_RANGE, LON_RANGE = (42.5, 51.0), (-4.5, 8.0)


def species_count(records: int) -> int:
    return int(round(5 * np.sqrt(records)))


def zipf_species(records: int, species: int, rng: np.random.Generator) -> np.ndarray:
    """Species index per record: Zipf (exponent 1) abundances, every species at least twice."""
    weights = 1.0 / np.arange(1, species + 1)
    counts = np.maximum(2, np.floor(weights / weights.sum() * records)).astype(np.int64)
    counts[0] += records - counts.sum()  # the commonest species absorbs the rounding
    return rng.permutation(np.repeat(np.arange(species), counts))


def _species_table(species: int, rng: np.random.Generator, dim: int):
    centres = np.column_stack(
        [rng.uniform(*LAT_RANGE, (species, 3)), rng.uniform(*LON_RANGE, (species, 3))]
    ).reshape(species, 2, 3)
    spread = rng.uniform(0.2, 1.5, species)
    direction = rng.normal(size=(species, dim)).astype(np.float32)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return centres, spread, direction


def build_inputs(records: int, out_dir: Path, dim: int = 512, seed: int = 0) -> dict:
    """Write out_dir/observations.parquet and out_dir/embeddings.h5; return their sizes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    species = species_count(records)
    sp_all = zipf_species(records, species, rng)
    centres, spread, direction = _species_table(species, rng, dim)
    table_path, h5_path = out_dir / "observations.parquet", out_dir / "embeddings.h5"
    with h5py.File(h5_path, "w") as h5:
        datasets = _create_datasets(h5, records, dim)
        writer = None
        for start in range(0, records, CHUNK):
            sp = sp_all[start : start + CHUNK]
            chunk = _chunk(start, sp, centres, spread, direction, rng)
            for name in ("gbif_id", "lat", "lon", "species_key", "embedding"):
                datasets[name][start : start + len(sp)] = chunk[name]
            frame = pa.Table.from_pandas(_frame(chunk), preserve_index=False)
            writer = writer or pq.ParquetWriter(table_path, frame.schema)
            writer.write_table(frame)
        writer.close()
        h5.attrs.update(
            backbone="synthetic", weights_id=f"scale_inputs seed {seed}", image_size=0,
            precision="fp16", dim=dim, fingerprint=f"synthetic-{seed}-{dim}",
        )  # fmt: skip
    return {"records": records, "species": species, "dim": dim}


def _create_datasets(h5: h5py.File, records: int, dim: int) -> dict:
    out = {
        name: h5.create_dataset(name, (records,), dtype, chunks=(min(records, 65536),))
        for name, dtype in (
            ("gbif_id", np.int64), ("lat", np.float64), ("lon", np.float64),
            ("species_key", np.int64),
        )
    }  # fmt: skip
    out["embedding"] = h5.create_dataset(
        "embedding", (records, dim), np.float16, chunks=(min(records, 4096), dim)
    )
    h5.create_dataset("failed/gbif_id", (0,), np.int64)
    h5.create_dataset("failed/reason", (0,), h5py.string_dtype())
    return out


def _chunk(start, sp, centres, spread, direction, rng) -> dict:
    which = rng.integers(0, 3, len(sp))
    lat = centres[sp, 0, which] + rng.normal(0, 1, len(sp)) * spread[sp]
    lon = centres[sp, 1, which] + rng.normal(0, 1, len(sp)) * spread[sp]
    lat, lon = np.clip(lat, *LAT_RANGE), np.clip(lon, *LON_RANGE)
    noise = rng.normal(0, 0.05, (len(sp), direction.shape[1])).astype(np.float32)
    emb = direction[sp] + noise
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return {
        "gbif_id": np.arange(start, start + len(sp), dtype=np.int64) + 10**9,
        "lat": lat, "lon": lon, "species_key": sp.astype(np.int64) + 10**6,
        "embedding": emb.astype(np.float16), "species": sp,
    }  # fmt: skip


def _frame(chunk: dict) -> pd.DataFrame:
    sp = chunk["species"]
    genus = sp // 4
    return pd.DataFrame(
        {
            "gbif_id": chunk["gbif_id"], "species_key": chunk["species_key"],
            "species": [f"Genus{g} species{s}" for g, s in zip(genus, sp, strict=True)],
            "genus": [f"Genus{g}" for g in genus], "family": [f"Family{g // 5}" for g in genus],
            "order": [f"Order{g // 50}" for g in genus], "class": "Insecta",
            "phylum": "Arthropoda", "kingdom": "Animalia",
            "lat": chunk["lat"], "lon": chunk["lon"],
            "image_url": [f"synthetic/{i}.jpg" for i in chunk["gbif_id"]],
        }
    )  # fmt: skip
