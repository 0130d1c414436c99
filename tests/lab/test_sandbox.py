"""lab.sandbox: symbolic work in a worker process, with a time limit and a real cancel."""

from __future__ import annotations

import os
import threading
import time

import pytest

from lab.progress import Progress
from lab.sandbox import Finished, Sandbox, SandboxCancelledError, SandboxError, SandboxTimeoutError
from tests.lab import sandbox_work as work

pytestmark = pytest.mark.slow  # worker processes


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(time_limit=3.0)
    box.start()
    yield box
    box.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child may linger as a zombie until joined; /proc tells them apart
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_call_returns_the_workers_result_in_another_process(sandbox):
    assert sandbox.call(work.derivative, "x**3 + sin(x)") == "3*x**2 + cos(x)"
    assert sandbox.call(work.pid) != os.getpid()


def test_an_exception_comes_back_as_its_message(sandbox):
    with pytest.raises(SandboxError, match="ValueError: no such thing"):
        sandbox.call(work.fail, "no such thing")
    assert sandbox.call(work.sleep_then, 0, 7) == 7  # the worker survived


def test_a_slow_expression_is_killed_at_the_time_limit_and_the_worker_replaced(sandbox):
    old = sandbox.call(work.pid)
    started = time.monotonic()
    with pytest.raises(SandboxTimeoutError, match="took too long"):
        sandbox.call(work.explode, 60, time_limit=0.5)
    assert time.monotonic() - started < 10
    assert not _alive(old)
    assert sandbox.call(work.derivative, "x**2") == "2*x"
    assert sandbox.call(work.pid) != old


def test_cancel_from_another_thread_kills_the_running_call(sandbox):
    old = sandbox.call(work.pid)
    timer = threading.Timer(0.3, sandbox.cancel)
    timer.start()
    with pytest.raises(SandboxCancelledError):
        sandbox.call(work.sleep_then, 60, 1, time_limit=120)
    timer.join()
    assert not _alive(old)
    assert sandbox.call(work.sleep_then, 0, 3) == 3


def test_steps_yield_progress_then_the_value_and_stop_when_asked(sandbox):
    items = list(sandbox.steps(work.sleep_then, 0.35, 5, time_limit=2))
    assert isinstance(items[-1], Finished) and items[-1].value == 5
    assert any(isinstance(i, Progress) and 0 < i.fraction < 1 for i in items[:-1])
    stop = threading.Event()
    seen = []
    with pytest.raises(SandboxCancelledError):
        for item in sandbox.steps(work.sleep_then, 60, 1, should_stop=stop.is_set,
                                  time_limit=120):
            seen.append(item)
            stop.set()
    assert len(seen) == 1 and isinstance(seen[0], Progress)


def test_a_closed_generator_never_hands_its_result_to_the_next_call(sandbox):
    old = sandbox.call(work.pid)
    steps = sandbox.steps(work.sleep_then, 0.4, 111, time_limit=5)
    assert not isinstance(next(steps), Finished)  # the first progress report
    steps.close()  # superseded: the request is left running
    assert sandbox.call(work.sleep_then, 0, 222) == 222
    assert sandbox.call(work.pid) == old  # drained, not killed
