"""The batched embedding loop: filtered observations -> `data/embeddings/<ds>.h5`.

Worker threads fetch, decode and preprocess the next batches while the model embeds the current
one (PIL decoding, resizing and torch kernels release the GIL). Batches are fixed slices of the
table (rank r of a torchrun launch takes every world_size-th), each written to the crash-safe
part log as soon as it is embedded; a rerun skips ids already in the log, so an interrupted run
resumes where it stopped and produces exactly the file an uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from geoloc.embed.backbones import Backbone
from geoloc.embed.decode import DecodeError, decode_image
from geoloc.embed.fetch import NETWORK_DOWN, Fetcher, FetchError, inat_photo_url, is_transient
from geoloc.embed.lock import exclusive
from geoloc.embed.writer import PartLog, Records, fingerprint, read_records, write_embedding_file
from geoloc.errors import GeolocError
from geoloc.params import EmbedParams
from geoloc.runtime import DistContext

REQUIRED_COLUMNS = ("gbif_id", "image_url", "lat", "lon", "species_key")
PREFETCH_BATCHES = 2  # batches being fetched/decoded ahead of the model


@dataclass
class EmbedSummary:
    """What one run did (this rank's share for the counts of this run)."""

    output: Path
    rows: int = 0  # observations in the table
    skipped: int = 0  # already embedded or failed in an earlier run
    embedded: int = 0
    failed: Counter = field(default_factory=Counter)  # reason -> count, this run
    seconds: float = 0.0
    wait_s: float = 0.0  # time the model waited for fetched/decoded images
    in_file: int | None = None  # embeddings in the final file (main rank)
    failed_in_file: int | None = None

    @property
    def images_per_s(self) -> float:
        done = self.embedded + sum(self.failed.values())
        return done / self.seconds if self.seconds > 0 else 0.0

    def metrics(self) -> dict:
        """The counts and timings as plain JSON-able values."""
        return {
            "rows": self.rows,
            "skipped": self.skipped,
            "embedded": self.embedded,
            "failed": dict(self.failed),
            "seconds": self.seconds,
            "wait_s": self.wait_s,
            "images_per_s": self.images_per_s,
            "in_file": self.in_file,
            "failed_in_file": self.failed_in_file,
        }

    def __str__(self) -> str:
        failed = ", ".join(f"{r} {n}" for r, n in self.failed.most_common()) or "none"
        lines = [
            f"embedded {self.embedded}, failed {sum(self.failed.values())} ({failed}), "
            f"skipped {self.skipped} already done, of {self.rows} rows",
            f"{self.seconds:.1f} s, {self.images_per_s:.1f} images/s, the model waited "
            f"{self.wait_s:.1f} s for images (raise embed.workers if that is large)",
        ]
        if self.in_file is not None:
            lines.append(f"{self.output}: {self.in_file} embeddings, {self.failed_in_file} failed")
        return "\n".join(lines)


def work_beside(out: Path) -> Path:
    """The default work folder of `out`: hidden beside it (`.<name>.work`)."""
    return out.parent / f".{out.name}.work"


def work_dir(work: Path, attrs: dict) -> Path:
    """The part-log folder under the work folder `work` for these backbone attributes."""
    return Path(work) / fingerprint(attrs)


def embed_table(
    table: pd.DataFrame,
    out: str | Path,
    backbone: Backbone,
    params: EmbedParams,
    *,
    work: Path | None = None,
    retry_failed: bool = False,
    ctx: DistContext | None = None,
    progress: bool = True,
) -> EmbedSummary:
    """Embed every row's `image_url` into `out`, resuming from earlier interrupted runs.

    Work in progress is logged under `work` (default: `work_beside(out)`); relative image paths
    are read from `embed.local_root`. One run at a time may use `out` and `work` (a second one
    fails at once, naming the first). A run that ends with no embedding at all writes no file
    and fails with the reasons; one whose first batch finds no network fails before recording
    anything.
    """
    ctx = ctx or DistContext(device=backbone.device)
    out = Path(out)
    table = _checked(table)
    work = work or work_beside(out)
    with _one_run_at_a_time(out, work, ctx):
        log = PartLog(work_dir(work, backbone.attrs), ctx.rank)
        seed = read_records(out, backbone.attrs)
        summary = _embed_rows(table, out, backbone, params, log, seed, retry_failed, ctx, progress)
        ctx.barrier()
        empty = _finish(table, out, backbone, params, log, seed, summary) if ctx.is_main else None
        ctx.barrier()
    if empty:
        raise GeolocError(empty)
    return summary


def _embed_rows(table, out, backbone, params, log, seed, retry_failed, ctx, progress):
    """This rank's share of the rows not done yet, embedded batch by batch into `log`."""
    ids = table["gbif_id"].to_numpy(np.int64)
    prior = Records.concat([r for r in (seed, log.read(backbone.dim)) if r], backbone.dim)
    todo = ~np.isin(ids, _done_ids(prior.resolved(), retry_failed))
    summary = EmbedSummary(out, rows=len(ids), skipped=int(len(ids) - todo.sum()))
    start = time.perf_counter()
    batches = [
        idx
        for b, lo in enumerate(range(0, len(ids), params.batch_size))
        if b % ctx.world_size == ctx.rank
        and len(idx := lo + np.flatnonzero(todo[lo : lo + params.batch_size]))
    ]
    urls = np.array([inat_photo_url(u, params.inat_size) for u in table["image_url"]], object)
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(
            tqdm(total=sum(len(b) for b in batches), unit="img", desc=f"embed {out.stem}",
                 disable=not progress or not ctx.is_main, dynamic_ncols=True)
        )  # fmt: skip
        loaded = stack.enter_context(
            contextlib.closing(_loaded_batches(batches, urls, backbone, params))
        )  # stops the fetch threads on every way out
        for first, (idx, results) in enumerate(_timed(loaded, summary)):
            ok = [k for k, r in enumerate(results) if isinstance(r, torch.Tensor)]
            bad = [k for k, r in enumerate(results) if not isinstance(r, torch.Tensor)]
            failed = [results[k] for k in bad]
            if first == 0:
                _check_network(failed, len(results))
            emb = (
                backbone.encode_images(torch.stack([results[k] for k in ok])).cpu().numpy()
                if ok
                else np.empty((0, backbone.dim), np.float32)
            )
            reasons = [err.reason for err in failed]
            log.append(ids[idx[ok]], emb, ids[idx[bad]], reasons)
            summary.embedded += len(ok)
            summary.failed.update(reasons)
            bar.update(len(idx))
            if summary.failed:
                bar.set_postfix(failed=sum(summary.failed.values()), refresh=False)
    summary.seconds = time.perf_counter() - start
    return summary


def _finish(table, out, backbone, params, log, seed, summary) -> str | None:
    """Merge the log into `out` and remove it; or, when nothing at all was embedded, write no
    file and return the message to fail with (the failures are redone by the next run)."""
    final = Records.concat([r for r in (seed, log.read(backbone.dim)) if r], backbone.dim)
    final = final.resolved()
    empty = None
    if np.isin(table["gbif_id"].to_numpy(np.int64), final.gbif_id).any():
        summary.in_file, summary.failed_in_file = _merge(table, out, backbone, final, params.text)
    else:
        reasons = Counter(final.failed_reason.tolist()).most_common()
        counts = ", ".join(f"{reason} {n}" for reason, n in reasons) or "no rows"
        empty = (
            f"the embed step embedded nothing: all {len(table)} photos failed ({counts}); "
            f"{out} was not written"
        )
    shutil.rmtree(log.folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        log.folder.parent.rmdir()  # only if no other backbone's work is left there
    return empty


@contextlib.contextmanager
def _one_run_at_a_time(out: Path, work: Path, ctx: DistContext):
    """Rank 0 locks the output and the work folder for the whole run; every rank learns whether
    it could (two runs merging one log lose each other's work)."""
    with contextlib.ExitStack() as locks:
        busy = None
        if ctx.is_main:
            try:
                locks.enter_context(exclusive(out, str(out)))
                locks.enter_context(exclusive(work, f"the work folder {work}"))
            except GeolocError as err:
                busy = str(err)
        if ctx.world_size > 1:
            import torch.distributed as torch_dist

            shared = [busy]
            torch_dist.broadcast_object_list(shared, src=0)
            busy = shared[0]
        if busy:
            raise GeolocError(busy)
        yield


def _check_network(failed: list, batch: int) -> None:
    """Most of the first batch without a name lookup or a route: stop before recording them
    (each would fail the same way), saying so, rather than fail every photo one by one."""
    down = [err for err in failed if err.reason in NETWORK_DOWN]
    if 2 * len(down) <= batch:
        return
    raise GeolocError(
        f"no network / host unreachable: {len(down)} of the first {batch} photos could not be "
        f"fetched (e.g. {down[0]}); nothing was recorded: check the connection or proxy, then "
        "rerun"
    )


def _timed(iterable, summary: EmbedSummary):
    """Yield from `iterable`, adding the time spent waiting for each item to summary.wait_s."""
    iterator = iter(iterable)
    while True:
        start = time.perf_counter()
        item = next(iterator, None)
        summary.wait_s += time.perf_counter() - start
        if item is None:
            return
        yield item


def _checked(table: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise GeolocError(f"observation table lacks column(s) {', '.join(missing)}")
    if table["gbif_id"].duplicated().any():
        raise GeolocError("observation table has duplicate gbif_id values")
    return table.reset_index(drop=True)


def _done_ids(prior: Records, retry_failed: bool) -> np.ndarray:
    """Ids a run skips: embedded ones and failures (transient failures too, unless retried)."""
    failed = prior.failed_id
    if retry_failed:
        keep = np.array([not is_transient(r) for r in prior.failed_reason], dtype=bool)
        failed = failed[keep] if len(failed) else failed
    return np.concatenate([prior.gbif_id, failed])


def _load_one(uri, fetcher: Fetcher, backbone: Backbone, max_pixels: int):
    """One image -> preprocessed tensor, or the failure (a FetchError or DecodeError)."""
    if not isinstance(uri, str) or not uri:
        return FetchError("no_image")
    try:
        image = decode_image(fetcher.fetch(uri), backbone.decode_size, max_pixels)
    except (FetchError, DecodeError) as err:
        return err
    return backbone.preprocess(image)


def _loaded_batches(batches, urls, backbone: Backbone, params: EmbedParams):
    """Yield (row indices, per-row tensor or reason), keeping the next batches in flight."""
    pending: deque[tuple[np.ndarray, list[Future]]] = deque()
    queue = iter(batches)
    pool = ThreadPoolExecutor(max(1, params.workers), thread_name_prefix="geoloc-decode")
    fetcher = Fetcher(params)

    def submit() -> None:
        idx = next(queue, None)
        if idx is not None:
            args = (fetcher, backbone, params.max_pixels)
            pending.append((idx, [pool.submit(_load_one, urls[i], *args) for i in idx]))

    try:
        for _ in range(PREFETCH_BATCHES + 1):
            submit()
        while pending:
            idx, futures = pending.popleft()
            submit()
            yield idx, [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        fetcher.close()


def _merge(table, out: Path, backbone: Backbone, records: Records, text: bool):
    """Write the final file: rows in table order, only ids of this table, plus /failed, /text."""
    ids = table["gbif_id"].to_numpy(np.int64)
    pos = pd.Index(records.gbif_id).get_indexer(ids)
    have = pos >= 0
    fpos = pd.Index(records.failed_id).get_indexer(ids)
    failed = fpos >= 0
    write_embedding_file(
        out,
        gbif_id=ids[have],
        embedding=records.embedding[pos[have]],
        lat=table["lat"].to_numpy(np.float64)[have],
        lon=table["lon"].to_numpy(np.float64)[have],
        species_key=table["species_key"].to_numpy(np.int64)[have],
        failed_id=ids[failed],
        failed_reason=records.failed_reason[fpos[failed]],
        attrs=backbone.attrs,
        text=_text_embeddings(table, backbone) if text else None,
    )
    return int(have.sum()), int(failed.sum())


def _text_embeddings(table: pd.DataFrame, backbone: Backbone) -> dict | None:
    """Species-name embeddings from the backbone's text tower (None without one)."""
    if "species" not in table.columns or backbone.text_fn is None:
        return None
    species = table[["species_key", "species"]].drop_duplicates("species_key")
    species = species.sort_values("species_key")
    names = species["species"].astype(str).tolist()
    embedding = backbone.encode_text(names)
    return {
        "species_key": species["species_key"].to_numpy(np.int64),
        "species": names,
        "embedding": embedding.numpy(),
    }
