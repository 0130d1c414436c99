"""Pooling & Upsampling panel (concepts 23, 24): windows you can see, sizes you can compute.

A thin view over `lab.pooling`: controls -> `PoolParams` / `UpsampleParams` -> lab ->
draw. Changes are coalesced by the Panel base (`request_update` / `flush`), so a slider
drag never queues stale work: whatever the controls say when it flushes is computed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGraphicsRectItem,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab import pooling
from lab.device import intra_op_threads
from lab.images import LabImage, to_display, to_tensor
from lab.map_export import write_csv, write_png
from lab.params import Example
from lab.pooling import PoolParams, UpsampleParams
from lab.pooling.examples import EXAMPLES
from lab.pooling.view import PoolingView
from lab.progress import Progress
from widgets.kit.controls import (
    ChoiceBox,
    ErrorBanner,
    ParamSlider,
    ProgressLine,
    TextLines,
    caption,
    page_with_controls,
    row_of,
    scrolling,
)
from widgets.kit.files import ask_png_or_csv, write_text
from widgets.kit.panel import AppState, Panel
from widgets.kit.shown import Shown, shown_sampling
from widgets.kit.views import CodeView, ImageGrid, ImageTile, MatrixView, ZoomTogether

POOL_TOOLTIPS = {
    "max": "Keeps the largest value in each window: the strongest response survives, "
           "small shifts don't matter (nn.MaxPool2d).",
    "avg": "Replaces each window by its mean: a blur followed by sub-sampling "
           "(nn.AvgPool2d).",
    "lp": "The p-norm of each window: p = 1 sums, large p approaches the max "
          "(nn.LPPool2d). No padding.",
    "adaptive_max": "You give the output size; torch chooses windows that tile the input "
                    "(nn.AdaptiveMaxPool2d) — how classifiers accept any image size.",
    "adaptive_avg": "Like adaptive max but averaging; AdaptiveAvgPool2d(1) is global average "
                    "pooling at the end of ResNet.",
}


class PoolingPanel(Panel):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.compute_counts = self.update_counts  # what tests and benchmarks read
        self.updaters = {"pool_image": self._update_pool_image,
                         "pool_view": self._update_pool_image,
                         "pool_grid": self._update_pool_grid,
                         "upsample": self._update_upsample}
        self._grid_seed = 0
        self._grid_values = pooling.random_grid(8, 0)
        self._grid_result: pooling.GridResult | None = None
        self._grid_params: PoolParams | None = None
        self._pinned: tuple[int, int] | None = (0, 0)
        self._image_tensor = None
        self._code_stale = False
        # the code is rewritten once the controls rest: during a drag it only costs frames
        self._code_timer = QTimer(self)
        self._code_timer.setSingleShot(True)
        self._code_timer.setInterval(150)
        self._code_timer.timeout.connect(self.flush_code)
        self._input_display: np.ndarray | None = None
        #: what the pooled view shows (params, Shown): only the output pixels the screen
        #: shows are computed; zooming in computes the newly visible ones
        self._pool_shown: tuple[PoolParams, Shown] | None = None
        #: every output pixel of the last pooling, computed off the GUI thread on request
        #: (export, benchmarks): (params, image tensor, output)
        self._full_pool: tuple[PoolParams, object, object] | None = None
        self._full_job = self.add_job("pool_full", self._full_pool_arrived)
        #: the patch region (top, left, bottom, right) whose upsampled cells are drawn;
        #: None: all of them (the views show the whole patch)
        self._up_region: tuple[float, float, float, float] | None = None
        # exports compute every output pixel first; the file written is `last_export`
        self._export_job = self.add_file_job("export", lambda: self.export_progress,
                                             lambda text: self.banner.show_message(text))

        self.banner = ErrorBanner()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_pool_tab(), "Pooling (down-sampling)")
        self.tabs.addTab(self._build_upsample_tab(), "Upsampling")
        self.tabs.setTabToolTip(0, "Shrink a feature map by summarising windows")
        self.tabs.setTabToolTip(1, "Enlarge an image: copy, interpolate, or learn it")
        self.tabs.currentChanged.connect(lambda _i: self._show_problems())
        self.problemsChanged.connect(self._show_problems)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        state.imageChanged.connect(self._image_changed)
        self._image_changed(state.image)
        self._sync_enabled()

    # ====================================================================== building
    def _build_pool_tab(self) -> QWidget:
        self.kind = ChoiceBox("Pooling", [(k, text.split(" — ")[0], POOL_TOOLTIPS[k])
                                          for k, text in pooling.POOL_KINDS.items()], "max",
                              tooltip="Which summary of each window to keep")
        self.kernel = ParamSlider("Kernel size k", 1, 8, 2, tooltip=(
            "Window side k: each output value summarises a k×k window of the input."))
        self.stride = ParamSlider("Stride s", 1, 8, 2, tooltip=(
            "How far the window moves between outputs. s = k tiles the input without "
            "overlap; s < k overlaps windows."))
        self.padding = ParamSlider("Padding p", 0, 4, 0, tooltip=(
            "Cells added around the border (−∞ for max, 0 for average). torch allows at "
            "most ⌊k/2⌋."))
        self.dilation = ParamSlider("Dilation d", 1, 4, 1, tooltip=(
            "Gaps inside the window (max pool only): d = 2 looks at every second cell, "
            "so the window spans d·(k−1)+1 cells."))
        self.ceil_mode = QCheckBox("ceil_mode — keep a last partial window")
        self.ceil_mode.setToolTip("Round the output size up instead of down, so windows "
                                  "that hang over the right/bottom edge still produce an output.")
        self.count_include_pad = QCheckBox("count_include_pad — divide by the full window")
        self.count_include_pad.setChecked(True)
        self.count_include_pad.setToolTip("Average pool: count padding zeros in the divisor "
                                          "(True) or divide by the real cells only (False).")
        self.norm_type = ParamSlider("LP power p", 0.5, 8, 2, step=0.5, decimals=1, tooltip=(
            "LP pool computes (Σ xᵖ)^(1/p): p = 1 is the window sum, p = 2 its Euclidean "
            "norm, large p approaches the max."))
        self.output_size = ParamSlider("Output size", 1, 32, 4, tooltip=(
            "Adaptive pooling: the output side you want; torch derives each window "
            "[⌊i·H/out⌋, ⌈(i+1)·H/out⌉)."))
        self.fit_output = QCheckBox("Fit the pooled image to its view")
        self.fit_output.setToolTip(
            "Off: the pooled image at its true size — its pixels as large on screen as the "
            "input's, so pooling by 2 shows an image half as wide. On: enlarged to fill its "
            "view, each output pixel drawn over the window it summarises.")
        self.grid_size = ParamSlider("Grid side", 4, 16, 8, tooltip=(
            "Side of the numeric grid below: small numbers you can add up by eye."))
        self.new_numbers = QPushButton("New numbers")
        self.new_numbers.setToolTip("Draw new random digits for the grid (Ctrl+R)")
        self.new_numbers.setShortcut("Ctrl+R")
        self.export_csv = QPushButton("Export numbers as CSV…")
        self.export_csv.setToolTip("Save the grid, the output and (max pool) the indices "
                                   "and unpooled grid as CSV")
        self.export_image = QPushButton("Export pooled image…")
        self.export_image.setToolTip(
            "Save the pooled image at full resolution — every output pixel computed (off "
            "the GUI thread), even where the view shows only some: PNG, or CSV numbers "
            "(one block per channel)")
        self.export_progress = ProgressLine()

        form = QVBoxLayout()
        box = QGroupBox("Pooling layer")
        box_layout = QVBoxLayout(box)
        for widget in (self.kind, self.kernel, self.stride, self.padding, self.dilation,
                       self.ceil_mode, self.count_include_pad, self.norm_type,
                       self.output_size):
            box_layout.addWidget(widget)
        box_layout.addWidget(row_of(self.export_image, self.export_progress))
        form.addWidget(box)
        form.addWidget(self.fit_output)
        grid_box = QGroupBox("Numeric grid")
        grid_layout = QVBoxLayout(grid_box)
        grid_layout.addWidget(self.grid_size)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_numbers)
        buttons.addWidget(self.export_csv)
        grid_layout.addLayout(buttons)
        grid_layout.addWidget(caption("Hover or click an output cell to see its window and "
                                       "how its value was made. Arrow keys move the selection."))
        form.addWidget(grid_box)
        form.addStretch(1)
        controls = scrolling(form, 330, 420)

        self.image_grid = ImageGrid(columns=2)
        self.image_zoom = ZoomTogether(self.image_grid, changed=self._pool_zoom_changed)
        self.image_grid.setToolTip("Input and pooled image at their true sizes: a pixel of "
                                   "either is as large on screen, so the pooled image is "
                                   "smaller by the stride ('Fit' enlarges it). Wheel to zoom "
                                   "(both views follow), double-click to fit.")
        self.input_matrix = MatrixView("input (padding hatched)")
        self.output_matrix = MatrixView("output")
        self.index_matrix = MatrixView("argmax indices (flat)")
        self.index_matrix.setToolTip("return_indices=True: where in the flattened input "
                                     "each maximum was found (row·W + column)")
        self.unpool_matrix = MatrixView("MaxUnpool2d(output, indices)")
        self.unpool_matrix.setToolTip("MaxUnpool2d puts each maximum back where it came "
                                      "from and fills the rest with zeros")
        matrices = QWidget()
        row = QHBoxLayout(matrices)
        row.setContentsMargins(0, 0, 0, 0)
        for view, stretch in ((self.input_matrix, 3), (self.output_matrix, 2),
                              (self.index_matrix, 2), (self.unpool_matrix, 3)):
            row.addWidget(view, stretch)
        # fixed heights: new text must not re-lay-out (and repaint) the whole panel
        self.explanation = TextLines(2, opaque=False)
        self.formula = TextLines(3, "The output-size formula torch uses, with your numbers",
                                 opaque=False, top=False)
        self.code = CodeView()

        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(matrices, 1)
        middle_layout.addWidget(self.explanation)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.formula)
        bottom_layout.addWidget(self.code, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for widget, stretch in ((self.image_grid, 3), (middle, 4), (bottom, 2)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([300, 360, 220])

        for slider in (self.kernel, self.stride, self.padding, self.dilation, self.norm_type,
                       self.output_size):
            slider.valueChanged.connect(lambda _v: self.request_update("pool_image", "pool_grid"))
        self.kind.valueChanged.connect(self._kind_changed)
        for box_ in (self.ceil_mode, self.count_include_pad):
            box_.toggled.connect(lambda _v: self.request_update("pool_image", "pool_grid"))
        self.fit_output.toggled.connect(lambda _v: self.request_update("pool_view"))
        self.grid_size.valueChanged.connect(self._new_grid)
        self.new_numbers.clicked.connect(self._next_numbers)
        self.export_csv.clicked.connect(self._ask_export_csv)
        self.export_image.clicked.connect(self._ask_export_image)
        self.output_matrix.cellHovered.connect(self._hovered)
        self.index_matrix.cellHovered.connect(self._hovered)
        self.output_matrix.cellClicked.connect(self._pin)
        self.index_matrix.cellClicked.connect(self._pin)
        return page_with_controls(controls, splitter)

    def _build_upsample_tab(self) -> QWidget:
        self.scale = ParamSlider("Scale factor", 1, 8, 4, tooltip=(
            "Each side grows by this factor (nn.Upsample(scale_factor=…))."))
        self.use_target = QCheckBox("Give a target size instead")
        self.use_target.setToolTip("nn.Upsample(size=…) instead of scale_factor; "
                                   "ConvTranspose2d and PixelShuffle then use the nearest "
                                   "whole factor")
        self.target = ParamSlider("Target size", 2, 512, 100, tooltip=(
            "Side of the interpolated output, in pixels"))
        self.align_corners = QCheckBox("align_corners (bilinear, bicubic)")
        self.align_corners.setToolTip("True: the corner pixels of input and output line up "
                                      "exactly. False (default): pixels are squares and their "
                                      "centres are interpolated.")
        self.patch = ParamSlider("Patch size", 4, 128, 24, tooltip=(
            "Side of the central patch of the image to enlarge: small patches make each "
            "method's look obvious"))
        self.patch_x = ParamSlider("Patch centre x", 0, 100, 50, suffix=" %", tooltip=(
            "Where the patch sits, across the image"))
        self.patch_y = ParamSlider("Patch centre y", 0, 100, 50, suffix=" %", tooltip=(
            "Where the patch sits, down the image"))
        self.find_detail = QPushButton("Most detailed patch")
        self.find_detail.setToolTip("Move the patch to where the image has the most edges, "
                                    "so the methods' differences show (done automatically "
                                    "for each new image)")
        # the whole image with the patch outlined: where the tiles' pixels come from
        self.where = ImageGrid(columns=1)
        self.where.setFixedHeight(150)
        self.where.setToolTip("The whole image; the orange square is the patch the tiles "
                              "enlarge")
        self.patch_outline = QGraphicsRectItem()
        pen = QPen(QColor(255, 140, 0), 2)
        pen.setCosmetic(True)  # 2 screen pixels whatever the image's size
        self.patch_outline.setPen(pen)
        self.detail_note = caption(small=True)
        #: (patch size, (y, x) centre) of the last most-detailed search
        self._detail: tuple[int, tuple[float, float]] | None = None
        self.transposed_init = ChoiceBox("Transposed conv weights", [
            (k, k, text) for k, text in pooling.TRANSPOSED_INITS.items()], "bilinear",
            tooltip="The weights of the ConvTranspose2d: a learned layer starts random; "
                    "bilinear weights make it interpolate")
        self.transposed_init.label.setWordWrap(True)  # two lines rather than a cut word
        form = QVBoxLayout()
        box = QGroupBox("Upsampling")
        box_layout = QVBoxLayout(box)
        for widget in (self.scale, self.use_target, self.target, self.align_corners,
                       self.patch, self.patch_x, self.patch_y, self.find_detail,
                       self.where, self.detail_note, self.transposed_init):
            box_layout.addWidget(widget)
        form.addWidget(box)
        form.addWidget(caption(
            "Nearest copies the closest pixel (blocks); bilinear and bicubic interpolate "
            "(smooth, bicubic sharper and may overshoot). ConvTranspose2d is a learnable "
            "up-sampler; PixelShuffle turns r² channels into an r× larger image. All tiles "
            "show the same patch at the same scale: zoom one and the others follow."))
        form.addStretch(1)
        controls = scrolling(form, 330, 420)
        self.up_grid = ImageGrid(columns=3)
        self.up_zoom = ZoomTogether(self.up_grid, changed=self._up_zoom_changed)
        # wraps in a narrow window (one line per formula made the window wider than 1280)
        self.up_formula = TextLines(3, "The output-size formulas torch uses, with your numbers",
                                    opaque=False)
        self.up_code = CodeView()
        # at least 9 lines of the script in view (it showed four at a time)
        self.up_code.editor.setMinimumHeight(
            9 * self.up_code.editor.fontMetrics().lineSpacing() + 8)
        splitter = QSplitter(Qt.Orientation.Vertical)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.up_formula)
        bottom_layout.addWidget(self.up_code, 1)
        splitter.addWidget(self.up_grid)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.find_detail.clicked.connect(self.move_patch_to_detail)
        for slider in (self.scale, self.target, self.patch, self.patch_x, self.patch_y):
            slider.valueChanged.connect(lambda _v: self.request_update("upsample"))
        for box_ in (self.use_target, self.align_corners):
            box_.toggled.connect(lambda _v: self.request_update("upsample"))
        self.use_target.toggled.connect(lambda _v: self._sync_enabled())
        self.transposed_init.valueChanged.connect(lambda _v: self.request_update("upsample"))
        return page_with_controls(controls, splitter)

    # ====================================================================== state
    def pool_params(self) -> PoolParams:
        return PoolParams(kind=self.kind.value(), kernel_size=self.kernel.value(),
                          stride=self.stride.value(), padding=self.padding.value(),
                          dilation=self.dilation.value(), ceil_mode=self.ceil_mode.isChecked(),
                          count_include_pad=self.count_include_pad.isChecked(),
                          norm_type=float(self.norm_type.value()),
                          output_size=self.output_size.value())

    def upsample_params(self) -> UpsampleParams:
        return UpsampleParams(
            scale_factor=self.scale.value(),
            target_size=self.target.value() if self.use_target.isChecked() else None,
            align_corners=self.align_corners.isChecked(), patch_size=self.patch.value(),
            transposed_init=self.transposed_init.value(),
            center=(self.patch_y.value() / 100, self.patch_x.value() / 100))

    def params(self) -> PoolingView:
        return PoolingView(tab="upsample" if self.tabs.currentIndex() == 1 else "pool",
                           pool=self.pool_params(), upsample=self.upsample_params(),
                           grid_side=self.grid_size.value(), grid_seed=self._grid_seed,
                           fit_output=self.fit_output.isChecked())

    def apply_params(self, view: PoolingView) -> None:
        pool, up = view.pool, view.upsample
        self.tabs.setCurrentIndex(1 if view.tab == "upsample" else 0)
        self.kind.setValue(pool.kind)
        for slider, value in ((self.kernel, pool.kernel_size), (self.stride, pool.stride),
                              (self.padding, pool.padding), (self.dilation, pool.dilation),
                              (self.norm_type, pool.norm_type),
                              (self.output_size, pool.output_size),
                              (self.scale, up.scale_factor), (self.patch, up.patch_size),
                              (self.patch_y, round(up.center[0] * 100)),
                              (self.patch_x, round(up.center[1] * 100))):
            slider.setValue(value)
        self.ceil_mode.setChecked(pool.ceil_mode)
        self.fit_output.setChecked(view.fit_output)
        self.count_include_pad.setChecked(pool.count_include_pad)
        self.use_target.setChecked(up.target_size is not None)
        if up.target_size is not None:
            self.target.setValue(up.target_size)
        self.align_corners.setChecked(up.align_corners)
        self.transposed_init.setValue(up.transposed_init)
        self._grid_seed = view.grid_seed
        self.grid_size.setValue(view.grid_side)
        self._new_grid()
        self._sync_enabled()

    def examples(self) -> dict[int, Example]:
        return EXAMPLES

    def _sync_enabled(self) -> None:
        params = self.pool_params()
        adaptive = params.is_adaptive
        for widget in (self.kernel, self.stride, self.ceil_mode):
            widget.setEnabled(not adaptive)
        self.padding.setEnabled(params.uses_padding)
        self.dilation.setEnabled(params.uses_dilation)
        self.count_include_pad.setEnabled(params.kind == "avg")
        self.norm_type.setEnabled(params.kind == "lp")
        self.output_size.setEnabled(adaptive)
        self.target.setEnabled(self.use_target.isChecked())
        self.scale.setEnabled(not self.use_target.isChecked())

    def _kind_changed(self, _kind: str) -> None:
        self._sync_enabled()
        self.request_update("pool_image", "pool_grid")

    def _image_changed(self, image: LabImage) -> None:
        # NCHW in memory: pooling a channels-last photo reads every value whatever the stride
        self._image_tensor = to_tensor(image)[None].contiguous()
        self._input_display = image.pixels
        self.where.set_images([ImageTile("where the patch is", image.pixels)])
        if self.patch_outline.scene() is None:
            self.where.view(0).addItem(self.patch_outline)
            # a map, not a view to explore: the wheel scrolls the controls around it
            self.where.view(0).setMouseEnabled(False, False)
        self.move_patch_to_detail()
        self.request_update("pool_image", "pool_grid", "upsample")

    def move_patch_to_detail(self) -> None:
        size = self.patch.value()
        y, x = pooling.most_detailed_center(self._image_tensor[0], size)
        self._detail = (size, (y, x))
        self.patch_x.setValue(round(x * 100))
        self.patch_y.setValue(round(y * 100))
        self._show_where()

    def at_most_detailed(self) -> bool:
        """The patch is where the last search for this patch size put it."""
        if self._detail is None or self._detail[0] != self.patch.value():
            return False
        y, x = self._detail[1]
        return (self.patch_y.value(), self.patch_x.value()) == (round(y * 100), round(x * 100))

    def _show_where(self) -> None:
        """Outline the patch on the whole image and say whether it is the most detailed."""
        if self._image_tensor is None or self.where.tile_count() == 0:
            return
        _, _, height, width = self._image_tensor.shape
        top, left, side_h, side_w = pooling.patch_box(height, width, self.patch.value(),
                                                      self.upsample_params().center)
        self.patch_outline.setRect(QRectF(left, top, side_w, side_h))
        there = self.at_most_detailed()
        self.find_detail.setEnabled(not there)
        where = f"x {left}–{left + side_w}, y {top}–{top + side_h}"
        self.detail_note.setText(
            f"The patch ({where}) is the image's most detailed {side_w}×{side_h} square: "
            "the most edges, so the methods differ most." if there else
            f"The patch is at {where}. “Most detailed patch” moves it where a "
            f"{self.patch.value()}-pixel square has the most edges.")

    def _new_grid(self) -> None:
        self._grid_values = pooling.random_grid(self.grid_size.value(), self._grid_seed)
        self.request_update("pool_grid")

    def _next_numbers(self) -> None:
        self._grid_seed += 1
        self._new_grid()

    # ====================================================================== computing
    covers = {"pool_image": ("pool_view",)}  # the image update draws the view anyway

    def flush(self) -> None:
        # screen-sized work: one intra-op thread (see lab.device.intra_op_threads)
        with intra_op_threads(1):
            super().flush()

    def update_failed(self, part: str, exc: Exception) -> None:
        super().update_failed("pool_image" if part == "pool_view" else part, exc)

    def flushed(self, parts: set[str]) -> None:
        if self._code_stale:
            if self.code.code():
                self._code_timer.start()
            else:
                self.flush_code()
        self.mark_drawn()

    def flush_code(self) -> None:
        """Write the pooling view's code now (it is otherwise written once a drag rests)."""
        self._code_timer.stop()
        if self._code_stale and not (self.part_problems("pool_image")
                                     or self.part_problems("pool_grid")):
            _, channels, height, width = self._image_tensor.shape
            self.code.set_code(pooling.pooling_code(self.pool_params(), (channels, height, width),
                                                    self._grid_values))
        self._code_stale = False

    def _update_pool_image(self) -> None:
        params = self.pool_params()
        _, channels, height, width = self._image_tensor.shape
        problems = params.validate(height, width)
        self.set_problems("pool_image", problems)
        if problems:
            return
        shown = self._shown_for(params)
        out = pooling.pool_shown(self._image_tensor, params, shown.rows, shown.cols)
        self._pool_shown = (params, shown)
        low, high = pooling.pool_display_range(params)
        out_h, out_w = params.output_shape(height, width)
        name = params.module_line().split("(")[0].removeprefix("nn.")
        resolution = (f"<br>shown: 1 row and column in {shown.step} (screen resolution)"
                      if shown.step > 1 else "")
        self.image_grid.set_images([
            ImageTile(f"input {height}×{width}×{channels}", self._input_display),
            ImageTile(f"{name} → {out_h}×{out_w}×{channels}{resolution}",
                      to_display(out[0], low, high), shown.rect),
        ], fit=False)
        self.image_zoom.set_scale(1, self._output_scale(params))
        self.image_zoom.follow(QRectF(0, 0, width, height))
        self._show_formula(params)
        self._code_stale = True

    def _show_formula(self, params: PoolParams) -> None:
        """The formula for the image and for the numeric grid: both are on screen."""
        height, width = self._image_tensor.shape[-2:]
        self.formula.setText(params.formula_text(height, width, self.grid_size.value()))

    def _update_pool_grid(self) -> None:
        params = self.pool_params()
        values = self._grid_values
        problems = params.validate(*values.shape)
        self.set_problems("pool_grid", [
            f"numeric grid ({values.shape[0]}×{values.shape[1]}): {p}" for p in problems])
        if problems:
            return
        result = pooling.pool_grid(values, params)
        self._grid_result, self._grid_params = result, params
        self._show_formula(params)
        pad_text = "−∞" if params.kind == "max" else "0"
        self.input_matrix.set_matrix(values, padding=params.effective_padding, pad_text=pad_text)
        self.output_matrix.set_matrix(result.output)
        is_max = result.indices is not None
        self.index_matrix.setVisible(is_max)
        self.unpool_matrix.setVisible(is_max)
        if is_max:
            self.index_matrix.set_matrix(result.indices)
            self.unpool_matrix.set_matrix(result.unpooled)
        rows, cols = result.output.shape
        if self._pinned and not (self._pinned[0] < rows and self._pinned[1] < cols):
            self._pinned = (0, 0)
        self._explain(self._pinned)
        self._code_stale = True

    def _update_upsample(self) -> None:
        params = self.upsample_params()
        _, channels, height, width = self._image_tensor.shape
        problems = params.validate(height, width)
        self.set_problems("upsample", problems)
        if problems:
            return
        side_h, side_w = (min(params.patch_size, n) for n in (height, width))
        rect = (0.0, 0.0, float(side_w), float(side_h))
        region = None if self.up_zoom.is_fitted(QRectF(*rect)) else self._up_wanted(rect)
        result = pooling.upsample_all(self._image_tensor[0], params, region)
        self._up_region = region
        tiles = [ImageTile(f"input patch {side_h}×{side_w}", to_display(result.patch), rect)]
        for title, tensor in result.outputs.items():
            shown = title
            if title in ("ConvTranspose2d", "PixelShuffle"):
                shown += f" ×{params.integer_factor()}"
            out_h, out_w = result.sizes[title]
            (r0, r1), (c0, c1) = result.spans[title]
            # the cells computed, drawn where they lie over the patch
            place = (c0 * side_w / out_w, r0 * side_h / out_h, (c1 - c0) * side_w / out_w,
                     (r1 - r0) * side_h / out_h)
            note = "" if region is None else " (the region shown)"
            tiles.append(ImageTile(f"{shown} → {out_h}×{out_w}{note}", to_display(tensor),
                                   place))
        self.up_grid.set_images(tiles, fit=False)
        self.up_zoom.follow(QRectF(*rect))
        self.up_formula.setText(f"{params.interpolate_formula()}\n{params.transposed_formula()}")
        self._show_where()
        self.up_code.set_code(pooling.upsample_code(params, (channels, height, width)))

    def _up_wanted(self, rect: tuple[float, float, float, float]
                   ) -> tuple[float, float, float, float]:
        """The zoomed region of the patch and half a view more on every side (a pan
        needs nothing new for a while), as (top, left, bottom, right) inside it."""
        shown = self.up_zoom.region()
        margin_x, margin_y = shown.width() / 2, shown.height() / 2
        return (max(0.0, shown.top() - margin_y), max(0.0, shown.left() - margin_x),
                min(rect[3], shown.bottom() + margin_y), min(rect[2], shown.right() + margin_x))

    def _up_zoom_changed(self) -> None:
        """Compute the upsampled cells again only when the view shows some not drawn."""
        region = self._up_region
        if self.up_grid.tile_count() == 0:
            return
        if self.up_zoom.is_fitted():
            if region is not None:
                self.request_update("upsample")
            return
        shown = self.up_zoom.region()
        if region is None:
            return  # every cell is drawn already
        top, left, bottom, right = region
        if shown.top() < top or shown.left() < left or shown.bottom() > bottom or \
                shown.right() > right:
            self.request_update("upsample")

    def _show_problems(self) -> None:
        self.banner.show_problems(self.shown_problems())

    def shown_problems(self) -> list[str]:
        """The current tab's problems (what the banner says)."""
        refused = self.part_problems("params")
        if self.tabs.currentIndex() == 1:
            return refused + self.part_problems("upsample")
        # the image's problem and the grid's are usually the same rule: say it once
        image = self.part_problems("pool_image")
        grid = [p for p in self.part_problems("pool_grid") if p.split(": ", 1)[-1] not in image]
        return refused + image + grid

    # ====================================================================== interaction
    def _hovered(self, row: int, col: int) -> None:
        if row == MatrixView.OUTSIDE:
            self._explain(self._pinned)
        else:
            self._explain((row, col))

    def _pin(self, row: int, col: int) -> None:
        self._pinned = (row, col)
        self._explain(self._pinned)

    def _explain(self, cell: tuple[int, int] | None) -> None:
        result, params = self._grid_result, self._grid_params
        if result is None or params is None or cell is None:
            return
        rows, cols = result.output.shape
        if not (0 <= cell[0] < rows and 0 <= cell[1] < cols):
            return
        explanation = pooling.explain_cell(result.values, params, *cell)
        highlight = {c: "window" for c in explanation.window}
        if explanation.chosen is not None:
            highlight[explanation.chosen] = "chosen"
        self.input_matrix.set_highlight(highlight)
        self.output_matrix.set_selected(cell)
        if result.indices is not None:
            self.index_matrix.set_selected(cell)
            self.unpool_matrix.set_highlight(
                {explanation.chosen: "chosen"} if explanation.chosen else {})
        self.explanation.setText(f"output[{cell[0]}, {cell[1]}] = {explanation.text}")

    def explained_cell(self) -> str:
        return self.explanation.text()

    def _ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export numbers", "pooling.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_grid_csv(path)

    def export_grid_csv(self, path: str | Path) -> bool:
        """False, with the path and the reason in the banner, when it cannot be written."""
        if self._grid_result is None:
            return False
        return write_text(path, pooling.grid_csv(self._grid_result), self.banner.show_message)

    # ====================================================================== resolution
    def _output_scale(self, params: PoolParams) -> float:
        """How much wider than the input's view the pooled view's range is: its stride in
        input pixels (true size: a pixel of each as large on screen), or 1 when fitted."""
        if self.fit_output.isChecked():
            return 1.0
        _, _, height, width = self._image_tensor.shape
        _, out_w = params.output_shape(height, width)
        return pooling.output_rect(params, height, width)[2] / out_w

    def _shown_for(self, params: PoolParams) -> Shown:
        """The pooled view's output pixels at the current zoom (laid out or not)."""
        _, _, height, width = self._image_tensor.shape
        out_h, out_w = params.output_shape(height, width)
        x0, y0, rect_w, _ = pooling.output_rect(params, height, width)
        view = self.image_grid.view(1) if self.image_grid.tile_count() > 1 else None
        scale = self._output_scale(params)  # the pooled view shows this much more
        return shown_sampling(view, (scale * width, scale * height), (out_h, out_w), (x0, y0),
                              rect_w / out_w,
                              self.image_zoom.is_fitted(QRectF(0, 0, width, height)))

    def _pool_zoom_changed(self) -> None:
        """A zoom or pan redraws the pooled view only when it needs pixels not drawn."""
        if self._pool_shown is None:
            return
        params, shown = self._pool_shown
        if params.validate(*self._image_tensor.shape[-2:]):
            return  # drawn for another image these settings do not fit: the banner says why
        if not shown.contains(self._shown_for(params)):
            self.request_update("pool_view")

    def request_full_result(self) -> None:
        """Compute every output pixel of the current pooling off the GUI thread (newest
        request wins); `full_result_ready()` says when it is there."""
        params, x = self.pool_params(), self._image_tensor
        if params.validate(*x.shape[-2:]):
            return

        def make(_should_stop):
            yield params, x, pooling.pool(x, params)

        self._full_job.submit(make)

    def _full_pool_arrived(self, result) -> None:
        self._full_pool = result

    def full_result_ready(self) -> bool:
        return self._full_pool is not None and self._full_pool[0] == self.pool_params() \
            and self._full_pool[1] is self._image_tensor

    def full_result(self):
        """Every output pixel of the current pooling (N, C, H_out, W_out), or None until
        `request_full_result()` has delivered it."""
        return self._full_pool[2] if self.full_result_ready() else None

    # ====================================================================== export
    def _ask_export_image(self) -> None:
        path = ask_png_or_csv(self, "Export pooled image", "pooled.png")
        if path:
            self.export_image_file(path)

    def export_image_file(self, path: str | Path) -> bool:
        """Write every output pixel of the current pooling, computed on a worker (the one
        already computed when there is one): `.csv` the numbers, a block per channel;
        anything else a PNG as the view draws it. False (banner) when the settings do not
        fit the image."""
        params, x = self.pool_params(), self._image_tensor
        if params.validate(*x.shape[-2:]):
            self.banner.show_message("Nothing to export: these settings do not fit the image")
            return False
        path = Path(path)
        ready = self.full_result()
        low, high = pooling.pool_display_range(params)
        names = ["R", "G", "B"] if x.shape[1] == 3 else [f"channel {c}" for c in range(
            x.shape[1])]

        def make(should_stop):
            out = ready
            if out is None:
                yield Progress("computing every pixel", 0.0)
                out = pooling.pool(x, params)
            if should_stop():
                return
            if path.suffix.lower() == ".csv":
                yield from write_csv(path, [(f"{params.module_line()} · {name}",
                                             out[0, c].numpy())
                                            for c, name in enumerate(names)], should_stop)
            else:
                yield Progress("writing PNG", 1.0)
                yield write_png(path, to_display(out[0], low, high))

        self.export_progress.show_progress(Progress("computing every pixel", 0.0))
        self._export_job.submit(make)
        return True
