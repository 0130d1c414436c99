import csv
import sqlite3

import numpy as np
import pytest

from lab.data import DataConfig
from lab.training import EpochMetrics, RunFinished, StepMetrics, TrainConfig, train
from lab.training.runs import RunRecord, RunStore, recorded

CFG = TrainConfig(data=DataConfig("moons", samples=120), epochs=5, width=8)


def record_run(store, db_path, cfg=CFG, **kwargs):
    record = store.create_run(cfg, **kwargs)
    for item in recorded(train(cfg), db_path, record.id):
        record.apply(item)
    return record


def test_runs_persist_across_restarts_with_configs_and_metrics(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    first = record_run(store, db)
    second = record_run(store, db, TrainConfig(data=CFG.data, epochs=3, width=8, dropout=0.5),
                        parent_id=first.id, change="dropout 0 → 0.5")
    store.close()

    again = RunStore(db).load_runs()  # a new connection: what the next app start sees
    assert [r.id for r in again] == [first.id, second.id]
    loaded = again[0]
    assert loaded.config == CFG and loaded.status == "completed" and loaded.name == "#1"
    assert len(loaded.epochs) == 5 and loaded.epochs == first.epochs
    assert np.array_equal(loaded.steps.column("loss"), first.steps.column("loss"))
    assert loaded.best_epoch == first.best_epoch and loaded.device.startswith("CPU")
    assert loaded.weights is not None and len(loaded.weights.layers) == len(
        first.weights.layers)
    assert loaded.boundary.eval_probs.shape == first.boundary.eval_probs.shape
    assert np.allclose(loaded.boundary.eval_probs, first.boundary.eval_probs, atol=1e-3)
    assert again[1].parent_id == first.id and again[1].change == "dropout 0 → 0.5"
    assert again[1].config.dropout == 0.5


def test_each_epoch_is_committed_as_it_ends(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    run = store.create_run(CFG)
    items = recorded(train(CFG), db, run.id)
    epochs_seen = 0
    for item in items:
        if isinstance(item, EpochMetrics):
            epochs_seen += 1
            if epochs_seen == 3:
                break
    # another reader (as after a crash) already sees the three finished epochs
    reader = sqlite3.connect(db)
    count = reader.execute("SELECT COUNT(*) FROM epochs WHERE run_id = ?", (run.id,)).fetchone()
    steps = reader.execute("SELECT COUNT(*) FROM steps WHERE run_id = ?", (run.id,)).fetchone()
    reader.close()
    assert count[0] == 3 and steps[0] == 3 * 3
    items.close()  # the worker dropping the generator: the run is marked stopped
    assert RunStore(db).status(run.id) == "stopped"


def test_a_failing_run_is_marked_failed_and_the_error_goes_on(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    run = store.create_run(CFG)

    def broken():
        yield from train(CFG)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        for _ in recorded(broken(), db, run.id):
            pass
    # RunFinished came first, then the error: the error wins
    loaded = RunStore(db).load_run(run.id)
    assert loaded.status == "failed" and "disk on fire" in loaded.message


def test_interrupted_runs_are_marked_on_the_next_start(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    run = store.create_run(CFG)
    # its owner is gone (the app that trained it crashed): pid 999999999 runs nowhere
    owner = store.db.execute("SELECT owner FROM runs").fetchone()[0]
    host = owner.split(":")[0]
    store.db.execute("UPDATE runs SET owner = ?", (f"{host}:999999999:1",))
    store.commit()
    assert RunStore(db).mark_interrupted() == 1
    loaded = RunStore(db).load_run(run.id)
    assert loaded.status == "interrupted" and "closed while this run trained" in loaded.message


def test_csv_export_of_epochs_and_steps(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    a = record_run(store, db)
    b = record_run(store, db, TrainConfig(data=CFG.data, epochs=2, width=8))
    store.rename_run(b.id, "short run")
    path = tmp_path / "epochs.csv"
    assert store.export_csv([a.id, b.id], path) == 7
    rows = list(csv.DictReader(path.open()))
    assert rows[0]["run_name"] == "#1" and rows[-1]["run_name"] == "short run"
    assert float(rows[0]["val_loss"]) == pytest.approx(a.epochs[0].val_loss)
    steps = tmp_path / "steps.csv"
    assert store.export_csv([a.id], steps, "steps") == len(a.steps)
    header = steps.open().readline().strip().split(",")
    assert header == ["run_id", "run_name", "fold", "step", "epoch", "position", "loss",
                      "accuracy", "lr"]


def test_delete_removes_everything_of_a_run(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    run = record_run(store, db)
    store.delete_run(run.id)
    assert store.run_ids() == []
    for table in ("epochs", "steps", "events", "artifacts"):
        assert store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0


def test_unreadable_history_file_gets_a_message(tmp_path):
    bad = tmp_path / "runs.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match="not a readable run history"):
        RunStore(bad)


def test_record_apply_builds_the_same_view_as_the_store():
    record = RunRecord(1, "#1", CFG)
    for item in train(CFG):
        record.apply(item)
    assert record.status == "completed" and record.finished
    assert len(record.steps) == len([1 for _ in range(5 * 3)])
    assert record.headline().startswith("val ") and "best epoch" in record.headline()
    assert isinstance(record.last_step, StepMetrics)
    assert record.final_state is not None


def test_series_grows_past_its_capacity():
    from lab.training.runs import Series

    series = Series(("a", "b"), capacity=2)
    for i in range(10):
        series.append(i, -i)
    assert series.column("a").tolist() == list(range(10))
    assert series.column("b")[-1] == -9 and len(series) == 10


def test_stopped_run_keeps_what_it_did(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    run = store.create_run(CFG)
    calls = iter(range(10**6))
    items = list(recorded(train(CFG, should_stop=lambda: next(calls) >= 7), db, run.id))
    assert isinstance(items[-1], RunFinished) and items[-1].status == "stopped"
    loaded = RunStore(db).load_run(run.id)
    assert loaded.status == "stopped" and len(loaded.epochs) == 2


def test_a_long_epoch_does_not_lock_the_history_for_other_writers(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    cfg = TrainConfig(data=DataConfig("moons", samples=2000), epochs=1, width=8, batch_size=8)
    run = store.create_run(cfg)
    items = recorded(train(cfg), db, run.id)
    steps = 0
    for item in items:
        if isinstance(item, StepMetrics):
            steps += 1
            if steps == 20:  # mid-epoch: the GUI renames the run
                other = sqlite3.connect(db, timeout=0.2)
                other.execute("UPDATE runs SET name = 'renamed' WHERE id = ?", (run.id,))
                other.commit()
                other.close()
    assert RunStore(db).load_run(run.id).name == "renamed"
    assert len(RunStore(db).load_run(run.id).steps) == steps
