"""Lifetime faults (issue 18, item 14): closing while a worker is blocked never freezes the
window for long and never aborts the process; data preparation looks at the stop flag."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from lab import data as data_module
from lab.data import DataConfig
from widgets.kit.workers import GeneratorWorker, detached_workers, join_detached

ROOT = Path(__file__).resolve().parents[2]


def test_a_blocked_worker_is_detached_not_destroyed(qtbot):
    release = threading.Event()
    entered = threading.Event()

    def blocked(_should_stop):
        entered.set()
        release.wait(30)  # a call that looks at no stop flag
        yield 1

    worker = GeneratorWorker(blocked)
    worker.start()
    assert entered.wait(10)
    assert worker.stop_and_wait(timeout_ms=50) is False  # it could not stop in time
    assert detached_workers() == [worker]
    assert worker.stop_and_wait() is False  # a second close does not wait again
    release.set()
    assert join_detached(10_000) and detached_workers() == []


@pytest.mark.slow
def test_exiting_with_a_blocked_worker_exits_normally_not_sigabrt(tmp_path):
    script = tmp_path / "blocked.py"
    script.write_text(textwrap.dedent(f"""
        import sys, threading
        sys.path.insert(0, {str(ROOT)!r})
        from PySide6.QtCore import QCoreApplication
        from widgets.kit import workers
        from widgets.kit.workers import GeneratorWorker
        app = QCoreApplication([])
        entered = threading.Event()
        def blocked(_should_stop):
            entered.set()
            threading.Event().wait()  # forever
            yield 1
        worker = GeneratorWorker(blocked)
        worker.start()
        entered.wait(10)
        print("stopped:", worker.stop_and_wait(timeout_ms=100), flush=True)
        del worker  # without the detach, this destroyed the running QThread: SIGABRT
        workers.exit_code = 3  # what widgets.app.run sets from app.exec()
        sys.exit(3)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={"QT_QPA_PLATFORM": "offscreen",
                                                      "PATH": "/usr/bin:/bin"})
    assert done.returncode == 3, done.stderr[-2000:]
    assert "stopped: False" in done.stdout
    assert "Destroyed while thread" not in done.stderr


def test_drawing_many_shapes_stops_when_asked():
    checks = []

    def stop():
        checks.append(1)
        return True

    steps = data_module.prepare(DataConfig("shapes", samples=20_000, image_size=128), stop)
    progress = []
    with pytest.raises(StopIteration) as done:
        while True:
            progress.append(next(steps))
    assert done.value.value is None and checks  # stopped after one chunk, not 20,000 shapes


def test_stopped_shapes_are_the_same_shapes_when_not_stopped():
    whole = data_module.make_shapes(300, 16, 0.1, seed=3)
    steps = data_module.shapes_steps(300, 16, 0.1, seed=3)
    with pytest.raises(StopIteration) as done:
        while True:
            next(steps)
    assert (done.value.value.x == whole.x).all() and (done.value.value.y == whole.y).all()
