"""The Convolution panel's arithmetic tab: a small grid of numbers, the sliding window and
every output cell as a multiply-and-add you can check (concept 26), for Conv2d and
ConvTranspose2d. A mixin of `ConvPanel` (widgets.conv.panel), which owns the page, its
updaters and its banner.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lab import conv
from lab.conv import ConvParams, ConvTransposeParams
from lab.conv.view import ConvGridView
from widgets.kit.controls import (
    ChoiceBox,
    ParamSlider,
    TextLines,
    caption,
    page_with_controls,
    scrolling,
)
from widgets.kit.files import write_text
from widgets.kit.views import CodeView, MatrixView


def _as_rows(values: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in values)


def _grid_array(rows: tuple[tuple[float, ...], ...], side: int, name: str) -> np.ndarray:
    values = np.array(rows, dtype=np.float64)
    if values.shape != (side, side):
        raise ValueError(f"{name} should be {side}×{side} numbers")
    return values


class GridMode:
    """The arithmetic tab of `ConvPanel`: its numbers, explanation, animation and export."""

    def _init_grid_state(self) -> None:
        """The numeric grid's numbers, its pinned cell and its animation timer."""
        self._grid_seed = 0
        self._kernel_seed = 0
        self._grid_values = conv.random_grid(6, 6, 0)
        self._grid_kernel = conv.grid_kernel("random", 3, 0)
        self._grid_output: np.ndarray | None = None
        self._grid_params: ConvParams | ConvTransposeParams | None = None
        self._pinned: tuple[str, int, int] = ("output", 0, 0)
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self._play_tick)

    # ====================================================================== building
    def _build_grid_tab(self) -> QWidget:
        self.grid_mode = ChoiceBox("Layer", [
            ("conv", "Conv2d", "Slide the kernel over the input: each output cell is one "
             "window's multiply-and-add"),
            ("transposed", "ConvTranspose2d", "Each input cell stamps a scaled copy of the "
             "kernel onto the output, stride cells apart: the way a network upsamples")],
            "conv", tooltip="Ordinary or transposed convolution")
        self.grid_size = ParamSlider("Input size", 3, 16, 6, tooltip=(
            "Side of the numeric input: small integers you can multiply and add by eye"))
        self.grid_kernel_size = ParamSlider("Kernel size k", 1, 7, 3, tooltip=(
            "Side of the (square) kernel"))
        self.grid_stride = ParamSlider("Stride s", 1, 4, 1, tooltip=(
            "Conv2d: how far the window moves. ConvTranspose2d: how far apart the stamps land."))
        self.grid_padding = ParamSlider("Padding p", 0, 5, 1, tooltip=(
            "Conv2d: cells added around the input (drawn hatched). ConvTranspose2d: cells "
            "cropped from each side of the result."))
        self.grid_output_padding = ParamSlider("output_padding", 0, 3, 0, tooltip=(
            "ConvTranspose2d only: extra rows/columns at the bottom/right, to pick among the "
            "output sizes a stride rounds together. Must be below the stride or dilation."))
        self.grid_dilation = ParamSlider("Dilation d", 1, 3, 1, tooltip=(
            "Gaps between kernel cells: the highlighted window skips cells"))
        self.grid_padding_mode = ChoiceBox("Padding mode", [
            (k, k, text.split(" — ", 1)[1]) for k, text in conv.PADDING_MODES.items()], "zeros",
            tooltip="What the padding cells hold (Conv2d only)")
        self.grid_kernel_choice = ChoiceBox("Kernel", list(conv.GRID_KERNELS.items()), "random",
                                            tooltip="Integer kernels, so every sum can be "
                                                    "checked by hand")
        self.new_numbers = QPushButton("New numbers")
        self.new_numbers.setToolTip("New random digits for the input (Ctrl+R)")
        self.new_numbers.setShortcut("Ctrl+R")
        self.new_kernel = QPushButton("New kernel")
        self.new_kernel.setToolTip("New random integers for the kernel")
        self.play = QPushButton("▶ Play")
        self.play.setCheckable(True)
        self.play.setToolTip("Move the window over every position by itself")
        self.step = QPushButton("Step ▸")
        self.step.setToolTip("Move the window to the next position")
        self.speed = ParamSlider("Speed", 1, 10, 2, suffix=" /s", tooltip=(
            "Positions per second while playing"))
        self.export_csv = QPushButton("Export numbers as CSV…")
        self.export_csv.setToolTip("Save the input, kernel and output as CSV")

        form = QVBoxLayout()
        box = QGroupBox("Layer")
        box_layout = QVBoxLayout(box)
        for widget in (self.grid_mode, self.grid_size, self.grid_kernel_size, self.grid_stride,
                       self.grid_padding, self.grid_output_padding, self.grid_dilation,
                       self.grid_padding_mode, self.grid_kernel_choice):
            box_layout.addWidget(widget)
        row = QHBoxLayout()
        row.addWidget(self.new_numbers)
        row.addWidget(self.new_kernel)
        box_layout.addLayout(row)
        form.addWidget(box)
        animate = QGroupBox("Sliding window")
        animate_layout = QVBoxLayout(animate)
        row = QHBoxLayout()
        row.addWidget(self.play)
        row.addWidget(self.step)
        animate_layout.addLayout(row)
        animate_layout.addWidget(self.speed)
        animate_layout.addWidget(caption(
            "Hover or click an output cell to see its window and its multiply-and-add; arrow "
            "keys move the selection. In ConvTranspose2d mode click an input cell to see "
            "where it lands. Double-click any input or kernel cell to type a number."))
        form.addWidget(animate)
        form.addWidget(self.export_csv)
        form.addStretch(1)
        controls = scrolling(form, 370, 440, horizontal_bar=False)

        self.grid_input = MatrixView("input (padding hatched)", editable=True)
        self.grid_kernel_view = MatrixView("kernel", editable=True)
        self.grid_output_view = MatrixView("output")
        matrices = QWidget()
        row = QHBoxLayout(matrices)
        row.setContentsMargins(0, 0, 0, 0)
        for view, stretch in ((self.grid_input, 4), (self.grid_kernel_view, 2),
                              (self.grid_output_view, 4)):
            row.addWidget(view, stretch)
        self.explanation = QPlainTextEdit()
        self.explanation.setReadOnly(True)
        self.explanation.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.explanation.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.explanation.setToolTip("The multiply-and-add of the highlighted cell, with "
                                    "the numbers")
        self.grid_formula = TextLines(3, "The output-size formula, with your numbers")
        self.grid_code = CodeView()
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.grid_formula)
        bottom_layout.addWidget(self.grid_code, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for widget, stretch in ((matrices, 5), (self.explanation, 2), (bottom, 2)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([420, 170, 220])

        def update_grid(*_args) -> None:
            self.request_update("grid")

        for slider in (self.grid_stride, self.grid_padding, self.grid_output_padding,
                       self.grid_dilation):
            slider.valueChanged.connect(update_grid)
        self.grid_padding_mode.valueChanged.connect(update_grid)
        self.grid_mode.valueChanged.connect(self._grid_mode_changed)
        self.grid_size.valueChanged.connect(lambda _v: self._new_grid_values())
        self.grid_kernel_size.valueChanged.connect(lambda _v: self._new_grid_kernel())
        self.grid_kernel_choice.valueChanged.connect(lambda _v: self._new_grid_kernel())
        self.new_numbers.clicked.connect(self._next_numbers)
        self.new_kernel.clicked.connect(self._next_kernel)
        self.play.toggled.connect(self._play_toggled)
        self.step.clicked.connect(self.step_window)
        self.speed.valueChanged.connect(lambda v: self._play_timer.setInterval(int(1000 / v)))
        self._play_timer.setInterval(int(1000 / self.speed.value()))
        self.export_csv.clicked.connect(self._ask_export_csv)
        self.grid_output_view.cellHovered.connect(self._output_hovered)
        self.grid_output_view.cellClicked.connect(lambda r, c: self.pin("output", r, c))
        self.grid_input.cellHovered.connect(self._input_hovered)
        self.grid_input.cellClicked.connect(self._input_clicked)
        self.grid_input.cellEdited.connect(self._grid_input_edited)
        self.grid_kernel_view.cellEdited.connect(self._grid_kernel_edited)
        return page_with_controls(controls, splitter)

    # ====================================================================== state
    def grid_params(self) -> ConvParams | ConvTransposeParams:
        k = self.grid_kernel_size.value()
        if self.grid_mode.value() == "transposed":
            return ConvTransposeParams(1, 1, k, k, stride=self.grid_stride.value(),
                                       padding=self.grid_padding.value(),
                                       output_padding=self.grid_output_padding.value(),
                                       dilation=self.grid_dilation.value())
        return ConvParams(1, 1, k, k, stride=self.grid_stride.value(),
                          padding=self.grid_padding.value(),
                          padding_mode=self.grid_padding_mode.value(),
                          dilation=self.grid_dilation.value(), presets=("identity",))

    def _grid_view(self) -> ConvGridView:
        """The numeric grid's part of the view."""
        size, k = self.grid_size.value(), self.grid_kernel_size.value()
        drawn_values = conv.random_grid(size, size, self._grid_seed)
        drawn_kernel = conv.grid_kernel(self.grid_kernel_choice.value(), k, self._kernel_seed)
        return ConvGridView(
            mode=self.grid_mode.value(), size=size, kernel_size=k,
            stride=self.grid_stride.value(), padding=self.grid_padding.value(),
            output_padding=self.grid_output_padding.value(),
            dilation=self.grid_dilation.value(), padding_mode=self.grid_padding_mode.value(),
            kernel=self.grid_kernel_choice.value(), seed=self._grid_seed,
            kernel_seed=self._kernel_seed,
            values=None if np.array_equal(self._grid_values, drawn_values)
            else _as_rows(self._grid_values),
            kernel_values=None if np.array_equal(self._grid_kernel, drawn_kernel)
            else _as_rows(self._grid_kernel),
            speed=self.speed.value())

    def _apply_grid(self, grid: ConvGridView) -> None:
        """The numeric grid's part of `apply_params`."""
        self.grid_mode.setValue(grid.mode)
        for slider, value in ((self.grid_size, grid.size),
                              (self.grid_kernel_size, grid.kernel_size),
                              (self.grid_stride, grid.stride), (self.grid_padding, grid.padding),
                              (self.grid_output_padding, grid.output_padding),
                              (self.grid_dilation, grid.dilation), (self.speed, grid.speed)):
            slider.setValue(value)
        self.grid_padding_mode.setValue(grid.padding_mode)
        self.grid_kernel_choice.setValue(grid.kernel)
        self._grid_seed, self._kernel_seed = grid.seed, grid.kernel_seed
        self._new_grid_values()
        self._new_grid_kernel()
        if grid.values is not None:
            self._grid_values = _grid_array(grid.values, grid.size, "grid.values")
        if grid.kernel_values is not None:
            self._grid_kernel = _grid_array(grid.kernel_values, grid.kernel_size,
                                            "grid.kernel_values")
        self._sync_grid_enabled()

    # ====================================================================== reacting
    def _grid_mode_changed(self, _mode: str) -> None:
        self._sync_grid_enabled()
        self._pinned = ("output", 0, 0) if self.grid_mode.value() == "conv" else ("input", 0, 0)
        self.request_update("grid")

    def _sync_grid_enabled(self) -> None:
        transposed = self.grid_mode.value() == "transposed"
        self.grid_output_padding.setEnabled(transposed)
        self.grid_padding_mode.setEnabled(not transposed)

    def _new_grid_values(self) -> None:
        size = self.grid_size.value()
        self._grid_values = conv.random_grid(size, size, self._grid_seed)
        self.request_update("grid")

    def _next_numbers(self) -> None:
        self._grid_seed += 1
        self._new_grid_values()

    def _new_grid_kernel(self) -> None:
        self._grid_kernel = conv.grid_kernel(self.grid_kernel_choice.value(),
                                             self.grid_kernel_size.value(), self._kernel_seed)
        self.request_update("grid")

    def _next_kernel(self) -> None:
        self._kernel_seed += 1
        if self.grid_kernel_choice.value() != "random":
            self.grid_kernel_choice.setValue("random")  # emits: draws the new kernel
        else:
            self._new_grid_kernel()

    def _grid_input_edited(self, row: int, col: int, value: float) -> None:
        self._grid_values = self._grid_values.copy()
        self._grid_values[row, col] = value
        self.request_update("grid")

    def _grid_kernel_edited(self, row: int, col: int, value: float) -> None:
        self._grid_kernel = self._grid_kernel.copy()
        self._grid_kernel[row, col] = value
        self.request_update("grid")

    # ====================================================================== computing
    def _update_grid(self) -> None:
        params = self.grid_params()
        values, kernel = self._grid_values, self._grid_kernel
        problems = params.validate(*values.shape)
        self.set_problems("grid", [f"numeric grid ({values.shape[0]}×{values.shape[1]}): {p}"
                                   for p in problems])
        if problems:
            return
        if isinstance(params, ConvTransposeParams):
            output = conv.transposed_grid(values, kernel, params)
            self.grid_input.set_matrix(values, title="input (double-click to type)")
            self.grid_output_view.set_matrix(output, title="output (ConvTranspose2d)")
        else:
            output = conv.conv_grid(values, kernel, params)
            padded = conv.padded_grid(values, params)
            pad_text = "0" if params.padding_mode == "zeros" else "?"
            self.grid_input.set_matrix(values, padding=int(params.padding), pad_text=pad_text,
                                       pad_values=padded,
                                       title=f"input, padding {params.padding_mode} (hatched)")
            self.grid_output_view.set_matrix(output, title="output (Conv2d)")
        self.grid_kernel_view.set_matrix(kernel, title=f"kernel {kernel.shape[0]}×"
                                                       f"{kernel.shape[1]}")
        self._grid_output, self._grid_params = output, params
        self.grid_formula.setText(params.formula_text(*values.shape))
        self.grid_code.set_code(conv.grid_code(values, kernel, params))
        kind, row, col = self._pinned
        limit = output.shape if kind == "output" else values.shape
        if not (0 <= row < limit[0] and 0 <= col < limit[1]):
            self._pinned = (kind, 0, 0)
        self._explain(self._pinned)

    # ====================================================================== explaining
    def _output_hovered(self, row: int, col: int) -> None:
        if row == MatrixView.OUTSIDE:
            self._explain(self._pinned)
        else:
            self._explain(("output", row, col))

    def _input_hovered(self, row: int, col: int) -> None:
        if not isinstance(self._grid_params, ConvTransposeParams):
            return
        rows, cols = self._grid_values.shape
        if row == MatrixView.OUTSIDE or not (0 <= row < rows and 0 <= col < cols):
            self._explain(self._pinned)
        else:
            self._explain(("input", row, col))

    def _input_clicked(self, row: int, col: int) -> None:
        if isinstance(self._grid_params, ConvTransposeParams):
            self.pin("input", row, col)

    def pin(self, kind: str, row: int, col: int) -> None:
        """Keep explaining this cell ("output" or, for ConvTranspose2d, "input")."""
        self._pinned = (kind, row, col)
        self._explain(self._pinned)

    def _explain(self, cell: tuple[str, int, int]) -> None:
        params, output = self._grid_params, self._grid_output
        if params is None or output is None:
            return
        kind, row, col = cell
        values, kernel = self._grid_values, self._grid_kernel
        if values.shape != self.grid_input.shape() or kernel.shape != \
                self.grid_kernel_view.shape():
            return  # the numbers changed and are not computed yet
        weight = kernel[None, None]
        if kind == "input" and isinstance(params, ConvTransposeParams):
            if not (0 <= row < values.shape[0] and 0 <= col < values.shape[1]):
                return
            terms, text = conv.explain_transposed_input(values, weight, params, row, col)
            self.grid_input.set_highlight({(row, col): "chosen"})
            self.grid_input.set_selected((row, col))
            self.grid_output_view.set_highlight({(t.out_row, t.out_col): "window"
                                                 for t in terms})
            self.grid_output_view.set_selected(None)
            self.grid_kernel_view.set_highlight({(t.kernel_row, t.kernel_col): "source"
                                                 for t in terms})
            self._set_explanation(text)
            return
        if not (0 <= row < output.shape[0] and 0 <= col < output.shape[1]):
            return
        if isinstance(params, ConvTransposeParams):
            e = conv.explain_transposed_cell(values, weight, params, 0, row, col)
            self.grid_input.set_highlight({(t.in_row, t.in_col): "window" for t in e.terms})
            self.grid_kernel_view.set_highlight({(t.kernel_row, t.kernel_col): "source"
                                                 for t in e.terms})
        else:
            e = conv.explain_conv_cell(values, weight, params, 0, row, col)
            self.grid_input.set_highlight({cell: "window" for cell in e.window})
            self.grid_kernel_view.clear_highlight()
        self.grid_input.set_selected(None)
        self.grid_output_view.clear_highlight()
        self.grid_output_view.set_selected((row, col))
        self._set_explanation(e.text)

    def _set_explanation(self, text: str) -> None:
        if self.explanation.toPlainText() != text:
            self.explanation.setPlainText(text)

    def explained_cell(self) -> str:
        return self.explanation.toPlainText()

    # -- animation -------------------------------------------------------------------
    def _positions(self) -> tuple[str, int, int]:
        """What the window visits: output cells (Conv2d) or input cells (transposed)."""
        if isinstance(self._grid_params, ConvTransposeParams):
            return ("input", *self._grid_values.shape)
        return ("output", *self._grid_output.shape)

    def step_window(self) -> None:
        """Move the pinned window to the next position (after the last: the first)."""
        if self._grid_output is None:
            return
        kind, rows, cols = self._positions()
        current_kind, row, col = self._pinned
        index = row * cols + col + 1 if current_kind == kind else 0
        self.pin(kind, *divmod(index % (rows * cols), cols))

    def at_last_position(self) -> bool:
        if self._grid_output is None:
            return True
        kind, rows, cols = self._positions()
        return self._pinned == (kind, rows - 1, cols - 1)

    def _play_toggled(self, playing: bool) -> None:
        self.play.setText("⏸ Pause" if playing else "▶ Play")
        if playing:
            if self.at_last_position():
                self.step_window()  # start over
            self._play_timer.start()
        else:
            self._play_timer.stop()

    def _play_tick(self) -> None:
        self.step_window()
        if self.at_last_position():
            self.play.setChecked(False)  # one pass over every position, then stop

    # ====================================================================== export
    def _ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export numbers", "convolution.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_grid_csv(path)

    def export_grid_csv(self, path: str | Path) -> bool:
        """False, with the path and the reason in the banner, when it cannot be written."""
        if self._grid_output is None:
            return False
        return write_text(path, conv.grid_csv([("input", self._grid_values),
                                               ("kernel", self._grid_kernel),
                                               ("output", self._grid_output)]),
                          self.banner.show_message)
