"""Run a lab generator on a QThread and hand its results to the GUI, throttled.

    worker = GeneratorWorker(lambda should_stop: train(cfg, should_stop))
    worker.batch.connect(plot)            # list of yielded items, at most ~10×/s
    worker.failed.connect(show_error)     # "ValueError: ..." from the generator
    worker.finished.connect(done)         # True if stopped early
    worker.start()
    ...
    worker.stop_and_wait()                # from the panel's shutdown()

Throttling runs on the worker's own clock: the first item goes out at once (so the
first result appears quickly), then batches at most every `interval` seconds, and the
rest when the generator ends. The GUI never touches the worker's state; the worker
never touches a widget.

While a worker runs Python, every Python call the GUI thread makes from C++ during a
repaint (a table model's data(), a graphics item's paint()) must win the GIL back, and
CPython hands it over only every `sys.getswitchinterval()` (5 ms by default): one repaint
of the layer table stalled the window for 45–120 ms. Starting a worker lowers the
interval to GIL_SWITCH_INTERVAL_S; it matters only while two threads want the GIL.

While any worker runs, the objects that existed when the first one started are frozen
(`gc.freeze`): a full collection of this process's heap (torch, Qt and pyqtgraph objects
by the hundred thousand) takes ~0.2 s and holds the GIL, freezing the window and the
training alike whichever thread triggers it. Frozen objects are only skipped by the
collector, not kept: when the last worker ends they are unfrozen and collected as usual.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()
GIL_SWITCH_INTERVAL_S = 0.0005
#: how long closing waits for a worker to stop before leaving it behind: a window frozen
#: for longer is worse than a thread that finishes (or dies with the process) on its own
CLOSE_WAIT_MS = 1000
#: workers that did not stop in time: kept referenced, so their QThread is never
#: destroyed while it runs (Qt aborts the process then: "QThread: Destroyed while thread
#: is still running", SIGABRT)
_DETACHED: list[GeneratorWorker] = []


_heap_holders = 0  # running workers that keep the heap frozen (see the module docstring)


def _hold_heap() -> None:
    global _heap_holders
    if _heap_holders == 0:
        gc.freeze()
    _heap_holders += 1


def _release_heap() -> None:
    global _heap_holders
    _heap_holders -= 1
    if _heap_holders == 0:
        gc.unfreeze()


def running_threads() -> list[QThread]:
    """Worker threads still running (tests assert this is empty after each test)."""
    return [t for t in list(_THREADS) if _alive(t)]


def _alive(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is already gone
        return False


class _Runner(QObject):
    batch = Signal(list)
    failed = Signal(str)
    done = Signal(bool)

    def __init__(self, make: Callable[[Callable[[], bool]], Iterator[Any]], interval: float,
                 stop: threading.Event, resume: threading.Event) -> None:
        super().__init__()
        self._make = make
        self._interval = interval
        self._stop = stop
        self._resume = resume

    def _should_stop(self) -> bool:
        while not self._resume.is_set() and not self._stop.is_set():
            self._resume.wait(0.05)  # paused: hold here, between items
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        # a subclass overrides _work, never this slot: PySide runs an overridden slot
        # through a helper object on the connecting thread (the GUI's), not on this one
        self._work()

    def _work(self) -> None:
        pending: list[Any] = []
        last = 0.0
        try:
            for item in self._make(self._should_stop):
                pending.append(item)
                now = time.monotonic()
                if now - last >= self._interval:
                    self.batch.emit(pending)
                    pending, last = [], now
                if self._should_stop():
                    break
        except Exception as exc:  # noqa: BLE001 - reported to the user, never raised
            if pending:
                self.batch.emit(pending)
                pending = []
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        if pending:
            self.batch.emit(pending)
        self.done.emit(self._stop.is_set())


class _RelayRunner(_Runner):
    """Runs a remote job's relay to its end: pausing and stopping are the remote side's
    business (its items still arrive after a stop), and it reports its own failure.

    The remote side may produce faster than the GUI takes in: a batch goes out only once
    the previous one was handled (`taken`), the items in between join the next batch, so
    at most one batch waits in the event queue and the plots never lag behind the run."""

    def __init__(self, remote: Any, interval: float, taken: threading.Event) -> None:
        super().__init__(lambda _should_stop: remote.items(), interval, threading.Event(),
                         threading.Event())
        self._remote = remote
        self._taken = taken

    def _work(self) -> None:
        pending: list[Any] = []
        last = 0.0
        try:
            for item in self._remote.items(ticks=True):
                if item is not None:
                    pending.append(item)
                now = time.monotonic()
                if pending and now - last >= self._interval and self._taken.is_set():
                    self._taken.clear()
                    self.batch.emit(pending)
                    pending, last = [], now
        except Exception as exc:  # noqa: BLE001 - reported to the user, never raised
            self._remote.failure = self._remote.failure or f"{type(exc).__name__}: {exc}"
        if pending:
            self.batch.emit(pending)
        if self._remote.failure:
            self.failed.emit(self._remote.failure)
        self.done.emit(bool(self._remote.stopped))


class GeneratorWorker(QObject):
    """Owns one QThread running one generator. Start once; stop and wait on close."""

    batch = Signal(list)
    failed = Signal(str)
    finished = Signal(bool)

    def __init__(self, make_generator: Callable[[Callable[[], bool]], Iterator[Any]],
                 interval: float = 0.1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._thread = QThread()
        self._runner = self._make_runner(make_generator, interval)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.batch.connect(self.batch)
        self._runner.failed.connect(self.failed)
        self._runner.done.connect(self._on_done)
        self._finished = False
        self._holds_heap = False
        _THREADS.add(self._thread)

    def _make_runner(self, make_generator, interval: float) -> _Runner:
        return _Runner(make_generator, interval, self._stop, self._resume)

    def start(self) -> None:
        if sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S:
            sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # see the module's docstring
        if not self._holds_heap:
            self._holds_heap = True
            _hold_heap()
        self._thread.start()

    def _let_go_of_heap(self) -> None:
        if self._holds_heap:
            self._holds_heap = False
            _release_heap()

    def is_running(self) -> bool:
        return _alive(self._thread) and not self._finished

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def is_paused(self) -> bool:
        return not self._resume.is_set()

    def request_stop(self) -> None:
        self._stop.set()
        self._resume.set()

    def stop_and_wait(self, timeout_ms: int = CLOSE_WAIT_MS) -> bool:
        """Ask the generator to stop and join the thread. True if it has ended; False if
        it is still running after `timeout_ms` (blocked in a call that looks at no stop
        flag): then it is detached — kept alive until it ends, never destroyed running."""
        self.request_stop()
        if self in _DETACHED:
            return not _alive(self._thread)
        ended = True
        if _alive(self._thread):
            self._thread.quit()
            ended = self._thread.wait(timeout_ms)
        if ended:
            self._let_go_of_heap()
        else:
            self._detach()
        return ended

    def _detach(self) -> None:
        # its panel may be deleted; this object and its thread stay until the thread ends
        # (its last items still reach the panel if it is there)
        self.setParent(None)
        _DETACHED.append(self)

    @Slot(bool)
    def _on_done(self, stopped: bool) -> None:
        if self in _DETACHED:
            _DETACHED.remove(self)
        self._finished = True
        self._thread.quit()
        self._thread.wait()
        self._let_go_of_heap()
        self.finished.emit(stopped)


class RelayWorker(GeneratorWorker):
    """Relays a job that runs elsewhere (another process) on a QThread, with the signals
    and methods of a GeneratorWorker. `remote` has `items()` (iterated on the thread),
    `pause()`, `resume()`, `is_paused()`, `stop()`, and once `items()` ends `stopped` and
    `failure` ("" or a message, sent as `failed`). The thread never waits on a pause nor
    breaks off at a stop: the remote side pauses and stops, and ends its `items()`."""

    def __init__(self, remote: Any, interval: float = 0.1,
                 parent: QObject | None = None) -> None:
        self.remote = remote
        self._taken = threading.Event()
        self._taken.set()
        super().__init__(lambda _should_stop: remote.items(), interval, parent)
        self._runner.batch.disconnect(self.batch)
        self._runner.batch.connect(self._forward)

    def _make_runner(self, make_generator, interval: float) -> _Runner:
        return _RelayRunner(self.remote, interval, self._taken)

    @Slot(list)
    def _forward(self, items: list) -> None:
        try:
            self.batch.emit(items)
        finally:
            self._taken.set()

    def pause(self) -> None:
        self.remote.pause()

    def resume(self) -> None:
        self.remote.resume()

    def is_paused(self) -> bool:
        return self.remote.is_paused()

    def request_stop(self) -> None:
        self._stop.set()
        self.remote.stop()


def detached_workers() -> list[GeneratorWorker]:
    """Workers left running by a close that could not wait for them."""
    return [w for w in _DETACHED if _alive(w._thread)]


def join_detached(timeout_ms: int) -> bool:
    """Wait for detached workers to end (tests; the exit); True if none is left."""
    for worker in list(_DETACHED):
        if _alive(worker._thread):
            worker._thread.wait(timeout_ms)
        if not _alive(worker._thread):
            worker._let_go_of_heap()
            _DETACHED.remove(worker)
    return not _DETACHED


#: the code the process exits with when a detached worker makes it leave early (the app
#: sets it from its event loop's result; see `leave_detached`)
exit_code = 0


def leave_detached() -> None:
    """At exit: a worker still blocked after a short wait must not be destroyed by the
    interpreter's teardown while its QThread runs (Qt aborts the process then, SIGABRT,
    whoever holds a reference). Everything the app writes is written and synced before
    this point, so the process ends here, normally, with `exit_code`."""
    if _DETACHED and not join_detached(2000):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)


atexit.register(leave_detached)
