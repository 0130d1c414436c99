"""A second instance never marks the first one's live run "interrupted" (issue 18, item
15): runs carry their owner (host, pid, process start) and only a run whose owner is gone
is marked."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from lab.data import DataConfig
from lab.training import TrainConfig
from lab.training.runs import RunStore, owner_alive, process_owner

CFG = TrainConfig(data=DataConfig("moons", samples=60), epochs=2, width=4)


def test_a_live_owners_run_is_left_running_and_a_dead_owners_is_marked(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    live = store.create_run(CFG)  # this process trains it
    dead = store.create_run(CFG)
    legacy = store.create_run(CFG)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    host = process_owner().split(":")[0]
    store.db.execute("UPDATE runs SET owner = ? WHERE id = ?",
                     (f"{host}:{finished.stdout.strip()}:1", dead.id))
    store.db.execute("UPDATE runs SET owner = '' WHERE id = ?", (legacy.id,))
    store.commit()
    second = RunStore(db)  # what a second app instance does at start
    assert second.mark_interrupted() == 2
    assert second.status(live.id) == "running"
    assert second.status(dead.id) == "interrupted" and second.status(legacy.id) == "interrupted"


def test_owner_liveness():
    assert owner_alive(process_owner())
    assert not owner_alive("")
    host = process_owner().split(":")[0]
    assert not owner_alive(f"{host}:999999999:5")
    pid = process_owner().split(":")[1]
    assert not owner_alive(f"{host}:{pid}:1")  # our pid, another start: a reused pid


def test_an_older_history_gains_the_owner_column(tmp_path):
    db = tmp_path / "old.sqlite"
    old = sqlite3.connect(db)
    old.executescript("""
        CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
            created REAL NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '',
            best_epoch INTEGER NOT NULL DEFAULT 0, stop_epoch INTEGER NOT NULL DEFAULT 0,
            parent_id INTEGER, change TEXT NOT NULL DEFAULT '', info TEXT NOT NULL
            DEFAULT '{}');
        PRAGMA user_version = 1;""")
    old.execute("INSERT INTO runs (name, created, config, status) VALUES ('#1', 0, ?, "
                "'running')", (CFG.dumps(),))
    old.commit()
    old.close()
    store = RunStore(db)
    assert store.mark_interrupted() == 1  # an ownerless run from an older version
    assert store.create_run(CFG).id == 2
