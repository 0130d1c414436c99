"""Background jobs for any page (`Page.add_job` makes them): newest request wins.

`LatestJob` runs one lab generator at a time on a `GeneratorWorker`; a new request
replaces the one waiting and asks the running one to stop, so a slider storm never
queues stale work and results of superseded runs never reach the screen. With
`overlap=True` the newest starts at once instead, while superseded runs wind down
beside it (for work that stops only between items, like a grid of random draws).
`freeze_heap` keeps Python's full garbage collections from stalling the GUI.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from widgets.kit.workers import GeneratorWorker

_FROZEN: set[str] = set()


def freeze_heap(reason: str) -> None:
    """Move every object alive now out of the cyclic garbage collector (`gc.freeze`).

    torch, torchvision and Qt leave a heap of a few hundred thousand objects; a worker
    that allocates a lot (tracing DenseNet-121) triggers full collections that walk it
    all — 300 ms with the GIL held, a frozen GUI. Frozen objects are still freed by
    reference counting; only cycles among them are kept. Once per `reason`.
    """
    if reason not in _FROZEN:
        _FROZEN.add(reason)
        gc.freeze()


def _yield_to_the_gui() -> None:
    """Lower this worker thread's scheduling priority (Linux: per-thread nice), so that on
    a busy machine the GUI thread runs first whenever both want a core."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class LatestJob(QObject):
    """Runs the newest requested generator on a worker thread; results of superseded runs
    are dropped (each run has a token; only the newest token's items pass).

    Default: one worker at a time — a new request replaces the one waiting and asks the
    running one to stop; it starts when that one has ended. `overlap=True`: a new request
    starts at once; the superseded worker is asked to stop and winds down beside it (its
    items are dropped), and `shutdown` joins it too. `interval`: the worker's batching
    period in seconds (the first item goes out at once)."""

    item = Signal(object)
    failed = Signal(str)
    idle = Signal()

    def __init__(self, parent: QObject | None = None, *, overlap: bool = False,
                 interval: float = 0.05) -> None:
        super().__init__(parent)
        self._overlap = overlap
        self._interval = interval
        self._worker: GeneratorWorker | None = None
        self._pending: Callable[[Callable[[], bool]], Iterator[Any]] | None = None
        self._token = 0
        self._running_token = -1
        #: overlap mode: superseded workers asked to stop, still ending
        self._winding_down: list[GeneratorWorker] = []
        # Finished workers are dropped a turn later, never inside their own signal; they
        # have no Qt parent, so dropping the last reference deletes them (no deleteLater).
        self._retired: list[GeneratorWorker] = []

    def submit(self, make: Callable[[Callable[[], bool]], Iterator[Any]]) -> None:
        self._token += 1
        self._pending = make
        if self._worker is not None and self._worker.is_running():
            self._worker.request_stop()
            if not self._overlap:
                return
            self._winding_down.append(self._worker)
            self._worker = None
        self._start()

    def cancel(self) -> None:
        """Drop the waiting request and ignore the running one's results (it is asked to
        stop): the inputs became invalid, so nothing computed for them may be shown."""
        self._token += 1
        self._pending = None
        if self._worker is not None and self._worker.is_running():
            self._worker.request_stop()

    def busy(self) -> bool:
        """The newest request is waiting or running (superseded runs winding down in
        overlap mode do not count: nothing of theirs reaches the screen)."""
        return self._pending is not None or (self._worker is not None
                                             and self._worker.is_running())

    def current_worker(self) -> GeneratorWorker | None:
        """The worker of the newest run, while it runs (tests)."""
        return self._worker

    def winding_down(self) -> int:
        """How many superseded workers are still ending (overlap mode)."""
        return len(self._winding_down)

    def shutdown(self) -> None:
        self._pending = None
        self._token += 1
        # a superseded worker may still be ending: wait for it too
        for worker in [self._worker, *self._winding_down, *self._retired]:
            if worker is not None:
                worker.stop_and_wait()
        self._retired.extend(self._winding_down)
        self._winding_down = []
        if self._worker is not None:
            self._retired.append(self._worker)
            self._worker = None

    def _start(self) -> None:
        make, self._pending = self._pending, None
        if make is None:
            return
        token = self._running_token = self._token

        def in_background(should_stop: Callable[[], bool]) -> Iterator[Any]:
            _yield_to_the_gui()
            yield from make(should_stop)

        worker = GeneratorWorker(in_background, interval=self._interval)
        worker.batch.connect(lambda items, t=token: self._batch(t, items))
        worker.failed.connect(lambda message, t=token: self._failed(t, message))
        worker.finished.connect(lambda _stopped, w=worker: self._finished(w))
        self._worker = worker
        worker.start()

    def _batch(self, token: int, items: list) -> None:
        if token == self._token:
            for item in items:
                self.item.emit(item)

    def _failed(self, token: int, message: str) -> None:
        if token == self._token:
            self.failed.emit(message)

    def _finished(self, worker: GeneratorWorker) -> None:
        self._retired.append(worker)
        QTimer.singleShot(0, self._retired.clear)
        if worker in self._winding_down:
            self._winding_down.remove(worker)
        if worker is not self._worker:  # a superseded run that ended after its successor began
            return
        self._worker = None
        if self._pending is not None:
            self._start()
        else:
            self.idle.emit()
