"""The Convolution panel's image tab: several kernels on the current image, one feature
map each (concept 25). A mixin of `ConvPanel` (widgets.conv.panel), which owns the page,
its updaters and its banner; the maps are computed at screen resolution on the GUI thread
and every pixel's min and max off it (`add_job`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lab import conv
from lab.conv import ConvParams
from lab.conv.view import ConvView
from lab.device import intra_op_threads
from lab.images import LabImage, to_display, to_tensor
from lab.map_export import write_csv, write_png
from lab.progress import Progress
from widgets.conv.weight_layout import DIVERGING, WeightLayoutView
from widgets.kit.controls import (
    ChoiceBox,
    ParamSlider,
    ProgressLine,
    TextLines,
    caption,
    page_with_controls,
    row_of,
    scrolling,
)
from widgets.kit.files import ask_png_or_csv
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


class ImageMode:
    """The image tab of `ConvPanel`: its controls, kernels, feature maps and code."""

    def _init_image_state(self) -> None:
        """The kernels (a preset per output channel, cell edits over them, biases),
        the last good maps and the timers of the image tab."""
        self._presets: list[str] = [conv.DEFAULT_PRESETS[i % len(conv.DEFAULT_PRESETS)]
                                    for i in range(MAX_KERNELS)]
        self._biases: list[float] = [0.0] * MAX_KERNELS
        self._edits: dict[tuple[int, int, int, int], float] = {}
        self._seed = 0
        self._weight_key: tuple | None = None
        self._weight = None
        self._inputs: dict[str, object] = {}   # "rgb"/"gray" -> (1, C, H, W) tensor
        #: the input channels' tiles as drawn: (mode, the pixels shown, tiles) — every
        #: step-th pixel the view shows, as the maps (a 4096² channel drawn whole cost a
        #: 64 MB image per tile)
        self._input_tiles: tuple[str, Shown, list[ImageTile]] | None = None
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
        self._code_timer = QTimer(self)
        self._code_timer.setSingleShot(True)
        self._code_timer.setInterval(150)
        self._code_timer.timeout.connect(self.flush_code)
        #: each shown map's ±colour bound (what an exported PNG's colours span)
        self._colour_bounds: list[float] = []
        # exports compute every output pixel first; the file written is `last_export`
        self._export_job = self.add_file_job("export", lambda: self.export_progress,
                                             lambda text: self.banner.show_message(text))

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
        self.export_map = QPushButton("Export map…")
        self.export_map.setToolTip(
            "Save the feature map of the kernel chosen under Kernels ▸ Edit kernel at full "
            "resolution — every pixel computed (off the GUI thread), even where the view "
            "shows only some: PNG in the colours shown, or CSV numbers")
        self.export_progress = ProgressLine()
        display = QGroupBox("Display")
        display_layout = QVBoxLayout(display)
        display_layout.addWidget(self.scale_mode)
        display_layout.addWidget(row_of(self.export_map, self.export_progress))
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

        # the input channels above their feature maps (they zoom together), the weight
        # tensor beside both at their full height: its kernels were ~18 px at 1280×740
        images = QSplitter(Qt.Orientation.Vertical)
        images.addWidget(self.input_grid)
        images.addWidget(self.maps_grid)
        images.setStretchFactor(0, 2)
        images.setStretchFactor(1, 5)
        images.setSizes([200, 450])
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(images)
        top.addWidget(self.weight_view)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setSizes([500, 400])
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.stats)
        bottom_layout.addWidget(self.formula)
        bottom_layout.addWidget(self.code, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for widget, stretch in ((top, 7), (bottom, 2)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([650, 260])
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
        self.export_map.clicked.connect(self._ask_export_map)
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

    def _apply_layer(self, view: ConvView) -> None:
        """The image tab's part of `apply_params`."""
        layer = view.layer
        modes = {3: "rgb", 1: "gray"}
        if layer.in_channels not in modes:
            raise ValueError(f"in_channels must be 3 (RGB) or 1 (gray), not {layer.in_channels}")
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

    def _input_tensor(self):
        """The image as (1, C, H, W) floats for the current input mode (cached)."""
        mode = self.input_mode.value()
        if mode not in self._inputs:

            self._inputs[mode] = to_tensor(self.state.image, mode)[None]
        return self._inputs[mode]

    def _shown_input(self) -> Shown:
        """The input pixels the input views show (the maps' zoom, stride 1)."""
        height, width = self._input_tensor().shape[-2:]
        view = self.input_grid.view(0) if self.input_grid.tile_count() else None
        fitted = self.zoom.is_fitted(QRectF(0, 0, width, height))
        return shown_sampling(view, (width, height), (height, width), (0.0, 0.0), 1.0, fitted)

    def _input_tiles_now(self) -> list[ImageTile]:
        """The input channels at the resolution the views show (made again only when the
        view needs pixels they do not hold)."""
        mode, x = self.input_mode.value(), self._input_tensor()
        needed = self._shown_input()
        cached = self._input_tiles
        if cached is not None and cached[0] == mode and cached[1].contains(needed):
            return cached[2]
        names = CHANNEL_NAMES[x.shape[1]]
        shape = f"{x.shape[-2]}×{x.shape[-1]}"
        rows, cols = needed.rows, needed.cols
        # the size once, on the first channel: three full titles ran into each other
        tiles = [ImageTile(f"in {c}: {names[c].split()[0]}" + (f" {shape}" if c == 0 else ""),
                           to_display(x[0, c, rows.start:rows.stop:rows.step,
                                        cols.start:cols.stop:cols.step]), needed.rect)
                 for c in range(x.shape[1])]
        self._input_tiles = (mode, needed, tiles)
        return tiles

    def _weight_for(self, params: ConvParams):
        key = (params.weight_shape(), params.presets, params.edits, params.seed)
        if key != self._weight_key:
            self._weight = conv.build_weight(params)
            self._weight_key = key
        return self._weight

    # ====================================================================== reacting
    def _image_changed(self, _image: LabImage) -> None:
        self._inputs.clear()
        self._input_tiles = None
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

    # ====================================================================== computing
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
        self._colour_bounds = list(colours.bounds)
        bound = colours.bounds[0] if shared else 1.0
        self.input_grid.set_images(self._input_tiles_now(), fit=False)
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
        # what is shown and what is estimated first: the two lines may not hold it all (the
        # colour scale is in the maps' tooltip too)
        self.stats.setText(f"feature maps: (1, {params.out_channels}, {out_h}, {out_w}) · "
                           f"{'≈' if estimated else ''}min {conv.format_number(low)} · "
                           f"{'≈' if estimated else ''}max {conv.format_number(high)}"
                           f"{resolution}{flipped} · {scale}")

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
        tiles = self._input_tiles
        if tiles is not None and self.input_grid.tile_count() and \
                not tiles[1].contains(self._shown_input()):
            self.request_update("display")  # the input's newly shown pixels

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
            # bands of a few MB on one core: fault-free, and the other core stays free for
            # the GUI (two threads per small band spent more time waiting than working)
            with intra_op_threads(1):
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

    # -- export: every pixel of one map, off the GUI thread ------------------------
    def _ask_export_map(self) -> None:
        kernel = min(self.kernel_channel.value(), self.out_channels.value() - 1)
        path = ask_png_or_csv(self, "Export feature map", f"feature-map-{kernel}.png")
        if path:
            self.export_map_file(path)

    def export_map_file(self, path: str | Path, kernel: int | None = None) -> bool:
        """Write kernel `kernel`'s map (default: the one being edited) at full resolution:
        computed a band at a time on a worker, progress beside the button; `.csv` writes
        the numbers, anything else a PNG in the view's colours. False when there is no
        map to export (the banner says why)."""
        params, drawn = self.image_params, self.maps_shown
        if params is None or drawn is None or self.maps is None:
            self.banner.show_message("Nothing to export yet: the maps are not drawn")
            return False
        if kernel is None:
            kernel = min(self.kernel_channel.value(), params.out_channels - 1)
        x, weight = self._input_tensor(), self._weight_for(params)
        path = Path(path)
        as_csv = path.suffix.lower() == ".csv"
        bound = self._colour_bounds[kernel] if kernel < len(self._colour_bounds) else 1.0
        lookup = pg.colormap.get(DIVERGING).getLookupTable(nPts=256)[:, :3].astype(np.uint8)
        title = f"feature map {kernel} ({conv.PRESET_TITLES[params.preset_for(kernel)]})"

        def make(should_stop):
            with intra_op_threads(1):
                values = None
                for item in conv.full_map(x, params, weight, kernel, should_stop):
                    if isinstance(item, Progress):
                        yield item
                    else:
                        values = item
            if values is None:
                return
            if as_csv:
                yield from write_csv(path, [(title, values)], should_stop)
            else:
                yield Progress("writing PNG", 1.0)
                yield write_png(path, conv.map_pixels(values, bound, lookup))

        self.export_progress.show_progress(Progress("computing every pixel", 0.0))
        self._export_job.submit(make)
        return True

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
