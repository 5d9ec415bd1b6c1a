"""Run an iterator in a background thread, a few items ahead of its consumer.

Reading an archive is a chain of blocking steps (inflate, parse, filter); with each in a thread
of its own, the ones that release the GIL (ISA-L inflate, pyarrow parsing) overlap.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator


class ReadAhead:
    """Iterates `items` in a background thread, at most `depth` items ahead of the consumer.

    An exception raised by `items` is raised by `next` in the consumer's thread. `close()` stops
    the thread (once whatever it is blocked on returns) and closes `items`.
    """

    _END = object()

    def __init__(self, items: Iterator, depth: int):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._fill, args=(items,), daemon=True)
        self._thread.start()

    def _fill(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(self._END)
        except Exception as err:  # handed to the consumer, which raises it
            self._put(err)
        finally:
            items.close()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self):
        while not self._done:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._done = self._stop.is_set()
                continue
            if item is self._END:
                self._done = True
            elif isinstance(item, Exception):
                self._done = True
                raise item
            else:
                return item
        raise StopIteration

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
