"""The read-ahead and write-behind threads: order, errors, early stops, bounded buffers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from maskrun.streaming import BackgroundWriter, BufferPool, _Stopped, prefetch


def test_prefetch_yields_in_order_and_reraises_producer_errors():
    def produce(stop):
        yield from range(5)
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetch(produce, depth=2):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_consumer_stopping_early_does_not_hang_a_producer_with_a_full_queue():
    finished = threading.Event()

    def produce(stop):
        try:
            yield from range(1000)
        finally:
            finished.set()

    for item in prefetch(produce, depth=1):
        if item == 2:
            break  # the generator's finally tells the producer to stop and joins it
    assert finished.wait(5)


def test_pool_buffers_are_reused_and_bounded():
    pool = BufferPool(values=12, count=2)
    a, b = pool.take((3, 4)), pool.take((2, 4))
    stop = threading.Event()
    stop.set()
    with pytest.raises(_Stopped):
        pool.take((1, 4), stop)  # none free: waits, and gives up once told to stop
    pool.give_back(b)
    assert pool.take((3, 4)).base is b.base and a.shape == (3, 4)


def test_background_writer_keeps_order_and_reports_errors():
    seen = []
    writer = BackgroundWriter(seen.append)
    for i in range(10):
        writer.submit(i)
    writer.finish()
    assert seen == list(range(10))

    def fail(item):
        raise ValueError(f"cannot write {item}")

    failing = BackgroundWriter(fail)
    failing.submit(np.zeros(3))
    with pytest.raises(ValueError, match="cannot write"):
        failing.finish()
