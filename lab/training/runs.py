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
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import lfilter  # imported up front: its first import takes ~0.3 s

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
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, created REAL NOT NULL,
    config TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '', best_epoch INTEGER NOT NULL DEFAULT 0,
    stop_epoch INTEGER NOT NULL DEFAULT 0, parent_id INTEGER, change TEXT NOT NULL DEFAULT '',
    info TEXT NOT NULL DEFAULT '{}');
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


class RunStore:
    """The runs database. Open one per thread (SQLite connections are not shared)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._steps: list[tuple] = []
        self._last_commit = time.monotonic()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=10)
        self.db.execute("PRAGMA foreign_keys = ON")
        try:
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ValueError(f"{self.path} was written by a newer Visual Lab "
                                 f"(schema {version}); this one reads up to {SCHEMA_VERSION}")
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.commit()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise ValueError(f"{self.path} is not a readable run history ({exc}); move it "
                             "away to start a new one") from exc

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()

    # -- runs ------------------------------------------------------------------------
    def create_run(self, config: TrainConfig, name: str = "", parent_id: int | None = None,
                   change: str = "") -> RunRecord:
        created = time.time()
        cursor = self.db.execute(
            "INSERT INTO runs (name, created, config, status, parent_id, change) "
            "VALUES (?, ?, ?, 'running', ?, ?)",
            (name, created, config.dumps(), parent_id, change))
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
        """Runs still "running" in the file (the app closed or crashed mid-run)."""
        cursor = self.db.execute(
            "UPDATE runs SET status = 'interrupted', message = 'The app closed while this "
            "run trained; its metrics are kept up to the last finished epoch.' "
            "WHERE status = 'running'")
        self.db.commit()
        return cursor.rowcount

    def load_runs(self) -> list[RunRecord]:
        """Every run with its metrics; runs whose settings can no longer be read are
        skipped (listed in `self.skipped`)."""
        self.skipped: list[str] = []
        records = []
        for row in self.db.execute("SELECT id FROM runs ORDER BY id").fetchall():
            try:
                records.append(self.load_run(row[0]))
            except (ValueError, KeyError, sqlite3.Error) as exc:
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
            record.steps.append(*(np.nan if v is None else v for v in values))
        record.epochs = [EpochMetrics(*values) for values in self.db.execute(
            f"SELECT {', '.join(EPOCH_COLUMNS)} FROM epochs WHERE run_id = ? "
            "ORDER BY fold, epoch", (run_id,))]
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
        """Write the epoch (or step) metrics of runs as one CSV; returns the row count."""
        columns = EPOCH_COLUMNS if what == "epochs" else STEP_COLUMNS
        order = "fold, epoch" if what == "epochs" else "fold, step"
        count = 0
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["run_id", "run_name", *columns])
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
        return count


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


def recorded(items: Iterator[Any], db_path: str | Path, run_id: int) -> Iterator[Any]:
    """Pass `items` through, writing each to the store as it goes (in the calling thread,
    with its own connection). A run that ends without RunFinished is marked "stopped";
    one that raises is marked "failed" with the error, and the error goes on."""
    store = RunStore(db_path)
    ended = False
    try:
        for item in items:
            if store.write(run_id, item):
                store.commit()
            if isinstance(item, RunFinished):
                ended = True
            yield item
    except Exception as exc:
        store.finish(run_id, "failed", f"{type(exc).__name__}: {exc}")
        ended = True
        raise
    finally:
        if not ended:
            store.finish(run_id, "stopped", "Stopped.")
        store.commit()
        store.close()


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
