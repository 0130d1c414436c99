"""Normalization panel (concepts 20, 21, 22, 14): Batch, Layer, Instance and Group norm on
one real (N, C, H, W) tensor; BatchNorm's running statistics and train() vs eval(); input
feature scaling; BatchNorm vs GroupNorm at small batch sizes.

A thin view over `lab.normalization`: the controls make a `NormView`, lab computes with
torch's own modules, the panel draws. Changes are coalesced (`Panel.request_update`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab import normalization as norm
from lab.normalization import code as norm_code
from lab.normalization import examples as norm_examples
from lab.normalization import running, scaling, tensors
from lab.normalization.code_running import running_code
from lab.normalization.code_scaling import scaling_code
from lab.normalization.experiment import (
    DEFAULT_EPOCHS,
    DEFAULT_MIN_UPDATES,
    DEFAULT_SIZES,
    ExperimentSetup,
)
from lab.normalization.experiment import summary as experiment_summary
from lab.normalization.view import (
    MAX_BATCH,
    MAX_CHANNELS,
    MAX_SIDE,
    METHODS,
    MODULE_NAMES,
    SCALING_SOURCES,
    SOURCES,
    STAGES,
    NormView,
    divisors,
)
from lab.params import Example
from widgets.kit.controls import (
    ChoiceBox,
    ErrorBanner,
    ParamSlider,
    ProgressLine,
    TextLines,
    WrapLabel,
    caption,
    group_box,
    row_of,
    scrolling,
    with_controls,
)
from widgets.kit.jobs import freeze_heap
from widgets.kit.panel import AppState, Panel
from widgets.kit.views import CodeView, MatrixView
from widgets.normalization.cube import GROUP_COLORS, CubeView
from widgets.normalization.histogram import HistogramView
from widgets.normalization.plots import ThemedPlot

TABS = ("axes", "running", "scaling", "batches")
MAX_CURVES = 8
MAX_STEPS = 200
EPS_CHOICES = [(1e-5, "1e-5 (torch's default)"), (1e-3, "1e-3"), (1e-2, "0.01"), (0.1, "0.1")]
CHANNEL_PENS = {1: ["#555555"], 3: ["#d62728", "#2ca02c", "#1f77b4"]}
NORM_PENS = {"batch": "#2f6fdb", "group": "#d9822b"}


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Small tensor work on the GUI thread runs on one intra-op thread: on a loaded
    machine OpenMP's extra threads only fight the worker for the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _plot(title: str) -> ThemedPlot:
    return ThemedPlot(title)


def _fixed_label(lines: int, muted: bool = False) -> TextLines:
    """Text that changes with every step, in a fixed height (no re-layouts)."""
    text = TextLines(lines)
    if muted:
        text.label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return text


def _color(index: int) -> QColor:
    r, g, b = GROUP_COLORS[index % len(GROUP_COLORS)]
    return QColor(int(r), int(g), int(b))


def _warm_up(source: str, side: int) -> Iterator[bool]:
    tensors.warm_up(source, side)
    yield True


def _warm_up_training():
    """Import what a training run imports, here on the GUI thread once, before the worker
    starts: imports on the worker hold the interpreter lock for long stretches (building
    the first optimizer imports torch._dynamo) and the window would freeze meanwhile."""
    import torch

    from lab import data as data_module
    from lab.normalization.experiment import batch_size_experiment

    data_module.warm_up()
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    freeze_heap("training imports")
    return batch_size_experiment


class NormalizationPanel(Panel):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.updaters = {"tensor": self._update_tensor, "axes": self._update_axes,
                         "running": self._update_running, "scaling": self._update_scaling}
        self._gamma: list[float] = []
        self._beta: list[float] = []
        self._cell = (0, 0, 0, 0)
        self._steps = 0
        self._x = None
        self._result: norm.NormResult | None = None
        self._scaling: scaling.Scaling | None = None
        self._points: dict[str, dict[int, float]] = {"batch": {}, "group": {}}
        self._code_timer = QTimer(self)
        self._code_timer.setSingleShot(True)
        self._code_timer.setInterval(150)
        self._code_timer.timeout.connect(self.flush_code)

        self.banner = ErrorBanner()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_axes_tab(), "Which axes")
        self.tabs.addTab(self._build_running_tab(), "Running statistics, train vs eval")
        self.tabs.addTab(self._build_scaling_tab(), "Feature scaling")
        self.tabs.addTab(self._build_batches_tab(), "Small batches")
        for index, tip in enumerate((
                "The four methods differ only in which axes share one mean and variance",
                "BatchNorm's running_mean / running_var over batches; train() vs eval()",
                "Per-channel mean and std of the input: the Normalize they imply",
                "Train BatchNorm vs GroupNorm at several batch sizes (Wu & He, Fig. 1)")):
            self.tabs.setTabToolTip(index, tip)
        self.tabs.currentChanged.connect(self._tab_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.problemsChanged.connect(lambda: self.banner.show_problems(self.problems()))
        self.add_job("batches", self._experiment_item, self._experiment_idle)
        state.imageChanged.connect(lambda _image: self.request_update("scaling"))
        self._resize_affine()
        self._fill_groups(NormView().groups)
        self._sync_enabled()
        # the first images (scikit-learn's import, the photos) take seconds on a busy
        # machine: prepared on a worker, then the first computation runs
        self.add_job("warm_up", lambda _done: None, self._warmed_up)
        source, side = self.source.value(), self.side.value()
        self.jobs["warm_up"].submit(lambda _stop: _warm_up(source, side))

    def _warmed_up(self) -> None:
        # the tensor not computed yet (set_params may have come first; a tab shown before
        # the warm-up ended computed only the feature scaling, and nothing was ever drawn)
        if not self.update_counts["tensor"]:
            self.request_update("tensor", "axes", "running", "scaling")

    # ====================================================================== building
    def _tensor_controls(self) -> QWidget:
        self.source = ChoiceBox("Images", SOURCES, "digits", tooltip=(
            "Which images make the batch: the app's offline data sets"))
        self.stage = ChoiceBox("Tensor", STAGES, "conv", tooltip=(
            "Normalize the raw pixels, or the C feature maps of a 3×3 conv layer (seeded, "
            "torch's default initialisation): where BatchNorm sits in a CNN"))
        self.batch = ParamSlider("Batch N", 1, MAX_BATCH, 4, tooltip=(
            "Images in the batch (rows of the grid). BatchNorm's statistics come from all "
            "of them; the other methods look at one sample at a time."))
        self.channels = ParamSlider("Channels C", 1, MAX_CHANNELS, 4, tooltip=(
            "Feature maps of the conv layer (columns of the grid)"))
        self.side = ParamSlider("Side H = W", 2, MAX_SIDE, 6, tooltip=(
            "Height and width of each feature map. Up to 8 every number is written out."))
        self.seed = ParamSlider("Seed", 0, 99, 0, tooltip=(
            "torch.manual_seed of the conv layer's weights"))
        return group_box("The tensor (N, C, H, W)", self.source, self.stage, self.batch,
                         self.channels, self.side, self.seed)

    def _layer_controls(self) -> QWidget:
        self.method = ChoiceBox("Method", [(k, MODULE_NAMES[k], METHODS[k]) for k in METHODS],
                                "batch", tooltip="Which axes share one mean and variance")
        self.groups = ChoiceBox("Groups G", [(1, "1")], 1, tooltip=(
            "GroupNorm: the C channels split into G groups of C/G; G must divide C. "
            "G = 1 has LayerNorm's statistics, G = C InstanceNorm's."))
        self.eps = ChoiceBox("ε", EPS_CHOICES, 1e-5, tooltip=(
            "Added to the variance before the square root, so a constant group (σ² = 0) "
            "does not divide by zero"))
        self.affine_channel = ParamSlider("γ, β of channel", 0, 3, 0, tooltip=(
            "Which channel the γ and β sliders below set"))
        self.gamma = ParamSlider("Scale γ", -3, 3, 1, step=0.05, decimals=2, tooltip=(
            "Learned scale after normalizing: y = x̂·γ + β. γ = σ and β = μ would undo "
            "the normalization — the network can learn to."))
        self.beta = ParamSlider("Shift β", -3, 3, 0, step=0.05, decimals=2, tooltip=(
            "Learned shift after normalizing: the channel's new mean"))
        self.reset_affine = QPushButton("γ = 1, β = 0 everywhere")
        self.reset_affine.setToolTip("torch's initial values: the layer only normalizes")
        self.affine_note = caption(small=True)
        return group_box("The layer", self.method, self.groups, self.eps,
                         self.affine_channel, self.gamma, self.beta, self.reset_affine,
                         self.affine_note)

    def _build_axes_tab(self) -> QWidget:
        column = QVBoxLayout()
        column.addWidget(self._tensor_controls())
        column.addWidget(self._layer_controls())
        self.show_output = ChoiceBox("Numbers", [(False, "input x"), (True, "output y")],
                                     False, tooltip="Write the input or the normalized output "
                                     "in the cells (colours always show the input's groups)")
        column.addWidget(self.show_output)
        column.addWidget(caption(
            "Cells of one colour share one mean and one variance. Click a cell: its reduction "
            "set stays bright and its normalization is written out below."))
        column.addStretch(1)
        controls = scrolling(column, 300, 360)

        self.cube = CubeView()
        self.cube.setToolTip("The batch unfolded: a row per sample n, a column per channel "
                             "c, each tile a feature map (H×W). Click a cell.")
        self.tile_before = MatrixView("x[n, c]")
        self.tile_after = MatrixView("y[n, c]")
        for opaque in (self.cube, self.tile_before, self.tile_after):
            opaque.setAutoFillBackground(True)  # repaints stop here, not at the panel
        for view, text in ((self.tile_before, "The clicked cell's feature map before "
                            "normalizing, every number"),
                           (self.tile_after, "The same feature map after the layer: "
                            "(x − μ)/√(σ² + ε)·γ + β")):
            view.setToolTip(text)
            view.setMinimumSize(150, 120)
            view.cellClicked.connect(self._tile_clicked)
        tiles = QWidget()
        tiles_layout = QVBoxLayout(tiles)
        tiles_layout.setContentsMargins(0, 0, 0, 0)
        tiles_layout.addWidget(self.tile_before)
        tiles_layout.addWidget(self.tile_after)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.cube)
        top.addWidget(tiles)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        top.setChildrenCollapsible(False)
        self.explanation = _fixed_label(4)
        self.before_plot = HistogramView("before: values of x")
        self.after_plot = HistogramView("after: values of y")
        self.histogram_caption = _fixed_label(2, muted=True)
        plots = row_of(self.before_plot, self.after_plot)
        self.code = CodeView()
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.explanation)
        middle_layout.addWidget(plots, 1)
        middle_layout.addWidget(self.histogram_caption)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for widget, stretch in ((top, 5), (middle, 3), (self.code, 2)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setChildrenCollapsible(False)

        for control in (self.source, self.stage, self.batch, self.channels, self.side,
                        self.seed):
            control.valueChanged.connect(self._tensor_changed)
        self.method.valueChanged.connect(self._method_changed)
        for control in (self.groups, self.eps):
            control.valueChanged.connect(lambda _v: self.request_update("axes"))
        self.show_output.valueChanged.connect(lambda _v: self.request_update("axes"))
        self.affine_channel.valueChanged.connect(self._affine_channel_changed)
        self.gamma.valueChanged.connect(self._gamma_changed)
        self.beta.valueChanged.connect(self._beta_changed)
        self.reset_affine.clicked.connect(self._reset_affine)
        self.cube.cellClicked.connect(self._cell_clicked)
        page = QWidget()
        page.setLayout(with_controls(controls, splitter))
        return page

    def _build_running_tab(self) -> QWidget:
        self.momentum = ParamSlider("momentum", 0, 1, 0.1, step=0.01, decimals=2, tooltip=(
            "How far each batch moves the running statistics: running = (1 − momentum)·"
            "running + momentum·batch (torch's default 0.1; Keras calls 1 − this momentum)"))
        self.cumulative = QCheckBox("momentum=None: average of all batches")
        self.cumulative.setToolTip("running = the plain average of every batch so far "
                                   "(factor 1/k at batch k)")
        self.track = QCheckBox("track_running_stats")
        self.track.setChecked(True)
        self.track.setToolTip("False: no running statistics are kept; eval() then uses the "
                              "batch's own statistics, like train()")
        self.step_one = QPushButton("Next batch")
        self.step_one.setToolTip("Feed the next batch of N images through BatchNorm2d in "
                                 "train() mode")
        self.step_ten = QPushButton("+10 batches")
        self.reset_steps = QPushButton("Reset")
        self.reset_steps.setToolTip("A fresh layer: running_mean = 0, running_var = 1")
        self.running_channel = ParamSlider("Channel", 0, 3, 0, tooltip=(
            "The channel whose update is written out and compared"))
        self.steps_label = QLabel()
        column = QVBoxLayout()
        column.addWidget(group_box("BatchNorm2d", self.momentum, self.cumulative, self.track,
                                   row_of(self.step_one, self.step_ten), self.reset_steps,
                                   self.steps_label, self.running_channel))
        column.addWidget(caption(
            "Uses the tensor and ε of the first tab; batch k holds images kN … kN+N−1 of a "
            "fixed pool of 256. Dashed: the pool's own per-channel mean and variance."))
        self.single_note = caption(small=True)
        column.addWidget(group_box("Batch size 1", self.single_note))
        column.addStretch(1)
        controls = scrolling(column, 300, 360)

        self.mean_plot = _plot("running_mean per channel")
        self.var_plot = _plot("running_var per channel")
        self.mean_plot.setLabel("bottom", "batches seen")
        self.var_plot.setLabel("bottom", "batches seen")
        self.mean_curves = [self.mean_plot.plot(symbol="o", symbolSize=4)
                            for _ in range(MAX_CURVES)]
        self.var_curves = [self.var_plot.plot(symbol="o", symbolSize=4)
                           for _ in range(MAX_CURVES)]
        self.mean_targets = [pg.InfiniteLine(angle=0) for _ in range(MAX_CURVES)]
        self.var_targets = [pg.InfiniteLine(angle=0) for _ in range(MAX_CURVES)]
        for plot, lines in ((self.mean_plot, self.mean_targets),
                            (self.var_plot, self.var_targets)):
            for line in lines:
                plot.addItem(line)
        self.update_label = _fixed_label(3)
        self.train_matrix = MatrixView("train(): batch statistics")
        self.eval_matrix = MatrixView("eval(): running statistics")
        self.diff_matrix = MatrixView("eval − train")
        self.mode_caption = _fixed_label(2, muted=True)
        plots = row_of(self.mean_plot, self.var_plot)
        matrices = row_of(self.train_matrix, self.eval_matrix, self.diff_matrix)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.mode_caption)
        bottom_layout.addWidget(matrices, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(plots, 1)
        top_layout.addWidget(self.update_label)
        self.running_code = CodeView()
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.addWidget(self.running_code)
        for matrix in (self.train_matrix, self.eval_matrix, self.diff_matrix):
            matrix.setMinimumSize(150, 130)  # every number stays readable
        for index, stretch in enumerate((3, 3, 2)):
            splitter.setStretchFactor(index, stretch)
        splitter.setChildrenCollapsible(False)

        self.momentum.valueChanged.connect(lambda _v: self.request_update("running"))
        self.cumulative.toggled.connect(self._cumulative_toggled)
        self.track.toggled.connect(lambda _v: self.request_update("running"))
        self.running_channel.valueChanged.connect(lambda _v: self.request_update("running"))
        self.step_one.clicked.connect(lambda: self.step_batches(1))
        self.step_ten.clicked.connect(lambda: self.step_batches(10))
        self.reset_steps.clicked.connect(lambda: self.step_batches(-self._steps))
        page = QWidget()
        page.setLayout(with_controls(controls, splitter))
        return page

    def _build_scaling_tab(self) -> QWidget:
        self.scaling_source = ChoiceBox("Statistics of", SCALING_SOURCES, "image", tooltip=(
            "Whose per-channel mean and std: the current image (File → Open), or a whole "
            "data set, as the values a training pipeline would use"))
        self.scaling_label = WrapLabel(steady=True, lines=5)
        self.scaling_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.send_normalize = QPushButton("Send to Augmentation's Normalize step")
        self.send_normalize.setToolTip("Put these mean and std values into the Augmentation "
                                       "pipeline's Normalize step (added if it has none)")
        self.sent_label = caption(small=True)
        column = QVBoxLayout()
        column.addWidget(group_box("Input feature scaling", self.scaling_source,
                                   self.scaling_label, self.send_normalize, self.sent_label))
        column.addWidget(caption(
            "Normalize subtracts each channel's mean and divides by its std, so every input "
            "channel has mean 0 and std 1: gradient steps then treat the channels alike. The "
            "numbers come from the training data, and the same ones are used at test time."))
        column.addStretch(1)
        controls = scrolling(column, 300, 360)
        self.scale_before = _plot("before: pixel values in [0, 1]")
        self.scale_after = _plot("after Normalize: (x − mean) / std")
        self.scale_before_curves = [self.scale_before.plot(stepMode="center") for _ in range(3)]
        self.scale_after_curves = [self.scale_after.plot(stepMode="center") for _ in range(3)]
        views = QWidget()
        views_layout = QVBoxLayout(views)
        views_layout.setContentsMargins(0, 0, 0, 0)
        self.scaling_code = CodeView()
        for widget, stretch in ((self.scale_before, 2), (self.scale_after, 2),
                                (self.scaling_code, 1)):
            views_layout.addWidget(widget, stretch)
        self.scaling_source.valueChanged.connect(lambda _v: self.request_update("scaling"))
        self.send_normalize.clicked.connect(self.send_to_augmentation)
        page = QWidget()
        page.setLayout(with_controls(controls, views))
        return page

    def _build_batches_tab(self) -> QWidget:
        self.sizes = QLineEdit(", ".join(map(str, DEFAULT_SIZES)))
        self.sizes.setToolTip("Batch sizes to train at, separated by commas (2…256; "
                              "BatchNorm cannot train on batches of one)")
        self.epochs = ParamSlider("Epochs", 1, 20, DEFAULT_EPOCHS, tooltip=(
            "Passes over the 1,024 training digits: every batch size sees the same samples "
            f"(big batches train on until they have made {DEFAULT_MIN_UPDATES} updates)"))
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train the small CNN with BatchNorm and with GroupNorm "
                                     "at each batch size, one run after another")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = ProgressLine()
        self.device_note = caption(small=True)
        column = QVBoxLayout()
        box = group_box("BatchNorm vs GroupNorm", row_of(QLabel("Batch sizes"), self.sizes),
                        self.epochs, row_of(self.start_button, self.stop_button),
                        self.progress, self.device_note)
        # no taller than it needs: the column's spare height goes below the caption
        box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        column.addWidget(box)
        column.addWidget(caption(
            "The Training lab's own loop: a small CNN of four conv stages (8, 16, 32, 64 "
            "channels, maps 8, 4, 2, 1 pixels wide), each conv followed by the norm layer, on "
            "1,024 digits; a held-out quarter of the 1,797 validates in eval() mode. SGD with "
            "momentum 0.9, lr = 0.1·B/32 (the linear scaling rule Wu & He used) on a cosine "
            "schedule, seed 0. Only the norm layer and the batch size B change: BatchNorm2d, "
            "or GroupNorm with 4 groups. In the last stage BatchNorm sees B values per "
            "channel; GroupNorm sees 16 per group, whatever B is."))
        controls = scrolling(column, 300, 360)
        self.error_plot = _plot("validation error after the last epoch (eval mode)")
        self.error_plot.setLabel("bottom", "batch size (log scale)")
        self.error_plot.setLogMode(x=True, y=False)
        # top right: the errors that rise are the small batches', on the left
        self.error_plot.addLegend(offset=(-10, 10))
        self.error_curves = {
            name: self.error_plot.plot(name=title, pen=pg.mkPen(NORM_PENS[name], width=2),
                                       symbol="o", symbolBrush=NORM_PENS[name])
            for name, title in (("batch", "BatchNorm"), ("group", "GroupNorm"))}
        self.batches_caption = caption(steady=True, lines=3)
        views = QWidget()
        views_layout = QVBoxLayout(views)
        views_layout.setContentsMargins(0, 0, 0, 0)
        self.experiment_code = CodeView()
        views_layout.addWidget(self.error_plot, 3)
        views_layout.addWidget(self.batches_caption)
        views_layout.addWidget(self.experiment_code, 2)
        self.sizes.textChanged.connect(lambda _text: self._write_experiment_code())
        self.epochs.valueChanged.connect(lambda _value: self._write_experiment_code())
        self._write_experiment_code()
        self.start_button.clicked.connect(lambda: self.start_experiment())
        self.stop_button.clicked.connect(self.stop_experiment)
        page = QWidget()
        page.setLayout(with_controls(controls, views))
        return page

    # ====================================================================== parameters
    def params(self) -> NormView:
        channels = self._channel_count()
        return NormView(
            source=self.source.value(), stage=self.stage.value(), batch=self.batch.value(),
            channels=self.channels.value(), side=self.side.value(), seed=self.seed.value(),
            method=self.method.value(), groups=int(self.groups.value() or 1),
            eps=float(self.eps.value()), gamma=tuple(self._gamma[:channels]),
            beta=tuple(self._beta[:channels]),
            cell=self._cell, momentum=float(self.momentum.value()),
            cumulative=self.cumulative.isChecked(), track_running_stats=self.track.isChecked(),
            steps=self._steps, scaling_source=self.scaling_source.value(),
            experiment_sizes=self._sizes() or (), experiment_epochs=self.epochs.value(),
            tab=TABS[self.tabs.currentIndex()])

    def apply_params(self, params: NormView) -> None:
        n, c, h, w = params.shape
        if not all(0 <= v < size for v, size in zip(params.cell, params.shape, strict=True)):
            raise ValueError(f"cell {params.cell} lies outside the tensor (N, C, H, W) = "
                             f"({n}, {c}, {h}, {w})")
        if not 0 <= params.steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 0 and {MAX_STEPS} (got {params.steps})")
        self.source.setValue(params.source)
        self.stage.setValue(params.stage)
        self.batch.setValue(params.batch)
        self.channels.setValue(params.channels)
        self.side.setValue(params.side)
        self.seed.setValue(params.seed)
        self.method.setValue(params.method)
        self._fill_groups(params.groups)
        if params.eps not in self.eps.values():
            self.eps.setChoices([*EPS_CHOICES, (params.eps, f"{params.eps:g}")])
        self.eps.setValue(params.eps)
        self._gamma = [params.gamma_of(i) for i in range(c)]
        self._beta = [params.beta_of(i) for i in range(c)]
        self._resize_affine()
        self._cell = params.cell
        self.momentum.setValue(params.momentum)
        self.cumulative.setChecked(params.cumulative)
        self.track.setChecked(params.track_running_stats)
        self._steps = params.steps
        self.scaling_source.setValue(params.scaling_source)
        self.sizes.setText(", ".join(map(str, params.experiment_sizes)))
        self.epochs.setValue(params.experiment_epochs)
        self.tabs.setCurrentIndex(TABS.index(params.tab))
        self._sync_enabled()
        self.request_update("tensor", "axes", "running", "scaling")

    def examples(self) -> dict[int, Example]:
        return norm_examples.EXAMPLES

    # ====================================================================== control logic
    def _tensor_changed(self, _value: object = None) -> None:
        self._resize_affine()
        self._fill_groups(self.groups.value())
        self._sync_enabled()
        self.request_update("tensor", "axes", "running")

    def _method_changed(self, _value: object) -> None:
        self._sync_enabled()
        self.request_update("axes")

    def _sync_enabled(self) -> None:
        self.channels.setEnabled(self.stage.value() == "conv")
        self.seed.setEnabled(self.stage.value() == "conv")
        self.groups.setEnabled(self.method.value() == "group")
        layer = self.method.value() == "layer"
        self.affine_note.setText(
            "LayerNorm's γ and β hold one value per element of (C, H, W); these sliders fill "
            "each channel's H×W block with one value." if layer else
            "γ and β: one value per channel (weight and bias of shape (C,)).")

    def _channel_count(self) -> int:
        if self.stage.value() == "pixels":
            return 3 if self.source.value() == "photos" else 1
        return self.channels.value()

    def _fill_groups(self, wanted: object) -> None:
        """Offer only the G that divide C (keeping the current one if it still does)."""
        channels = self._channel_count()
        options = divisors(channels)
        value = wanted if wanted in options else (2 if 2 in options else options[0])
        self.groups.setChoices([(g, f"{g}" + (" (= LayerNorm's statistics)" if g == 1 else
                                              " (= InstanceNorm's)" if g == channels else ""))
                                for g in options], value)

    def _resize_affine(self) -> None:
        channels = self._channel_count()
        self._gamma = (self._gamma + [1.0] * channels)[:channels]
        self._beta = (self._beta + [0.0] * channels)[:channels]
        for slider in (self.affine_channel, self.running_channel):
            slider.setRange(0, channels - 1)
        self._show_affine()

    def _show_affine(self) -> None:
        channel = self.affine_channel.value()
        for slider, values in ((self.gamma, self._gamma), (self.beta, self._beta)):
            slider.blockSignals(True)
            slider.setValue(values[channel])
            slider.blockSignals(False)

    def _affine_channel_changed(self, _value: object) -> None:
        self._show_affine()

    def _gamma_changed(self, value: float) -> None:
        self._gamma[self.affine_channel.value()] = float(value)
        self.request_update("axes")

    def _beta_changed(self, value: float) -> None:
        self._beta[self.affine_channel.value()] = float(value)
        self.request_update("axes")

    def _reset_affine(self) -> None:
        channels = self._channel_count()
        self._gamma, self._beta = [1.0] * channels, [0.0] * channels
        self._show_affine()
        self.request_update("axes")

    def _cell_clicked(self, n: int, c: int, h: int, w: int) -> None:
        self.select_cell((n, c, h, w))

    def _tile_clicked(self, row: int, col: int) -> None:
        n, c, _h, _w = self._cell
        self.select_cell((n, c, row, col))

    def select_cell(self, cell: tuple[int, int, int, int]) -> None:
        self._cell = cell
        self.request_update("axes")

    def _cumulative_toggled(self, on: bool) -> None:
        self.momentum.setEnabled(not on)
        self.request_update("running")

    def step_batches(self, count: int) -> None:
        self._steps = max(0, min(MAX_STEPS, self._steps + count))
        self.request_update("running")

    def _tab_changed(self, _index: int) -> None:
        self.request_update("scaling")

    # ====================================================================== computing
    def flush(self) -> None:
        with one_torch_thread():
            super().flush()

    def flushed(self, parts: set[str]) -> None:
        if self._result is not None:
            self.mark_drawn()

    def _view(self) -> NormView:
        return self.params()

    def _update_tensor(self) -> None:
        view = self._view()
        problems = view.tensor_problems()
        self.set_problems("tensor", problems)
        if problems:
            self._x = None
            return
        self._x = tensors.view_tensor(view)

    def _update_axes(self) -> None:
        view = self._view()
        problems = view.layer_problems()
        self.set_problems("axes", problems)
        if problems or self._x is None:
            return
        n, c, h, w = view.shape
        cell = tuple(min(max(0, v), s - 1) for v, s in zip(self._cell, view.shape, strict=True))
        self._cell = cell
        view = replace(view, cell=cell)
        result = norm.normalize(self._x, view)
        self._result = result
        explanation = norm.explain_cell(result, view, cell)
        shown = result.y if self.show_output.value() else result.x
        self.cube.set_tensor(shown, result.ids, explanation.members, cell)
        sample, channel, row, col = cell
        for tile, values, name in ((self.tile_before, result.x, "x"),
                                   (self.tile_after, result.y, "y")):
            tile.set_matrix(values[sample, channel], title=f"{name}[{sample}, {channel}]")
            tile.set_selected((row, col))
        self.explanation.setText(explanation.text)
        self._draw_histograms(view, result, cell)
        if self.code.code():
            self._code_timer.start()  # rewritten once the controls rest
        else:
            QTimer.singleShot(0, self.flush_code)  # the first: at once

    def _histogram_groups(self, view: NormView, result: norm.NormResult,
                          cell: tuple[int, int, int, int]) -> tuple[list[int], str]:
        """The groups whose values are drawn (at most MAX_CURVES) and what they are."""
        count = len(result.mean)
        if view.method == "batch":
            return list(range(min(count, MAX_CURVES))), "one curve per channel"
        if view.method == "layer":
            return list(range(min(count, MAX_CURVES))), "one curve per sample"
        per_sample = count // view.shape[0]
        first = cell[0] * per_sample
        kind = "channel" if view.method == "instance" else "group"
        return (list(range(first, first + min(per_sample, MAX_CURVES))),
                f"one curve per {kind} of sample {cell[0]}")

    def _draw_histograms(self, view: NormView, result: norm.NormResult,
                         cell: tuple[int, int, int, int]) -> None:
        groups, what = self._histogram_groups(view, result, cell)
        bins = max(8, min(30, result.count // 3))
        colors = [_color(g) for g in groups]
        for values, plot in ((result.x, self.before_plot), (result.y, self.after_plot)):
            edges, counts = norm.group_histograms(values, result.ids, groups, bins)
            plot.set_histograms(edges, counts, colors)
        selected = int(result.ids[cell])
        after = result.y[result.ids == selected]
        self.histogram_caption.setText(
            f"{what} (colours as in the grid). After {MODULE_NAMES[view.method]}, "
            f"{result.labels[selected]} has mean {round(after.mean(), 3) + 0.0:.3f} and std "
            f"{after.std():.3f} — β = {view.beta_of(cell[1]):.2f} and |γ| = "
            f"{abs(view.gamma_of(cell[1])):.2f} for channel {cell[1]}.")

    def flush_code(self) -> None:
        """Write the code of the Axes tab now (otherwise once the controls rest)."""
        self._code_timer.stop()
        if self._result is not None and not self.problems():
            self.code.set_code(norm_code.normalization_code(
                replace(self._view(), cell=self._cell), self._result.x))

    # -- running statistics ------------------------------------------------------------
    def _update_running(self) -> None:
        view = self._view()
        if self._x is None or view.running_problems():
            return
        bn, hist = running.history(view)
        channel = min(self.running_channel.value(), view.shown_channels - 1)
        steps = np.arange(len(hist.means))
        shown = min(view.shown_channels, MAX_CURVES)
        for index in range(MAX_CURVES):
            visible = index < shown and len(hist.means) > 0
            for curves, targets, data, target in (
                    (self.mean_curves, self.mean_targets, hist.means, hist.target_mean),
                    (self.var_curves, self.var_targets, hist.variances, hist.target_var)):
                curves[index].setVisible(visible)
                targets[index].setVisible(visible)
                if visible:
                    color = _color(index)
                    width = 2.6 if index == channel else 1.2
                    curves[index].setData(steps, data[:, index], pen=pg.mkPen(color, width=width),
                                          symbolBrush=color, symbolPen=color)
                    targets[index].setPos(float(target[index]))
                    targets[index].setPen(pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine))
        tracked = bn.num_batches_tracked
        self.steps_label.setText(f"{self._steps} batch{'es' if self._steps != 1 else ''} seen"
                                 f" (num_batches_tracked = "
                                 f"{'—' if tracked is None else int(tracked)})")
        self.update_label.setText(running.update_text(view, hist, channel))
        comparison = running.compare_modes(bn, self._x)
        sample = 0
        self.train_matrix.set_matrix(comparison.train_out[sample, channel])
        self.eval_matrix.set_matrix(comparison.eval_out[sample, channel])
        self.diff_matrix.set_matrix(comparison.difference[sample, channel])
        self.train_matrix.title = f"train(): sample 0, channel {channel}"
        self.eval_matrix.title = "eval(): " + ("running statistics" if view.track_running_stats
                                              else "batch statistics (no buffers)")
        mean, var = comparison.used_mean[channel], comparison.used_var[channel]
        batch = comparison.x[:, channel].astype(np.float64)
        self.mode_caption.setText(
            f"The same batch (the first tab's tensor) in both modes. train() normalizes channel "
            f"{channel} with its batch μ = {batch.mean():.4f}, σ² = {batch.var():.4f}; eval() "
            f"with μ = {mean:.4f}, σ² = {var:.4f}. Largest difference over the whole batch: "
            f"{comparison.max_difference:.4f}.")
        self.running_code.set_code(running_code(view, channel))
        message = running.single_value_message(view.shown_channels)
        n, c, h, w = view.shape
        now = (f"N = 1 now: the statistics come from one image's {h}·{w} = {h * w} values "
               "per channel — the batch says little about the data set. "
               if view.batch == 1 else "")
        self.single_note.setText(
            f"{now}With one value per channel (batch size 1 after global average pooling, or "
            "BatchNorm1d on a single sample) μ is that value and σ² = 0, so x − μ = 0 for "
            f"every input. torch refuses in train(): “{message}”. eval() works: it uses the "
            "running statistics.")

    # -- feature scaling -----------------------------------------------------------------
    def _update_scaling(self) -> None:
        if self.tabs.currentIndex() != TABS.index("scaling") and self._scaling is not None:
            return  # computed when the tab is shown
        source = self.scaling_source.value()
        image = self.state.image
        if source == "image":
            description = f"the image {image.name} ({image.width}×{image.height})"
            # every pixel's statistics from its counts; the histograms from a sample
            stats = scaling.pixel_statistics(image.pixels, description)
            images = scaling.image_tensor(scaling.pixel_sample(image.pixels, 200_000))
        else:
            images = scaling.dataset_images(source)
            description = SCALING_SOURCES[source]
            stats = scaling.statistics(images, description)
        self._scaling = stats
        self.scaling_code.set_code(scaling_code(stats, source, image.source, image.is_gray))
        mean, std = stats.rounded()
        rows = "\n".join(f"  {name}: mean {m:.4f}, std {s:.4f}"
                         for name, m, s in zip(stats.names, stats.mean, stats.std, strict=True))
        self.scaling_label.setText(f"{description}: {stats.count:,} values per channel\n{rows}"
                                   f"\n{stats.normalize_line()}")
        sample = images if images.ndim == 4 else images[None]
        stride = max(1, int(np.ceil(sample[0, 0].numel() * len(sample) / 200_000)))
        flat = sample.transpose(0, 1).reshape(sample.shape[1], -1)[:, ::stride]
        after = scaling.apply(flat[:, :, None], stats)[:, :, 0]
        pens = CHANNEL_PENS.get(len(stats.mean), CHANNEL_PENS[1])
        for values, curves, edges in (
                (flat, self.scale_before_curves, np.linspace(0, 1, 52)),
                (after, self.scale_after_curves, np.linspace(float(after.min()),
                                                             float(after.max()) + 1e-6, 52))):
            for index, curve in enumerate(curves):
                if index < len(values):
                    counts, _ = np.histogram(values[index].numpy(), edges)
                    curve.setData(edges, counts, stepMode="center",
                                  pen=pg.mkPen(pens[index % len(pens)], width=1.6))
                    curve.setVisible(True)
                else:
                    curve.setVisible(False)

    def send_to_augmentation(self) -> None:
        if self._scaling is None:
            return
        mean, std = self._scaling.rounded()
        self.state.offer_normalize(mean, std)
        self.sent_label.setText(f"Sent mean={mean}, std={std}: the Augmentation panel's "
                                "Normalize step uses them.")

    # -- the batch-size experiment ---------------------------------------------------------
    def _sizes(self) -> tuple[int, ...] | None:
        try:
            sizes = tuple(int(part) for part in self.sizes.text().replace(";", ",").split(",")
                          if part.strip())
        except ValueError:
            return None
        return tuple(sorted(set(sizes))) if sizes else None

    def start_experiment(self, setup: ExperimentSetup | None = None) -> None:
        """Start the runs: the Batch sizes and Epochs controls' experiment, or `setup`."""
        sizes = self._sizes()
        if setup is None and (sizes is None or any(not 2 <= s <= 256 for s in sizes)):
            self.set_problems("batches", ["batch sizes: whole numbers from 2 to 256 (BatchNorm "
                                          "cannot train on one sample), separated by commas "
                                          f"(got {self.sizes.text()!r})"])
            return
        self.set_problems("batches", [])
        if setup is None:
            setup = ExperimentSetup(sizes=sizes, epochs=self.epochs.value())
        self._setup = setup
        from lab.normalization.experiment_code import experiment_code

        self.experiment_code.set_code(experiment_code(setup))
        self._points = {"batch": {}, "group": {}}
        self._draw_points()
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.batches_caption.setText(f"Training… {setup.description()}.")
        batch_size_experiment = _warm_up_training()

        def make(should_stop):
            import torch

            from lab.device import describe_device, pick_device

            torch.set_num_threads(1)  # this worker's own: the GUI keeps a core
            yield describe_device(pick_device(setup.device))
            yield from batch_size_experiment(setup, should_stop)

        self.jobs["batches"].submit(make)

    def _write_experiment_code(self) -> None:
        """The plain loop of the experiment the controls describe (kept while they don't)."""
        sizes = self._sizes()
        if sizes is not None and all(2 <= size <= 256 for size in sizes):
            from lab.normalization.experiment_code import experiment_code

            self.experiment_code.set_code(experiment_code(
                ExperimentSetup(sizes=sizes, epochs=self.epochs.value())))

    def stop_experiment(self) -> None:
        self.jobs["batches"].cancel()
        self.batches_caption.setText("Stopped.")

    def _experiment_item(self, item: object) -> None:
        from lab.normalization.experiment import ExperimentPoint
        from lab.progress import Progress

        if isinstance(item, str):
            self.device_note.setText(f"Running on {item}")
        elif isinstance(item, Progress):
            self.progress.show_progress(item)
        elif isinstance(item, ExperimentPoint):
            self._points[item.norm][item.batch_size] = item.val_error
            self._draw_points()

    def _draw_points(self) -> None:
        for name, curve in self.error_curves.items():
            sizes = sorted(self._points[name])
            curve.setData(sizes, [100 * self._points[name][s] for s in sizes])
        measured = sorted({s for points in self._points.values() for s in points})
        # the batch sizes run, labelled (log axis: positions are log10 of the size)
        self.error_plot.getAxis("bottom").setTicks(
            [[(math.log10(s), str(s)) for s in measured]] if measured else None)
        errors = [100 * e for points in self._points.values() for e in points.values()]
        if errors:  # from 0: the gap between the curves is not exaggerated
            self.error_plot.setYRange(0, max(5.0, 1.08 * max(errors)), padding=0)
        self.error_plot.setLabel("left", "validation error (%)")
        self.batches_caption.setText(self._experiment_summary())

    def _experiment_summary(self) -> str:
        text = experiment_summary(self._points)
        if not text:
            return "Press Start: each run trains on a background thread."
        setup = getattr(self, "_setup", None)
        return text + (f" ({setup.description()}.)" if setup is not None else "")

    def _experiment_idle(self) -> None:
        self.progress.done()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def experiment_points(self) -> dict[str, dict[int, float]]:
        return {k: dict(v) for k, v in self._points.items()}

    # ====================================================================== lifetime
    def shutdown(self) -> None:
        self._code_timer.stop()
        super().shutdown()
