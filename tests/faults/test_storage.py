"""Storage faults in the science layer (issue 18, items 1–3 and 5): a full or read-only
disk while a run saves its weights or its history costs nothing already saved, never
stops training and is called by its name."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import replace

import pytest
import torch

from lab import files
from lab.data import DataConfig
from lab.training import EpochMetrics, TrainConfig, train
from lab.training.checkpoints import checkpointed, load_checkpoint, save_checkpoint
from lab.training.runs import (
    HistoryDamagedError,
    HistoryUnavailableError,
    RunRecord,
    RunStore,
    recorded,
    records_csv,
)

CFG = TrainConfig(data=DataConfig("moons", samples=80), epochs=6, width=8)


def run(items, on_epoch=None):
    """Drain a run like the worker does, calling on_epoch(epoch) after each epoch."""
    record = RunRecord(0, "run", CFG)
    for item in items:
        record.apply(item)
        if isinstance(item, EpochMetrics) and on_epoch is not None:
            on_epoch(item.epoch)
    return record


def storage_events(record):
    return [e.text for e in record.events if e.kind == "storage"]


# -------------------------------------------------------------------- 1. the final save

@pytest.mark.parametrize("fault", ["short write", "ENOSPC at open", "read-only"])
def test_a_failed_final_save_keeps_the_status_the_metrics_and_the_old_weights(
        tmp_path, disk, fault):
    db = tmp_path / "runs.sqlite"
    weights = tmp_path / "checkpoints" / "run-1.pt"
    short = replace(CFG, epochs=2)
    old = run(checkpointed(train(short), weights, short))  # a previous good save
    good = weights.read_bytes()
    run_id = RunStore(db).create_run(CFG).id
    if fault == "read-only":
        disk.read_only()
    else:
        disk.bytes_before_full = 0 if fault == "ENOSPC at open" else 300
        disk.fill()
    record = run(recorded(checkpointed(train(short), weights, short), db, run_id))
    assert record.status == "completed" and len(record.epochs) == 2
    why = "read-only file system" if fault == "read-only" else "disk full ("
    assert any(f"could not save the weights: {why}" in t for t in storage_events(record))
    if fault != "read-only":
        assert "MB needed)" in record.message
    assert weights.read_bytes() == good  # the previous good file, untouched
    assert load_checkpoint(weights).config == short and old.status == "completed"
    assert [p.name for p in weights.parent.iterdir()] == ["run-1.pt"]  # no temp left
    disk.restore()
    saved = RunStore(db).load_run(run_id)
    assert saved.status == "completed" and "could not save the weights" in saved.message
    assert len(saved.epochs) == 2


def test_torch_saves_short_write_runtime_error_is_a_disk_full_message(tmp_path, monkeypatch):
    """What the campaign saw: torch.save raising RuntimeError (not OSError) on a full disk."""
    def short_write(obj, f, *args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos "
                           "2368 vs 2262")

    monkeypatch.setattr(torch, "save", short_write)
    path = tmp_path / "weights" / "a.pt"
    path.parent.mkdir()
    path.write_bytes(b"previous")
    with pytest.raises(files.WriteError, match=r"could not write .*a\.pt: disk full \("):
        save_checkpoint(path, CFG, {"w": torch.zeros(1000)}, (2,), ["a", "b"])
    assert path.read_bytes() == b"previous"
    assert list(path.parent.iterdir()) == [path]


# -------------------------------------------------------------------- 2. the history mid-run

@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_history_that_stops_saving_mid_run_never_stops_training(tmp_path, disk, fault):
    db = tmp_path / "runs.sqlite"
    run_id = RunStore(db).create_run(CFG).id

    def break_at_epoch_2(epoch):
        if epoch == 2:
            disk.fill_history() if fault == "full" else disk.history_read_only()

    record = run(recorded(train(CFG), db, run_id), break_at_epoch_2)
    assert record.status == "completed" and len(record.epochs) == 6  # training went on
    events = storage_events(record)
    why = "disk full" if fault == "full" else "read-only"
    assert len(events) == 1 and f"not being saved ({why})" in events[0]
    # the history holds what was saved before the fault; memory holds every epoch, and the
    # CSV offered instead has them all
    disk.restore()
    saved = RunStore(db).load_run(run_id)
    assert len(saved.epochs) <= 2 and saved.status == "running"
    text, count = records_csv([record])
    assert count == 6 and text.count("\n") == 7


def test_history_catches_up_when_space_returns(tmp_path, disk):
    db = tmp_path / "runs.sqlite"
    run_id = RunStore(db).create_run(CFG).id

    def fault(epoch):
        if epoch == 2:
            disk.fill_history()
        elif epoch == 4:
            disk.restore()

    record = run(recorded(train(CFG), db, run_id), fault)
    events = storage_events(record)
    assert len(events) == 2 and "saved again" in events[1]
    saved = RunStore(db).load_run(run_id)
    assert saved.status == "completed"
    assert [e.epoch for e in saved.epochs] == [1, 2, 3, 4, 5, 6]  # nothing lost
    assert len(saved.steps) == len(record.steps)


def test_a_history_that_cannot_be_opened_at_all_still_trains(tmp_path, disk):
    db = tmp_path / "runs.sqlite"
    RunStore(db).create_run(CFG)
    disk.fill_history()
    folder_db = tmp_path / "folder.sqlite"
    folder_db.mkdir()
    record = run(recorded(train(CFG), folder_db, 1))
    assert record.status == "completed" and len(record.epochs) == 6
    assert "not being saved (a folder is in its place)" in storage_events(record)[0]


# -------------------------------------------------------------------- 3. full is not damaged

def test_a_full_disk_at_start_is_not_called_a_damaged_file(tmp_path, monkeypatch):
    db = tmp_path / "runs.sqlite"
    RunStore(db).create_run(CFG)
    real_connect = sqlite3.connect

    def io_error(database, *args, uri=False, **kwargs):
        if not uri:  # the read-write open fails as on a full disk; read-only works
            error = sqlite3.OperationalError("disk I/O error")
            error.sqlite_errorcode = 10
            raise error
        return real_connect(database, *args, uri=uri, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", io_error)
    monkeypatch.setattr(files, "free_bytes", lambda path: 4096)
    with pytest.raises(HistoryUnavailableError) as caught:
        RunStore(db)
    assert caught.value.reason == "disk full"
    assert "move it away" not in str(caught.value) and "not a readable" not in str(caught.value)
    assert len(RunStore(db, read_only=True).load_runs()) == 1  # still readable
    monkeypatch.setattr(files, "free_bytes", lambda path: 10 << 30)
    with pytest.raises(HistoryUnavailableError, match=r"disk I/O error"):
        RunStore(db)


def test_a_damaged_file_is_still_called_damaged(tmp_path):
    bad = tmp_path / "runs.sqlite"
    bad.write_bytes(b"not a database" * 300)
    with pytest.raises(HistoryDamagedError, match="move it away"):
        RunStore(bad)


# -------------------------------------------------------------------- 5. stale temp files

def test_stale_temp_files_of_our_naming_are_removed_and_nothing_else(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    legacy_old = folder / ".run-3.pt.k2j4_x9a.tmp"  # what tempfile.mkstemp named them
    legacy_new = folder / ".run-4.pt.abcdefgh.tmp"  # maybe a save in progress elsewhere
    dead = folder / ".run-5.pt.999999999-0123abcd.tmp"  # its process is gone
    alive = files.temp_name(folder / "run-6.pt")  # ours, in progress
    keep = [folder / "run-1.pt", folder / ".notes.tmp", folder / "x.tmp"]
    for path in (legacy_old, legacy_new, dead, alive, *keep):
        path.write_bytes(b"x" * 1000)
    past = time.time() - 3600
    os.utime(legacy_old, (past, past))
    assert files.remove_stale_temps(folder) == (2, 2000)
    assert sorted(folder.iterdir()) == sorted([legacy_new, alive, *keep])
