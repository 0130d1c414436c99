"""The Training lab's run list (check a run to overlay it in every plot) and the dialog
that duplicates a run with one setting changed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lab.training import (
    ARCHITECTURES,
    OPTIMIZERS,
    SCHEDULERS,
    SETTING_LABELS,
    TrainConfig,
    flat_settings,
    format_value,
    setting_applies,
    with_change,
)
from lab.training.runs import RunRecord
from widgets.training.plots import run_colour

STATUS_TEXT = {"running": "training…", "completed": "done", "early_stopped": "early stop",
               "stopped": "stopped", "diverged": "NaN — diverged",
               "out_of_memory": "out of memory", "failed": "failed",
               "interrupted": "interrupted", "queued": "queued"}
COLUMNS = ("Run", "Status", "Result", "Settings that differ", "Device")
#: settings a duplicate may change, in the order the dialog lists them
DUPLICABLE = ("dropout", "l1", "l2", "lr", "momentum", "optimizer", "batch_size", "epochs",
              "depth", "width", "arch", "activation", "batchnorm", "scheduler", "gamma",
              "step_size", "early_stopping", "patience", "data.train_size", "data.samples",
              "data.noise", "data.val_fraction", "data.source", "kfold", "seed", "data.seed")
CHOICES: dict[str, dict] = {"optimizer": OPTIMIZERS, "scheduler": SCHEDULERS,
                            "arch": ARCHITECTURES}


def _swatch(colour: QColor) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(colour)
    return QIcon(pixmap)


class RunList(QTreeWidget):
    """One row per run: a check box to overlay it, its name (editable), status, result
    and what sets it apart from the other checked runs."""

    checkedChanged = Signal()
    renamed = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(COLUMNS)
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        header = self.header()
        header.setStretchLastSection(False)
        for column, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.Stretch,
                                       QHeaderView.ResizeMode.ResizeToContents)):
            header.setSectionResizeMode(column, mode)
        self.setToolTip("Tick runs to overlay them in every plot; the legend says what "
                        "differs. Double-click a name to rename it.")
        self._items: dict[int, QTreeWidgetItem] = {}
        self._updating = False
        self.itemChanged.connect(self._item_changed)

    def set_runs(self, records: list[RunRecord], labels: dict[int, str]) -> None:
        """Show `records` (newest first), keeping check states and the selection."""
        self._updating = True
        try:
            wanted = {r.id for r in records}
            for run_id in list(self._items):
                if run_id not in wanted:
                    item = self._items.pop(run_id)
                    self.takeTopLevelItem(self.indexOfTopLevelItem(item))
            for record in reversed(records):
                item = self._items.get(record.id)
                if item is None:
                    item = QTreeWidgetItem()
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable
                                  | Qt.ItemFlag.ItemIsEditable)
                    item.setCheckState(0, Qt.CheckState.Unchecked)
                    item.setData(0, Qt.ItemDataRole.UserRole, record.id)
                    item.setIcon(0, _swatch(run_colour(record.id)))
                    self.insertTopLevelItem(0, item)
                    self._items[record.id] = item
                self._fill(item, record, labels.get(record.id, ""))
        finally:
            self._updating = False

    def _fill(self, item: QTreeWidgetItem, record: RunRecord, label: str) -> None:
        status = STATUS_TEXT.get(record.status, record.status)
        if record.status == "running" and record.last_step is not None:
            status = f"training… {10 * int(10 * record.last_step.progress)}%"  # 10% steps
        values = (record.name, status, record.headline(),
                  label or (record.change and f"from #{record.parent_id}: {record.change}")
                  or "", record.device)
        for column, text in enumerate(values):
            if item.text(column) != text:
                item.setText(column, text)
        tip = record.message or ""
        if record.change:
            tip = f"Duplicate of #{record.parent_id} with {record.change}. {tip}"
        item.setToolTip(1, tip)
        item.setToolTip(2, tip)

    def checked_ids(self) -> list[int]:
        return [run_id for run_id, item in self._items.items()
                if item.checkState(0) == Qt.CheckState.Checked]

    def set_checked(self, run_id: int, checked: bool = True) -> None:
        item = self._items.get(run_id)
        if item is not None:
            item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def selected_id(self) -> int | None:
        items = self.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def select(self, run_id: int) -> None:
        item = self._items.get(run_id)
        if item is not None:
            self.setCurrentItem(item)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating:
            return
        if column == 0:
            run_id = item.data(0, Qt.ItemDataRole.UserRole)
            self.renamed.emit(run_id, item.text(0))
            self.checkedChanged.emit()


class DuplicateDialog(QDialog):
    """Pick one setting and its new value; `result_config()` is the changed copy."""

    def __init__(self, record: RunRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Duplicate {record.name} with one change")
        self.base = record.config
        self.values = flat_settings(record.config)
        self.setting = QComboBox()
        # only settings that mean something for this run (no noise for digits, momentum
        # for Adam): changing another would train the same run again
        for path in (p for p in DUPLICABLE if setting_applies(record.config, p)):
            current = format_value(self.values[path])
            self.setting.addItem(f"{SETTING_LABELS[path]} (now {current})", path)
        self.setting.setToolTip("The one setting the new run changes; everything else stays "
                                "as in the original, so the comparison is fair")
        self.value_choice = QComboBox()
        self.value_text = QLineEdit()
        self.value_text.setPlaceholderText("new value")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b03a2e;")
        form = QFormLayout()
        form.addRow("Change", self.setting)
        form.addRow("to", self.value_text)
        form.addRow("", self.value_choice)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Train the duplicate")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"A new run with {record.name}'s settings and one change; "
                                "both are ticked so the plots compare them."))
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.setting.currentIndexChanged.connect(self._setting_changed)
        self._setting_changed()

    def _setting_changed(self) -> None:
        path = self.setting.currentData()
        old = self.values[path]
        choices = CHOICES.get(path)
        if path == "data.source":
            from lab.data import SOURCES
            choices = SOURCES
        if isinstance(old, bool):
            choices = {True: "on", False: "off"}
        self.value_choice.clear()
        if choices:
            for value, text in choices.items():
                self.value_choice.addItem(text.split(" — ")[0], value)
            index = max(0, self.value_choice.findData(not old if isinstance(old, bool)
                                                      else old))
            if not isinstance(old, bool) and self.value_choice.count() > 1 and \
                    self.value_choice.itemData(index) == old:
                index = (index + 1) % self.value_choice.count()
            self.value_choice.setCurrentIndex(index)
        else:
            self.value_text.setText(_suggest(path, old))
        self.value_choice.setVisible(bool(choices))
        self.value_text.setVisible(not choices)
        self.problem.clear()

    def choose(self, path: str, value: Any) -> None:
        """Select a setting and a value (keyboard users and tests)."""
        self.setting.setCurrentIndex(self.setting.findData(path))
        if self.value_choice.isVisibleTo(self):
            self.value_choice.setCurrentIndex(self.value_choice.findData(value))
        else:
            self.value_text.setText(str(value))

    def change(self) -> tuple[str, Any]:
        path = self.setting.currentData()
        if self.value_choice.isVisibleTo(self):
            return path, self.value_choice.currentData()
        return path, self.value_text.text()

    def result_config(self) -> TrainConfig:
        path, value = self.change()
        return with_change(self.base, path, value)

    def change_text(self) -> str:
        path, _ = self.change()
        new = flat_settings(self.result_config())[path]
        return f"{SETTING_LABELS[path]} {format_value(self.values[path])} → {format_value(new)}"

    def _accept(self) -> None:
        try:
            config = self.result_config()
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        problems = config.validate()
        if problems:
            self.problem.setText("; ".join(problems))
            return
        if config == self.base:
            self.problem.setText("That is the value it already has: pick a different one.")
            return
        self.accept()


def _suggest(path: str, old: Any) -> str:
    """A sensible first guess for the new value (the user edits it)."""
    if path == "dropout":
        return "0.5" if not old else "0"
    if path in ("l1", "l2"):
        return "0.001" if not old else "0"
    if path == "lr":
        return format_value(old / 10)
    if path == "data.train_size":
        return "50" if not old else "0"
    if isinstance(old, int):
        return str(old * 2 if old else 1)
    if isinstance(old, float):
        return format_value(round(old / 2, 6))
    return str(old)
