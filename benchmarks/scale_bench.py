"""Scale benchmark: wall time and peak memory of train, evaluate and train-identifier at 10^4,
10^5 and 10^6 records, in one run, with the log-log slope of time against records.

Inputs come from benchmarks/scale_inputs.py (synthetic embeddings around per-species directions,
Zipf abundances, species = 5 sqrt(records); no photos are embedded, so this measures the data
path, memory and time of the stages, not a backbone's quality). Each stage runs as the user runs
it, `geoloc <command>` in its own process; its peak RSS is the child's ru_maxrss. The floor,
measured in the same run at each size, is `read`: one chunked pass over the embedding file and
the table (what any stage must at least do), in its own process too.

Goals (issue 14): slope <= 1.15 from 10^4 to 10^6 for each stage; peak RSS <= 4 GB at 10^6;
one training epoch <= 10 min and evaluate (2 sets, 5 folds) <= 30 min at 10^6 on 2 cores.

    python benchmarks/scale_bench.py --sizes 10000 100000 1000000 --work /tmp/geoloc-scale
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_inputs import build_inputs  # noqa: E402

IDENTIFY_EPOCHS = ("identify.epochs=1", "identify.proto_epochs=1", "identify.prior.epochs=1")
READ_FLOOR = """
import sys, h5py, numpy as np, pyarrow.parquet as pq
with h5py.File(sys.argv[1]) as h5:
    emb, total = h5["embedding"], 0.0
    for start in range(0, len(emb), 65536):
        total += float(np.asarray(emb[start : start + 65536], np.float32).sum())
for batch in pq.ParquetFile(sys.argv[2]).iter_batches(columns=["lat", "lon", "species"]):
    total += len(batch)
print(total)
"""


def commands(work: Path) -> dict[str, list[str]]:
    """The three stages as a user runs them on the inputs in `work`, with the built-in params
    (work/params.yaml: a real-data archive, so no demo truth is looked for)."""
    emb, obs, model = work / "embeddings.h5", work / "observations.parquet", work / "train"
    params = ["--params", str(work / "params.yaml")]
    return {
        "read": [sys.executable, "-c", READ_FLOOR, str(emb), str(obs)],
        "train": [
            "geoloc", "train", str(emb), "--out", str(model), "--no-resume", *params,
            "--set", "train.epochs=1",
        ],
        "evaluate": [
            "geoloc", "evaluate", "--dataset", "plants", "--observations", str(obs),
            "--encoder", str(model / "encoder.pt"), "--out", str(work / "sdm"), *params,
            "--set", "sdm.covariates=[trained,coords]", "--set", "sdm.learner=logistic",
        ],
        "identify": [
            "geoloc", "train-identifier", "--embeddings", str(emb), "--observations", str(obs),
            "--encoder", str(model / "encoder.pt"), "--model-dir", str(work / "identifier"),
            "--results", str(work / "identifier_results"), *params,
            *[arg for item in IDENTIFY_EPOCHS for arg in ("--set", item)],
        ],
    }  # fmt: skip


def measure(cmd: list[str], log: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS GB) of one command in its own process."""
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed; see {log}")
    return wall, usage.ru_maxrss / 1024**2  # KB -> GB


def slope(sizes: list[int], times: list[float]) -> float:
    return math.log(times[-1] / times[0]) / math.log(sizes[-1] / sizes[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/geoloc-scale"))
    parser.add_argument("--stages", nargs="+", default=["read", "train", "evaluate", "identify"])
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {stage: [] for stage in args.stages}
    print(f"{'records':>9} {'species':>7} {'stage':>9} {'wall s':>8} {'peak GB':>8}", flush=True)
    for records in args.sizes:
        work = args.work / f"n{records}"
        shutil.rmtree(work, ignore_errors=True)
        info = build_inputs(records, work)
        (work / "params.yaml").write_text("data:\n  archive: data/raw/gbif.zip\n")
        runs = commands(work)
        for stage in args.stages:
            wall, rss = measure(runs[stage], work / f"{stage}.log")
            results[stage].append((wall, rss))
            print(
                f"{records:>9} {info['species']:>7} {stage:>9} {wall:8.1f} {rss:8.2f}", flush=True
            )
    if len(args.sizes) > 1:
        for stage, rows in results.items():
            times = [wall for wall, _ in rows]
            print(f"log-log slope of time, {stage}: {slope(args.sizes, times):.2f} "
                  f"({args.sizes[0]:,} -> {args.sizes[-1]:,} records), "
                  f"{slope(args.sizes[-2:], times[-2:]):.2f} "
                  f"({args.sizes[-2]:,} -> {args.sizes[-1]:,}; start-up weighs less)")  # fmt: skip


if __name__ == "__main__":
    main()
