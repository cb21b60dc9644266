"""Overlap reading, masking and writing on separate threads, in bounded memory.

A `BufferPool` holds a few chunk-sized float32 buffers: the reader fills one, the main
thread masks it in place, the writer thread writes it and gives it back. NumPy and file
I/O release the GIL, so the three stages run in parallel on two cores, and memory stays at
a few chunks whatever the file size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import numpy as np

POOL_BUFFERS = 4
_DONE = object()


class BufferPool:
    """A fixed set of reusable float32 buffers of ``values`` elements each."""

    def __init__(self, values: int, count: int = POOL_BUFFERS):
        self._free: queue.Queue = queue.Queue()
        for _ in range(count):
            self._free.put(np.empty(values, dtype=np.float32))

    def take(self, shape: tuple[int, ...], stop: threading.Event | None = None) -> np.ndarray:
        """A buffer viewed as ``shape`` (waits until the writer gives one back)."""
        while True:
            try:
                buffer = self._free.get(timeout=0.1)
                break
            except queue.Empty:
                if stop is not None and stop.is_set():
                    raise _Stopped from None
        return buffer[: int(np.prod(shape))].reshape(shape)

    def give_back(self, view: np.ndarray) -> None:
        self._free.put(view.base if view.base is not None else view)


class _Stopped(Exception):
    pass


def prefetch(produce, depth: int = 2) -> Iterator:
    """Run ``produce(stop_event)`` (a generator function) on a thread, yielding its items.

    Exceptions in the producer are re-raised in the consumer; if the consumer stops early,
    the producer is told to stop and is joined.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        """Queue an item unless the consumer has gone (never block on a full queue then)."""
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in produce(stop):
                if not put(item):
                    return
            put(_DONE)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the consumer
            put(exc)

    thread = threading.Thread(target=run, name="maskrun-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class BackgroundWriter:
    """Calls ``consume(item)`` for every submitted item, in order, on its own thread."""

    def __init__(self, consume, depth: int = 2):
        self._consume = consume
        self._items: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="maskrun-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._items.get()) is not _DONE:
            if self._error is None:
                try:
                    self._consume(item)
                except BaseException as exc:
                    self._error = exc

    def submit(self, item) -> None:
        self.raise_error()
        self._items.put(item)

    def finish(self) -> None:
        """Wait until every item is consumed; re-raise the first error."""
        if self._thread.is_alive():
            self._items.put(_DONE)
            self._thread.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self._error is not None:
            raise self._error

