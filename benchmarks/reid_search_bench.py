"""Re-identification search: dense numpy similarity (the floor) against a FAISS flat index.

Same query/gallery, same depth; checks the neighbours agree and reports wall time of
the search (dense sorts each query's full row; FAISS keeps a top-depth heap).
Run: .venv/bin/python benchmarks/reid_search_bench.py
"""

from __future__ import annotations

import time

import numpy as np

from geoloc.reid import search


def main(n_query: int = 1_000, n_gallery: int = 50_000, dim: int = 256, depth: int = 100):
    rng = np.random.default_rng(0)
    query = rng.normal(size=(n_query, dim)).astype(np.float32)
    gallery = rng.normal(size=(n_gallery, dim)).astype(np.float32)
    print(f"query {n_query} x gallery {n_gallery}, dim {dim}, depth {depth}")
    results = {}
    for engine in ("dense", "faiss"):
        search(query[:10], gallery, depth, engine)  # warm-up (BLAS threads, FAISS import)
        start = time.perf_counter()
        results[engine] = search(query, gallery, depth, engine)
        seconds = time.perf_counter() - start
        print(f"{engine:6s} {seconds:7.2f} s  {n_query / seconds:8.0f} queries/s")
    same = np.mean(results["dense"][1] == results["faiss"][1])
    print(f"identical neighbour slots: {same:.4%}")


if __name__ == "__main__":
    main()
