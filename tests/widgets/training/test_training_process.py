"""The Training lab with its trainer in a separate process (issue 20), as the app runs it.

One trainer is shared by the module's tests (spawning one imports torch: seconds); the
tests that end a trainer come last, and the run after each shows a fresh one works."""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
from dataclasses import replace

import numpy as np
import pytest
import torch

from lab.data import DataConfig
from lab.training import EpochMetrics, RunFinished, RunStarted, TrainConfig, train
from lab.training import process as trainers
from lab.training.checkpoints import load_checkpoint
from lab.training.process import RemoteRun, TrainJob, decode_items, encode_items
from lab.training.runs import RunStore, default_db_path
from tests.widgets.training import test_training_panel as in_thread
from widgets.kit.settings import TRAINER_ENV, data_dir
from widgets.kit.workers import RelayWorker
from widgets.training import panel as panel_module

pytestmark = pytest.mark.slow  # spawned trainers
TINY = in_thread.TINY
#: the trainer is fast: the thread tests' long run ends before a test can change it
LONG = replace(in_thread.LONG, epochs=10_000)
wait_idle = in_thread.wait_idle


@pytest.fixture(scope="module", autouse=True)
def shared_trainer():
    trainers.shared_pool().prestart()
    yield trainers.shared_pool()
    trainers.close_shared_pool()
    assert multiprocessing.active_children() == []


@pytest.fixture(autouse=True)
def in_process(monkeypatch):
    monkeypatch.setenv(TRAINER_ENV, "process")
    monkeypatch.setattr(in_thread, "LONG", LONG)


@pytest.fixture
def panel(qtbot):
    widget = in_thread.make_panel(qtbot)
    yield widget
    widget.shutdown()


def child_pids() -> set[int]:
    """Processes whose parent is this one, zombies included (from /proc)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                found.add(int(entry))
    return found


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as text:
            return text.read()
    except OSError:
        return ""


def trainer_pid(panel) -> int:
    return panel.worker.remote.trainer.pid


# ------------------------------------------------------------------------- the same run

def test_a_run_in_the_trainer_matches_the_same_run_in_process(tmp_path):
    config = TrainConfig(data=DataConfig("moons", samples=120, seed=3), epochs=4, width=8,
                         dropout=0.1, l1=1e-4, seed=5)
    local = [i for i in train(config) if isinstance(i, EpochMetrics)]
    checkpoint = tmp_path / "run.pt"
    run = RemoteRun(TrainJob(config, checkpoint=str(checkpoint), meta={"run": "#1"}))
    items = list(run.items())
    assert run.failure == "" and not run.stopped
    remote = [i for i in items if isinstance(i, EpochMetrics)]
    assert [(e.train_loss, e.val_loss, e.val_accuracy) for e in remote] == [
        (e.train_loss, e.val_loss, e.val_accuracy) for e in local]
    finished = items[-1]
    assert isinstance(finished, RunFinished) and finished.status == "completed"
    # the checkpoint the trainer wrote holds the weights that came back to the GUI
    saved = load_checkpoint(checkpoint)
    assert saved.meta["run"] == "#1" and saved.config == config
    for name, tensor in finished.state_dict.items():
        assert torch.equal(saved.state_dict[name], tensor)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_trainer_trains_on_the_gpu():
    run = RemoteRun(TrainJob(replace(TINY, device="cuda")))
    items = list(run.items())
    started = next(i for i in items if isinstance(i, RunStarted))
    assert run.failure == "" and started.device == "cuda"
    assert items[-1].status == "completed"


def test_items_travel_as_small_bytes():
    snapshot = trainers.RunFinished("completed", "done", 2, 3,
                                    {"w": torch.arange(6.0).reshape(2, 3)})
    boundary = trainers.DataProgress("x", 1, 2)
    back = decode_items(encode_items([boundary, snapshot]))
    assert back[0] == boundary and torch.equal(back[1].state_dict["w"], snapshot.state_dict["w"])


# ------------------------------------------------------------------------- the panel

def test_the_panel_trains_in_the_trainer_and_the_history_is_written_there(qtbot, panel):
    record = in_thread.train_tiny(qtbot, panel)
    assert record.status == "completed" and len(record.epochs) == TINY.epochs
    assert record.weights is not None and record.boundary is not None
    assert record.modes is not None and record.final_state is not None
    assert isinstance(record.boundary.eval_probs, np.ndarray)
    saved = RunStore(default_db_path(data_dir())).load_run(record.id)
    assert saved.status == "completed" and len(saved.epochs) == TINY.epochs
    assert panel.checkpoint_path(record.id).is_file()  # written by the trainer


def test_live_changes_pause_and_stop_reach_the_trainer(qtbot, panel):
    in_thread.test_live_changes_reach_the_run_and_are_marked(qtbot, panel)
    in_thread.test_pause_and_resume(qtbot, panel)


def test_checkpoint_round_trip_and_warm_start_through_the_trainer(qtbot, panel, tmp_path):
    # the final weights come back as bytes; a warm start's weights go to the trainer so
    in_thread.test_checkpoint_round_trip_and_errors(qtbot, panel, tmp_path)


def test_kfold_and_early_stopping_in_the_trainer(qtbot, panel):
    in_thread.test_kfold_run_shows_folds_and_band(qtbot, panel)
    config = TrainConfig(data=DataConfig("moons", samples=100), epochs=200, width=8,
                         early_stopping=True, patience=2, lr=0.2)
    record = in_thread.train_tiny(qtbot, panel, config)
    assert record.status == "early_stopped" and len(record.epochs) < 200


def test_out_of_memory_in_the_trainer_is_explained(qtbot, panel, monkeypatch):
    monkeypatch.setattr(panel_module, "TrainJob", functools.partial(TrainJob, fault="oom@30"))
    record = in_thread.train_tiny(qtbot, panel, LONG)
    assert record.status == "out_of_memory"
    assert "ran out of memory" in panel.banner.message()
    monkeypatch.setattr(panel_module, "TrainJob",
                        functools.partial(TrainJob, fault="memory@30"))
    record = in_thread.train_tiny(qtbot, panel, LONG)
    assert record.status == "failed"
    assert "The computer ran out of memory while training" in panel.banner.message()


# ------------------------------------------------------------------ trainers that end

def test_a_killed_trainer_fails_the_run_keeps_its_epochs_and_the_next_run_trains(qtbot,
                                                                                 panel):
    panel.form.set_config(LONG)
    panel.start()
    record = panel.running
    qtbot.waitUntil(lambda: len(record.epochs) >= 2, timeout=30_000)
    os.kill(trainer_pid(panel), signal.SIGKILL)
    wait_idle(qtbot, panel)
    assert record.status == "failed"
    assert "The trainer process was killed (SIGKILL)" in panel.banner.message()
    assert "completed epochs are kept" in panel.banner.message()
    saved = RunStore(default_db_path(data_dir())).load_run(record.id)
    assert saved.status == "failed" and len(saved.epochs) >= 2
    following = in_thread.train_tiny(qtbot, panel)  # a fresh trainer
    assert following.status == "completed"


def test_a_crashing_trainer_is_reported_in_plain_words(qtbot, panel, monkeypatch):
    monkeypatch.setattr(panel_module, "TrainJob", functools.partial(TrainJob, fault="crash@40"))
    record = in_thread.train_tiny(qtbot, panel, LONG)
    assert record.status == "failed"
    assert "The trainer process crashed (SIGABRT)" in panel.banner.message()


def test_stop_during_a_slow_step_ends_the_trainer_and_says_so(qtbot, panel, monkeypatch):
    monkeypatch.setattr(panel_module, "TrainJob",
                        functools.partial(TrainJob, fault="sleep@300:60"))
    panel.form.set_config(LONG)
    panel.start()
    record = panel.running
    qtbot.waitUntil(lambda: len(record.steps) >= 100, timeout=30_000)
    qtbot.wait(1500)
    assert len(record.steps) < 300  # not past the long step
    panel.stop()
    # idle again well before the step would end (within the grace period and a kill)
    wait_idle(qtbot, panel, timeout=5_000)
    assert record.status == "stopped"
    assert "was busy with a step" in panel.progress_label.text()


def test_closing_mid_run_leaves_no_process_and_no_thread(qtbot, panel):
    in_thread.start_long_run(qtbot, panel, 2)
    assert isinstance(panel.worker, RelayWorker)
    panel.close()
    panel.shutdown()  # what closing the window does, then the app ends the trainers
    trainers.close_shared_pool()
    assert multiprocessing.active_children() == []
    # exit codes collected: not even a zombie. (multiprocessing's resource tracker, which
    # spawn starts once, stays until this process ends: it leaves when its pipe closes)
    left = [pid for pid in child_pids() if "resource_tracker" not in command_line(pid)]
    assert left == []


def test_the_app_prestarts_the_trainer_after_its_first_paint_and_ends_it_on_close(qtbot):
    from widgets.app import MainWindow

    trainers.close_shared_pool()
    window = MainWindow(save_settings=False)
    qtbot.addWidget(window)
    assert trainers.shared_pool().processes() == []  # nothing before the first paint
    window.show()
    qtbot.waitUntil(lambda: trainers.shared_pool().processes() != [], timeout=60_000)
    window.close()  # ends the trainer, even while it is still loading torch
    assert multiprocessing.active_children() == []
    assert [p for p in child_pids() if "resource_tracker" not in command_line(p)] == []
