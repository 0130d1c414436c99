"""Test set-up shared by every test.

- Qt runs offscreen (set before any Qt module loads).
- Settings and user data go to a fresh temp dir per test, never the user's own.
- The Training lab trains on a thread unless a test asks for the trainer process: the app's
  run() sets VISUAL_LAB_TRAINER=process for its process, and a test that calls run() must
  not leave it set for the tests after it (a monkeypatched data set is not seen by a child).
- A test that leaves a worker QThread running fails.
"""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Qt widgets are created per test function; hypothesis drives them within one test.
settings.register_profile(
    "lab", deadline=None, max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# VISUAL_LAB_HYPOTHESIS=stress runs ten times the examples: a deeper hunt before a release
settings.register_profile("stress", parent=settings.get_profile("lab"), max_examples=400)
settings.load_profile(os.environ.get("VISUAL_LAB_HYPOTHESIS", "lab"))


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    config = tmp_path / "config"
    data = tmp_path / "data"
    config.mkdir()
    data.mkdir()
    monkeypatch.setenv("VISUAL_LAB_CONFIG_DIR", str(config))
    monkeypatch.setenv("VISUAL_LAB_DATA_DIR", str(data))
    monkeypatch.delenv("VISUAL_LAB_TRAINER", raising=False)  # restored after the test
    return config


@pytest.fixture(autouse=True)
def no_dangling_threads():
    yield
    workers = sys.modules.get("widgets.kit.workers")
    if workers is None:
        return
    workers.join_detached(10_000)  # left behind by a close that could not wait
    running = workers.running_threads()
    for thread in running:  # clean up so one failure doesn't cascade, then fail
        thread.quit()
        thread.wait(5000)
    assert not running, f"test left {len(running)} worker thread(s) running"
