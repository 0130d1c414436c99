"""Convolution panel (concepts 25, 26): kernels, channels, stride, padding and dilation you
can drag, on the current image and on a grid of numbers.

A thin view over `lab.conv`: controls -> `ConvParams` / `ConvTransposeParams` -> lab ->
draw. Changes are coalesced by the Panel base (`request_update` / `flush`), so a slider
drag never queues stale work: whatever the controls say when it flushes is computed. The exported
code (a few hundred numbers) is rewritten once the controls rest, not on every frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab import conv
from lab.conv import ConvParams, ConvTransposeParams
from lab.conv.examples import EXAMPLES
from lab.conv.view import ConvGridView, ConvView
from lab.device import intra_op_threads
from lab.images import LabImage, to_display, to_tensor
from lab.params import Example
from widgets.conv.weight_layout import DIVERGING, WeightLayoutView
from widgets.kit.controls import (
    ChoiceBox,
    ErrorBanner,
    ParamSlider,
    TextLines,
    caption,
    page_with_controls,
    scrolling,
)
from widgets.kit.files import write_text
from widgets.kit.panel import AppState, Panel
from widgets.kit.shown import Shown, shown_sampling
from widgets.kit.views import CodeView, ImageGrid, ImageTile, MatrixView, ZoomTogether

MAPS_TIP = ("One feature map per kernel: blue < 0 < red, white = 0. All maps share zoom: "
            "wheel to zoom, double-click to fit.")
#: After a change rests this long, every pixel's min and max are computed off the GUI thread
#: (when the view shows only some pixels): the statistics and the colour scale become exact.
REST_MS = 400
MAX_KERNELS = 16
#: Above this many multiply-adds a convolution takes a noticeable moment: show a busy cursor.
BUSY_MACS = 3e8
CHANNEL_NAMES = {3: ["R (red)", "G (green)", "B (blue)"], 1: ["gray"]}
PRESET_TOOLTIPS = {name: text.split(" — ", 1)[1] for name, text in conv.PRESETS.items()}


def _as_rows(values: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in values)


def _grid_array(rows: tuple[tuple[float, ...], ...], side: int, name: str) -> np.ndarray:
    values = np.array(rows, dtype=np.float64)
    if values.shape != (side, side):
        raise ValueError(f"{name} should be {side}×{side} numbers")
    return values


class ConvPanel(Panel):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.compute_counts = self.update_counts  # what tests and benchmarks read
        self.updaters = {"image": self._update_image, "view": self._update_view,
                         "display": self._show_maps, "grid": self._update_grid}
        # the kernels: a preset per output channel, cell edits over them, biases
        self._presets: list[str] = [conv.DEFAULT_PRESETS[i % len(conv.DEFAULT_PRESETS)]
                                    for i in range(MAX_KERNELS)]
        self._biases: list[float] = [0.0] * MAX_KERNELS
        self._edits: dict[tuple[int, int, int, int], float] = {}
        self._seed = 0
        self._weight_key: tuple | None = None
        self._weight = None
        self._inputs: dict[str, object] = {}   # "rgb"/"gray" -> (1, C, H, W) tensor
        self._input_tiles: dict[str, list[ImageTile]] = {}
        #: the last good result of the image view: the feature maps' pixels the view shows
        #: (every `display_step`-th row and column of the visible region, computed alone,
        #: exactly: lab.display_resolution); a zoom or pan computes the newly visible ones
        self.maps = None
        self.image_params: ConvParams | None = None
        self.maps_shown: Shown | None = None
        self.display_step = 1
        #: every pixel's (min, max) of each map, computed off the GUI thread once the
        #: controls rest: (params, input tensor, ranges)
        self._full_ranges: tuple[ConvParams, object, list] | None = None
        self._ranges_job = self.add_job("ranges", self._ranges_arrived)
        self._ranges_asked: tuple[ConvParams, object] | None = None
        self._rest_timer = QTimer(self)
        self._rest_timer.setSingleShot(True)
        self._rest_timer.setInterval(REST_MS)
        self._rest_timer.timeout.connect(self._controls_rested)
        # the numeric grid
        self._grid_seed = 0
        self._kernel_seed = 0
        self._grid_values = conv.random_grid(6, 6, 0)
        self._grid_kernel = conv.grid_kernel("random", 3, 0)
        self._grid_output: np.ndarray | None = None
        self._grid_params: ConvParams | ConvTransposeParams | None = None
        self._pinned: tuple[str, int, int] = ("output", 0, 0)

        self._code_timer = QTimer(self)
        self._code_timer.setSingleShot(True)
        self._code_timer.setInterval(150)
        self._code_timer.timeout.connect(self.flush_code)
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self._play_tick)

        self.banner = ErrorBanner()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_image_tab(), "Image: kernels and channels")
        self.tabs.addTab(self._build_grid_tab(), "Arithmetic: the sliding window")
        self.tabs.setTabToolTip(0, "Several kernels on your image, one feature map each")
        self.tabs.setTabToolTip(1, "Every output number as a multiply-and-add you can check")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.problemsChanged.connect(self._show_problems)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        state.imageChanged.connect(self._image_changed)
        self._sync_groups()
        self._sync_kernel_editor_controls()
        self._sync_grid_enabled()
        self.request_update("image", "grid")

    # ====================================================================== building
    def _build_image_tab(self) -> QWidget:
        self.input_mode = ChoiceBox("Input channels", [
            ("rgb", "3 — RGB", "The image's red, green and blue channels: in_channels = 3"),
            ("gray", "1 — gray", "One luminance channel: in_channels = 1")], "rgb",
            tooltip="How many channels the layer reads (in_channels)")
        self.out_channels = ParamSlider("Kernels (out)", 1, MAX_KERNELS, 4, tooltip=(
            "out_channels: how many kernels the layer has. Each kernel makes one feature "
            "map; kernels differ between outputs."))
        self.kernel_h = ParamSlider("Kernel height", 1, 11, 3, tooltip=(
            "kH: rows of each kernel. Bigger kernels see more context per output pixel."))
        self.kernel_w = ParamSlider("Kernel width", 1, 11, 3, tooltip="kW: columns of each kernel")
        self.link_kernel = QCheckBox("Square kernel (link height and width)")
        self.link_kernel.setChecked(True)
        self.link_kernel.setToolTip("Move height and width together")
        self.stride = ParamSlider("Stride s", 1, 8, 1, tooltip=(
            "How far the kernel moves between outputs: s = 2 halves each side of the maps."))
        self.padding = ParamSlider("Padding p", 0, 10, 1, tooltip=(
            "Cells added on every side before sliding. p = ⌊k/2⌋ keeps the size at stride 1."))
        self.same_padding = QCheckBox("padding='same' (keep the input's size)")
        self.same_padding.setToolTip("torch works out the padding so the output is as large "
                                     "as the input: d·(k−1) cells in all, the odd one after. "
                                     "Only with stride 1.")
        self.padding_mode = ChoiceBox("Padding mode", [
            (k, k, text.split(" — ", 1)[1]) for k, text in conv.PADDING_MODES.items()], "zeros",
            tooltip="What the padding cells hold (nn.Conv2d's padding_mode)")
        self.dilation = ParamSlider("Dilation d", 1, 4, 1, tooltip=(
            "Gaps inside the kernel: d = 2 uses every second pixel, so a 3×3 kernel spans "
            "5×5 — a bigger view for the same 9 weights."))
        self.groups = ChoiceBox("Groups", [(1, "1")], 1, tooltip=(
            "Split the input channels into groups; each kernel sees only its group. "
            "groups = in_channels is depthwise convolution. Must divide in and out channels."))
        self.bias = QCheckBox("Bias (one number added per kernel)")
        self.bias.setToolTip("Adds a constant to each feature map; with ReLU a negative "
                             "bias acts as a threshold.")
        self.relu = QCheckBox("ReLU after the convolution")
        self.relu.setToolTip("max(0, x): negative responses become 0 (blue disappears)")
        self.flip = QCheckBox("True convolution (flip the kernel)")
        self.flip.setToolTip(
            "torch's conv2d is cross-correlation: it slides the kernel as it is. The "
            "mathematical convolution first flips the kernel in both directions. For "
            "symmetric kernels nothing changes; Sobel x changes sign.")
        self.scale_mode = ChoiceBox("Colour scale", [
            ("bold", "each map ±99th pct", "Each map's scale is the 99th percentile of its "
             "|value|: edges show boldly; the strongest 1 % of pixels get the end colours"),
            ("each", "each map its own ±max", "Every map uses its full colour range: shapes "
             "show even in weak maps"),
            ("shared", "shared ±max", "One scale for all maps: compare how strongly each "
             "kernel responds")], "bold",
            tooltip="Blue is negative, white 0, red positive")

        self.kernel_channel = ParamSlider("Edit kernel", 0, 3, 0, tooltip=(
            "Which output channel's kernel the grid below shows"))
        self.preset = ChoiceBox("Preset", [(k, conv.PRESET_TITLES[k], PRESET_TOOLTIPS[k])
                                           for k in conv.PRESETS], "sobel_x",
                                tooltip="This kernel's starting values (applied to every "
                                        "input channel it sees)")
        self.preset_all = QPushButton("Use for all kernels")
        self.preset_all.setToolTip("Give every output channel this preset")
        self.new_random = QPushButton("New random")
        self.new_random.setToolTip("Draw new numbers for the random kernels")
        self.reset_edits = QPushButton("Undo edits")
        self.reset_edits.setToolTip("Forget the cells you typed: back to the presets")
        self.bias_value = ParamSlider("Bias b", -2, 2, 0, step=0.05, decimals=2, tooltip=(
            "This kernel's bias: added to every pixel of its feature map"))
        self.in_index = ParamSlider("Input channel", 0, 2, 0, tooltip=(
            "Which of the kernel's input-channel slices the grid shows"))
        self.edit_all = QCheckBox("Edit every input channel at once")
        self.edit_all.setChecked(True)
        self.edit_all.setToolTip("A typed number goes into this kernel's slice for every "
                                 "input channel (as the presets do)")
        self.kernel_editor = MatrixView("kernel (double-click a cell to type)", editable=True)
        self.kernel_editor.setMinimumHeight(170)
        self.kernel_editor.setToolTip("The kernel's numbers. Double-click (or Enter) a cell, "
                                      "type a number, Enter.")

        form = QVBoxLayout()
        layer = QGroupBox("Conv2d layer")
        layer_layout = QVBoxLayout(layer)
        for widget in (self.input_mode, self.out_channels, self.kernel_h, self.kernel_w,
                       self.link_kernel, self.stride, self.padding, self.same_padding,
                       self.padding_mode, self.dilation, self.groups, self.bias, self.relu,
                       self.flip):
            layer_layout.addWidget(widget)
        form.addWidget(layer)
        kernels = QGroupBox("Kernels")
        kernels_layout = QVBoxLayout(kernels)
        for widget in (self.kernel_channel, self.preset):
            kernels_layout.addWidget(widget)
        buttons = QHBoxLayout()
        for button in (self.preset_all, self.new_random, self.reset_edits):
            buttons.addWidget(button)
        kernels_layout.addLayout(buttons)
        for widget in (self.bias_value, self.in_index, self.edit_all, self.kernel_editor):
            kernels_layout.addWidget(widget)
        form.addWidget(kernels)
        display = QGroupBox("Display")
        display_layout = QVBoxLayout(display)
        display_layout.addWidget(self.scale_mode)
        form.addWidget(display)
        form.addWidget(caption(
            "Each kernel slides over the image; at every position it multiplies the pixels "
            "under it by its numbers and adds them up (plus its bias). One kernel per output "
            "channel, one slice of it per input channel."))
        form.addStretch(1)
        controls = scrolling(form, 370, 440, horizontal_bar=False)

        self.input_grid = ImageGrid()
        self.input_grid.setToolTip("The input channels the layer reads, one gray map each. "
                                   "Wheel to zoom, double-click to fit.")
        self.weight_view = WeightLayoutView()
        self.maps_grid = ImageGrid(colormap=DIVERGING, colorbar=True)
        self.maps_grid.setToolTip(MAPS_TIP)
        self.formula = TextLines(3, "The output-size formula torch uses, with your numbers")
        self.stats = TextLines(2, "The feature maps' shape (N, C, H, W) and value range")
        self.code = CodeView()

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.input_grid)
        top.addWidget(self.weight_view)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 1)
        top.setSizes([420, 420])
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.stats)
        bottom_layout.addWidget(self.formula)
        bottom_layout.addWidget(self.code, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for widget, stretch in ((top, 2), (self.maps_grid, 5), (bottom, 2)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([230, 420, 260])
        self.zoom = ZoomTogether(self.input_grid, self.maps_grid,
                                  changed=self._zoom_changed)

        def update_image(*_args) -> None:
            self.request_update("image")

        for slider in (self.out_channels, self.stride, self.padding, self.dilation):
            slider.valueChanged.connect(update_image)
        for box in (self.same_padding, self.bias, self.relu, self.flip):
            box.toggled.connect(update_image)
        for choice in (self.padding_mode, self.groups):
            choice.valueChanged.connect(update_image)
        self.scale_mode.valueChanged.connect(lambda _v: self.request_update("display"))
        self.same_padding.toggled.connect(lambda on: self.padding.setEnabled(not on))
        self.bias.toggled.connect(lambda _on: self._sync_kernel_editor_controls())
        self.input_mode.valueChanged.connect(self._input_mode_changed)
        self.out_channels.valueChanged.connect(lambda _v: self._sync_kernel_editor_controls())
        self.groups.valueChanged.connect(lambda _v: self._sync_kernel_editor_controls())
        self.kernel_h.valueChanged.connect(lambda v: self._kernel_size_changed(v, "h"))
        self.kernel_w.valueChanged.connect(lambda v: self._kernel_size_changed(v, "w"))
        self.kernel_channel.valueChanged.connect(lambda _v: self._sync_kernel_editor_controls())
        self.in_index.valueChanged.connect(update_image)
        self.preset.valueChanged.connect(self._preset_chosen)
        self.preset_all.clicked.connect(self._preset_for_all)
        self.new_random.clicked.connect(self._new_random)
        self.reset_edits.clicked.connect(self._reset_edits)
        self.bias_value.valueChanged.connect(self._bias_changed)
        self.kernel_editor.cellEdited.connect(self._kernel_cell_edited)
        self.weight_view.kernelClicked.connect(self.select_kernel)
        return page_with_controls(controls, splitter)

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
    def in_channels(self) -> int:
        return 3 if self.input_mode.value() == "rgb" else 1

    def conv_params(self) -> ConvParams:
        """The image view's layer, as the controls say now."""
        out = self.out_channels.value()
        edits = tuple((o, j, r, c, v) for (o, j, r, c), v in sorted(self._edits.items()))
        return ConvParams(
            in_channels=self.in_channels(), out_channels=out,
            kernel_h=self.kernel_h.value(), kernel_w=self.kernel_w.value(),
            stride=self.stride.value(),
            padding="same" if self.same_padding.isChecked() else self.padding.value(),
            padding_mode=self.padding_mode.value(), dilation=self.dilation.value(),
            groups=int(self.groups.value()), bias=self.bias.isChecked(),
            relu=self.relu.isChecked(), flip=self.flip.isChecked(),
            presets=tuple(self._presets[:out]), biases=tuple(self._biases[:out]),
            edits=edits, seed=self._seed)

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

    def params(self) -> ConvView:
        size, k = self.grid_size.value(), self.grid_kernel_size.value()
        drawn_values = conv.random_grid(size, size, self._grid_seed)
        drawn_kernel = conv.grid_kernel(self.grid_kernel_choice.value(), k, self._kernel_seed)
        grid = ConvGridView(
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
        return ConvView(tab="grid" if self.tabs.currentIndex() == 1 else "image",
                        layer=self.conv_params(), kernel_channel=self.kernel_channel.value(),
                        in_index=self.in_index.value(), edit_all=self.edit_all.isChecked(),
                        link_kernel=self.link_kernel.isChecked(),
                        scale_mode=self.scale_mode.value(), grid=grid)

    def apply_params(self, view: ConvView) -> None:
        layer, grid = view.layer, view.grid
        modes = {3: "rgb", 1: "gray"}
        if layer.in_channels not in modes:
            raise ValueError(f"in_channels must be 3 (RGB) or 1 (gray), not {layer.in_channels}")
        self.tabs.setCurrentIndex(1 if view.tab == "grid" else 0)
        self.input_mode.setValue(modes[layer.in_channels])
        self.link_kernel.setChecked(False)  # height and width are set one by one
        for slider, value in ((self.out_channels, layer.out_channels),
                              (self.kernel_h, layer.kernel_h), (self.kernel_w, layer.kernel_w),
                              (self.stride, layer.stride), (self.dilation, layer.dilation)):
            slider.setValue(value)
        self.link_kernel.setChecked(view.link_kernel)
        self.same_padding.setChecked(layer.padding == "same")
        if layer.padding != "same":
            self.padding.setValue(layer.padding)
        self.padding_mode.setValue(layer.padding_mode)
        self.groups.setValue(layer.groups)
        for box, on in ((self.bias, layer.bias), (self.relu, layer.relu),
                        (self.flip, layer.flip), (self.edit_all, view.edit_all)):
            box.setChecked(on)
        self.scale_mode.setValue(view.scale_mode)
        # the kernels, after the sizes (a new size forgets typed cells)
        count = len(layer.presets)
        self._presets[:count] = layer.presets
        self._biases[:len(layer.biases)] = [float(b) for b in layer.biases]
        self._edits = {(o, j, r, c): float(v) for o, j, r, c, v in layer.edits}
        self._seed = layer.seed
        self.kernel_channel.setValue(view.kernel_channel)
        self.in_index.setValue(view.in_index)
        self._sync_kernel_editor_controls()
        # the numeric grid
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

    def examples(self) -> dict[int, Example]:
        return EXAMPLES

    def _input_tensor(self):
        """The image as (1, C, H, W) floats for the current input mode (cached)."""
        mode = self.input_mode.value()
        if mode not in self._inputs:

            x = to_tensor(self.state.image, mode)[None]
            self._inputs[mode] = x
            names = CHANNEL_NAMES[x.shape[1]]
            shape = f"{x.shape[-2]}×{x.shape[-1]}"
            # the size once, on the first channel: three full titles ran into each other
            self._input_tiles[mode] = [
                ImageTile(f"in {c}: {names[c].split()[0]}" + (f" {shape}" if c == 0 else ""),
                          to_display(x[0, c])) for c in range(x.shape[1])]
        return self._inputs[mode]

    def _weight_for(self, params: ConvParams):
        key = (params.weight_shape(), params.presets, params.edits, params.seed)
        if key != self._weight_key:
            self._weight = conv.build_weight(params)
            self._weight_key = key
        return self._weight

    # ====================================================================== reacting
    def _image_changed(self, _image: LabImage) -> None:
        self._inputs.clear()
        self._input_tiles.clear()
        self.request_update("image")

    def _input_mode_changed(self, _mode: str) -> None:
        self._sync_groups()
        self._sync_kernel_editor_controls()
        self.request_update("image")

    def _sync_groups(self) -> None:
        """Groups offers every divisor of in_channels, up to depthwise."""
        channels = self.in_channels()
        current = self.groups.value()
        choices = []
        for d in conv.divisors(channels):
            if d == 1:
                text = "1 (all channels)"
            elif d == channels:
                text = f"{d} (depthwise)"
            else:
                text = str(d)
            choices.append((d, text))
        self.groups.setChoices(choices, current if current in conv.divisors(channels) else 1)

    def _kernel_size_changed(self, value: int, which: str) -> None:
        if self.link_kernel.isChecked():
            other = self.kernel_w if which == "h" else self.kernel_h
            other.blockSignals(True)
            other.setValue(value)
            other.blockSignals(False)
        self._edits.clear()  # typed cells belong to the old size
        self.request_update("image")

    def _sync_kernel_editor_controls(self) -> None:
        out = self.out_channels.value()
        self.kernel_channel.blockSignals(True)
        self.kernel_channel.setRange(0, out - 1)
        self.kernel_channel.blockSignals(False)
        o = self.kernel_channel.value()
        self.preset.blockSignals(True)
        self.preset.setValue(self._presets[o])
        self.preset.blockSignals(False)
        self.bias_value.blockSignals(True)
        self.bias_value.setValue(self._biases[o])
        self.bias_value.blockSignals(False)
        self.bias_value.setEnabled(self.bias.isChecked())
        groups = int(self.groups.value())
        per_group = max(1, self.in_channels() // groups)
        self.in_index.blockSignals(True)
        self.in_index.setRange(0, per_group - 1)
        self.in_index.blockSignals(False)
        self.in_index.setEnabled(per_group > 1)
        self.edit_all.setEnabled(per_group > 1)
        self.request_update("image")

    def select_kernel(self, out_channel: int, in_index: int) -> None:
        """Show kernel (out_channel, in_index) in the editor (a click on the diagram)."""
        self.kernel_channel.setValue(out_channel)
        self.in_index.setValue(in_index)
        self._sync_kernel_editor_controls()

    def _preset_chosen(self, name: str) -> None:
        o = self.kernel_channel.value()
        self._presets[o] = name
        self._drop_edits(lambda key: key[0] == o)
        self.request_update("image")

    def _preset_for_all(self) -> None:
        name = self.preset.value()
        self._presets = [name] * MAX_KERNELS
        self._edits.clear()
        self.request_update("image")

    def _new_random(self) -> None:
        self._seed += 1
        self.request_update("image")

    def _reset_edits(self) -> None:
        self._edits.clear()
        self.request_update("image")

    def _drop_edits(self, condition) -> None:
        for key in [k for k in self._edits if condition(k)]:
            del self._edits[key]

    def _bias_changed(self, value: float) -> None:
        self._biases[self.kernel_channel.value()] = float(value)
        self.request_update("image")

    def _kernel_cell_edited(self, row: int, col: int, value: float) -> None:
        o = self.kernel_channel.value()
        per_group = max(1, self.in_channels() // int(self.groups.value()))
        targets = range(per_group) if self.edit_all.isChecked() else [self.in_index.value()]
        for j in targets:
            self._edits[(o, j, row, col)] = float(value)
        self.request_update("image")

    def _tab_changed(self, _index: int) -> None:
        if self.tabs.currentIndex() != 1:
            self.play.setChecked(False)
        self._show_problems()

    # -- numeric grid ----------------------------------------------------------------
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
    # the image update draws the view and the maps anyway; the view update the maps
    covers = {"image": ("view", "display"), "view": ("display",)}

    def flush(self) -> None:
        # screen-sized work: one intra-op thread (see lab.device.intra_op_threads)
        with intra_op_threads(1):
            super().flush()

    def update_failed(self, part: str, exc: Exception) -> None:
        super().update_failed("grid" if part == "grid" else "image", exc)

    def flushed(self, parts: set[str]) -> None:
        self.mark_drawn()

    def flush_code(self) -> None:
        """Write the image view's code now (it is otherwise written once a drag rests)."""
        self._code_timer.stop()
        if self.maps is not None and self.image_params is not None:
            x = self._input_tensor()
            self.code.set_code(conv.conv_code(self.image_params, self._weight_for(
                self.image_params), tuple(x.shape[1:])))

    def _update_image(self) -> None:
        params = self.conv_params()
        x = self._input_tensor()
        _, _, height, width = x.shape
        self._sync_kernel_editor(params)
        problems = params.validate(height, width)
        self.set_problems("image", problems)
        if problems:
            return
        weight = self._weight_for(params)
        self._compute_shown(params, weight)
        self._show_maps()
        self.formula.setText(params.formula_text(height, width))
        self._draw_weights(params, weight)
        if self.code.code():
            self._code_timer.start()  # written once the controls rest
        else:
            self.flush_code()

    def _compute_shown(self, params: ConvParams, weight) -> None:
        """Convolve the pixels the maps' view shows, alone (lab.display_resolution)."""
        x = self._input_tensor()
        height, width = x.shape[-2:]
        x0, y0, _, _ = params.output_rect(height, width)
        view = self.maps_grid.view(0) if self.maps_grid.tile_count() else None
        fitted = self.zoom.is_fitted(QRectF(0, 0, width, height))
        shown = shown_sampling(view, (width, height), params.output_shape(height, width),
                               (x0, y0), params.stride, fitted)
        macs = shown.rows.count * shown.cols.count * params.out_channels * \
            params.in_per_group * params.kernel_h * params.kernel_w
        busy = macs > BUSY_MACS
        if busy:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            maps = conv.convolve_shown(x, params, weight, shown.rows, shown.cols)[0]
        finally:
            if busy:
                QApplication.restoreOverrideCursor()
        self.maps, self.image_params, self.maps_shown = maps, params, shown
        self.display_step = shown.step
        asked = self._ranges_asked
        if asked is not None and (asked[0] != params or asked[1] is not x):
            self._ranges_job.cancel()  # a drag never waits for statistics of a stale layer
            self._ranges_asked = None
        if not self.maps_complete():
            self._rest_timer.start()

    def maps_complete(self) -> bool:
        """The maps hold every output pixel (a small image, or zoomed to show it all)."""
        if self.maps_shown is None or self.image_params is None:
            return False
        out_h, out_w = self.image_params.output_shape(*self._input_tensor().shape[-2:])
        return self.maps_shown.rows.covers(out_h) and self.maps_shown.cols.covers(out_w)

    def _update_view(self) -> None:
        """A zoom or pan that needs pixels not drawn: compute those (same layer)."""
        if self.image_params is not None:
            self._compute_shown(self.image_params, self._weight_for(self.image_params))
            self._show_maps()

    def _show_maps(self) -> None:
        """Colour and draw the last computed maps (again, after a zoom: no convolution)."""
        maps, params, drawn = self.maps, self.image_params, self.maps_shown
        if maps is None or params is None or drawn is None:
            return
        x = self._input_tensor()
        height, width = x.shape[-2:]
        shared = self.scale_mode.value() == "shared"
        exact = self.full_ranges() if not self.maps_complete() else None
        estimated = not self.maps_complete() and exact is None
        bold = self.scale_mode.value() == "bold"
        colours = conv.diverging_indices(
            maps, shared=shared, ranges=exact,
            percentile=conv.BOLD_PERCENTILE if bold else None)
        out_h, out_w = params.output_shape(height, width)
        mark = "≈" if estimated else ""
        # two short lines: long titles would make the grid wider than the panel
        tiles = [ImageTile(f"{o} {conv.PRESET_TITLES[params.preset_for(o)]}<br>{mark}"
                           f"{conv.format_number(low)} … {conv.format_number(high)}",
                           colours.indices[o], drawn.rect)
                 for o, (low, high) in enumerate(colours.ranges)]
        bound = colours.bounds[0] if shared else 1.0
        self.input_grid.set_images(self._input_tiles[self.input_mode.value()], fit=False)
        self.maps_grid.set_images(tiles, levels=(0, 255), colorbar_levels=(-bound, bound),
                                  fit=False)
        self.zoom.follow(QRectF(0, 0, width, height))
        low = min(r[0] for r in colours.ranges)
        high = max(r[1] for r in colours.ranges)
        if shared:
            scale = f"colours: shared ±{conv.format_number(bound)}"
        elif bold:
            scale = (f"colours: each map ±its {conv.BOLD_PERCENTILE:g}th-percentile |value| "
                     "(stronger pixels saturate; bar in units of it)")
        else:
            scale = "colours: each map ±its own max|value| (bar in units of that max)"
        self.maps_grid.setToolTip(f"{MAPS_TIP}\n{scale[0].upper()}{scale[1:]}.")
        flipped = (" · kernels flipped: a true convolution (conv2d itself is "
                   "cross-correlation)" if params.flip else "")
        resolution = ""
        if drawn.step > 1:
            resolution = f" · shown: 1 row and column in {drawn.step} (screen resolution)"
        if estimated:
            resolution += " · ≈ min/max of the shown pixels; every pixel's follow"
        self.stats.setText(f"feature maps: (1, {params.out_channels}, {out_h}, {out_w}) · "
                           f"min {conv.format_number(low)} · max {conv.format_number(high)}"
                           f" · {scale}{flipped}{resolution}")

    def _zoom_changed(self) -> None:
        """Compute again only when the view needs pixels that are not drawn."""
        params, drawn = self.image_params, self.maps_shown
        if params is None or drawn is None or not self.maps_grid.tile_count():
            return
        height, width = self._input_tensor().shape[-2:]
        x0, y0, _, _ = params.output_rect(height, width)
        needed = shown_sampling(self.maps_grid.view(0), (width, height),
                                params.output_shape(height, width), (x0, y0), params.stride,
                                self.zoom.is_fitted())
        if not drawn.contains(needed):
            self.request_update("view")

    # -- every pixel, off the GUI thread -------------------------------------------
    def _controls_rested(self) -> None:
        if not self.maps_complete() and self.full_ranges() is None:
            self.request_full_result()

    def request_full_result(self) -> None:
        """Convolve every output pixel off the GUI thread (newest request wins) for each
        map's min and max: the statistics and the colour scale then describe every pixel.
        The maps themselves are not kept (16 maps of a 4096² photo are 1 GB)."""
        params, x = self.image_params, self._input_tensor()
        if params is None:
            return
        asked = self._ranges_asked
        if asked is not None and asked[0] == params and asked[1] is x and \
                self._ranges_job.busy():
            return  # already on its way: a restart would only throw its work away
        self._ranges_asked = (params, x)
        weight = self._weight_for(params)

        def make(should_stop):
            ranges = conv.map_ranges(x, params, weight, should_stop)
            if ranges is not None:
                yield params, x, ranges

        self._ranges_job.submit(make)

    def _ranges_arrived(self, result) -> None:
        self._full_ranges = result
        if self.full_ranges() is not None:
            self.request_update("display")

    def full_ranges(self) -> list[tuple[float, float]] | None:
        """Every pixel's (min, max) of each current map, once computed."""
        result = self._full_ranges
        if result is None or result[0] != self.image_params or \
                result[1] is not self._inputs.get(self.input_mode.value()):
            return None
        return result[2]

    def full_result_ready(self) -> bool:
        return self.maps_complete() or self.full_ranges() is not None

    def _sync_kernel_editor(self, params: ConvParams) -> None:
        """The grid editor shows kernel (out, in) as the user made it (before any flip)."""
        if params.groups < 1 or params.in_channels % params.groups:
            return  # no weight tensor has this shape; the banner says why
        per_group = params.in_per_group
        o = min(self.kernel_channel.value(), params.out_channels - 1)
        j = min(self.in_index.value(), per_group - 1)
        kernel = self._weight_for(params)[o, j].numpy()
        if not np.array_equal(kernel, self.kernel_editor.values()):
            self.kernel_editor.set_matrix(kernel, decimals=2)
        group = o // params.out_per_group if params.out_channels % params.groups == 0 else 0
        name = CHANNEL_NAMES[params.in_channels][group * per_group + j]
        title = f"kernel {o} · input {name}"
        if self.kernel_editor.title != title:
            self.kernel_editor.title = title
            self.kernel_editor.update()

    def _draw_weights(self, params: ConvParams, weight) -> None:
        titles = [conv.PRESET_TITLES[params.preset_for(o)]
                  + ("*" if any(e[0] == o for e in params.edits) else "")
                  for o in range(params.out_channels)]
        names = CHANNEL_NAMES[params.in_channels]
        self.weight_view.set_weight(
            weight.numpy(), in_channels=params.in_channels, groups=params.groups,
            channel_names=names, row_titles=titles, bias=params.bias,
            selected=(self.kernel_channel.value(), self.in_index.value()))

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

    def _show_problems(self) -> None:
        part = "grid" if self.tabs.currentIndex() == 1 else "image"
        problems = self.part_problems("params") + self.part_problems(part)
        if problems != self.banner.problems() or bool(problems) == self.banner.isHidden():
            self.banner.show_problems(problems)

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

    def shutdown(self) -> None:
        self._rest_timer.stop()
        self._play_timer.stop()
        self._code_timer.stop()
        super().shutdown()
