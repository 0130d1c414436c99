"""Run symbolic work (sympy) in a worker process with a time limit and a real cancel.

sympy cannot be interrupted inside a thread: `limit(...)` of an exploding expression holds
its thread (and, for long stretches, the GIL) for minutes. Here the work runs in a separate
process, started with the *spawn* context (no fork of a Qt/torch process). When a call runs
over its time limit or is cancelled, the process is killed and a fresh one started in its
place, so the next call does not wait for the stuck one.

    sandbox = Sandbox(time_limit=4.0)
    value = sandbox.call(sympy_work, expr_text, should_stop=lambda: stop.is_set())
    for item in sandbox.steps(sympy_work, expr_text, should_stop=should_stop):
        ...                     # Progress(stage, fraction) while waiting, then Finished(value)
    sandbox.close()

`function` must be importable by name (a module-level function) and its arguments and
result picklable (sympy expressions are). One call runs at a time per Sandbox; calls from
several threads queue on a lock. The clock starts when the worker is ready (a fresh worker
first imports sympy), so a cold start never counts as the job's time.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from lab.progress import Progress

DEFAULT_TIME_LIMIT_S = 4.0
#: a fresh worker imports sympy before it is ready; a busy machine may take a while
STARTUP_LIMIT_S = 60.0
#: address space a worker may use; an exploding expression fails with MemoryError instead
#: of swapping the machine
MEMORY_LIMIT_BYTES = 3 * 1024**3
_POLL_S = 0.02
_PROGRESS_EVERY_S = 0.1


class SandboxError(RuntimeError):
    """The work failed; the message is the worker's exception ("ValueError: ...")."""


class SandboxTimeoutError(SandboxError):
    """The work ran over its time limit; the worker was killed and replaced."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"this took too long (more than {seconds:g} s) and was stopped")
        self.seconds = seconds


class SandboxCancelledError(SandboxError):
    """The caller asked to stop; the worker was killed and replaced."""

    def __init__(self) -> None:
        super().__init__("cancelled")


@dataclass(frozen=True)
class Finished:
    """The last item of `Sandbox.steps`: the function's result."""

    value: Any


def _worker_main(conn: Connection, memory_limit: int) -> None:
    """The worker process: import sympy, say ready, then run (function, args) requests."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"  # before numpy loads: one core, and no per-thread buffers
    with contextlib.suppress(Exception):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal stops the app only
    with contextlib.suppress(Exception):
        os.nice(5)  # the GUI process comes first on a busy machine
    with contextlib.suppress(Exception):
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    import sympy  # noqa: F401 - the import is the slow part of a start; do it before "ready"

    try:
        conn.send(("ready", None))
    except (BrokenPipeError, OSError):
        return  # the app closed (or replaced this worker) while it started
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        function, args = request
        try:
            result = ("ok", function(*args))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back as text
            result = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send(("error", f"{type(exc).__name__}: the result could not be sent: {exc}"))


class _Worker:
    """One spawned process and our end of its pipe."""

    def __init__(self, memory_limit: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, memory_limit),
                                       name="visual-lab-sandbox", daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        #: a request nobody waits for any more runs until at most this time (monotonic)
        self.abandoned_until: float | None = None

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.join(5)
        with contextlib.suppress(Exception):
            self.conn.close()
        with contextlib.suppress(Exception):
            self.process.close()


class Sandbox:
    """A worker process for uninterruptible work, with a time limit and cancel."""

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT_S,
                 memory_limit: int = MEMORY_LIMIT_BYTES) -> None:
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self._lock = threading.Lock()       # one call at a time
        self._worker_lock = threading.Lock()  # guards _worker against cancel() / close()
        self._worker: _Worker | None = None
        self._cancel = threading.Event()
        self._closed = False
        self.replacements = 0  # workers killed and replaced (tests, benchmarks)

    # ------------------------------------------------------------------ lifetime
    def start(self) -> None:
        """Start the worker now (it imports sympy in the background), so the first call
        does not wait. Does not block."""
        with self._worker_lock:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if self._worker is None or not self._worker.process.is_alive():
                if self._worker is not None:
                    self._worker.kill()
                self._worker = _Worker(self.memory_limit)

    def close(self) -> None:
        """Kill the worker; later calls fail. Idempotent."""
        with self._worker_lock:
            self._closed = True
            worker, self._worker = self._worker, None
        self._cancel.set()
        if worker is not None:
            worker.kill()

    def cancel(self) -> None:
        """Stop the running call (from any thread): its worker is killed and replaced and
        the call raises SandboxCancelledError."""
        self._cancel.set()

    def worker_pid(self) -> int | None:
        worker = self._worker
        return worker.process.pid if worker is not None else None

    # ------------------------------------------------------------------ calls
    def call(self, function: Callable[..., Any], *args: Any,
             should_stop: Callable[[], bool] | None = None,
             time_limit: float | None = None) -> Any:
        """`function(*args)` in the worker: its result, or SandboxTimeoutError /
        SandboxCancelledError / SandboxError."""
        for item in self.steps(function, *args, should_stop=should_stop,
                               time_limit=time_limit):
            if isinstance(item, Finished):
                return item.value
        raise SandboxCancelledError()  # steps() only ends without a result by raising

    def steps(self, function: Callable[..., Any], *args: Any,
              should_stop: Callable[[], bool] | None = None,
              time_limit: float | None = None,
              stage: str = "computing") -> Iterator[Progress | Finished]:
        """Like `call`, as a generator for a background job: `Progress(stage, fraction of
        the time limit)` about every 0.1 s while waiting, then `Finished(value)`.

        A generator closed early (its job was superseded) leaves its request running: the
        next call drops that result when it comes, or kills the worker at the old call's
        time limit — a superseded call costs no fresh worker unless it overruns."""
        limit = self.time_limit if time_limit is None else time_limit
        stop = should_stop or (lambda: False)
        while not self._lock.acquire(timeout=_POLL_S):
            if stop():
                raise SandboxCancelledError()
        try:
            self._cancel.clear()
            worker = self._ready_worker(stop)
            if worker.abandoned_until is not None:
                yield Progress("finishing the previous computation", 0.0)
                worker = self._drain(worker, stop)
            try:
                worker.conn.send((function, args))
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable argument
                raise SandboxError(f"{type(exc).__name__}: {exc}") from None
            started = last = time.monotonic()
            received = False
            try:
                while True:
                    if self._poll(worker):
                        break
                    now = time.monotonic()
                    if stop() or self._cancel.is_set():
                        self._replace(worker)
                        raise SandboxCancelledError()
                    if now - started > limit:
                        self._replace(worker)
                        raise SandboxTimeoutError(limit)
                    if not worker.process.is_alive():
                        self._replace(worker)
                        raise SandboxError("the symbolic worker stopped unexpectedly "
                                           "(out of memory?)")
                    if now - last >= _PROGRESS_EVERY_S:
                        last = now
                        yield Progress(stage, min(1.0, (now - started) / limit))
                kind, value = self._receive(worker)
                received = True
            finally:
                if not received and self._worker is worker:
                    worker.abandoned_until = started + limit
        finally:
            self._lock.release()
        if kind == "error":
            raise SandboxError(value)
        yield Finished(value)

    def _drain(self, worker: _Worker, stop: Callable[[], bool]) -> _Worker:
        """Wait for (and drop) the result of an abandoned request; kill the worker if it
        runs past that request's time limit. Returns the worker to use."""
        while True:
            if self._poll(worker):
                self._receive(worker)
                worker.abandoned_until = None
                return worker
            if stop() or self._cancel.is_set():
                raise SandboxCancelledError()
            if time.monotonic() > (worker.abandoned_until or 0) or \
                    not worker.process.is_alive():
                self._replace(worker)
                return self._ready_worker(stop)

    # ------------------------------------------------------------------ internals
    def _ready_worker(self, stop: Callable[[], bool]) -> _Worker:
        self.start()
        worker = self._worker
        assert worker is not None
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while not worker.ready:
            if stop() or self._cancel.is_set():
                raise SandboxCancelledError()
            if self._poll(worker):
                kind, _ = self._receive(worker)
                worker.ready = kind == "ready"
                continue
            if not worker.process.is_alive() or time.monotonic() > deadline:
                self._replace(worker)
                raise SandboxError("the symbolic worker could not start")
        return worker

    def _poll(self, worker: _Worker) -> bool:
        try:
            return worker.conn.poll(_POLL_S)
        except (OSError, EOFError, ValueError):
            return False

    def _receive(self, worker: _Worker) -> tuple[str, Any]:
        try:
            return worker.conn.recv()
        except (OSError, EOFError) as exc:
            self._replace(worker)
            raise SandboxError("the symbolic worker stopped unexpectedly") from exc

    def _replace(self, worker: _Worker) -> None:
        """Kill `worker` and start a fresh one in its place (unless closed)."""
        worker.kill()
        with self._worker_lock:
            if self._worker is worker:
                self._worker = None
                self.replacements += 1
        if not self._closed:
            with contextlib.suppress(SandboxError):
                self.start()


__all__ = ["DEFAULT_TIME_LIMIT_S", "Finished", "Sandbox", "SandboxCancelledError", "SandboxError",
           "SandboxTimeoutError"]
