"""Training in its own process: the trainer gets its own interpreter and GIL, the GUI only
draws (issue 20). No Qt here: a GUI drives `RemoteRun.items()` from a thread of its own.

    pool = shared_pool(); pool.prestart()          # once the window is painted
    run = RemoteRun(TrainJob(cfg, db_path=..., run_id=7), pool)
    for item in run.items():                       # on a relay thread
        ...                                        # what `train()` yields, in order
    run.set("lr", 0.01); run.pause(); run.resume(); run.stop()   # from any thread

The trainer is started with the `spawn` method (a fork of a process that runs Qt inherits
its threads' locks half-taken) and kept for the next run; importing torch in it takes
seconds, so a GUI pre-starts it. In the trainer, `train()` runs wrapped as in a thread
(`checkpointed`, then `recorded`): the checkpoint is written atomically and the SQLite run
history per epoch, by the trainer. Its items travel in batches (at most every
`TrainJob.interval` s, the first at once) as pickled bytes: plain dataclasses and numpy
arrays; the final weights as `torch.save` bytes, read back with `weights_only=True`.

Faults: a trainer that dies (kill -9, a crash, the system's out-of-memory killer) ends its
run with `RemoteRun.failure` in plain words and is replaced; Python's MemoryError and
torch's out-of-memory errors are reported as such. A stop the trainer does not answer
within STOP_GRACE_S (a step that takes long) ends the trainer: the run stops at once and a
fresh trainer starts in the background.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from multiprocessing.connection import Connection
from typing import Any

from lab.data import DataProgress
from lab.training.config import TrainConfig, TrainControls, live_setting_problem
from lab.training.events import RunFinished, StepMetrics

#: how long a stopped run may take to finish its step before its trainer is ended
STOP_GRACE_S = 0.5
#: how long an idle trainer is given to leave on its own when asked, before it is ended
QUIT_WAIT_S = 1.0
#: how often the trainer looks for messages (stop, pause, live changes) between batches
POLL_INTERVAL_S = 0.002


@dataclass(frozen=True)
class TrainJob:
    """Everything a trainer needs for one run (picklable)."""

    config: TrainConfig
    #: the starting weights as `torch.save` bytes (see `state_bytes`), or None
    initial_state: bytes | None = None
    checkpoint: str | None = None     # where the final weights are saved
    meta: dict[str, Any] = field(default_factory=dict)
    db_path: str | None = None        # the run history the trainer writes per epoch
    run_id: int = 0
    env: dict[str, str] = field(default_factory=dict)
    interval: float = 0.1             # items are sent at most this often (the first at once)
    #: for the fault tests only: "oom@N" / "memory@N" raise out of memory at step N,
    #: "crash@N" ends the trainer abruptly, "sleep@N:S" makes step N take S seconds longer
    fault: str = ""


# =========================================================================== encoding

def state_bytes(state: dict | None) -> bytes | None:
    if state is None:
        return None
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def state_from_bytes(blob: bytes | None) -> dict | None:
    if blob is None:
        return None
    import torch

    return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)


def encode_items(items: list[Any]) -> bytes:
    """Pickled items; a RunFinished's weights ride along as `torch.save` bytes, so nothing
    but plain values and numpy arrays is pickled (no tensor shared-memory handles). The
    many StepMetrics go as plain tuples of their fields: a third of the bytes and time of
    pickled dataclasses."""
    plain, weights = [], None
    for item in items:
        if type(item) is StepMetrics:
            item = tuple(item.__dict__.values())
        elif isinstance(item, RunFinished) and item.state_dict is not None:
            weights = state_bytes(item.state_dict)
            item = replace(item, state_dict=None)
        plain.append(item)
    return pickle.dumps((plain, weights), protocol=pickle.HIGHEST_PROTOCOL)


_STEP_FIELDS = tuple(f.name for f in fields(StepMetrics))
_new_step = object.__new__


def decode_items(blob: bytes) -> list[Any]:
    plain, weights = pickle.loads(blob)
    state = state_from_bytes(weights) if weights is not None else None
    out = []
    for item in plain:
        if type(item) is tuple:  # a StepMetrics, built without the frozen __init__'s
            step = _new_step(StepMetrics)  # object.__setattr__ per field (4× slower)
            step.__dict__.update(zip(_STEP_FIELDS, item, strict=True))
            item = step
        elif state is not None and isinstance(item, RunFinished):
            item = replace(item, state_dict=state)
        out.append(item)
    return out


# =========================================================================== the trainer

def trainer_main(conn: Connection, threads: int | None = None) -> None:
    """The trainer process: import torch once, say "ready", then run jobs until told to
    quit or the GUI is gone (its end of the pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the GUI, which ends us
    import torch

    from lab import data as data_module
    from lab.training import (  # noqa: F401
        checkpoints,
        loop,  # noqa: F401 - everything a run needs, imported now
        runs,
    )

    data_module.warm_up()
    torch.set_num_threads(threads or trainer_threads(torch.get_num_threads()))
    _warm_up()
    try:
        conn.send(("ready", {"pid": os.getpid(), "threads": torch.get_num_threads()}))
        while True:
            message = conn.recv()
            if message[0] == "quit":
                return
            if message[0] == "run" and not _serve(conn, message[1]):
                return
            # a stop, pause or change that came after its run ended: nothing to do
    except (EOFError, OSError):  # the GUI is gone: so are we
        return


def _warm_up() -> None:
    """Two throwaway one-epoch runs (an MLP on points, a CNN on images), so that the first
    real run finds everything imported and its kernels loaded (a first Start waited ~2 s)."""
    from lab.data import DataConfig
    from lab.training.loop import train

    for config in (TrainConfig(data=DataConfig("moons", samples=40), epochs=1, width=4),
                   TrainConfig(data=DataConfig("shapes", samples=40), arch="small_cnn",
                               width=4, batchnorm=True, epochs=1)):
        with contextlib.suppress(Exception):  # a warm-up, never a reason not to start
            for _item in train(config):
                pass


def trainer_threads(default: int) -> int:
    """The trainer's torch threads: torch's default (one per physical core), but one core
    left to the GUI. On 2 cores the window's redraws otherwise take a core from one of
    OpenMP's two threads, and every parallel op then waits at its barrier for the one that
    lost its core (the panel ran at 0.8 of a bare loop; with one thread each, ~1.0).
    Anything compared with the trainer (the benchmark's bare loop) uses the same count."""
    return max(1, min(default, (os.cpu_count() or 2) - 1))


class _Session:
    """The trainer's side of one run: messages from the GUI, read between batches."""

    def __init__(self, conn: Connection, controls: TrainControls, fault: str) -> None:
        self.conn = conn
        self.controls = controls
        self.stopped = False
        self.paused = False
        self.gui_gone = False
        self._last_poll = 0.0
        self._steps = 0
        self._fault_kind, _, rest = fault.partition("@")
        at, _, seconds = rest.partition(":")
        self._fault_step = int(at) if at else -1
        self._fault_seconds = float(seconds or 0)

    def _read(self, timeout: float) -> None:
        try:
            while self.conn.poll(timeout):
                self._handle(self.conn.recv())
                timeout = 0
        except (EOFError, OSError):
            self.gui_gone = self.stopped = True

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "stop":
            self.stopped = True
        elif kind == "pause":
            self.paused = True
        elif kind == "resume":
            self.paused = False
        elif kind == "control":
            with contextlib.suppress(ValueError):  # checked by the GUI already
                self.controls.set(message[1], message[2])
        elif kind == "quit":
            self.gui_gone = self.stopped = True

    def should_stop(self) -> bool:
        """Cheap between batches (a message check at most every POLL_INTERVAL_S); blocks
        while paused."""
        now = time.perf_counter()
        if now - self._last_poll >= POLL_INTERVAL_S:
            self._last_poll = now
            self._read(0)
            while self.paused and not self.stopped:
                self._read(0.05)
        return self.stopped

    def step(self) -> None:
        """Counts steps for the fault tests' injected faults."""
        self._steps += 1
        if self._steps != self._fault_step:
            return
        kind = self._fault_kind
        if kind == "oom":
            import torch

            raise torch.OutOfMemoryError("CUDA out of memory (a fault injected by a test)")
        if kind == "memory":
            raise MemoryError("a fault injected by a test")
        if kind == "crash":
            os.abort()
        if kind == "sleep":
            time.sleep(self._fault_seconds)

    def send(self, message: tuple) -> bool:
        try:
            self.conn.send(message)
        except (EOFError, OSError):
            self.gui_gone = self.stopped = True
        return not self.gui_gone


def _failure_text(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return (f"The computer ran out of memory while training ({exc or 'MemoryError'}). "
                "Try a smaller batch size, a smaller model or less data.")
    return f"{type(exc).__name__}: {exc}"


def _serve(conn: Connection, job: TrainJob) -> bool:
    """Run one job, sending its items; False if the GUI is gone."""
    from lab.training.checkpoints import checkpointed
    from lab.training.loop import train
    from lab.training.runs import recorded

    os.environ.update(job.env)
    controls = TrainControls()
    session = _Session(conn, controls, job.fault)
    should_stop = session.should_stop
    if session._fault_kind:
        def should_stop() -> bool:  # the loop asks once a batch, before the batch
            session.step()
            return session.should_stop()
    failure = ""
    pending: list[Any] = []
    last = -1.0
    items = train(job.config, should_stop, controls, state_from_bytes(job.initial_state))
    if job.checkpoint:
        items = checkpointed(items, job.checkpoint, job.config, job.meta)
    if job.db_path:
        items = recorded(items, job.db_path, job.run_id)
    try:
        for item in items:
            pending.append(item)
            now = time.monotonic()
            if now - last >= job.interval:
                if not session.send(("items", encode_items(pending))):
                    break
                pending, last = [], now
            if session.should_stop():
                break
    except Exception as exc:  # noqa: BLE001 - reported to the GUI, never raised
        failure = _failure_text(exc)
    finally:
        items.close()  # a stopped run: `recorded` marks it stopped in the history now
    if pending:
        session.send(("items", encode_items(pending)))
    if failure:
        session.send(("failed", failure))
    session.send(("done", session.stopped))
    return not session.gui_gone


# =========================================================================== GUI side

class TrainerGoneError(Exception):
    """The trainer process ended while it was needed."""


def describe_exit(code: int | None) -> str:
    """A trainer's end, in plain words."""
    if code is not None and code < 0:
        number = -code
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGKILL:
            return ("The trainer process was killed (SIGKILL): by kill -9, or by the system "
                    "when memory ran out.")
        if number in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE,
                      signal.SIGILL):
            return f"The trainer process crashed ({name})."
        return f"The trainer process was ended by a signal ({name})."
    if code is None:
        return "The trainer process stopped answering."
    return f"The trainer process exited unexpectedly (exit code {code})."


_MAIN_LOCK = threading.Lock()


class TrainerProcess:
    """One trainer process and its end of the pipe. Sending is thread-safe; one thread at
    a time reads (the run that holds it)."""

    def __init__(self, threads: int | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=trainer_main, args=(child, threads),
                                       name="visual-lab-trainer", daemon=True)
        with _MAIN_LOCK:
            # spawn runs the parent's main script again in the child unless it is a
            # package's __main__ (`python main.py`, a bench, a test runner's script): the
            # trainer needs none of it, so for this moment __main__ is an empty module
            main = sys.modules.get("__main__")
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                self.process.start()
            finally:
                sys.modules["__main__"] = main
        child.close()
        self.ready = False
        self.info: dict[str, Any] = {}
        self._send_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.is_alive()

    def send(self, message: tuple) -> None:
        """Raises TrainerGoneError if the trainer has ended."""
        try:
            with self._send_lock:
                self.conn.send(message)
        except (OSError, EOFError, ValueError) as exc:
            raise TrainerGoneError(str(exc)) from exc

    def receive(self, timeout: float) -> tuple | None:
        """The next message, or None after `timeout` s; raises TrainerGoneError at its end."""
        try:
            if not self.conn.poll(timeout):
                return None
            return self.conn.recv()
        except (OSError, EOFError, ValueError) as exc:
            raise TrainerGoneError(str(exc)) from exc

    def wait_ready(self, timeout: float) -> bool:
        if not self.ready:
            message = self.receive(timeout)
            if message is not None and message[0] == "ready":
                self.ready, self.info = True, message[1]
        return self.ready

    def end(self, wait: float = QUIT_WAIT_S) -> int | None:
        """Ask it to leave, then terminate and kill as needed; its exit code is collected
        (no zombie)."""
        if self.process.is_alive() and wait > 0:
            with contextlib.suppress(TrainerGoneError):
                self.send(("quit",))
            self.process.join(wait)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)
        with contextlib.suppress(OSError):
            self.conn.close()
        return self.process.exitcode


class TrainerPool:
    """The trainer kept between runs: at most one idle, started ahead of need."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._idle: TrainerProcess | None = None
        self._busy: set[TrainerProcess] = set()
        self._lock = threading.Lock()

    def prestart(self) -> None:
        """Start a trainer now if none is idle (from any thread but the GUI's: starting a
        process takes ~10 ms and the first import of this module imports torch)."""
        with self._lock:
            if self._idle is not None and not self._idle.alive():
                self._idle.end(0)
                self._idle = None
            if self._idle is None:
                self._idle = TrainerProcess(self.threads)

    def wait_ready(self, timeout: float) -> bool:
        """Wait (from a thread that may block) until the idle trainer has loaded torch."""
        with self._lock:
            trainer = self._idle
        return trainer is not None and trainer.wait_ready(timeout)

    def acquire(self) -> TrainerProcess:
        with self._lock:
            trainer, self._idle = self._idle, None
            if trainer is not None and not trainer.alive():
                trainer.end(0)
                trainer = None
            if trainer is None:
                trainer = TrainerProcess(self.threads)
            self._busy.add(trainer)
            return trainer

    def release(self, trainer: TrainerProcess) -> None:
        """A run is done with `trainer`: keep it for the next one if it is well."""
        with self._lock:
            self._busy.discard(trainer)
            if self._idle is not None or not trainer.alive():
                keep = False
            else:
                self._idle, keep = trainer, True
        if not keep:
            trainer.end()

    def discard(self, trainer: TrainerProcess, restart: bool = True) -> int | None:
        """End a failed or unanswering trainer (collecting its exit code) and, unless
        told not to, start a fresh one for the next run."""
        with self._lock:
            self._busy.discard(trainer)
        code = trainer.end(0)
        if restart:
            self.prestart()
        return code

    def close(self) -> None:
        """End every trainer (idle ones are asked to quit; running ones are ended); a
        later run starts a new one."""
        with self._lock:
            trainers = [t for t in (self._idle, *self._busy) if t is not None]
            self._idle = None
            self._busy.clear()
        for trainer in trainers:
            trainer.end()

    def processes(self) -> list[TrainerProcess]:
        with self._lock:
            return [t for t in (self._idle, *self._busy) if t is not None]


_POOL: TrainerPool | None = None
_POOL_LOCK = threading.Lock()


def shared_pool() -> TrainerPool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = TrainerPool()
        return _POOL


def close_shared_pool() -> None:
    if _POOL is not None:
        _POOL.close()


class RemoteRun:
    """One run on a trainer, seen from the GUI: `items()` (on a relay thread) yields what
    the trainer's `train()` yields; `set` / `pause` / `resume` / `stop` from any thread.
    After `items()` ends: `stopped`, `failure` ("" or what went wrong, in plain words)."""

    def __init__(self, job: TrainJob, pool: TrainerPool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.job = job
        self.pool = pool or shared_pool()
        self.stopped = False
        self.failure = ""
        self.trainer: TrainerProcess | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._early: list[tuple] = []   # messages sent before the trainer had the job
        self._stop_at: float | None = None
        self._paused = False
        self._ticks = False
        #: what the items cost to receive: batches, bytes and seconds spent unpickling
        self.batches = self.received_bytes = 0
        self.decode_seconds = 0.0

    # -- from the GUI --------------------------------------------------------------
    def set(self, name: str, value: float) -> None:
        """A live change (as `TrainControls.set`: ValueError for a value out of range)."""
        problem = live_setting_problem(name, float(value))
        if problem:
            raise ValueError(problem)
        self._send(("control", name, float(value)))

    def pause(self) -> None:
        self._paused = True
        self._send(("pause",))

    def resume(self) -> None:
        self._paused = False
        self._send(("resume",))

    def is_paused(self) -> bool:
        return self._paused

    def stop(self) -> None:
        with self._lock:
            if self._stop_at is None:
                self._stop_at = self._clock()
        self._send(("stop",))

    def stop_requested(self) -> bool:
        return self._stop_at is not None

    def _send(self, message: tuple) -> None:
        with self._lock:
            if self.trainer is None:
                self._early.append(message)
                return
            trainer = self.trainer
        with contextlib.suppress(TrainerGoneError):  # the relay notices and says so
            trainer.send(message)

    # -- on the relay thread ----------------------------------------------------------
    def items(self, ticks: bool = False) -> Iterator[Any]:
        """What the trainer's run yields; with `ticks`, also None whenever nothing came
        for a moment (so a relay can pass on what it holds)."""
        self._ticks = ticks
        try:
            trainer = self.pool.acquire()
        except (TrainerGoneError, OSError) as exc:
            self.failure = f"The trainer process could not be started ({exc})."
            return
        try:
            if not trainer.ready:
                yield DataProgress("Starting the trainer process (it loads PyTorch once)…")
                while not trainer.wait_ready(0.05):
                    if self._stop_at is not None:
                        self.stopped = True
                        self.pool.release(trainer)
                        return
                    if not trainer.alive():
                        raise TrainerGoneError("it ended while starting")
            with self._lock:
                trainer.send(("run", self.job))
                for message in self._early:
                    trainer.send(message)
                self._early = []
                self.trainer = trainer
            yield from self._follow(trainer)
        except TrainerGoneError:
            trainer.process.join(1.0)
            self.failure = (f"{describe_exit(trainer.process.exitcode)} The run's completed "
                            "epochs are kept; the next Start uses a fresh trainer.")
            self.pool.discard(trainer)

    def _follow(self, trainer: TrainerProcess) -> Iterator[Any]:
        while True:
            if self._stop_at is not None and self._clock() - self._stop_at > STOP_GRACE_S:
                self.stopped = True
                self.pool.discard(trainer)
                yield RunFinished(
                    "stopped", "Stopped by you. The trainer was busy with a step for over "
                    f"{STOP_GRACE_S:g} s, so it was ended (the completed epochs are kept; a "
                    "fresh trainer is starting for the next run).")
                return
            message = trainer.receive(0.02)
            if message is None:
                if not trainer.alive():
                    raise TrainerGoneError("it ended")
                if self._ticks:
                    yield None
                continue
            kind = message[0]
            if kind == "items":
                started = time.perf_counter()
                items = decode_items(message[1])
                self.decode_seconds += time.perf_counter() - started
                self.batches += 1
                self.received_bytes += len(message[1])
                yield from items
            elif kind == "failed":
                self.failure = message[1]
            elif kind == "done":
                self.stopped = bool(message[1]) or self._stop_at is not None
                self.pool.release(trainer)
                return
