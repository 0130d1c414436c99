import gc
import time

import pytest

from widgets.kit.workers import GeneratorWorker, running_threads


def counting(n, pause=0.0):
    def make(should_stop):
        for i in range(n):
            if should_stop():
                return
            time.sleep(pause)
            yield i
    return make


def test_all_items_arrive_in_throttled_batches(qtbot):
    worker = GeneratorWorker(counting(200, 0.001), interval=0.05)
    got = []
    worker.batch.connect(got.extend)
    batches = []
    worker.batch.connect(batches.append)
    with qtbot.waitSignal(worker.finished, timeout=10_000) as done:
        worker.start()
    assert done.args == [False]
    qtbot.waitUntil(lambda: len(got) == 200)
    assert got == list(range(200))
    assert len(batches[0]) == 1  # the first item goes out at once
    assert len(batches) < 100  # but the rest are grouped
    assert not running_threads()


def test_stop_and_wait_joins(qtbot):
    worker = GeneratorWorker(counting(10_000, 0.01))
    worker.start()
    qtbot.waitUntil(worker.is_running)
    assert worker.stop_and_wait()
    assert not running_threads()


def test_errors_are_reported_not_raised(qtbot):
    def make(_should_stop):
        yield 1
        raise ValueError("loss became NaN")

    worker = GeneratorWorker(make)
    errors, items = [], []
    worker.failed.connect(errors.append)
    worker.batch.connect(items.extend)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
    assert errors == ["ValueError: loss became NaN"] and items == [1]


def test_pause_and_resume(qtbot):
    worker = GeneratorWorker(counting(10_000, 0.002), interval=0.0)
    got = []
    worker.batch.connect(got.extend)
    worker.start()
    qtbot.waitUntil(lambda: len(got) > 3)
    worker.pause()
    qtbot.wait(100)
    frozen = len(got)
    qtbot.wait(150)
    assert len(got) <= frozen + 1 and worker.is_paused()
    worker.resume()
    qtbot.waitUntil(lambda: len(got) > frozen + 5)
    worker.stop_and_wait()


@pytest.mark.parametrize("n", [0])
def test_empty_generator_finishes(qtbot, n):
    worker = GeneratorWorker(counting(n))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    qtbot.waitUntil(lambda: not running_threads())


def test_a_running_worker_hands_the_gil_back_to_the_gui_quickly(qtbot):
    """CPython's default 5 ms GIL switch interval, paid at every Python callback of a
    repaint while a worker runs Python, froze the window for 50-120 ms."""
    import sys

    from widgets.kit.workers import GIL_SWITCH_INTERVAL_S

    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        worker = GeneratorWorker(counting(3), interval=0.01)
        with qtbot.waitSignal(worker.finished, timeout=10_000):
            worker.start()
        assert sys.getswitchinterval() <= GIL_SWITCH_INTERVAL_S
    finally:
        sys.setswitchinterval(before)


def test_the_heap_is_frozen_while_workers_run_and_thawed_after(qtbot):
    """No full garbage collection of the whole heap (~0.2 s holding the GIL) mid-run."""
    assert gc.get_freeze_count() == 0
    first = GeneratorWorker(counting(10_000, 0.01))
    second = GeneratorWorker(counting(10_000, 0.01))
    first.start()
    assert gc.get_freeze_count() > 0
    second.start()
    assert first.stop_and_wait()
    assert gc.get_freeze_count() > 0  # the second still runs
    with qtbot.waitSignal(second.finished, timeout=10_000):
        second.request_stop()
    assert gc.get_freeze_count() == 0
    assert second.stop_and_wait()  # a second stop changes nothing
    assert gc.get_freeze_count() == 0
