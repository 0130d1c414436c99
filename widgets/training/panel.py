"""Training lab (concepts 5, 12–14, 27–32, 34, 35): train on a background thread with live
plots, change settings while it trains, and compare runs.

A thin view over `lab.training` (the loop), `lab.training.runs` (the history in SQLite) and
`lab.training.checkpoints`. The loop runs as a generator on a `GeneratorWorker` thread; its items
are folded into a `RunRecord` on the GUI thread and the plots redraw at most ~10 times a
second. A second Start while one run trains queues the new run. Leaving the panel or
closing the window stops and joins the thread; the run is kept, marked stopped.
"""

from __future__ import annotations

import contextlib
import functools
import html
import os
import sqlite3
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QKeySequence, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lab import data as data_module
from lab import files
from lab.params import Example
from lab.training import (
    DataProgress,
    RunEvent,
    RunFinished,
    RunStarted,
    TrainConfig,
    TrainControls,
    build_model,
    describe_differences,
    state_problems,
    train,
    with_change,
)
from lab.training.checkpoints import (
    Checkpoint,
    CheckpointError,
    WriteError,
    checkpointed,
    load_checkpoint,
    save_checkpoint,
)
from lab.training.examples import COMPARISONS, DROPOUT, EXAMPLES, Comparison
from lab.training.process import RemoteRun, TrainJob, state_bytes
from lab.training.runs import (
    HistoryDamagedError,
    HistoryError,
    RunRecord,
    RunStore,
    default_db_path,
    recorded,
    records_csv,
    storage_reason,
)
from lab.training.view import TrainingView
from widgets.kit.controls import (
    ElidedLabel,
    ErrorBanner,
    QuietProgressBar,
    WrapLabel,
    fix_lines,
    set_text,
)
from widgets.kit.files import write_text
from widgets.kit.panel import AppState, Panel
from widgets.kit.settings import ENV_PREFIX, data_dir, trains_in_process
from widgets.kit.views import CodeView
from widgets.kit.workers import GeneratorWorker, RelayWorker
from widgets.training.form import TrainForm
from widgets.training.plots import TrainingPlots, run_colour
from widgets.training.plots.predictions import MONTAGE_COLUMNS, MONTAGE_ROWS
from widgets.training.runs import DuplicateDialog, RunList

REDRAW_INTERVAL_S = 0.175  # at most ~6 redraws a second, whatever the worker sends
DEMO_HOLD_S = 30.0  # the first-use demo may delay the first "drawn" this long at most
LEGEND_MAX_CHARS = 160  # longer run descriptions: the header names the runs only
LEGEND_TIP = ("The runs in the plots: each colour is one run; the text says how its "
              "settings differ from the others'")
LIVE_SETTLE_MS = 250  # live changes are sent once the control has been still this long


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class TrainingPanel(Panel):
    def __init__(self, state: AppState, parent: QWidget | None = None, *,
                 demo: bool = True) -> None:
        super().__init__(state, parent)
        self.records: dict[int, RunRecord] = {}
        self.worker: GeneratorWorker | None = None
        self.controls: TrainControls | None = None
        self.running: RunRecord | None = None
        self.queue: list[dict] = []
        self.checkpoint: Checkpoint | None = None
        self.redraw_count = 0
        self._next_memory_id = -1
        self._preview_cache: dict = {}
        self._focus_id: int | None = None
        self._last_draw = 0.0
        self._hold_drawn = False
        self._force = False
        self._drawing: tuple | None = None
        self._drawing_labels: dict[int, str] = {}
        self._drawing_part = 0
        self._stopped_on_leave = ""
        self._demo_note_shown = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._redraw_curves)
        # a redraw is two event-loop turns (curves, then the rest), so neither blocks long
        self._others_timer = QTimer(self)
        self._others_timer.setSingleShot(True)
        self._others_timer.setInterval(0)
        self._others_timer.timeout.connect(self._redraw_others)
        # a slider drag is one live change, not one per pixel
        self._live_pending: dict[str, float] = {}
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_SETTLE_MS)
        self._live_timer.timeout.connect(self._send_live)

        data_module.warm_up()
        self.banner = ErrorBanner()
        self.banner.reserve_space(2)  # warnings come and go mid-run: nothing may move
        self.form = TrainForm()
        self.plots = TrainingPlots()
        self.run_list = RunList()
        self._build()
        self._open_store()
        self._connect()
        self._update_buttons()
        if demo and not self.records:
            self._start_demo()
        self.request_redraw()

    # ====================================================================== building
    def _build(self) -> None:
        self.start_button = QPushButton("Start")
        self.start_button.setShortcut(QKeySequence("F5"))
        self.start_button.setToolTip("Train with the settings on the left (F5). While a run "
                                     "trains, Start queues the next one.")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setShortcut(QKeySequence("F6"))
        self.pause_button.setToolTip("Pause between batches / resume (F6)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setShortcut(QKeySequence("Shift+F5"))
        self.stop_button.setToolTip("Stop the run after the current batch and cancel the "
                                    "queue (Shift+F5); what it learned so far is kept")
        self.code_button = QPushButton("PyTorch code…")
        self.code_button.setToolTip("The plain PyTorch script that trains with the form's "
                                    "settings (or the selected run's): optimiser, L1 term, "
                                    "scheduler, train()/eval(), early stopping")
        self.examples_button = QToolButton()
        self.examples_button.setText("Examples")
        self.examples_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.examples_button.setToolTip("Prepared comparisons that show one idea each: the "
                                        "form takes their settings and the runs train "
                                        "one after another, overlaid")
        examples_menu = QMenu(self.examples_button)
        for comparison in COMPARISONS:
            action = examples_menu.addAction(
                comparison.title, functools.partial(self.start_comparison, comparison))
            action.setToolTip(comparison.lesson)
        examples_menu.setToolTipsVisible(True)
        self.examples_button.setMenu(examples_menu)
        # short, and its place kept while hidden: loading a checkpoint widened the window
        self.warm_start = QCheckBox("From checkpoint")
        self.warm_start.setToolTip("Continue training the loaded checkpoint instead of "
                                   "starting from random weights")
        keep_place = self.warm_start.sizePolicy()
        keep_place.setRetainSizeWhenHidden(True)
        self.warm_start.setSizePolicy(keep_place)
        self.warm_start.setVisible(False)
        self.progress = QuietProgressBar()
        self.progress.setMaximumHeight(10)
        # new text every redraw must not re-lay-out the panel: its width comes from the row
        # (ElidedLabel ignores its text's width) and a long message ends in "…"
        self.progress_label = ElidedLabel("Ready")
        self.progress_label.setMinimumWidth(200)
        # as tall as the runs' descriptions need (they change when runs are ticked, not
        # while one trains)
        self.legend = WrapLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.legend.setToolTip(LEGEND_TIP)
        self.live_note = ElidedLabel()  # the whole note is in its tooltip
        self.live_note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        fix_lines(self.live_note, 1)  # text that changes while training: a fixed height

        run_bar = QHBoxLayout()
        run_bar.setContentsMargins(0, 0, 0, 0)
        for button in (self.start_button, self.pause_button, self.stop_button,
                       self.code_button, self.examples_button):
            run_bar.addWidget(button)
        run_bar.addWidget(self.progress_label, 1)
        header = QWidget()
        header_layout = QVBoxLayout(header)
        header_layout.setContentsMargins(0, 0, 0, 0)
        header_layout.setSpacing(2)
        header_layout.addLayout(run_bar)
        header_layout.addWidget(self.progress)
        header_layout.addWidget(self.legend)
        header_layout.addWidget(self.live_note)

        self.duplicate_button = QPushButton("Duplicate with one change…")
        self.duplicate_button.setToolTip("Train a copy of the selected run with one setting "
                                         "changed; both are overlaid so you see its effect")
        self.settings_button = QPushButton("Use its settings")
        self.settings_button.setToolTip("Put the selected run's settings into the form")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected run and its saved weights")
        self.export_button = QToolButton()
        self.export_button.setText("Export CSV")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        export_menu.addAction("Epoch metrics of the ticked runs…",
                              lambda: self._ask_export("epochs"))
        export_menu.addAction("Step metrics of the ticked runs…",
                              lambda: self._ask_export("steps"))
        self.export_button.setMenu(export_menu)
        self.export_button.setToolTip("Write the metrics of the ticked runs as CSV")
        # save and load share one menu button, like the exports: six buttons in a row made
        # the panel wider than a 1280-pixel screen
        self.checkpoint_button = QToolButton()
        self.checkpoint_button.setText("Checkpoint")
        self.checkpoint_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.checkpoint_button.setToolTip("Save or load a run's weights and settings (.pt)")
        checkpoint_menu = QMenu(self.checkpoint_button)
        self.save_action = checkpoint_menu.addAction("Save the selected run's weights…",
                                                    self._ask_save_checkpoint)
        self.save_action.setToolTip("Weights + settings as .pt (written to a temp file, then "
                                    "renamed)")
        self.load_action = checkpoint_menu.addAction("Load weights + settings…",
                                                    self._ask_load_checkpoint)
        self.load_action.setToolTip("A checkpoint saved by Visual Lab, read with "
                                    "torch.load(weights_only=True): no code runs")
        checkpoint_menu.setToolTipsVisible(True)
        self.checkpoint_button.setMenu(checkpoint_menu)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.duplicate_button, self.settings_button, self.delete_button,
                       self.export_button, self.checkpoint_button, self.warm_start):
            buttons.addWidget(button)
        buttons.addStretch(1)
        runs = QWidget()
        runs_layout = QVBoxLayout(runs)
        runs_layout.setContentsMargins(0, 0, 0, 0)
        runs_layout.setSpacing(2)
        runs_layout.addWidget(self.run_list, 1)
        runs_layout.addLayout(buttons)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plots)
        splitter.addWidget(runs)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([620, 170])
        splitter.setChildrenCollapsible(False)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(4)
        right_layout.addWidget(header)
        right_layout.addWidget(splitter, 1)

        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(340)
        scroll.setMaximumWidth(400)
        body = QHBoxLayout()
        body.setContentsMargins(4, 4, 4, 4)
        body.addWidget(scroll)
        body.addWidget(right, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addLayout(body, 1)

    def _connect(self) -> None:
        self.start_button.clicked.connect(self.start)
        self.pause_button.toggled.connect(self._pause_toggled)
        self.stop_button.clicked.connect(self.stop)
        self.code_button.clicked.connect(self.show_code)
        self.form.changed.connect(self._form_changed)
        self.form.liveChanged.connect(self._live_change)
        self.form.augmentLoadRequested.connect(self._ask_augment)
        self.run_list.checkedChanged.connect(self.request_redraw)
        self.run_list.itemSelectionChanged.connect(self._selection_changed)
        self.run_list.renamed.connect(self._renamed)
        self.duplicate_button.clicked.connect(self._ask_duplicate)
        self.settings_button.clicked.connect(self._use_selected_settings)
        self.delete_button.clicked.connect(self._ask_delete)
        self.plots.boundary.modeToggled.connect(lambda _on: self.request_redraw())
        self.plots.smoothing.valueChanged.connect(lambda _v: self.request_redraw(force=True))
        self.plots.show_steps.toggled.connect(lambda _v: self.request_redraw(force=True))
        self.plots.log_loss.toggled.connect(lambda _v: self.request_redraw(force=True))
        self.plots.weights.layer.valueChanged.connect(lambda _v: self._weights_option())
        self.plots.weights.log_scale.toggled.connect(lambda _v: self._weights_option())

    # ====================================================================== history
    def _open_store(self) -> None:
        """Open the run history; the panel opens whatever state it is in: read-only (disk
        full, read-only folder) with past runs shown, or in memory, with a banner saying
        why, and damaged rows skipped and counted."""
        self.store: RunStore | None = None
        try:
            folder = data_dir()
        except OSError as exc:
            self._data_folder = data_dir(create=False)
            self.banner.show_message(
                f"The data folder {self._data_folder} cannot be used ({files.reason(exc)}); "
                "runs of this session are kept in memory only (Export CSV keeps them).")
            self._show_loaded()
            return
        self._data_folder = folder
        files.remove_stale_temps(folder / "checkpoints")  # left by a killed save
        path = default_db_path(folder)
        problem = ""
        try:
            self.store = RunStore(path)
            self.store.mark_interrupted()
        except HistoryDamagedError as exc:
            self._close_store()
            problem = (f"{exc}. Runs of this session are kept in memory only.")
        except (HistoryError, sqlite3.Error, OSError) as exc:
            self._close_store()
            why = storage_reason(exc, folder)
            try:
                self.store = RunStore(path, read_only=True)
                problem = (f"The run history {path} is read-only for now ({why}): past runs "
                           "are shown; runs of this session are kept in memory only (Export "
                           "CSV keeps them).")
            except (HistoryError, sqlite3.Error, OSError):
                self.store = None
                problem = (f"The run history {path} cannot be used now ({why}); runs of this "
                           "session are kept in memory only (Export CSV keeps them).")
        notes = []
        if self.store is not None:
            try:
                for record in self.store.load_runs():
                    self.records[record.id] = record
            except (sqlite3.Error, OSError) as exc:
                notes.append(f"the run history could not be read ({storage_reason(exc)})")
            if self.store.skipped:
                notes.append(f"{len(self.store.skipped)} saved run(s) could not be read: "
                             + "; ".join(self.store.skipped[:3]))
            if self.store.bad_rows:
                notes.append(f"{self.store.bad_rows} damaged metric row(s) were skipped")
        if problem:
            self.banner.show_problems([problem, *notes])
        elif notes:
            self.banner.show_message("; ".join(notes).capitalize() + ".", "info")
        self._show_loaded()

    def _close_store(self) -> None:
        if self.store is not None:
            self.store.close()
        self.store = None

    def history_writable(self) -> bool:
        return self.store is not None and not self.store.read_only

    def _show_loaded(self) -> None:
        recent = sorted(self.records)[-2:]
        self.run_list.set_runs(self._sorted_records(), {})
        for run_id in recent:
            self.run_list.set_checked(run_id)
        if recent:  # show where the last session ended: its newest run in focus
            self._focus_id = recent[-1]
            self.run_list.select(recent[-1])

    def _sorted_records(self) -> list[RunRecord]:
        return [self.records[k] for k in sorted(self.records)]

    def checkpoint_path(self, run_id: int) -> Path:
        return self._data_folder / "checkpoints" / f"run-{run_id}.pt"

    # ====================================================================== running
    def is_training(self) -> bool:
        return self.worker is not None and self.worker.is_running()

    def start(self) -> bool:
        """Start (or queue) a run with the form's settings; False if they are invalid."""
        config = self.form.config()
        if self._demo_note_shown:  # the first-visit note is about the example runs
            self._demo_note_shown = False
            self._note("")
        initial = None
        if self.warm_start.isVisible() and self.warm_start.isChecked() and self.checkpoint:
            initial = self.checkpoint.state_dict
            problem = self._checkpoint_fit_problem(config)
            if problem:
                self.banner.show_message(problem)
                return False
        return self.start_config(config, initial_state=initial)

    def start_config(self, config: TrainConfig, parent_id: int | None = None,
                     change: str = "", initial_state: dict | None = None) -> bool:
        problems = config.validate()
        if problems:
            self.banner.show_problems(problems)
            return False
        self.banner.clear()
        job = {"config": config, "parent_id": parent_id, "change": change,
               "initial_state": initial_state}
        if self.is_training():
            self.queue.append(job)
            self.progress_label.setText(
                f"Queued: starts when {self.running.name} finishes ({len(self.queue)} waiting; "
                "Stop cancels the queue)")
            return True
        self._launch(job)
        return True

    def _launch(self, job: dict) -> None:
        config = job["config"]
        record = self._new_record(config, job["parent_id"], job["change"])
        self.records[record.id] = record
        for waiting in self.queue:  # a prepared comparison's later runs: children of this
            if waiting.get("parent_of_queued") is job:
                waiting["parent_id"] = record.id
        self.running = record
        self._focus_id = record.id
        self.controls = TrainControls()
        controls = self.controls
        initial_state = job["initial_state"]
        db_path = self.store.path if self.history_writable() and record.id > 0 else None

        checkpoint = self.checkpoint_path(record.id) if record.id > 0 else None

        def make(should_stop):
            items = train(config, should_stop, controls, initial_state)
            if checkpoint is not None:  # before recording: a failed save is in the history
                items = checkpointed(items, checkpoint, config, {"run": record.name})
            if db_path:
                items = recorded(items, db_path, record.id)
            return items

        if trains_in_process():  # the app: in the trainer process, relayed by a QThread
            remote = RemoteRun(TrainJob(
                config, state_bytes(initial_state), str(checkpoint) if checkpoint else None,
                {"run": record.name}, str(db_path) if db_path else None, record.id,
                {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}))
            self.controls = remote
            self.worker = RelayWorker(remote, interval=0.1, parent=self)
        else:
            self.worker = GeneratorWorker(make, interval=0.1, parent=self)
        self.worker.batch.connect(functools.partial(self._on_batch, record))
        self.worker.failed.connect(functools.partial(self._on_failed, record))
        self.worker.finished.connect(functools.partial(self._on_finished, record))
        self.run_list.set_runs(self._sorted_records(), self._labels())
        self.run_list.set_checked(record.id)
        if job["parent_id"] in self.records:
            self.run_list.set_checked(job["parent_id"])
        self.run_list.select(record.id)
        self.progress.set_value(0)
        self.progress_label.setText(f"Starting {record.name}…")
        self.pause_button.setChecked(False)
        self.worker.start()
        self._update_buttons()
        self.request_redraw()

    def _new_record(self, config: TrainConfig, parent_id: int | None, change: str) -> RunRecord:
        if self.history_writable():
            try:
                return self.store.create_run(config, parent_id=parent_id, change=change)
            except Exception as exc:  # noqa: BLE001 - a full disk must not stop training
                with contextlib.suppress(sqlite3.Error):
                    self.store.db.rollback()
                self.banner.show_message(
                    f"This run cannot be saved in the run history ({storage_reason(exc)}); "
                    "it is kept in memory only (Export CSV keeps its metrics).")
        run_id = self._next_memory_id
        self._next_memory_id -= 1
        return RunRecord(run_id, f"#{-run_id} (unsaved)", config, parent_id=parent_id,
                         change=change)

    def stop(self) -> None:
        """Stop the running run after its current batch and cancel the queue."""
        self.queue.clear()
        self._hold_drawn = False
        if self.worker is not None:
            self.worker.request_stop()
            self.progress_label.setText("Stopping after this batch…")

    def shutdown(self) -> None:
        self.queue.clear()
        self._timer.stop()
        self._others_timer.stop()
        if self.worker is not None:
            self.worker.stop_and_wait()

    def hideEvent(self, event: QHideEvent) -> None:
        # Switching to another panel (not minimising) stops the run cleanly.
        if not event.spontaneous() and self.is_training():
            name = self.running.name if self.running else "the run"
            self.shutdown()
            self._stopped_on_leave = (f"{name} was stopped when you left the Training lab; "
                                      "its metrics and weights so far are kept.")
        super().hideEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stopped_on_leave:
            self.banner.show_message(self._stopped_on_leave, "info")
            self._stopped_on_leave = ""

    def _pause_toggled(self, paused: bool) -> None:
        if self.worker is None:  # e.g. the run ended while paused: the button reads Pause
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            return
        if paused:
            self.worker.pause()
            self.pause_button.setText("Resume")
            self.progress_label.setText(self.progress_label.text() + " — paused")
        else:
            self.worker.resume()
            self.pause_button.setText("Pause")

    def _live_change(self, name: str, value: float) -> None:
        if not self.is_training() or self.controls is None:
            return
        self._live_pending[name] = value
        self._live_timer.start()

    def _send_live(self) -> None:
        pending, self._live_pending = self._live_pending, {}
        if not self.is_training() or self.controls is None:
            return
        for name, value in pending.items():
            try:
                self.controls.set(name, value)
            except ValueError as exc:
                self.banner.show_message(str(exc))
                continue
            self._note(f"{name} → {value:g} reaches {self.running.name} at its "
                                   "next batch and is marked on the plots.")

    # -- what the worker sends ---------------------------------------------------------
    def _on_batch(self, record: RunRecord, items: list) -> None:
        for item in items:
            record.apply(item)
            if isinstance(item, DataProgress):
                done = f" {item.done / 2**20:.1f}/{item.total / 2**20:.1f} MB" \
                    if item.total and "Download" in item.message else (
                        f" {item.done}/{item.total}" if item.total else "")
                self.progress_label.setText(item.message + done)
                if item.total:
                    self.progress.set_fraction(item.done / item.total)
            elif isinstance(item, RunStarted):
                self.state.set_device_label(item.device_label)
                if item.notes:
                    self._note("; ".join(item.notes))
            elif isinstance(item, RunEvent) and item.kind in ("early_stop", "lr", "restore"):
                self._note(f"{record.name}: {item.text}")
            elif isinstance(item, RunEvent) and item.kind == "storage":
                saved_again = "saved again" in item.text
                self.banner.show_message(f"{record.name}: {item.text}",
                                         "info" if saved_again else "error")
            elif isinstance(item, RunFinished):
                self._run_finished(record, item)
        self.request_redraw()

    def _run_finished(self, record: RunRecord, finished: RunFinished) -> None:
        if finished.status in ("diverged", "out_of_memory"):
            self.banner.show_message(f"{record.name}: {finished.message}")

    def _on_failed(self, record: RunRecord, text: str) -> None:
        record.status = "failed"
        record.message = text
        record.revision += 1
        if text.startswith("The "):  # the trainer process ended, or memory ran out
            self.banner.show_message(f"{record.name} failed. {text}")
            return
        message = text.split(": ", 1)[1] if text.startswith(("ValueError", "DataError")) \
            else text
        self.banner.show_message(f"{record.name} could not train: {message}")

    def _settle_history(self, record: RunRecord) -> None:
        """A run whose trainer ended without saying so (killed, or ended after a stop it
        did not answer) is still "running" in the history: record how it ended."""
        if record.id <= 0 or not self.history_writable():
            return
        try:
            if self.store.status(record.id) == "running":
                self.store.finish(record.id, record.status, record.message,
                                  record.best_epoch, record.stop_epoch)
        except (sqlite3.Error, OSError):
            with contextlib.suppress(sqlite3.Error):
                self.store.db.rollback()

    def _on_finished(self, record: RunRecord, stopped: bool) -> None:
        if record.status in ("completed", "early_stopped"):
            self.progress.set_value(self.progress.maximum())
        if record.status == "running":
            record.status = "stopped" if stopped else "failed"
            record.revision += 1
        if isinstance(self.worker, RelayWorker) and self.running is record:
            self._settle_history(record)
        if self.running is record:
            self.running = None
            worker, self.worker = self.worker, None
            if worker is not None:
                worker.deleteLater()
        self.pause_button.setChecked(False)
        if self.queue:
            self._launch(self.queue.pop(0))
        else:
            self._hold_drawn = False
            self.progress_label.setText(f"{record.name}: {record.message or record.status}")
        self._update_buttons()
        self.request_redraw()

    # ====================================================================== drawing
    def request_redraw(self, force: bool = False) -> None:
        """Redraw soon, but at most every REDRAW_INTERVAL_S (coalescing bursts)."""
        self._force = self._force or force
        if self._timer.isActive():
            return
        wait = REDRAW_INTERVAL_S - (time.monotonic() - self._last_draw)
        self._timer.start(max(0, int(1000 * wait)))

    def focus_record(self) -> RunRecord | None:
        """The run whose boundary, weights and marks are shown: the one selected in the
        list (a new run selects itself), else the one training."""
        if self._focus_id in self.records:
            return self.records[self._focus_id]
        return self.running

    def drawn_records(self) -> list[RunRecord]:
        ids = set(self.run_list.checked_ids())
        focus = self.focus_record()
        if focus is not None:
            ids.add(focus.id)
        return [self.records[i] for i in sorted(ids) if i in self.records]

    def _labels(self, records: list[RunRecord] | None = None) -> dict[int, str]:
        records = self.drawn_records() if records is None else records
        if len(records) < 2:
            return {r.id: r.name for r in records}
        _, labels = describe_differences([r.config for r in records])
        return {r.id: f"{r.name}: {label}" for r, label in zip(records, labels, strict=True)}

    def redraw(self) -> None:
        """Redraw everything now."""
        self._redraw_curves()
        while self._drawing is not None:
            self._redraw_others()

    def _redraw_curves(self) -> None:
        self._timer.stop()
        self._drawing = (self._force, self.drawn_records(), self.focus_record())
        self._force = False
        force, records, focus = self._drawing
        self._drawing_labels = self._labels(records)
        self._drawing_part = 0
        self.plots.sync_curves(records, focus, self._drawing_labels, force)
        self._show_progress()
        self._last_draw = time.monotonic()
        self._others_timer.start()

    def _redraw_others(self) -> None:
        """The rest of a redraw, one part per event-loop turn (so no turn is long)."""
        self._others_timer.stop()
        if self._drawing is None:
            return
        force, records, focus = self._drawing
        labels = self._drawing_labels
        part = self._drawing_part
        if part == 0:
            self.plots.sync_epoch_views(records, force)
        elif part == 1:
            shown = self._boundary_run(focus)
            samples = self._show_points(shown)
            preview = "" if shown is not None else self._preview_text(samples)
            if force:
                self.plots.weights.drawn.reset()
                self.plots.boundary.drawn.reset()
            self.plots.weights.sync(records, focus)
            self.plots.boundary.sync(records if shown is not None else [], shown, preview)
        else:
            self.run_list.set_runs(self._sorted_records(), labels if len(records) > 1 else {})
            self._show_legend(records, labels)
        if part < 2:
            self._drawing_part += 1
            self._others_timer.start()
            return
        self._drawing = None
        self.redraw_count += 1
        if not self._hold_drawn:
            self.mark_drawn()

    def _boundary_run(self, focus: RunRecord | None) -> RunRecord | None:
        """The run whose boundary to draw, or None: when the form names another data source
        (Digits after a moons run) and nothing trains, the view previews the form's data
        instead of a stale boundary."""
        data = self.form.config().data
        if focus is not None and (self.is_training() or focus.config.data.source == data.source):
            return focus
        return None

    def _preview_text(self, samples: int) -> str:
        """The caption under the form's data (`samples`: how many images are shown)."""
        data = self.form.config().data
        title = data_module.SOURCES.get(data.source, data.source).split(" — ")[0]
        if data.is_points:
            return (f"{title}, as the form sets it. Press Start to train: the background will "
                    "show which class the model predicts everywhere in the plane.")
        shown = (f" Above: its first {samples} images and their classes." if samples else
                 " It is read when a run starts.")
        return (f"{title} are images, not points in a plane: there is no boundary to draw."
                f"{shown} Press Start: this view then shows the model's predictions on "
                "validation images, in train() or eval() mode.")

    def _show_points(self, focus: RunRecord | None) -> int:
        """The data behind the boundary: the focused run's, or the form's (a preview: an
        image set's first images). Returns how many images it previews."""
        data = focus.config.data if focus is not None else self.form.config().data
        if not data.is_points and focus is not None:  # its predictions are drawn instead
            self.plots.boundary.show_points(None, None)
            return 0
        dataset = self._preview_cache.get(data)
        if dataset is None:
            try:
                dataset = data_module.preview(data)
            except ValueError:
                dataset = None
            if dataset is not None:
                self._preview_cache = {data: dataset}
        if not data.is_points:  # the set's first images, with their classes
            if dataset is None:
                self.plots.boundary.show_samples(None, [])
                return 0
            count = min(len(dataset), MONTAGE_COLUMNS * MONTAGE_ROWS)
            self.plots.boundary.show_samples(
                data_module.display_pixels(dataset.x[:count]),
                [dataset.class_names[int(c)] for c in dataset.y[:count]])
            return count
        if dataset is None:
            self.plots.boundary.show_points(None, None)
        else:
            self.plots.boundary.show_points(dataset.x.numpy(), dataset.y.numpy())
        return 0

    def _show_legend(self, records: list[RunRecord], labels: dict[int, str]) -> None:
        if not records:
            set_text(self.legend, "No runs yet: press <b>Start</b> (F5).")
            return
        title = ""
        if len(records) > 1:
            title, _ = describe_differences([r.config for r in records])
            title = f"<b>Comparing {html.escape(title)}</b> &nbsp; "
        texts = {r.id: labels.get(r.id, r.name) for r in records}
        # runs that differ in many settings: names here, the values in the tooltip and the
        # run list (a paragraph of values would push the plots off a small screen)
        short = sum(len(t) for t in texts.values()) > LEGEND_MAX_CHARS
        # the swatch in the text's own size: a larger one made the line taller than "No
        # runs yet", so the first Start shifted every plot down (a relayout of the panel)
        parts = [f"<b style='color:{run_colour(r.id).name()}'>━━</b> "
                 f"{html.escape(r.name if short else texts[r.id])}" for r in records]
        set_text(self.legend, title + " &nbsp; ".join(parts))
        self.legend.setToolTip("\n".join(texts.values()) if short else LEGEND_TIP)

    def _show_progress(self) -> None:
        record = self.running
        if record is None or record.last_step is None or record.started is None:
            return
        step = record.last_step
        started = record.started
        fold = (f"fold {step.fold + 1}/{started.folds} · " if started.folds > 1 else "")
        steps = started.steps_per_epoch
        in_epoch = step.step - (step.epoch - 1) * steps
        paused = " — paused" if self.pause_button.isChecked() else ""
        self.progress.set_fraction(step.progress)
        set_text(self.progress_label,
                        f"{record.name}: {fold}epoch {step.epoch}/{started.epochs} · step "
                        f"{in_epoch}/{steps} · {step.samples_per_s:,.0f} samples/s · ETA "
                        f"{_clock(step.eta_s)}{paused}")

    def _note(self, text: str) -> None:
        """One line under the legend; the whole message is in its tooltip."""
        set_text(self.live_note, text)
        self.live_note.setToolTip(text)

    def _weights_option(self) -> None:
        self.plots.weights.refresh()
        self.request_redraw()

    # ====================================================================== the form
    def params(self) -> TrainingView:
        return TrainingView(self.form.config())

    def apply_params(self, view: TrainingView) -> None:
        self.form.set_config(view.config)

    def examples(self) -> dict[int, Example]:
        return EXAMPLES

    def refuse_params(self, message: str) -> None:
        super().refuse_params(message)
        self.banner.show_message(message)

    def _form_changed(self) -> None:
        problems = self.form.config().validate()
        self._part_problems.pop("params", None)  # the form changed: a refused view's note is old
        self.set_problems("form", problems)
        if problems:
            self.banner.show_problems(problems)
        elif self.banner.problems() and not self.is_training():
            self.banner.clear()
        if self.is_training():
            self._note("Learning rate, dropout p, L1 and L2 change the running "
                                   "run live; other settings apply to the next run.")
        elif self._focus_id is not None:
            focus = self.records.get(self._focus_id)
            if focus is not None and focus.config.data != self.form.config().data:
                self._focus_id = None  # new data: preview it
                self.run_list.clearSelection()
        self.request_redraw()

    def _ask_augment(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Augmentation pipeline", "",
                                              "Augmentation pipeline (*.json)")
        if path:
            self.load_augmentation(path)

    def load_augmentation(self, path: str | Path) -> bool:
        """Read a pipeline saved by the Augmentation panel; False (and a message) if not."""
        from lab import augment

        try:
            spec = augment.load_spec(path)
        except (ValueError, OSError) as exc:
            self.banner.show_message(f"{Path(path).name} is not an augmentation pipeline: "
                                     f"{exc}")
            return False
        self.form.set_augment(spec, Path(path).name)
        return True

    # ====================================================================== the run list
    def _selection_changed(self) -> None:
        selected = self.run_list.selected_id()
        if selected is not None:
            self._focus_id = selected
        self._update_buttons()
        self.request_redraw()

    def _renamed(self, run_id: int, name: str) -> None:
        record = self.records.get(run_id)
        if record is None or not name.strip() or name == record.name:
            return
        record.name = name.strip()
        if self.history_writable() and run_id > 0:
            try:
                self.store.rename_run(run_id, record.name)
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.store.db.rollback()
                self.banner.show_message(f"The new name is shown but not saved "
                                         f"({storage_reason(exc)}).")
        self.request_redraw()

    def selected_record(self) -> RunRecord | None:
        run_id = self.run_list.selected_id()
        return self.records.get(run_id) if run_id is not None else None

    def _update_buttons(self) -> None:
        training = self.is_training()
        self.pause_button.setEnabled(training)
        self.stop_button.setEnabled(training)
        self.start_button.setText("Queue" if training else "Start")
        selected = self.selected_record()
        has = selected is not None
        self.duplicate_button.setEnabled(has)
        self.settings_button.setEnabled(has)
        self.delete_button.setEnabled(has and selected is not self.running)
        self.save_action.setEnabled(has and selected.finished and (
            selected.final_state is not None or self.checkpoint_path(selected.id).is_file()))

    def _ask_duplicate(self) -> None:
        record = self.selected_record()
        if record is None:
            return
        dialog = DuplicateDialog(record, self)
        if dialog.exec():
            self.duplicate(record.id, *dialog.change())

    def duplicate(self, run_id: int, path: str, value) -> bool:
        """Train a copy of run `run_id` with one setting changed (started or queued)."""
        record = self.records[run_id]
        try:
            config = with_change(record.config, path, value)
        except ValueError as exc:
            self.banner.show_message(str(exc))
            return False
        from lab.training import SETTING_LABELS, flat_settings, format_value

        old, new = flat_settings(record.config)[path], flat_settings(config)[path]
        change = f"{SETTING_LABELS[path]} {format_value(old)} → {format_value(new)}"
        self.form.set_config(config)
        return self.start_config(config, parent_id=record.id, change=change)

    def _use_selected_settings(self) -> None:
        record = self.selected_record()
        if record is not None:
            self.form.set_config(record.config)
            self._focus_id = record.id
            self.request_redraw()

    def _ask_delete(self) -> None:
        record = self.selected_record()
        if record is None:
            return
        answer = QMessageBox.question(self, "Delete run",
                                      f"Delete {record.name} and its saved weights?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_run(record.id)

    def delete_run(self, run_id: int) -> bool:
        """Delete a run and its saved weights; False (the run kept, a message) when the
        history or the weights file cannot be changed."""
        if self.running is not None and self.running.id == run_id:
            return False
        record = self.records.get(run_id)
        name = record.name if record is not None else f"run {run_id}"
        if self.store is not None and run_id > 0:
            if self.store.read_only:
                self.banner.show_message(f"{name} cannot be deleted: the run history is "
                                         "read-only for now.")
                return False
            try:
                self.store.delete_run(run_id)
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.store.db.rollback()
                self.banner.show_message(f"{name} could not be deleted "
                                         f"({storage_reason(exc)}); it is kept.")
                return False
        self.records.pop(run_id, None)
        try:
            self.checkpoint_path(run_id).unlink(missing_ok=True)
        except OSError as exc:
            self.banner.show_message(f"{name} was deleted, but its weights file "
                                     f"{self.checkpoint_path(run_id)} could not be removed "
                                     f"({files.reason(exc)}).")
        if self._focus_id == run_id:
            self._focus_id = None
        self.run_list.set_runs(self._sorted_records(), {})
        self._update_buttons()
        self.request_redraw()
        return True

    def _ask_export(self, what: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", f"training-{what}.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_csv(path, what)

    def export_csv(self, path: str | Path, what: str = "epochs") -> int:
        """Write the ticked runs' metrics from memory (so runs whose history could not be
        saved are exported too); the row count, or 0 with a message naming the path and
        the reason when the file cannot be written."""
        ids = [i for i in (self.run_list.checked_ids() or
                           [self.run_list.selected_id()]) if i is not None and i in self.records]
        if not ids:
            self.banner.show_message("Tick the runs to export.", "info")
            return 0
        text, count = records_csv([self.records[i] for i in sorted(ids, key=abs)], what)
        if not write_text(path, text, self.banner.show_message):
            return 0
        self._note(f"Wrote {count} rows of {what} metrics to {path}")
        return count

    # ====================================================================== checkpoints
    def _ask_save_checkpoint(self) -> None:
        record = self.selected_record()
        if record is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint",
                                              f"{record.name.strip('#')}.pt",
                                              "PyTorch checkpoint (*.pt)")
        if path:
            self.save_checkpoint_of(record.id, path)

    def save_checkpoint_of(self, run_id: int, path: str | Path) -> bool:
        record = self.records[run_id]
        try:
            if record.final_state is not None and record.started is not None:
                save_checkpoint(path, record.config, record.final_state,
                                record.started.input_shape, list(record.started.class_names),
                                {"run": record.name, "epoch": record.stop_epoch,
                                 "status": record.status})
            else:
                saved = load_checkpoint(self.checkpoint_path(run_id))
                save_checkpoint(path, saved.config, saved.state_dict, saved.input_shape,
                                saved.class_names, saved.meta)
        except CheckpointError as exc:
            self.banner.show_message(f"Could not save the weights: {exc}")
            return False
        except (OSError, RuntimeError) as exc:  # torch.save's short write is a RuntimeError
            why = exc.reason if isinstance(exc, WriteError) else files.reason(exc, path)
            self.banner.show_message(f"Could not save the weights to {path}: {why}")
            return False
        self._note(f"Saved {record.name}'s weights and settings to {path}")
        return True

    def _ask_load_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load checkpoint", "",
                                              "PyTorch checkpoint (*.pt *.pth);;All files (*)")
        if path:
            self.load_checkpoint_file(path)

    def load_checkpoint_file(self, path: str | Path) -> bool:
        """Load weights + settings: the settings go into the form; Start can continue from
        the weights. A damaged or foreign file gets a message and changes nothing."""
        try:
            checkpoint = load_checkpoint(path)
            checkpoint.build()  # the weights must fit the settings saved with them
        except CheckpointError as exc:
            self.banner.show_message(f"Could not load the checkpoint: {exc}")
            return False
        self.checkpoint = checkpoint
        self.form.set_config(checkpoint.config)
        self.warm_start.setVisible(True)
        self.warm_start.setChecked(True)
        meta = checkpoint.meta
        trained = f", trained {meta['epoch']} epochs" if meta.get("epoch") else ""
        self.banner.show_message(
            f"Loaded {Path(path).name} ({meta.get('run', 'a run')}{trained}): its settings are "
            "in the form; Start continues from its weights.", "info")
        return True

    def _checkpoint_fit_problem(self, config: TrainConfig) -> str:
        checkpoint = self.checkpoint
        if checkpoint is None:
            return ""
        shape = checkpoint.input_shape
        preview = data_module.preview(config.data)
        if preview is not None:
            shape = preview.input_shape
            classes = preview.num_classes
        else:
            classes = len(checkpoint.class_names)
        try:
            model = build_model(config, shape, classes)
        except ValueError as exc:
            return str(exc)
        problems = state_problems(model, checkpoint.state_dict)
        if problems:
            return ("The checkpoint's weights do not fit these settings ("
                    + "; ".join(problems) + "). Load its settings again, or untick "
                    "“Start from the loaded checkpoint's weights”.")
        return ""

    # ====================================================================== code
    def code_config(self) -> TrainConfig:
        """The settings the code shows: the selected run's, else the form's."""
        selected = self.selected_record()
        return selected.config if selected is not None else self.form.config()

    def show_code(self) -> QDialog:
        from lab.training.export import training_code

        dialog = QDialog(self)
        selected = self.selected_record()
        dialog.setWindowTitle("PyTorch code for " + (selected.name if selected else
                                                     "the form's settings"))
        view = CodeView("Plain PyTorch training loop with these settings")
        view.set_code(training_code(self.code_config()))
        layout = QVBoxLayout(dialog)
        layout.addWidget(view)
        dialog.resize(820, 640)
        dialog.code_view = view
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # ====================================================================== first use
    def _start_demo(self) -> None:
        """First use (no history): a prepared comparison (dropout 0 vs 0.5 on a set small
        and noisy enough to overfit), so the first view already shows live curves, a
        decision boundary and a remedy at work."""
        self._hold_drawn = True
        # a slow machine still gets a first picture (mid-training) within the hold time
        QTimer.singleShot(int(1000 * DEMO_HOLD_S), self._release_hold)
        self.start_comparison(DROPOUT, first_visit=True)

    def start_comparison(self, comparison: Comparison, first_visit: bool = False) -> None:
        """Put the comparison's baseline into the form and train its runs in turn, each
        later one a child of the first (so they are compared and overlaid)."""
        self.form.set_config(comparison.base)
        configs, changes = comparison.configs(), comparison.changes()
        queued_before = len(self.queue)
        first_id = None
        for index, (config, change) in enumerate(zip(configs, changes, strict=True)):
            self.start_config(config, parent_id=first_id, change=change)
            if index == 0:
                first_id = self.running.id if self.running and not queued_before else None
        if first_id is None:  # the baseline was queued: its children learn its id on launch
            for job in self.queue[queued_before + 1:]:
                job["parent_of_queued"] = self.queue[queued_before]
        self._note(("First visit: " if first_visit else "") + comparison.lesson +
                   (" Change the settings on the left and press Start to train your own."
                    if first_visit else ""))
        self._demo_note_shown = True

    def _release_hold(self) -> None:
        if self._hold_drawn:
            self._hold_drawn = False
            self.request_redraw()
