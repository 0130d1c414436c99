"""Augmentation panel (concepts 6–11, 22): build a torchvision v2 pipeline, see its draws.

A thin view over `lab.augment`: the steps list and the selected step's editor make a
spec (the same JSON the Training lab reads); a change is coalesced by a zero-delay timer,
validated against the current image (the banner names the broken rule, the grid keeps
the last good draws), and the grid is drawn off the GUI thread by the kit's `LatestJob`
(`add_job(..., overlap=True)`) running `lab.augment.draws.generate_draws`, one draw at a
time, so draws appear progressively; a newer change starts its grid at once while the stale
one ends after its current draw, its draws dropped.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPainter, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lab import augment
from lab.augment import STEP_LIST, STEP_TYPES, ChannelStats, working
from lab.augment import draws as augment_draws
from lab.augment.draws import Draw
from lab.augment.examples import EXAMPLES
from lab.augment.view import AugmentView
from lab.images import LabImage
from lab.params import Example
from widgets.augment.editors import StepEditor
from widgets.kit.controls import ChoiceBox, ErrorBanner, ParamSlider, QuietProgressBar, caption
from widgets.kit.files import save_image
from widgets.kit.panel import AppState, Panel
from widgets.kit.thumbnails import ThumbnailGrid
from widgets.kit.views import CodeView

CHANNEL_NAMES = {1: ("gray",), 3: ("R", "G", "B")}
DEFAULT_PRESET = "notes"


def step_icon(random_step: bool) -> QIcon:
    """A die for random steps (different in every draw), a plain tile for the others."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if random_step:
        color = QColor("#2f6fdb")
        painter.setPen(QPen(color, 1.2))
        painter.setBrush(QColor("#e8eef9"))
        painter.drawRoundedRect(QRectF(1.5, 1.5, 13, 13), 3, 3)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        for x, y in ((5, 5), (8, 8), (11, 11)):
            painter.drawEllipse(QRectF(x - 1.4, y - 1.4, 2.8, 2.8))
    else:  # an arrow: the same mapping every time
        painter.setPen(QPen(QColor("#8a8f98"), 1.6))
        painter.drawLine(2, 8, 13, 8)
        painter.drawLine(9, 4, 13, 8)
        painter.drawLine(9, 12, 13, 8)
    painter.end()
    return QIcon(pixmap)


def _worker_threads(pixels: int) -> int:
    """Intra-op threads for the grid worker: one for images up to 512², else all cores
    but the one the GUI needs."""
    cores = os.cpu_count() or 1
    return 1 if pixels <= 512 * 512 else max(1, cores - 1)


@contextmanager
def one_torch_thread(values: int = 0) -> Iterator[None]:
    """Run the GUI thread's small tensor work (up to 4M values) on one intra-op thread.
    With the worker busy, OpenMP's extra threads only fight it for the cores: on a loaded
    2-core machine they made a 0.3 ms conversion take 70 ms."""
    import torch

    before = torch.get_num_threads()
    if values <= 4 << 20:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class AugmentPanel(Panel):
    """Pipeline on the left; the original beside a grid of random draws on the right."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        # torchvision is imported here (panel build shows a wait cursor), not in the
        # worker thread where an import would hold the import lock mid-grid
        import torchvision.transforms.v2  # noqa: F401

        self._steps: dict[int, dict] = {}
        self._next_id = 0
        self._editor: StepEditor | None = None
        self._editor_id: int | None = None
        # the first draw goes out at once, later ones at most once a frame; a new grid
        # starts at once while the stale one ends after its current draw (its draws dropped)
        self._grid_job = self.add_job("grid_draws", self._draw_arrived, self._grid_finished,
                                      on_failed=self._failed, overlap=True, interval=0.015)
        self._draws: dict[int, Draw] = {}
        self._grid_failed = False
        self._started = 0.0
        self._elapsed_ms: float | None = None
        self._first_draw_ms: float | None = None
        self._last_good_spec: dict | None = None
        self._preset_untouched: str | None = DEFAULT_PRESET
        self._image_tensor = None
        self._float_tensor = None
        #: the working copy of the grid on screen (None: drawn at the image's exact size)
        self._working: working.WorkingCopy | None = None
        #: shrunk copies of the image, (size, dtype) -> tensor, made once in the worker
        self._working_tensors: dict[tuple, object] = {}
        self._seed_touched = False
        self._pending: tuple[dict, int, int] | None = None
        self._input_stats: ChannelStats | None = None
        self._value_range = (0.0, 1.0)
        self.updaters = {"grid": self._update_grid}

        self.banner = ErrorBanner()
        controls = self._build_controls()
        views = self._build_views()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(controls)
        splitter.addWidget(views)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)

        state.imageChanged.connect(self._image_changed)
        self._set_image(state.image)
        self.set_spec(augment.preset(DEFAULT_PRESET, self.image_shape(),
                                     normalize=self._image_normalize()), keep_preset=True)
        state.normalizeOffered.connect(self.take_offered_normalize)
        self.take_offered_normalize()

    # ====================================================================== building
    def _build_controls(self) -> QScrollArea:
        # -- pipeline
        self.preset = ChoiceBox("Preset", [(k, k, text) for k, text in augment.PRESETS.items()],
                                DEFAULT_PRESET, tooltip="A ready pipeline; Apply replaces the "
                                "steps below (sizes follow the current image)")
        self.apply_preset = QPushButton("Apply")
        self.apply_preset.setToolTip("Replace the pipeline with the chosen preset")
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset, 1)
        preset_row.addWidget(self.apply_preset)

        self.steps_list = QListWidget()
        self.steps_list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.steps_list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.steps_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.steps_list.setMinimumHeight(150)
        self.steps_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.steps_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.steps_list.setToolTip(
            "The pipeline, applied top to bottom (transforms.v2.Compose). Tick to switch a "
            "step on or off, drag to reorder, select to edit its parameters. "
            "Del removes, Ctrl+↑/↓ moves.")
        self.add_button = QToolButton()
        self.add_button.setText("Add step ▾")
        self.add_button.setToolTip("Append a torchvision transform after the selected step")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_menu = QMenu(self.add_button)
        for info in STEP_LIST:
            action = self.add_menu.addAction(f"{info.title}  ({info.name})")
            action.setToolTip(info.summary)
            action.triggered.connect(lambda _=False, n=info.name: self.add_step(n))
        self.add_menu.setToolTipsVisible(True)
        self.add_button.setMenu(self.add_menu)
        self.remove_button = QToolButton()
        self.remove_button.setText("Remove")
        self.remove_button.setToolTip("Remove the selected step (Del)")
        self.up_button = QToolButton()
        self.up_button.setText("↑")
        self.up_button.setToolTip("Move the selected step earlier (Ctrl+Up)")
        self.down_button = QToolButton()
        self.down_button.setText("↓")
        self.down_button.setToolTip("Move the selected step later (Ctrl+Down)")
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.load_button = QPushButton("Load JSON…")
        self.load_button.setToolTip("Open a pipeline saved as JSON (the format the Training "
                                    "panel accepts for its augmentation)")
        self.save_button = QPushButton("Save JSON…")
        self.save_button.setToolTip("Save this pipeline as JSON, for later or for training")
        files = QHBoxLayout()
        files.addWidget(self.load_button)
        files.addWidget(self.save_button)

        pipeline_box = QGroupBox("Pipeline — transforms.v2.Compose")
        pipeline_layout = QVBoxLayout(pipeline_box)
        pipeline_layout.addLayout(preset_row)
        pipeline_layout.addWidget(self.steps_list, 1)
        pipeline_layout.addWidget(caption(
            "Die: a random step (different in every draw). Arrow: the same every time."))
        pipeline_layout.addLayout(buttons)
        pipeline_layout.addLayout(files)

        self.editor_box = QGroupBox("Step parameters")
        self.editor_layout = QVBoxLayout(self.editor_box)
        self.editor_hint = caption("Select a step to edit its parameters.")
        self.editor_layout.addWidget(self.editor_hint)

        # -- draws
        self.count = ParamSlider("Draws N", 1, 64, 16, tooltip=(
            "How many random draws of the pipeline to show (each one is pipeline(image) "
            "with its own seed)."))
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("Draw i uses torch.manual_seed(seed + i): the same seed always "
                             "gives the same grid (the exported code does the same)")
        self.lock = QCheckBox("Lock")
        self.lock.setChecked(True)
        self.lock.setToolTip("Locked: keep this seed while you change parameters, so you see "
                             "the same random draws change. Unlocked: every change re-rolls.")
        self.reroll = QPushButton("Re-roll")
        self.reroll.setShortcut(QKeySequence("Ctrl+R"))
        self.reroll.setToolTip("Draw a new seed and a new grid (Ctrl+R)")
        seed_row = QHBoxLayout()
        seed_label = QLabel("Seed")
        seed_label.setMinimumWidth(90)
        seed_label.setBuddy(self.seed)
        seed_row.addWidget(seed_label)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.lock)
        seed_row.addWidget(self.reroll)
        self.input_dtype = ChoiceBox("Feed image as", [
            ("uint8", "uint8 0…255", "The tensor torchvision.io.decode_image gives"),
            ("float32", "float32 0…1", "The tensor ToTensor / ToDtype(scale=True) gives")],
            "uint8", tooltip="Both work: the pipeline's first step, ToDtype(torch.float32, "
            "scale=True), turns either into float32 in [0, 1]")
        draws_box = QGroupBox("Draws")
        draws_layout = QVBoxLayout(draws_box)
        draws_layout.addWidget(self.count)
        draws_layout.addLayout(seed_row)
        draws_layout.addWidget(self.input_dtype)
        self.exact_size = QCheckBox("Exact size — draw the original pixels (slow for photos)")
        self.exact_size.setToolTip(
            f"Off: an image larger than {working.DEFAULT_WORKING_SIDE} pixels is first resized "
            f"so its longer side is {working.DEFAULT_WORKING_SIDE} (twice a tile), and every "
            "parameter in pixels (crop and resize sizes, padding, blur kernel and σ) is "
            "scaled by the same factor: the same draws, shrunk, in a fraction of the time. "
            "On: the pipeline runs on the original as it is.")
        self.working_note = caption("", small=True)
        self.working_note.setVisible(False)
        draws_layout.addWidget(self.exact_size)
        draws_layout.addWidget(self.working_note)

        form = QVBoxLayout()
        form.addWidget(pipeline_box)
        form.addWidget(self.editor_box)
        form.addWidget(draws_box)
        form.addStretch(1)
        inner = QWidget()
        inner.setLayout(form)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(360)
        scroll.setMaximumWidth(470)

        self.apply_preset.clicked.connect(self.apply_selected_preset)
        self.steps_list.currentRowChanged.connect(lambda _row: self._show_editor())
        self.steps_list.itemChanged.connect(self._item_changed)
        model = self.steps_list.model()
        for signal in (model.rowsMoved, model.rowsInserted, model.rowsRemoved):
            signal.connect(lambda *_a: self._order_changed())
        self.remove_button.clicked.connect(self.remove_step)
        self.up_button.clicked.connect(lambda: self.move_step(-1))
        self.down_button.clicked.connect(lambda: self.move_step(1))
        self.load_button.clicked.connect(self._ask_load)
        self.save_button.clicked.connect(self._ask_save)
        self.count.valueChanged.connect(lambda _v: self.request_update())
        self.seed.valueChanged.connect(self._seed_changed)
        self.lock.toggled.connect(lambda _v: self._sync_seed_buttons())
        self.reroll.clicked.connect(self.reroll_seed)
        self.input_dtype.valueChanged.connect(lambda _v: self.request_update())
        self.exact_size.toggled.connect(lambda _v: self.request_update())
        for keys, slot in (("Delete", self.remove_step), ("Ctrl+Up", lambda: self.move_step(-1)),
                           ("Ctrl+Down", lambda: self.move_step(1))):
            shortcut = QShortcut(QKeySequence(keys), self.steps_list)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        return scroll

    def _build_views(self) -> QWidget:
        self.original = ThumbnailGrid(columns=1, caption_lines=3, empty_text="")
        self.original.setToolTip("The image before the pipeline, and the draw you clicked")
        self.original.setMinimumWidth(200)
        self.stats_label = QLabel()
        self.stats_label.setTextFormat(Qt.TextFormat.RichText)
        self.stats_label.setToolTip(
            "Per-channel mean ± std of the values the network would see: the input (as "
            "floats in [0, 1]) and all draws together. Normalize with the image's own "
            "statistics brings every channel to 0 ± 1.")
        self.range_label = caption("")
        self.range_label.setVisible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Original</b> and the selected draw"))
        left_layout.addWidget(self.original, 1)
        left_layout.addWidget(self.stats_label)
        left_layout.addWidget(self.range_label)

        self.grid = ThumbnailGrid(caption_lines=2)
        self.grid.setToolTip("Random draws of the pipeline. Hover for what each step drew, "
                             "click to see a draw large, arrow keys to step through.")
        self.progress = QuietProgressBar(steps=1)
        self.progress.setMaximumHeight(14)
        self.grid_status = QLabel()
        self.export_grid = QPushButton("Save grid as PNG…")
        self.export_grid.setToolTip("Save the grid of draws, with their captions, as a PNG")
        header = QHBoxLayout()
        header.addWidget(self.grid_status, 1)
        header.addWidget(self.progress)
        header.addWidget(self.export_grid)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(header)
        right_layout.addWidget(self.grid, 1)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(right)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 3)
        top.setSizes([260, 760])

        self.code = CodeView("PyTorch code that makes exactly these draws")
        self.json_view = QPlainTextEdit()
        self.json_view.setReadOnly(True)
        self.json_view.setFont(self.code.editor.font())
        self.json_view.setToolTip("The pipeline as JSON: what Save JSON writes and what the "
                                  "Training panel accepts")
        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.addTab(self.code, "Python")
        self.bottom_tabs.addTab(self.json_view, "JSON")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.bottom_tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 230])

        self.grid.tileSelected.connect(self._show_selected)
        self.export_grid.clicked.connect(self._ask_export_grid)
        return splitter

    # ====================================================================== image
    def image_shape(self) -> tuple[int, int, int]:
        image = self.state.image
        return (image.channels, image.height, image.width)

    def _set_image(self, image: LabImage) -> None:
        self._image_tensor = augment.image_tensor(image.pixels)
        self._float_tensor = None
        self._working_tensors = {}
        with one_torch_thread(self._image_tensor.numel()):
            self._input_stats = augment.channel_stats(self._image_tensor)
            display = augment_draws.to_display_array(self._image_tensor, max_side=512)
        self.original.set_count(2)
        kind = "gray" if image.is_gray else "RGB"
        self.original.set_tile(0, display, f"original {image.width}×{image.height} {kind}",
                               image.describe())
        self._show_selected(self.grid.selected())

    def _image_changed(self, image: LabImage) -> None:
        self._set_image(image)
        if self._preset_untouched:  # a preset nobody edited follows the image's size
            self.set_spec(augment.preset(self._preset_untouched, self.image_shape(),
                                         normalize=self._image_normalize()), keep_preset=True)
        self.request_update()

    def _image_normalize(self) -> tuple[list[float], list[float]]:
        return augment.rounded_stats(self._input_stats)

    # ====================================================================== the spec
    def spec(self) -> dict:
        """The pipeline as the list shows it, in the JSON shape of `lab.augment`."""
        steps = []
        for row in range(self.steps_list.count()):
            item = self.steps_list.item(row)
            step = dict(self._steps[item.data(Qt.ItemDataRole.UserRole)])
            step["enabled"] = item.checkState() == Qt.CheckState.Checked
            steps.append(step)
        return augment.make_spec(steps)

    def set_spec(self, spec: dict, *, keep_preset: bool = False) -> None:
        """Show this pipeline (replacing the current one)."""
        self.steps_list.blockSignals(True)
        self.steps_list.clear()
        self._steps.clear()
        for step in spec["steps"]:
            self._append_item(augment.make_step(step["name"], step.get("params") or {},
                                                step.get("enabled", True)))
        self.steps_list.blockSignals(False)
        self._preset_untouched = self._preset_untouched if keep_preset else None
        self.steps_list.setCurrentRow(0 if self.steps_list.count() else -1)
        self._show_editor()
        self.request_update()

    def params(self) -> AugmentView:
        return AugmentView(spec=self.spec(), count=int(self.count.value()),
                           seed=int(self.seed.value()), lock=self.lock.isChecked(),
                           input_dtype=self.input_dtype.value(), preset=self.preset.value(),
                           selected_step=self.steps_list.currentRow())

    def apply_params(self, view: AugmentView) -> None:
        spec = view.spec
        if not isinstance(spec.get("steps"), list):
            raise ValueError("the pipeline has no list of steps")
        self.preset.setValue(view.preset)
        follows_image = spec == augment.preset(view.preset, self.image_shape(),
                                               normalize=self._image_normalize())
        self.set_spec(spec)
        self._preset_untouched = view.preset if follows_image else None
        self.steps_list.setCurrentRow(view.selected_step)
        self.count.setValue(view.count)
        self.seed.setValue(view.seed)
        self._seed_touched = True  # this seed was chosen: an unlocked grid must not re-roll it
        self.lock.setChecked(view.lock)
        self.input_dtype.setValue(view.input_dtype)

    def examples(self) -> dict[int, Example]:
        return EXAMPLES

    def refuse_params(self, message: str) -> None:
        super().refuse_params(message)
        self.banner.show_message(message)

    def _append_item(self, step: dict, row: int | None = None) -> QListWidgetItem:
        step_id = self._next_id
        self._next_id += 1
        self._steps[step_id] = step
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, step_id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable
                      | Qt.ItemFlag.ItemIsDragEnabled)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
        item.setCheckState(Qt.CheckState.Checked if step.get("enabled", True)
                           else Qt.CheckState.Unchecked)
        self._label_item(item)
        if row is None:
            self.steps_list.addItem(item)
        else:
            self.steps_list.insertItem(row, item)
        return item

    def _label_item(self, item: QListWidgetItem) -> None:
        step = self._steps[item.data(Qt.ItemDataRole.UserRole)]
        info = STEP_TYPES[step["name"]]
        blocked = self.steps_list.blockSignals(True)
        if item.data(Qt.ItemDataRole.UserRole + 1) is None:
            item.setIcon(step_icon(info.random))
            item.setData(Qt.ItemDataRole.UserRole + 1, True)
        item.setText(augment.step_summary(step))
        item.setToolTip(f"<b>{info.name}</b>: {info.summary}<br><code>"
                        f"{augment.step_call(step)}</code>")
        self.steps_list.blockSignals(blocked)

    def step_names(self) -> list[str]:
        return [self._steps[self.steps_list.item(r).data(Qt.ItemDataRole.UserRole)]["name"]
                for r in range(self.steps_list.count())]

    def _edited(self) -> None:
        self._preset_untouched = None
        self.request_update()

    # -- list operations (buttons, menu, keys, drag) -----------------------------------
    def add_step(self, name: str) -> None:
        """Insert a new step after the selected one, with parameters suited to the image."""
        step = augment.new_step(name, self.image_shape())
        if name == "Normalize":
            mean, std = self._image_normalize()
            step["params"].update(mean=mean, std=std)
        row = self.steps_list.currentRow() + 1 if self.steps_list.currentRow() >= 0 \
            else self.steps_list.count()
        self._append_item(step, row)
        self.steps_list.setCurrentRow(row)
        self._edited()

    def remove_step(self) -> None:
        row = self.steps_list.currentRow()
        if row < 0:
            return
        item = self.steps_list.takeItem(row)
        self._steps.pop(item.data(Qt.ItemDataRole.UserRole), None)
        self.steps_list.setCurrentRow(min(row, self.steps_list.count() - 1))
        self._show_editor()
        self._edited()

    def move_step(self, offset: int) -> None:
        row = self.steps_list.currentRow()
        target = row + offset
        if row < 0 or not 0 <= target < self.steps_list.count():
            return
        self.steps_list.blockSignals(True)
        item = self.steps_list.takeItem(row)
        self.steps_list.insertItem(target, item)
        self.steps_list.blockSignals(False)
        self.steps_list.setCurrentRow(target)
        self._edited()

    def set_step_enabled(self, row: int, enabled: bool) -> None:
        self.steps_list.item(row).setCheckState(
            Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked)

    def _item_changed(self, _item: QListWidgetItem) -> None:
        self._edited()

    def _order_changed(self) -> None:
        if not self.steps_list.signalsBlocked():  # a drag, not set_spec rebuilding the list
            self._edited()
            # a drag moves the current row without currentRowChanged: ↑/↓ went stale
            QTimer.singleShot(0, self._sync_move_buttons)

    def _sync_move_buttons(self) -> None:
        row = self.steps_list.currentRow()
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < self.steps_list.count() - 1)

    def apply_selected_preset(self) -> None:
        name = self.preset.value()
        self._preset_untouched = name
        self.set_spec(augment.preset(name, self.image_shape(),
                                     normalize=self._image_normalize()), keep_preset=True)

    # -- the parameter editor -----------------------------------------------------------
    def current_step_id(self) -> int | None:
        item = self.steps_list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def editor(self) -> StepEditor | None:
        return self._editor

    def _show_editor(self) -> None:
        step_id = self.current_step_id()
        self.remove_button.setEnabled(step_id is not None)
        self._sync_move_buttons()
        if step_id == self._editor_id and self._editor is not None:
            return
        if self._editor is not None:
            self._editor.hide()
            self._editor.deleteLater()
            self._editor = None
        self._editor_id = step_id
        if step_id is None:
            self.editor_box.setTitle("Step parameters")
            self.editor_hint.setVisible(True)
            return
        step = self._steps[step_id]
        info = STEP_TYPES[step["name"]]
        self.editor_box.setTitle(info.title)
        self.editor_hint.setVisible(False)
        self._editor = StepEditor(info, step.get("params") or {})
        self._editor.paramsChanged.connect(lambda params, sid=step_id:
                                           self._params_changed(sid, params))
        if info.name == "Normalize":
            self._add_normalize_buttons(self._editor)
        self.editor_layout.addWidget(self._editor)

    def _add_normalize_buttons(self, editor: StepEditor) -> None:
        from_image = QPushButton("From this image")
        from_image.setToolTip("Set mean and std to this image's own per-channel statistics: "
                              "its output then has mean 0 and std 1 in every channel")
        from_data = QToolButton()
        from_data.setText("From a data set ▾")
        from_data.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(from_data)
        for name, text in augment.DATASETS.items():
            action = menu.addAction(text)
            action.triggered.connect(lambda _=False, n=name: self.normalize_from_dataset(n))
        from_data.setMenu(menu)
        row = QHBoxLayout()
        row.addWidget(from_image)
        row.addWidget(from_data)
        editor.layout().addLayout(row)
        from_image.clicked.connect(self.normalize_from_image)
        editor.from_image_button = from_image  # type: ignore[attr-defined]

    def _params_changed(self, step_id: int, params: dict) -> None:
        if step_id not in self._steps:
            return
        self._steps[step_id]["params"] = params
        for row in range(self.steps_list.count()):
            item = self.steps_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == step_id:
                self._label_item(item)
        self._edited()

    def _set_current_params(self, updates: dict) -> None:
        step_id = self.current_step_id()
        if step_id is None:
            return
        params = dict(self._steps[step_id].get("params") or {})
        params.update(updates)
        if self._editor is not None:
            self._editor.set_params(params)
        self._params_changed(step_id, params)

    def normalize_from_image(self) -> None:
        mean, std = self._image_normalize()
        self._set_current_params({"mean": mean, "std": std})

    def take_offered_normalize(self, _values: object = None) -> None:
        """Mean and std another panel offered (AppState.offer_normalize, the Normalization
        panel's "Send"): into the first Normalize step, added at the end if there is none."""
        values = self.state.take_normalize()
        if values is None:
            return
        rows = [r for r, name in enumerate(self.step_names()) if name == "Normalize"]
        if rows:
            self.steps_list.setCurrentRow(rows[0])
        else:
            self.steps_list.setCurrentRow(self.steps_list.count() - 1)
            self.add_step("Normalize")
        self._set_current_params({"mean": values[0], "std": values[1]})

    def normalize_from_dataset(self, name: str) -> None:
        mean, std = augment.rounded_stats(augment.dataset_stats(name))
        self._set_current_params({"mean": mean, "std": std})

    # ====================================================================== seed
    def _sync_seed_buttons(self) -> None:
        self.reroll.setToolTip("Draw a new seed and a new grid (Ctrl+R)" if self.lock.isChecked()
                               else "Draw a new grid now (Ctrl+R); unlocked, every change "
                               "re-rolls anyway")

    def _seed_changed(self, _value: int) -> None:
        self._seed_touched = True  # the user chose this seed: don't re-roll it away
        self.request_update()

    def reroll_seed(self) -> None:
        self.seed.setValue(random.randrange(0, 100_000))
        self.request_update()

    # ====================================================================== computing
    def _update_grid(self) -> None:
        """Validate the pipeline and, if it is good, start drawing a new grid."""
        spec = self.spec()
        shape = self.image_shape()
        problems = augment.validate_spec(spec, shape)
        self.set_problems("grid", problems)
        if problems:
            self._show_json(spec)  # what the user has, problems and all
            self.banner.show_problems(problems)
            self.mark_drawn()  # the banner is the result; the last good grid stays
            return
        if not self.lock.isChecked() and self._last_good_spec is not None and \
                not self._seed_touched:
            self.seed.blockSignals(True)
            self.seed.setValue(random.randrange(0, 100_000))
            self.seed.blockSignals(False)
        self._seed_touched = False
        self._start_grid(spec)
        self._last_good_spec = spec
        notes = augment.pipeline_notes(spec)
        if notes:
            self.banner.show_problems(notes, "info")
        else:
            self.banner.clear()

    def _start_grid(self, spec: dict) -> None:
        count, seed = int(self.count.value()), int(self.seed.value())
        channels, height, width = self.image_shape()
        copy = working.working_copy(spec, height, width,
                                    None if self.exact_size.isChecked() else
                                    working.DEFAULT_WORKING_SIDE)
        self._working = copy
        self.working_note.setVisible(copy is not None)
        self.working_note.setText(copy.explained() if copy is not None else "")
        drawn_spec = copy.spec if copy is not None else spec
        drawn_shape = (channels, *copy.size) if copy is not None else self.image_shape()
        self._value_range = augment.trace_shapes(drawn_spec, drawn_shape).value_range
        dtype = self.input_dtype.value()
        tensor = self._image_tensor
        if dtype == "float32" and copy is None:
            if self._float_tensor is None:
                self._float_tensor = augment.image_tensor(self.state.image.pixels, "float32")
            tensor = self._float_tensor
        value_range = self._value_range
        shrunk = self._working_tensors

        threads = _worker_threads(drawn_shape[1] * drawn_shape[2])

        def make(should_stop):
            import torch

            # per thread (OpenMP): the GUI thread keeps a core to itself, so the grid
            # never makes the window stutter; small images gain nothing from more anyway
            torch.set_num_threads(threads)
            source = tensor
            if copy is not None:  # shrunk here, once per image: never on the GUI thread
                source = shrunk.get((copy.size, dtype))
                if source is None:
                    source = working.shrink(tensor, copy.size)
                    if dtype == "float32":
                        source = source.float() / 255  # what the exported code does
                    shrunk[(copy.size, dtype)] = source
            return augment_draws.generate_draws(drawn_spec, source, count=count, seed=seed,
                                                display_side=256, should_stop=should_stop,
                                                value_range=value_range)

        self._draws = {}
        self._grid_failed = False
        self._elapsed_ms = self._first_draw_ms = None
        self._started = time.perf_counter()
        self.grid.set_count(count)
        self.grid.mark_stale()
        self.progress.setRange(0, count)
        self.progress.set_value(0)
        self.progress.setVisible(True)
        self.grid_status.setText(f"drawing {count} draws, seed {seed}…")
        self._pending = (spec, seed, count)
        self._grid_job.submit(make)

    def _draw_arrived(self, draw: Draw) -> None:
        """One draw of the newest grid (the job drops a stale grid's draws)."""
        with one_torch_thread():
            self._draws[draw.index] = draw
            draw.stats  # noqa: B018 - made here, on the GUI's core, while the worker draws
            self.grid.set_tile(draw.index, draw.display, draw.caption, draw.details)
        if self._first_draw_ms is None:
            self._first_draw_ms = 1000 * (time.perf_counter() - self._started)
            if self.grid.selected() < 0:
                self.grid.set_selected(0)
        self.progress.set_value(len(self._draws))
        if self.grid.selected() == draw.index:
            self._show_selected(draw.index)

    def _show_json(self, spec: dict) -> None:
        text = augment.spec_to_json(spec)
        if text != self.json_view.toPlainText():
            self.json_view.setPlainText(text)

    def _show_code(self) -> None:
        """The code and JSON of the grid on screen (done once it is complete: pixels
        first, text after)."""
        spec, seed, count = self._pending
        self._show_json(spec)
        image = self.state.image
        self.code.set_code(augment.export_code(
            spec, seed=seed, count=count, source=image.source, gray=image.is_gray,
            shape=self.image_shape(), input_dtype=self.input_dtype.value(),
            working=self._working))

    def _failed(self, message: str) -> None:
        self._grid_failed = True
        self.banner.show_message(f"torch refused this pipeline on this image: {message}")

    def _grid_finished(self) -> None:
        """The newest grid's worker ended: every draw arrived, or it failed."""
        self._elapsed_ms = 1000 * (time.perf_counter() - self._started)
        self.mark_drawn()  # the result is the whole grid (what --screenshot should show)
        self.progress.setVisible(False)
        done = len(self._draws)
        seed = self._pending[1]
        self.grid_status.setText(f"{done} draws, seed {seed}, in {self._elapsed_ms:.0f} ms")
        self._show_stats()
        self._show_code()

    def is_drawing(self) -> bool:
        return self._grid_job.busy()

    def grid_done(self) -> bool:
        """The current grid is complete (every draw arrived, the worker ended)."""
        return not self._grid_job.busy() and not self.pending_parts() and \
            (len(self._draws) == self.grid.tile_count() or self._grid_failed)

    def draws(self) -> list[Draw]:
        return [self._draws[i] for i in sorted(self._draws)]

    def last_good_spec(self) -> dict | None:
        return self._last_good_spec

    def timings(self) -> tuple[float | None, float | None]:
        """(first draw ms, whole grid ms) of the latest grid."""
        return self._first_draw_ms, self._elapsed_ms

    # ====================================================================== showing
    def _show_selected(self, index: int) -> None:
        draw = self._draws.get(index)
        if draw is None:
            self.original.set_tile(1, np.zeros((2, 2), np.uint8) + 128,
                                   "click a draw to see it here", "")
            return
        if draw.tensor is not None:
            with one_torch_thread():
                display = augment_draws.to_display_array(draw.tensor, self._value_range,
                                                         max_side=512)
        else:
            display = draw.display
        self.original.set_tile(1, display, f"draw {index + 1}: {draw.caption}", draw.details)

    def _show_stats(self) -> None:
        stats = None
        for draw in self._draws.values():
            stats = draw.stats if stats is None else (
                stats.merge(draw.stats) if stats.channels == draw.stats.channels else stats)
        rows = ["<table cellspacing=4><tr><th></th><th>input mean ± std</th>"
                "<th>draws mean ± std</th></tr>"]
        before = self._input_stats
        channels = max(before.channels, stats.channels if stats else 0)
        for c in range(channels):
            name = CHANNEL_NAMES.get(channels, [str(i) for i in range(channels)])[c]
            cells = []
            for source in (before, stats):
                if source is not None and c < source.channels:
                    cells.append(f"{source.mean[c]:.3f} ± {source.std[c]:.3f}")
                else:
                    cells.append("—")
            rows.append(f"<tr><td><b>{name}</b></td><td>{cells[0]}</td><td>{cells[1]}</td></tr>")
        rows.append("</table>")
        self.stats_label.setText("".join(rows))
        low, high = self._value_range
        if (low, high) != (0.0, 1.0):
            self.range_label.setText(
                f"Shown with {low:.2f} … {high:.2f} → black … white: the range Normalize maps "
                f"0 … 1 to (the network sees standard scores, not colours).")
            self.range_label.setVisible(True)
        else:
            self.range_label.setVisible(False)

    def output_stats(self) -> ChannelStats | None:
        stats = None
        for draw in self._draws.values():
            stats = draw.stats if stats is None else stats.merge(draw.stats)
        return stats

    def input_stats(self) -> ChannelStats:
        return self._input_stats

    # ====================================================================== files
    def _ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load pipeline", "",
                                              "Augmentation pipeline (*.json)")
        if path:
            self.load_pipeline(path)

    def load_pipeline(self, path: str | Path) -> bool:
        try:
            spec = augment.load_spec(path)
        except ValueError as exc:
            self.banner.show_message(f"Could not load the pipeline: {exc}")
            return False
        self.set_spec(spec)
        return True

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save pipeline", "augmentation.json",
                                              "Augmentation pipeline (*.json)")
        if path:
            self.save_pipeline(path)

    def save_pipeline(self, path: str | Path) -> bool:
        try:
            augment.save_spec(self.spec(), path)
        except ValueError as exc:
            self.banner.show_message(f"Could not save the pipeline: {exc}")
            return False
        self.grid_status.setText(f"saved {Path(path).name}")
        return True

    def _ask_export_grid(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save grid", "augmentation-grid.png",
                                              "PNG (*.png)")
        if path:
            self.export_grid_png(path)

    def export_grid_png(self, path: str | Path) -> bool:
        ok = save_image(self.grid.grab(), path, self.banner.show_message)
        if ok:
            self.grid_status.setText(f"saved {Path(path).name}")
        return ok

    # ====================================================================== size, working copy
    def sizeHint(self) -> QSize:
        return QSize(1300, 900)

    def working_copy(self) -> working.WorkingCopy | None:
        """The resize (and converted parameters) the grid on screen was drawn with."""
        return self._working
