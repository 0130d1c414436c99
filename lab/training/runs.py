"""Every training run kept with its settings and metrics, in memory and in SQLite.

- `RunRecord`: one run — its `TrainConfig`, status, per-step and per-epoch metrics,
  events (live changes, LR drops, early stop), K-fold results and the latest weight
  histograms / decision boundary / train-vs-eval comparison. `apply(item)` folds in
  whatever `lab.training.train` yielded, so the GUI and the store read the same thing.
- `RunStore`: the SQLite file (one connection per thread). Runs, configs and metrics
  persist across restarts; `recorded(...)` wraps a training generator and writes each
  epoch as it ends (a crash loses at most the epoch in progress). CSV export.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import lfilter  # imported up front: its first import takes ~0.3 s

from lab import files
from lab.training import (
    BoundarySnapshot,
    EpochMetrics,
    FoldFinished,
    KFoldSummary,
    LayerHistogram,
    ModeComparison,
    RunEvent,
    RunFinished,
    RunStarted,
    StepMetrics,
    TrainConfig,
    WeightSnapshot,
)

SCHEMA_VERSION = 1
#: a long epoch's steps still reach the file this often (seconds)
STEP_FLUSH_S = 5.0
DB_NAME = "training-runs.sqlite"
STEP_COLUMNS = ("fold", "step", "epoch", "position", "loss", "accuracy", "lr")
EPOCH_COLUMNS = ("fold", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                 "lr", "seconds", "best_epoch", "samples_per_s")
_OPTIONAL_EPOCH_COLUMNS = ("val_loss", "val_accuracy")  # None without a validation set
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, created REAL NOT NULL,
    config TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '', best_epoch INTEGER NOT NULL DEFAULT 0,
    stop_epoch INTEGER NOT NULL DEFAULT 0, parent_id INTEGER, change TEXT NOT NULL DEFAULT '',
    info TEXT NOT NULL DEFAULT '{}', owner TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, fold INTEGER NOT NULL,
    epoch INTEGER NOT NULL, train_loss REAL, train_accuracy REAL, val_loss REAL,
    val_accuracy REAL, lr REAL, seconds REAL, best_epoch INTEGER, samples_per_s REAL,
    PRIMARY KEY (run_id, fold, epoch));
CREATE TABLE IF NOT EXISTS steps (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, fold INTEGER NOT NULL,
    step INTEGER NOT NULL, epoch INTEGER, position REAL, loss REAL, accuracy REAL, lr REAL,
    PRIMARY KEY (run_id, fold, step));
CREATE TABLE IF NOT EXISTS events (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, fold INTEGER, epoch INTEGER,
    position REAL, kind TEXT, text TEXT, name TEXT, old REAL, new REAL);
CREATE TABLE IF NOT EXISTS folds (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, fold INTEGER NOT NULL,
    folds INTEGER, best_epoch INTEGER, best_val_loss REAL, best_val_accuracy REAL,
    stop_epoch INTEGER, status TEXT, PRIMARY KEY (run_id, fold));
CREATE TABLE IF NOT EXISTS artifacts (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, name TEXT NOT NULL,
    data BLOB, PRIMARY KEY (run_id, name));
"""


def _process_start(pid: int) -> str:
    """When process `pid` started (clock ticks since boot, from /proc), or "" where that
    cannot be known: with the pid it names a process, even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat_file:
            fields = stat_file.read().rsplit(")", 1)[1].split()
        return fields[19]  # field 22 of stat: starttime
    except (OSError, IndexError):
        return ""


def process_owner() -> str:
    """Who trains a run: "<host>:<pid>:<start>" of this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def owner_alive(owner: str) -> bool:
    """Whether the process that started a run still runs. A run without an owner (an
    older history) or from this process's predecessor is not alive; one from another
    machine (a shared folder) is assumed alive, since it cannot be checked."""
    host, _, rest = (owner or "").partition(":")
    pid_text, _, start = rest.partition(":")
    if not pid_text.isdigit():
        return False
    if host != socket.gethostname():
        return True
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # it exists, owned by another user
    return not start or _process_start(pid) in ("", start)


class Series:
    """Columns of floats that grow by appending, viewed as numpy arrays without copying."""

    def __init__(self, columns: Iterable[str], capacity: int = 256) -> None:
        self.columns = tuple(columns)
        self._data = np.empty((len(self.columns), capacity), dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, *values: float) -> None:
        if self._size == self._data.shape[1]:
            grown = np.empty((len(self.columns), 2 * self._size), dtype=np.float64)
            grown[:, : self._size] = self._data[:, : self._size]
            self._data = grown
        self._data[:, self._size] = values
        self._size += 1

    def extend(self, rows: np.ndarray) -> None:
        for row in rows:
            self.append(*row)

    def column(self, name: str) -> np.ndarray:
        return self._data[self.columns.index(name), : self._size]


@dataclass
class RunRecord:
    id: int
    name: str
    config: TrainConfig
    created: float = field(default_factory=time.time)
    status: str = "running"
    message: str = ""
    device: str = ""
    best_epoch: int = 0
    stop_epoch: int = 0
    parent_id: int | None = None
    #: for a duplicate: the one setting that was changed ("dropout 0 → 0.5")
    change: str = ""
    steps: Series = field(default_factory=lambda: Series(STEP_COLUMNS))
    epochs: list[EpochMetrics] = field(default_factory=list)
    events: list[RunEvent] = field(default_factory=list)
    folds: list[FoldFinished] = field(default_factory=list)
    summary: KFoldSummary | None = None
    started: RunStarted | None = None
    weights: WeightSnapshot | None = None
    boundary: BoundarySnapshot | None = None
    modes: ModeComparison | None = None
    last_step: StepMetrics | None = None
    final_state: dict | None = field(default=None, repr=False)
    #: bumped on every change, so views can skip redrawing what they already show
    revision: int = 0

    @property
    def finished(self) -> bool:
        return self.status != "running"

    @property
    def folds_total(self) -> int:
        return self.config.kfold if self.config.kfold >= 2 else 1

    def apply(self, item: Any) -> None:
        """Fold one item yielded by `train()` into this record."""
        self.revision += 1
        if isinstance(item, StepMetrics):
            self.steps.append(item.fold, item.step, item.epoch, item.position, item.loss,
                              item.accuracy, item.lr)
            self.last_step = item
        elif isinstance(item, EpochMetrics):
            self.epochs.append(item)
            self.best_epoch = item.best_epoch
            self.stop_epoch = item.epoch
        elif isinstance(item, RunEvent):
            self.events.append(item)
        elif isinstance(item, WeightSnapshot):
            self.weights = item
        elif isinstance(item, BoundarySnapshot):
            self.boundary = item
        elif isinstance(item, ModeComparison):
            self.modes = item
        elif isinstance(item, FoldFinished):
            self.folds.append(item)
        elif isinstance(item, KFoldSummary):
            self.summary = item
        elif isinstance(item, RunStarted):
            self.started = item
            self.device = item.device_label
        elif isinstance(item, RunFinished):
            self.status = item.status
            self.message = item.message
            self.best_epoch = item.best_epoch or self.best_epoch
            self.stop_epoch = item.stop_epoch or self.stop_epoch
            self.final_state = item.state_dict

    # -- views of the metrics --------------------------------------------------------
    def epoch_rows(self, fold: int | None = None) -> list[EpochMetrics]:
        return [e for e in self.epochs if fold is None or e.fold == fold]

    def fold_epochs(self, fold: int) -> list[EpochMetrics]:
        return [e for e in self.epochs if e.fold == fold]

    def best_metrics(self) -> EpochMetrics | None:
        """The best epoch's metrics (of the last fold), or the last epoch's."""
        rows = self.fold_epochs(self.epochs[-1].fold) if self.epochs else []
        for row in rows:
            if row.epoch == self.best_epoch:
                return row
        return rows[-1] if rows else None

    def headline(self) -> str:
        """One line for the run list: "val 96.3% (best epoch 12)"."""
        if self.summary is not None:
            return (f"{self.summary.folds}-fold val {100 * self.summary.mean_accuracy:.1f}% "
                    f"± {100 * self.summary.std_accuracy:.1f}")
        best = self.best_metrics()
        if best is None:
            return ""
        if best.val_accuracy is not None:
            return f"val {100 * best.val_accuracy:.1f}% (best epoch {best.epoch})"
        return f"train {100 * best.train_accuracy:.1f}% (epoch {best.epoch})"

    def marks(self, fold: int | None = None) -> list[RunEvent]:
        """Events worth a vertical line on the plots."""
        return [e for e in self.events if e.kind in ("control", "lr", "early_stop", "restore",
                                                     "diverged", "out_of_memory")
                and (fold is None or e.fold == fold)]


# =========================================================================== storage

def _pack(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _unpack(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def pack_weights(snapshot: WeightSnapshot) -> bytes:
    layers = snapshot.layers
    return _pack({
        "names": np.array([h.name for h in layers], dtype=str),
        "counts": np.stack([h.counts for h in layers]) if layers else np.zeros((0, 0)),
        "edges": layers[0].edges if layers else np.zeros(0),
        "near_zero": np.array([h.near_zero for h in layers]),
        "mean_abs": np.array([h.mean_abs for h in layers]),
        "where": np.array([snapshot.fold, snapshot.epoch]),
    })


def unpack_weights(blob: bytes) -> WeightSnapshot:
    a = _unpack(blob)
    layers = tuple(LayerHistogram(str(name), a["counts"][i], a["edges"], float(a["near_zero"][i]),
                                  float(a["mean_abs"][i])) for i, name in enumerate(a["names"]))
    return WeightSnapshot(int(a["where"][0]), int(a["where"][1]), layers)


def pack_boundary(snapshot: BoundarySnapshot) -> bytes:
    return _pack({"extent": np.array(snapshot.extent),
                  "eval": snapshot.eval_probs.astype(np.float16),
                  "train": snapshot.train_probs.astype(np.float16),
                  "where": np.array([snapshot.fold, snapshot.epoch])})


def unpack_boundary(blob: bytes) -> BoundarySnapshot:
    a = _unpack(blob)
    return BoundarySnapshot(int(a["where"][0]), int(a["where"][1]),
                            tuple(float(v) for v in a["extent"]),
                            a["eval"].astype(np.float32), a["train"].astype(np.float32))


def default_db_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / DB_NAME


class HistoryError(ValueError):
    """The run history cannot be used; `reason` says why in a few words."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class HistoryDamagedError(HistoryError):
    """The file is not (or no longer) a readable SQLite run history."""


class HistoryUnavailableError(HistoryError):
    """A healthy (or absent) history that cannot be opened or written now: disk full,
    read-only folder, a folder in its place, locked. Never advise moving it away."""


# SQLite's primary result codes (the low byte of sqlite_errorcode)
_SQLITE_REASONS = {5: "locked by another program", 6: "locked by another program",
                   8: "read-only", 13: "disk full", 14: "cannot open the file"}
_SQLITE_DAMAGED = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
_SQLITE_IOERR = 10


def storage_reason(exc: BaseException, path: str | Path | None = None) -> str:
    """A few words saying why the history could not be read or written."""
    if isinstance(exc, HistoryError) and exc.reason:
        return exc.reason
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF
        if code == _SQLITE_IOERR or code == 13:
            free = files.free_bytes(path) if path is not None else None
            if code == 13 or (free is not None and free < files.FULL_DISK_BYTES):
                return "disk full"
            return "disk I/O error"
        if code in _SQLITE_REASONS:
            return _SQLITE_REASONS[code]
    text = str(exc)
    if "disk is full" in text:
        return "disk full"
    if "readonly" in text or "read-only" in text:
        return "read-only"
    if isinstance(exc, OSError):
        return files.reason(exc, path)
    return text or type(exc).__name__


def is_damaged(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_DAMAGED
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.OperationalError)


class RunStore:
    """The runs database. Open one per thread (SQLite connections are not shared).

    `RunStore(path)` raises HistoryDamagedError for a file that is not a run history and
    HistoryUnavailableError for one that cannot be opened for writing now (disk full, read-only,
    a folder in its place); `RunStore(path, read_only=True)` then still reads it."""

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.skipped: list[str] = []
        self.bad_rows = 0  # damaged metric rows skipped while loading
        self._steps: list[tuple] = []
        self._last_commit = time.monotonic()
        if self.path.is_dir():
            raise HistoryUnavailableError(f"{self.path} is a folder, not a run history file",
                                     "a folder is in its place")
        if read_only and not self.path.is_file():
            raise HistoryUnavailableError(f"{self.path} does not exist", "it does not exist")
        try:
            if not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryUnavailableError(f"cannot create the folder of {self.path} "
                                     f"({files.reason(exc)})", files.reason(exc)) from exc
        self.db: sqlite3.Connection | None = None
        try:
            if read_only:
                uri = self.path.resolve().as_uri()
                self.db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=10)
                self.db.execute("PRAGMA query_only = ON")
            else:
                self.db = sqlite3.connect(str(self.path), timeout=10)
            self.db.execute("PRAGMA foreign_keys = ON")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HistoryUnavailableError(
                    f"{self.path} was written by a newer Visual Lab (schema {version}); this "
                    f"one reads up to {SCHEMA_VERSION}", "written by a newer Visual Lab")
            if read_only:
                self.db.execute("SELECT COUNT(*) FROM runs").fetchone()
            else:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")
                self.db.executescript(_SCHEMA)
                columns = {row[1] for row in self.db.execute("PRAGMA table_info(runs)")}
                if "owner" not in columns:  # a history from before runs had owners
                    self.db.execute("ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL "
                                    "DEFAULT ''")
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self.db.commit()
        except sqlite3.Error as exc:
            self.close()
            if is_damaged(exc):
                raise HistoryDamagedError(f"{self.path} is not a readable run history ({exc}); "
                                     "move it away to start a new one", "damaged") from exc
            why = storage_reason(exc, self.path.parent)
            raise HistoryUnavailableError(f"the run history {self.path} cannot be "
                                     f"{'read' if read_only else 'written'} now ({why})",
                                     why) from exc
        except HistoryError:
            self.close()
            raise

    def close(self) -> None:
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()

    # -- runs ------------------------------------------------------------------------
    def create_run(self, config: TrainConfig, name: str = "", parent_id: int | None = None,
                   change: str = "") -> RunRecord:
        created = time.time()
        cursor = self.db.execute(
            "INSERT INTO runs (name, created, config, status, parent_id, change, owner) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?)",
            (name, created, config.dumps(), parent_id, change, process_owner()))
        run_id = int(cursor.lastrowid)
        if not name:
            name = f"#{run_id}"
            self.db.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))
        self.db.commit()
        return RunRecord(run_id, name, config, created, parent_id=parent_id, change=change)

    def rename_run(self, run_id: int, name: str) -> None:
        self.db.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))
        self.db.commit()

    def delete_run(self, run_id: int) -> None:
        self.db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        self.db.commit()

    def run_ids(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM runs ORDER BY id")]

    def mark_interrupted(self) -> int:
        """Runs still "running" in the file whose owner is gone (the app that trained them
        closed or crashed mid-run); a run another live instance is training is left alone."""
        gone = [run_id for run_id, owner in self.db.execute(
            "SELECT id, owner FROM runs WHERE status = 'running'") if not owner_alive(owner)]
        for run_id in gone:
            self.db.execute(
                "UPDATE runs SET status = 'interrupted', message = 'The app closed while this "
                "run trained; its metrics are kept up to the last finished epoch.' "
                "WHERE id = ? AND status = 'running'", (run_id,))
        self.db.commit()
        return len(gone)

    def load_runs(self) -> list[RunRecord]:
        """Every run with its metrics; runs whose settings can no longer be read are
        skipped (listed in `self.skipped`)."""
        self.skipped: list[str] = []
        self.bad_rows = 0
        records = []
        for row in self.db.execute("SELECT id FROM runs ORDER BY id").fetchall():
            try:
                records.append(self.load_run(row[0]))
            except Exception as exc:  # noqa: BLE001 - one damaged run must not hide the rest
                self.skipped.append(f"run {row[0]}: {exc}")
        return records

    def load_run(self, run_id: int) -> RunRecord:
        row = self.db.execute(
            "SELECT name, created, config, status, message, device, best_epoch, stop_epoch, "
            "parent_id, change FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        name, created, config, status, message, device, best, stop, parent, change = row
        record = RunRecord(run_id, name, TrainConfig.from_json(config), created, status,
                           message, device, best, stop, parent, change)
        for values in self.db.execute(
                f"SELECT {', '.join(STEP_COLUMNS)} FROM steps WHERE run_id = ? "
                "ORDER BY fold, step", (run_id,)):
            if not all(v is None or isinstance(v, int | float) for v in values):
                self.bad_rows += 1
                continue
            record.steps.append(*(np.nan if v is None else v for v in values))
        record.epochs = []
        for values in self.db.execute(
                f"SELECT {', '.join(EPOCH_COLUMNS)} FROM epochs WHERE run_id = ? "
                "ORDER BY fold, epoch", (run_id,)):
            row = dict(zip(EPOCH_COLUMNS, values, strict=True))
            if any(not isinstance(v, int | float) for k, v in row.items()
                   if k not in _OPTIONAL_EPOCH_COLUMNS):
                self.bad_rows += 1  # a damaged row (NULL or text metric) is skipped
                continue
            record.epochs.append(EpochMetrics(**row))
        record.events = [RunEvent(kind, fold, epoch, position, text, name or "", old, new)
                         for fold, epoch, position, kind, text, name, old, new
                         in self.db.execute(
                             "SELECT fold, epoch, position, kind, text, name, old, new "
                             "FROM events WHERE run_id = ? ORDER BY rowid", (run_id,))]
        record.folds = [FoldFinished(*values) for values in self.db.execute(
            "SELECT fold, folds, best_epoch, best_val_loss, best_val_accuracy, stop_epoch, "
            "status FROM folds WHERE run_id = ? ORDER BY fold", (run_id,))]
        if len(record.folds) >= 2 and len(record.folds) == record.folds[0].folds:
            complete = [f for f in record.folds if f.best_val_loss is not None]
            if complete:
                record.summary = KFoldSummary(len(complete),
                                              tuple(f.best_val_loss for f in complete),
                                              tuple(f.best_val_accuracy or 0.0
                                                    for f in complete))
        for name, blob in self.db.execute("SELECT name, data FROM artifacts WHERE run_id = ?",
                                          (run_id,)):
            with contextlib.suppress(ValueError, KeyError, OSError):
                if name == "weights":
                    record.weights = unpack_weights(blob)
                elif name == "boundary":
                    record.boundary = unpack_boundary(blob)
        return record

    # -- writing a run as it goes ------------------------------------------------------
    def write(self, run_id: int, item: Any) -> bool:
        """Store one training item; True when it ends an epoch/run (time to commit)."""
        db = self.db
        if isinstance(item, StepMetrics):
            # buffered: inserting now would open a write transaction that lasts until the
            # epoch ends, blocking the GUI's own writes (renames) for that long
            self._steps.append((run_id, item.fold, item.step, item.epoch, item.position,
                                _finite(item.loss), _finite(item.accuracy), item.lr))
            return time.monotonic() - self._last_commit > STEP_FLUSH_S
        self._write_steps()
        if isinstance(item, EpochMetrics):
            db.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (run_id, *(getattr(item, c) for c in EPOCH_COLUMNS)))
            db.execute("UPDATE runs SET best_epoch = ?, stop_epoch = ? WHERE id = ?",
                       (item.best_epoch, item.epoch, run_id))
            return True
        if isinstance(item, RunEvent):
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (run_id, item.fold, item.epoch, item.position, item.kind, item.text,
                        item.name, item.old, item.new))
            return True
        if isinstance(item, FoldFinished):
            db.execute("INSERT OR REPLACE INTO folds VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (run_id, item.fold, item.folds, item.best_epoch, item.best_val_loss,
                        item.best_val_accuracy, item.stop_epoch, item.status))
            return True
        if isinstance(item, RunStarted):
            info = {"data": item.data_name, "train_size": item.train_size,
                    "val_size": item.val_size, "parameters": item.parameters,
                    "notes": list(item.notes)}
            db.execute("UPDATE runs SET device = ?, info = ? WHERE id = ?",
                       (item.device_label, json.dumps(info), run_id))
            return True
        if isinstance(item, WeightSnapshot):
            self._artifact(run_id, "weights", pack_weights(item))
            return True
        if isinstance(item, BoundarySnapshot):
            self._artifact(run_id, "boundary", pack_boundary(item))
            return True
        if isinstance(item, RunFinished):
            self.finish(run_id, item.status, item.message, item.best_epoch, item.stop_epoch)
            return True
        return False

    def _artifact(self, run_id: int, name: str, blob: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?)", (run_id, name, blob))

    def finish(self, run_id: int, status: str, message: str, best_epoch: int | None = None,
               stop_epoch: int | None = None) -> None:
        self._write_steps()
        self.db.execute("UPDATE runs SET status = ?, message = ? WHERE id = ?",
                        (status, message, run_id))
        if best_epoch:
            self.db.execute("UPDATE runs SET best_epoch = ? WHERE id = ?", (best_epoch, run_id))
        if stop_epoch:
            self.db.execute("UPDATE runs SET stop_epoch = ? WHERE id = ?", (stop_epoch, run_id))
        self.commit()

    def status(self, run_id: int) -> str:
        row = self.db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row[0] if row else ""

    def _write_steps(self) -> None:
        if self._steps:
            self.db.executemany("INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                self._steps)
            self._steps = []

    def commit(self) -> None:
        self._write_steps()
        self.db.commit()
        self._last_commit = time.monotonic()

    # -- export ----------------------------------------------------------------------
    def export_csv(self, run_ids: Iterable[int], path: str | Path, what: str = "epochs"
                   ) -> int:
        """Write the epoch (or step) metrics of runs as one CSV; returns the row count.
        The file is replaced in one step; files.WriteError names the path and reason."""
        columns = EPOCH_COLUMNS if what == "epochs" else STEP_COLUMNS
        order = "fold, epoch" if what == "epochs" else "fold, step"
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["run_id", "run_name", *columns])
        count = 0
        for run_id in run_ids:
            name_row = self.db.execute("SELECT name FROM runs WHERE id = ?",
                                       (run_id,)).fetchone()
            if name_row is None:
                continue
            for values in self.db.execute(
                    f"SELECT {', '.join(columns)} FROM {what} WHERE run_id = ? "
                    f"ORDER BY {order}", (run_id,)):
                writer.writerow([run_id, name_row[0], *("" if v is None else v
                                                        for v in values)])
                count += 1
        files.atomic_write_text(path, out.getvalue())
        return count


def records_csv(records: Iterable[RunRecord], what: str = "epochs") -> tuple[str, int]:
    """The epoch (or step) metrics of runs as CSV text, from memory (the same columns as
    `RunStore.export_csv`): what a run whose history could not be saved still offers."""
    columns = EPOCH_COLUMNS if what == "epochs" else STEP_COLUMNS
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["run_id", "run_name", *columns])
    count = 0
    for record in records:
        if what == "epochs":
            rows = [[getattr(e, c) for c in columns] for e in record.epochs]
        else:
            data = [record.steps.column(c) for c in columns]
            rows = [[int(v) if c in ("fold", "step", "epoch") else float(v)
                     for c, v in zip(columns, values, strict=True)]
                    for values in zip(*data, strict=True)]
        for values in rows:
            writer.writerow([record.id, record.name, *(
                "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else v
                for v in values)])
            count += 1
    return out.getvalue(), count


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


class _Recorder:
    """Writes one run's items to the store, committing at each epoch's end. When the store
    refuses (disk full, read-only, gone), training goes on: the items not yet committed
    are kept and written again at every later epoch's end, and `add` returns a "storage"
    RunEvent when saving stops and again when it works once more."""

    def __init__(self, db_path: str | Path, run_id: int) -> None:
        self.db_path = Path(db_path)
        self.run_id = run_id
        self.store: RunStore | None = None
        self.pending: list[Any] = []  # items since the last successful commit
        self.failure = ""  # why saving stopped ("" while it works)
        self._position = (0, 0, 0.0)  # fold, epoch, position of the latest item
        try:
            self.store = RunStore(self.db_path)
        except (HistoryError, OSError, sqlite3.Error) as exc:
            self.failure = storage_reason(exc, self.db_path.parent)

    def start_event(self) -> RunEvent | None:
        return self._event_not_saved() if self.failure else None

    def add(self, item: Any) -> RunEvent | None:
        self.pending.append(item)
        for name, index in (("fold", 0), ("epoch", 1), ("position", 2)):
            value = getattr(item, name, None)
            if isinstance(value, int | float):
                position = list(self._position)
                position[index] = value
                self._position = tuple(position)
        if self.failure:
            # a retry per epoch's end (not per step): a full disk is not probed 100×/s
            return None if isinstance(item, StepMetrics) else self.retry()
        try:
            if self.store.write(self.run_id, item):
                self.store.commit()
                self.pending = []
        except (sqlite3.Error, OSError) as exc:
            return self._failed(exc)
        return None

    def retry(self) -> RunEvent | None:
        """Write everything not yet saved; a RunEvent if that ended a failure."""
        if not self.failure:
            return None
        if self.store is None:
            try:
                self.store = RunStore(self.db_path)
            except (HistoryError, OSError, sqlite3.Error):
                return None
        try:
            for item in self.pending:
                self.store.write(self.run_id, item)
            self.store.commit()
        except (sqlite3.Error, OSError):
            self._rollback()
            return None
        self.pending = []
        self.failure = ""
        return RunEvent("storage", *self._position, "The run history is saved again: "
                        "what could not be written before is in it now.")

    def _failed(self, exc: BaseException) -> RunEvent:
        self._rollback()
        self.failure = storage_reason(exc, self.db_path.parent)
        return self._event_not_saved()

    def _event_not_saved(self) -> RunEvent:
        return RunEvent("storage", *self._position,
                        f"The run history is not being saved ({self.failure}): training goes "
                        "on and its metrics are kept in memory; they are written when space "
                        "returns, or export them now with Export CSV.")

    def _rollback(self) -> None:
        if self.store is not None:
            self.store._steps = []
            with contextlib.suppress(sqlite3.Error):
                self.store.db.rollback()

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def recorded(items: Iterator[Any], db_path: str | Path, run_id: int) -> Iterator[Any]:
    """Pass `items` through, writing each to the store as it goes (in the calling thread,
    with its own connection). A run that ends without RunFinished is marked "stopped";
    one that raises is marked "failed" with the error, and the error goes on. A store that
    cannot be written (disk full, read-only) never stops the run: see `_Recorder`."""
    recorder = _Recorder(db_path, run_id)
    ended = False
    try:
        event = recorder.start_event()
        if event is not None:
            yield event
        for item in items:
            event = recorder.add(item)
            if isinstance(item, RunFinished):
                ended = True
            if event is not None:
                yield event
            yield item
    except Exception as exc:
        recorder.add(RunFinished("failed", f"{type(exc).__name__}: {exc}"))
        ended = True
        raise
    finally:
        if not ended:
            recorder.add(RunFinished("stopped", "Stopped."))
        recorder.retry()
        recorder.close()


def ema(values: np.ndarray, smoothing: float, folds: np.ndarray | None = None) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average with weight `smoothing` on
    the past, bias-corrected at the start, restarting at every fold."""
    values = np.asarray(values, dtype=np.float64)
    if smoothing <= 0 or len(values) == 0:
        return values.copy()
    smoothing = min(float(smoothing), 0.999)
    cuts = [] if folds is None or len(folds) < 2 else list(np.flatnonzero(np.diff(folds)) + 1)
    out = np.empty_like(values)
    for start, end in zip([0, *cuts], [*cuts, len(values)], strict=True):
        segment = values[start:end]
        smoothed = lfilter([1 - smoothing], [1, -smoothing], segment)
        out[start:end] = smoothed / (1 - smoothing ** np.arange(1, len(segment) + 1))
    return out
