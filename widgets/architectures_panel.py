"""Architectures panel (concepts 15–19): connectivity, the classic nets, inside nn.Module.

A thin view over `lab.architectures`, `lab.graphs`, `lab.graph_layout` and
`lab.gradient_flow`. Tracing, shape passes, layouts and gradient runs happen on worker
threads (`LatestJob`: one job at a time, the newest request wins); the GUI thread only
turns finished layouts into items, in slices (`GraphView`).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab import architectures as arch
from lab import gradient_flow as gf
from lab.architectures import (
    ClassicParams,
    ConnectivityParams,
    DrawOptions,
    ModuleCounts,
    PreparedGraph,
    Progress,
)
from lab.graphs import human
from lab.models import CLASSIC_MODELS, PATTERNS, ChannelScale, Flatten
from widgets.controls import ChoiceBox, ErrorBanner, ParamSlider
from widgets.graph_view import EDGE_COLORS, GraphView, LinkedZoom
from widgets.jobs import LatestJob, freeze_heap
from widgets.layer_table import LayerTable
from widgets.module_tree import ModuleTree
from widgets.panel import AppState, Panel
from widgets.views import CodeView

PATTERN_COLORS = {"plain": "#2f6fdb", "resnet": EDGE_COLORS["add"],
                  "densenet": EDGE_COLORS["concat"]}
CONNECTION_RULE = (
    "Connection: a feature map a conv/linear layer reads directly (through BN, ReLU, + or "
    "concat, not through another weight layer). Plain: L−1 between its L layers. Dense "
    "block of L layers: layer ℓ reads the block input x₀ and all ℓ−1 earlier layers, "
    "L(L+1)/2 in all. Edges: every arrow of the traced torch.fx graph.")
GRADIENT_RULE = (
    "One backward pass of cross-entropy on the same batch (16 random 3×8×8 images, random "
    "labels), each net freshly initialised from seed 0: ‖∂loss/∂W‖ of every body layer, "
    "layer 1 nearest the input. The defaults — no BatchNorm, PyTorch's default init, ReLU — "
    "show the textbook effect: in the plain net the gradient shrinks layer by layer towards "
    "the input, the more the deeper the net (an exact 0 — nothing arrived — is drawn at "
    "1e-30). ResNet: a shortcut around every 2 layers; DenseNet: the Blocks setting (at most "
    "4). With BatchNorm or He init the plain net's gradient no longer vanishes at the start "
    "of training; deep plain nets then still train worse (degradation), which a single "
    "backward pass cannot show.")
GRADIENT_CAPTION = (
    "Same batch, same seed, one backward pass; no BatchNorm, default init: the plain net's "
    "gradient vanishes towards the input, shortcuts and dense links carry it. "
    "Hover for the details.")


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def _scrolling(layout: QVBoxLayout, width: int = 300) -> QScrollArea:
    inner = QWidget()
    inner.setLayout(layout)
    scroll = QScrollArea()
    scroll.setWidget(inner)
    scroll.setWidgetResizable(True)
    scroll.setMinimumWidth(width)
    scroll.setMaximumWidth(width + 80)
    return scroll


def _group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for widget in widgets:
        layout.addWidget(widget)
    return box


class ArchitecturesPanel(Panel):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._dirty: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush)
        self._problems: dict[str, list[str]] = {"connectivity": [], "gradient": [],
                                                "classic": [], "tree": []}
        self.prepared: dict[str, PreparedGraph] = {}
        self._connectivity_options = {p: DrawOptions() for p in PATTERNS}
        self._classic_options: dict[tuple, DrawOptions] = {}
        self._traced_cache: dict[tuple, Any] = {}
        self._classic_params: ClassicParams | None = None
        self.profiles: dict[tuple[str, int], gf.GradientProfile] = {}
        self._gradient_params: gf.GradientParams | None = None
        self._tree_choice = ""
        self._drawn_parts: set[str] = set()
        self.jobs = {name: LatestJob(self) for name in ("connectivity", "gradient", "classic",
                                                         "tree")}
        self.jobs["connectivity"].item.connect(self._connectivity_item)
        self.jobs["gradient"].item.connect(self._gradient_item)
        self.jobs["classic"].item.connect(self._classic_item)
        self.jobs["tree"].item.connect(self._tree_item)
        for name, job in self.jobs.items():
            job.failed.connect(lambda message, n=name: self._job_failed(n, message))
            job.idle.connect(self._update_progress)

        self.banner = ErrorBanner()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_connectivity_tab(), "Plain · ResNet · DenseNet")
        self.tabs.addTab(self._build_classic_tab(), "Classic nets")
        self.tabs.addTab(self._build_tree_tab(), "Inside nn.Module")
        self.tabs.setTabToolTip(0, "The three connectivity patterns side by side, and how "
                                   "much gradient reaches their first layers")
        self.tabs.setTabToolTip(1, "LeNet-5, AlexNet, VGG, GoogLeNet, ResNet-18, DenseNet-121: "
                                   "every layer's shape, parameters and multiply-adds")
        self.tabs.setTabToolTip(2, "modules() vs children() vs named_parameters(); the "
                                   "home-made Flatten and ChannelScale layers; train / eval")
        self.tabs.currentChanged.connect(self._tab_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        freeze_heap("torch and Qt")
        self.request_update("connectivity", "gradient")

    # ====================================================================== building
    def _build_connectivity_tab(self) -> QWidget:
        self.kind = ChoiceBox("Layers", [
            ("conv", "3×3 conv (images)", "Each layer: Conv2d 3×3 + BatchNorm + ReLU on "
                                          "3×32×32 images"),
            ("dense", "linear (vectors)", "Each layer: Linear + BatchNorm1d + ReLU on 2-D "
                                          "points (an MLP)")], "conv",
            tooltip="What one layer is made of")
        self.depth = ParamSlider("Depth L", 1, 64, 8, tooltip=(
            "Weight layers between the stem and the classifier, in each of the three nets"))
        self.width = ParamSlider("Width", 2, 64, 16, tooltip=(
            "Channels (units) of every plain / ResNet layer; the stem's width for DenseNet"))
        self.growth = ParamSlider("Growth rate k", 1, 48, 12, tooltip=(
            "DenseNet: the channels each layer adds to the concatenation — layer ℓ of a "
            "block reads width + (ℓ−1)·k channels"))
        self.blocks = ParamSlider("Blocks", 1, 8, 2, tooltip=(
            "ResNet: blocks with one identity shortcut each; DenseNet: dense blocks, with a "
            "1×1 transition layer between them. The depth is shared among the blocks."))
        self.batchnorm = QCheckBox("BatchNorm after each layer")
        self.batchnorm.setChecked(True)
        self.batchnorm.setToolTip("Conv → BatchNorm → ReLU (the conv then has no bias)")
        self.fold = QCheckBox("Draw BN / ReLU inside their layer's box")
        self.fold.setChecked(True)
        self.fold.setToolTip("Fold BatchNorm, activations and dropout that follow a layer "
                             "one-to-one into its box; untick to see every operation")
        self.collapse = QCheckBox("Collapse repeated blocks (×N)")
        self.collapse.setToolTip("Draw each run of identical blocks as one box ×N; click a "
                                 "box to expand it, click an expanded block's title to "
                                 "collapse it again")
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Zoom all three graphs to fit, at the same scale (F)")
        self.export_graphs = QPushButton("Export PNG…")
        self.export_graphs.setToolTip("Save the three graphs side by side as a PNG")
        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.fit_button)
        row.addWidget(self.export_graphs)

        self.grad_depth = ParamSlider("Depth", gf.MIN_DEPTH, gf.MAX_DEPTH, 32, tooltip=(
            "Layers of the three nets in the per-layer plot (the depth plot always shows "
            "4, 8, 16, 32, 64)"))
        self.grad_activation = ChoiceBox("Activation", [
            ("relu", "ReLU"), ("tanh", "tanh"), ("sigmoid", "sigmoid")], "relu",
            tooltip="sigmoid's slope is at most 1/4: gradients vanish fastest")
        self.grad_init = ChoiceBox("Init", [(k, k if k == "default" else "He (Kaiming)", text)
                                            for k, text in gf.INITS.items()], "default",
                                   tooltip="How the weights start: " + "; ".join(
                                       gf.INITS.values()))
        self.grad_batchnorm = QCheckBox("BatchNorm in the gradient nets")
        self.grad_batchnorm.setToolTip("BatchNorm re-scales every layer's output, which "
                                       "stops the vanishing at initialisation")

        form = QVBoxLayout()
        form.addWidget(_group("The three networks", self.kind, self.depth, self.width,
                              self.growth, self.blocks, self.batchnorm))
        form.addWidget(_group("Drawing", self.fold, self.collapse, buttons, _caption(
            "Drag to pan, wheel to zoom (all three follow), double-click the background "
            "to fit. Hover a box for its module, output shape and parameters.")))
        form.addWidget(_group("Gradient flow", self.grad_depth, self.grad_activation,
                              self.grad_init, self.grad_batchnorm))
        form.addStretch(1)
        controls = _scrolling(form)

        columns = QWidget()
        grid = QGridLayout(columns)
        grid.setContentsMargins(0, 0, 0, 0)
        self.graph_views: dict[str, GraphView] = {}
        self.count_labels: dict[str, QLabel] = {}
        for column, pattern in enumerate(PATTERNS):
            title = QLabel(f"<b>{arch.PATTERN_TITLES[pattern]}</b>")
            title.setToolTip(PATTERNS[pattern])
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            view = GraphView()
            view.setToolTip("")
            view.groupToggled.connect(lambda group, expand, p=pattern:
                                      self._toggle_connectivity_group(p, group, expand))
            view.nodeHovered.connect(lambda node, p=pattern: self._hovered(p, node))
            view.drawn.connect(lambda p=pattern: self._graph_drawn(p))
            counts = QLabel("…")
            counts.setWordWrap(True)
            counts.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            line = counts.fontMetrics().lineSpacing()
            counts.setFixedHeight(3 * line + 4)
            grid.addWidget(title, 0, column)
            grid.addWidget(view, 1, column)
            grid.addWidget(counts, 2, column)
            grid.setColumnStretch(column, 1)
            self.graph_views[pattern] = view
            self.count_labels[pattern] = counts
        grid.setRowStretch(1, 1)
        self.linked = LinkedZoom(list(self.graph_views.values()))
        self.connection_rule = _caption(CONNECTION_RULE)
        self.connection_rule.setToolTip(CONNECTION_RULE)
        self.hover_label = QLabel(" ")
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumHeight(16)
        self.progress.setVisible(False)
        self.progress_label = QLabel()
        status = QHBoxLayout()
        status.addWidget(self.hover_label, 1)
        status.addWidget(self.progress_label)
        status.addWidget(self.progress)
        graphs_page = QWidget()
        graphs_layout = QVBoxLayout(graphs_page)
        graphs_layout.setContentsMargins(0, 0, 0, 0)
        graphs_layout.addWidget(columns, 1)
        graphs_layout.addWidget(self.connection_rule)
        graphs_layout.addLayout(status)

        self.layer_plot = pg.PlotWidget()
        self.depth_plot = pg.PlotWidget()
        palette = self.palette()
        for plot, x_label, title in (
                (self.layer_plot, "layer (1 = nearest the input)", "‖∂loss/∂W‖ per layer"),
                (self.depth_plot, "depth L", "first layer's ‖∂loss/∂W‖ vs depth")):
            plot.setBackground(palette.base().color())
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTextPen(palette.text().color())
                plot.getAxis(axis).setPen(palette.mid().color())
            plot.setLogMode(x=False, y=True)
            plot.setLabel("bottom", x_label)
            plot.setLabel("left", "gradient norm")
            plot.setTitle(title, color=palette.text().color().name(), size="10pt")
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMinimumHeight(150)
            plot.setMenuEnabled(False)
        self.depth_plot.getAxis("bottom").setTicks(
            [[(math.log2(d), str(d)) for d in gf.SWEEP_DEPTHS]])
        self.layer_curves = {}
        self.depth_curves = {}
        for pattern in PATTERNS:
            pen = pg.mkPen(PATTERN_COLORS[pattern], width=2)
            name = arch.PATTERN_TITLES[pattern]
            self.layer_curves[pattern] = self.layer_plot.plot(
                [], [], pen=pen, symbol="o", symbolSize=4, symbolBrush=PATTERN_COLORS[pattern],
                symbolPen=None, name=name)
            self.depth_curves[pattern] = self.depth_plot.plot(
                [], [], pen=pen, symbol="o", symbolSize=6, symbolBrush=PATTERN_COLORS[pattern],
                symbolPen=None, name=name)
        self.gradient_summary = QLabel()
        self.gradient_summary.setWordWrap(True)
        plots = QWidget()
        plots_layout = QGridLayout(plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.addWidget(self.layer_plot, 0, 0)
        plots_layout.addWidget(self.depth_plot, 0, 1)
        plots_layout.addWidget(self.gradient_summary, 1, 0, 1, 2)
        gradient_caption = _caption(GRADIENT_CAPTION)
        gradient_caption.setToolTip(GRADIENT_RULE)
        plots_layout.addWidget(gradient_caption, 2, 0, 1, 2)
        for plot in (self.layer_plot, self.depth_plot):
            plot.setToolTip(GRADIENT_RULE)
        self.connectivity_code = CodeView()
        self.gradient_code = CodeView("PyTorch code that reproduces the gradient norms")
        bottom = QTabWidget()
        bottom.addTab(plots, "Gradient flow")
        bottom.addTab(self.connectivity_code, "Code: the three nets")
        bottom.addTab(self.gradient_code, "Code: gradient flow")
        self.connectivity_bottom = bottom

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(graphs_page)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([560, 300])

        for slider in (self.depth, self.width, self.growth, self.blocks):
            slider.valueChanged.connect(lambda _v: self.request_update("connectivity"))
        self.kind.valueChanged.connect(lambda _v: self.request_update("connectivity"))
        self.batchnorm.toggled.connect(lambda _v: self.request_update("connectivity"))
        self.fold.toggled.connect(lambda _v: self._drawing_changed())
        self.collapse.toggled.connect(lambda _v: self._drawing_changed())
        self.fit_button.clicked.connect(self.linked.fit_exact)
        self.export_graphs.clicked.connect(self._ask_export_connectivity)
        for slider in (self.grad_depth, self.width, self.growth, self.blocks):
            slider.valueChanged.connect(lambda _v: self.request_update("gradient"))
        self.grad_activation.valueChanged.connect(lambda _v: self.request_update("gradient"))
        self.grad_init.valueChanged.connect(lambda _v: self.request_update("gradient"))
        self.grad_batchnorm.toggled.connect(lambda _v: self.request_update("gradient"))
        return self._with_controls(controls, splitter)

    def _build_classic_tab(self) -> QWidget:
        self.model_choice = ChoiceBox("Model", [(k, v[0], v[3]) for k, v in
                                                CLASSIC_MODELS.items()], "lenet5",
                                      tooltip="torchvision's definitions with weights=None "
                                              "(nothing is downloaded); LeNet-5 from "
                                              "lab/models.py")
        self.input_size = ChoiceBox("Input size", [(s, f"{s}×{s}") for s in arch.INPUT_SIZES],
                                    32, tooltip="Side of the (square) input image: every "
                                                "output shape follows it")
        self.in_channels = ChoiceBox("Channels", [(1, "1 (grey)"), (3, "3 (RGB)")], 1,
                                     tooltip="Channels of the input image; the first conv "
                                             "is built to match")
        self.num_classes = ChoiceBox("Classes", [(10, "10 (digits, CIFAR-10)"),
                                                 (1000, "1000 (ImageNet)")], 10,
                                     tooltip="Outputs of the last layer")
        self.classic_fold = QCheckBox("Draw BN / ReLU inside their layer's box")
        self.classic_fold.setChecked(True)
        self.classic_collapse = QCheckBox("Collapse repeated blocks (×N)")
        self.classic_collapse.setToolTip("Runs of identical blocks (ResNet's basic blocks, "
                                         "DenseNet's dense layers, Inception blocks) as one "
                                         "box ×N; click to expand. On by default for big "
                                         "graphs.")
        self.classic_fit = QPushButton("Fit")
        self.classic_png = QPushButton("Export PNG…")
        self.classic_csv = QPushButton("Export table CSV…")
        self.classic_csv.setToolTip("Save the layer table (with totals) as CSV")
        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        for button in (self.classic_fit, self.classic_png, self.classic_csv):
            row.addWidget(button)
        self.lesson = _caption("")
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QVBoxLayout()
        form.addWidget(_group("Model", self.model_choice, self.input_size, self.in_channels,
                              self.num_classes, self.lesson))
        form.addWidget(_group("Size", self.totals))
        form.addWidget(_group("Drawing", self.classic_fold, self.classic_collapse, buttons))
        form.addStretch(1)
        controls = _scrolling(form)

        self.classic_view = GraphView()
        self.classic_view.groupToggled.connect(self._toggle_classic_group)
        self.classic_view.nodeHovered.connect(lambda node: self._hovered("classic", node))
        self.classic_view.drawn.connect(lambda: self._graph_drawn("classic"))
        self.table = LayerTable()
        self.classic_code = CodeView()
        right = QTabWidget()
        right.addTab(self.table, "Layer table")
        right.addTab(self.classic_code, "PyTorch code")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.classic_view)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([330, 740])
        self.classic_hover = QLabel(" ")
        self.classic_progress = QProgressBar()
        self.classic_progress.setRange(0, 100)
        self.classic_progress.setMaximumHeight(16)
        self.classic_progress.setVisible(False)
        self.classic_progress_label = QLabel()
        status = QHBoxLayout()
        status.addWidget(self.classic_hover, 1)
        status.addWidget(self.classic_progress_label)
        status.addWidget(self.classic_progress)
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(splitter, 1)
        page_layout.addLayout(status)

        self.model_choice.valueChanged.connect(self._model_changed)
        for box in (self.input_size, self.in_channels, self.num_classes):
            box.valueChanged.connect(lambda _v: self.request_update("classic"))
        self.classic_fold.toggled.connect(lambda _v: self._classic_drawing_changed())
        self.classic_collapse.toggled.connect(lambda _v: self._classic_drawing_changed())
        self.classic_fit.clicked.connect(self.classic_view.fit)
        self.classic_png.clicked.connect(self._ask_export_classic_png)
        self.classic_csv.clicked.connect(self._ask_export_csv)
        self.lesson.setText(CLASSIC_MODELS["lenet5"][3])
        return self._with_controls(controls, page)

    def _build_tree_tab(self) -> QWidget:
        self.tree_choice = ChoiceBox("Model", list(arch.TREE_MODELS.items()), "notes",
                                     tooltip="Whose module tree to show")
        self.train_button = QPushButton("model.train()")
        self.train_button.setToolTip("Every module to training mode: Dropout drops units, "
                                     "BatchNorm normalises with the batch's statistics")
        self.eval_button = QPushButton("model.eval()")
        self.eval_button.setToolTip("Every module to evaluation mode: Dropout does nothing, "
                                    "BatchNorm uses its running statistics")
        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.train_button)
        row.addWidget(self.eval_button)
        self.counts_table = QTableWidget(4, 2)
        self.counts_table.setHorizontalHeaderLabels(["notes", "this model"])
        self.counts_table.setVerticalHeaderLabels(
            ["modules()", "children()", "named_parameters()", "Σ p.numel()"])
        self.counts_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.counts_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.counts_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.counts_table.horizontalHeader().setStretchLastSection(True)
        self.counts_table.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.counts_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.counts_table.setToolTip(
            "modules() walks every module, the model itself included; children() yields only "
            "the direct sub-modules; named_parameters() yields every weight tensor "
            "(what you hand to the optimizer: optim.SGD(model.parameters(), lr))")
        example = ModuleCounts.of(arch.build_tree_model("notes"))
        for row_index, value in enumerate((example.modules, example.children,
                                           example.named_parameters, example.parameters)):
            self.counts_table.setItem(row_index, 0, QTableWidgetItem(f"{value:,}"))
        self.counts_table.resizeRowsToContents()
        self.counts_table.setFixedHeight(
            self.counts_table.verticalHeader().length()
            + self.counts_table.horizontalHeader().sizeHint().height()
            + 2 * self.counts_table.frameWidth() + 2)
        form = QVBoxLayout()
        form.addWidget(_group("Model", self.tree_choice, buttons))
        form.addWidget(_group("Counting", self.counts_table, _caption(
            "The notes: “modules() holds all the nodes; children() only the direct ones — "
            "the whole net has 5 nodes.” The example is nn.Sequential(Conv2d, ChannelScale, "
            "ReLU, Flatten, Linear): 5 children; modules() also counts the Sequential itself.")))
        form.addStretch(1)
        controls = _scrolling(form, 340)

        self.tree = ModuleTree()
        self.layer_code = CodeView("The home-made layers (lab/models.py)")
        self.show_flatten = QPushButton("Flatten")
        self.show_flatten.setToolTip("The notes' own layer: reshape (N, C, H, W) to (N, C·H·W) "
                                     "so nn.Sequential can go on with Linear layers")
        self.show_scale = QPushButton("ChannelScale")
        self.show_scale.setToolTip("A layer with its own nn.Parameter: it appears in "
                                   "named_parameters() and is trained like any weight")
        self.show_example = QPushButton("The notes' example")
        self.find_in_tree = QPushButton("Find in tree")
        self.find_in_tree.setToolTip("Select the first module of the shown class in the tree")
        self.where_label = QLabel()
        self.where_label.setWordWrap(True)
        code_buttons = QHBoxLayout()
        for button in (self.show_flatten, self.show_scale, self.show_example, self.find_in_tree):
            code_buttons.addWidget(button)
        code_buttons.addStretch(1)
        code_page = QWidget()
        code_layout = QVBoxLayout(code_page)
        code_layout.setContentsMargins(0, 0, 0, 0)
        code_layout.addLayout(code_buttons)
        code_layout.addWidget(self.where_label)
        code_layout.addWidget(self.layer_code, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(code_page)
        splitter.setSizes([480, 330])

        self.tree_choice.valueChanged.connect(lambda _v: self.request_update("tree"))
        self.train_button.clicked.connect(lambda: self._set_all_modes(True))
        self.eval_button.clicked.connect(lambda: self._set_all_modes(False))
        self.show_flatten.clicked.connect(lambda: self.show_layer_code(Flatten))
        self.show_scale.clicked.connect(lambda: self.show_layer_code(ChannelScale))
        self.show_example.clicked.connect(lambda: self.show_layer_code(None))
        self.find_in_tree.clicked.connect(self._find_in_tree)
        self._shown_class: type | None = Flatten
        self.show_layer_code(Flatten)
        return self._with_controls(controls, splitter)

    @staticmethod
    def _with_controls(controls: QWidget, views: QWidget) -> QWidget:
        page = QWidget()
        layout = QHBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(controls)
        layout.addWidget(views, 1)
        return page

    # ====================================================================== parameters
    def connectivity_params(self) -> ConnectivityParams:
        return ConnectivityParams(self.kind.value(), self.depth.value(), self.width.value(),
                                  self.growth.value(), self.blocks.value(),
                                  self.batchnorm.isChecked())

    def gradient_params(self) -> gf.GradientParams:
        return gf.GradientParams(
            depth=self.grad_depth.value(), width=self.width.value(),
            growth_rate=self.growth.value(), dense_blocks=min(self.blocks.value(), gf.MIN_DEPTH),
            activation=self.grad_activation.value(), batchnorm=self.grad_batchnorm.isChecked(),
            init=self.grad_init.value())

    def classic_params(self) -> ClassicParams:
        return ClassicParams(self.model_choice.value(), self.input_size.value(),
                             self.in_channels.value(), self.num_classes.value())

    # ====================================================================== updating
    def request_update(self, *parts: str) -> None:
        """Mark parts stale; they are recomputed once, when control returns to the loop."""
        self._dirty.update(parts)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        dirty, self._dirty = self._dirty, set()
        if "connectivity" in dirty:
            self._start_connectivity()
        if "gradient" in dirty:
            self._start_gradient()
        if "classic" in dirty:
            self._start_classic()
        if "tree" in dirty:
            self._start_tree()
        self._show_problems()
        self._update_progress()

    def _tab_changed(self, index: int) -> None:
        if index == 1 and self._classic_params is None and "classic" not in self._dirty:
            self.request_update("classic")
        if index == 2 and not self._tree_choice:
            self.request_update("tree")
        self._show_problems()

    def _show_problems(self) -> None:
        parts = {0: ("connectivity", "gradient"), 1: ("classic",), 2: ("tree",)}
        problems = [p for part in parts[self.tabs.currentIndex()] for p in self._problems[part]]
        self.banner.show_problems(problems)

    def _job_failed(self, part: str, message: str) -> None:
        known = ("GraphError", "InputTooSmallError", "ValueError")
        text = message.split(": ", 1)[1] if message.startswith(known) else message
        self._problems[part] = [text if part != "gradient" else f"gradient flow: {text}"]
        self._show_problems()
        self._update_progress()
        if part == "classic":
            self.totals.setText(self.totals.text().split("<br><i>")[0]
                                + "<br><i>(the view shows the last input that fitted)</i>")

    def _update_progress(self) -> None:
        busy = self.jobs["connectivity"].busy() or any(
            not v.is_complete() and v.view_graph() is not None
            for v in self.graph_views.values())
        if not busy:
            self.progress.setVisible(False)
            self.progress_label.setText("")
        classic_busy = self.jobs["classic"].busy() or (
            self.classic_view.view_graph() is not None and not self.classic_view.is_complete())
        if not classic_busy:
            self.classic_progress.setVisible(False)
            self.classic_progress_label.setText("")

    def _show_progress(self, part: str, progress: Progress) -> None:
        bar, label = ((self.classic_progress, self.classic_progress_label) if part == "classic"
                      else (self.progress, self.progress_label))
        bar.setVisible(True)
        bar.setValue(int(100 * progress.fraction))
        label.setText(progress.stage + "…")

    # -- connectivity ------------------------------------------------------------------
    def _start_connectivity(self) -> None:
        params = self.connectivity_params()
        problems = params.validate()
        self._problems["connectivity"] = problems
        if problems:
            return
        options = dict(self._connectivity_options)
        self.jobs["connectivity"].submit(
            lambda stop: arch.prepare_connectivity(params, options, stop))
        self.connectivity_code.set_code(arch.connectivity_code(params))

    def _connectivity_item(self, item: Progress | PreparedGraph) -> None:
        if isinstance(item, Progress):
            self._show_progress("connectivity", item)
            return
        self._problems["connectivity"] = []
        self._show_problems()
        self.prepared[item.key] = item
        self.graph_views[item.key].set_graph(item.view, item.layout)
        if item.counts is not None:
            self.count_labels[item.key].setText(item.counts.summary())
            self.count_labels[item.key].setToolTip(CONNECTION_RULE)

    def _drawing_changed(self) -> None:
        fold, collapse = self.fold.isChecked(), self.collapse.isChecked()
        for pattern in PATTERNS:
            self._connectivity_options[pattern] = DrawOptions(fold, collapse)
        self._relayout_connectivity()

    def _toggle_connectivity_group(self, pattern: str, group: str, expand: bool) -> None:
        option = self._connectivity_options[pattern]
        expanded = set(option.expanded)
        (expanded.add if expand else expanded.discard)(group)
        self._connectivity_options[pattern] = DrawOptions(option.fold, option.collapse,
                                                          frozenset(expanded))
        self._relayout_connectivity([pattern])

    def _relayout_connectivity(self, patterns: list[str] | None = None) -> None:
        """New drawing options: lay out again (off the GUI thread), without re-tracing."""
        current = [self.prepared[p] for p in (patterns or PATTERNS) if p in self.prepared]
        if len(current) < len(patterns or PATTERNS) or self.jobs["connectivity"].busy():
            self.request_update("connectivity")
            return
        options = dict(self._connectivity_options)

        def make(stop):
            for prepared in current:
                if stop():
                    return
                yield Progress("layout", 0.5)
                yield arch.relayout(prepared.key, prepared.title, prepared.graph,
                                    options[prepared.key], prepared.traced, prepared.counts)

        self.jobs["connectivity"].submit(make)

    def _graph_drawn(self, part: str) -> None:
        if part == "classic":
            self._update_progress()
            self._mark("classic")
            return
        if all(v.is_complete() for v in self.graph_views.values()):
            self.linked.fit_all()
            self._update_progress()
            self._mark("connectivity")

    def _mark(self, part: str) -> None:
        self._drawn_parts.add(part)
        if "connectivity" in self._drawn_parts and "gradient" in self._drawn_parts or \
                part in ("classic", "tree"):
            self.mark_drawn()

    def _hovered(self, part: str, node_id: str) -> None:
        label = self.classic_hover if part == "classic" else self.hover_label
        if not node_id:
            label.setText(" ")
            return
        view = self.classic_view if part == "classic" else self.graph_views[part]
        graph = view.view_graph()
        if graph is None:
            return
        node = graph.node(node_id)
        prepared = self.prepared.get(part)
        layer = prepared.graph.node(node.members[-1]) if prepared else None
        where = layer.module_path if layer is not None and layer.module_path else node_id
        text = (f"{node.title} — {where} — output {node.subtitle.split(' · ')[-1]} — "
                f"{node.params:,} parameters")
        if node.macs:
            text += f", {human(node.macs)} multiply-adds"
        label.setText(text)

    # -- gradient flow ------------------------------------------------------------------
    def _start_gradient(self) -> None:
        params = self.gradient_params()
        problems = params.validate()
        self._problems["gradient"] = [f"gradient flow: {p}" for p in problems]
        if problems:
            return
        previous = self._gradient_params
        if previous is None or replace(previous, depth=0) != replace(params, depth=0):
            self.profiles = {}  # another experiment: nothing computed so far applies
        self._gradient_params = params
        known = set(self.profiles)
        self.gradient_code.set_code(gf.gradient_code(params))
        self._draw_gradients()

        def make(stop):
            for profile in gf.gradient_sweep(params, stop):
                if (profile.pattern, profile.depth) not in known:
                    yield profile

        if not self._gradient_missing():
            self._mark("gradient")
            return
        self.jobs["gradient"].submit(make)

    def _gradient_item(self, profile: gf.GradientProfile) -> None:
        self.profiles[(profile.pattern, profile.depth)] = profile
        self._problems["gradient"] = []
        self._draw_gradients()
        if not self._gradient_missing():
            self._mark("gradient")

    def _gradient_missing(self) -> int:
        """How many of the profiles the two plots need are still being computed."""
        params = self._gradient_params
        if params is None:
            return 0
        needed = {(p, d) for p in PATTERNS for d in (*gf.SWEEP_DEPTHS, params.depth)}
        return len(needed - set(self.profiles))

    def _draw_gradients(self) -> None:
        params = self._gradient_params
        if params is None:
            return
        summary = []
        for pattern in PATTERNS:
            profile = self.profiles.get((pattern, params.depth))
            if profile is None:
                self.layer_curves[pattern].setData([], [])
            else:
                x = np.arange(1, len(profile.norms) + 1)
                self.layer_curves[pattern].setData(x, gf.log_floor(profile.norms))
                summary.append(f"<span style='color:{PATTERN_COLORS[pattern]}'>"
                               f"<b>{arch.PATTERN_TITLES[pattern]}</b></span>: layer 1 "
                               f"{profile.norms[0]:.1e}, layer {len(profile.norms)} "
                               f"{profile.norms[-1]:.1e}")
            depths = [d for d in gf.SWEEP_DEPTHS if (pattern, d) in self.profiles]
            firsts = [self.profiles[(pattern, d)].first for d in depths]
            self.depth_curves[pattern].setData([math.log2(d) for d in depths],
                                               gf.log_floor(firsts))
        missing = self._gradient_missing()
        status = f" <i>(computing {missing} more runs…)</i>" if missing else ""
        self.gradient_summary.setText((f"Depth {params.depth}: " + " · ".join(summary)
                                       if summary else "computing…") + status)

    # -- classic nets ---------------------------------------------------------------------
    def _model_changed(self, model: str) -> None:
        defaults = ClassicParams.for_model(model)
        for box, value in ((self.input_size, defaults.input_size),
                           (self.in_channels, defaults.in_channels),
                           (self.num_classes, defaults.num_classes)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.lesson.setText(CLASSIC_MODELS[model][3])
        self.request_update("classic")

    def _start_classic(self) -> None:
        params = self.classic_params()
        problems = params.validate()
        self._problems["classic"] = problems
        if problems:
            return
        key = params.model_key()
        traced = self._traced_cache.get(key)
        options = self._classic_options.get(key)
        if options is not None:
            options = DrawOptions(self.classic_fold.isChecked(), options.collapse,
                                  options.expanded)
        self.classic_code.set_code(arch.classic_code(params))
        self.jobs["classic"].submit(
            lambda stop: arch.prepare_classic(params, options, traced, stop))
        self._classic_params = params

    def _classic_item(self, item: Progress | PreparedGraph) -> None:
        if isinstance(item, Progress):
            self._show_progress("classic", item)
            return
        params = self._classic_params
        if params is None or item.key != params.model:
            return
        freeze_heap("torchvision")  # imported by the first classic job
        key = params.model_key()
        self._traced_cache[key] = item.traced
        self._classic_options[key] = item.options
        self.classic_collapse.blockSignals(True)
        self.classic_collapse.setChecked(item.options.collapse)
        self.classic_collapse.blockSignals(False)
        self._problems["classic"] = []
        self._show_problems()
        previous = self.prepared.get("classic")
        self.prepared["classic"] = item
        same_model = previous is not None and previous.key == item.key
        self.classic_view.set_graph(item.view, item.layout, fit=not same_model)
        self.table.set_graph(item.graph)
        graph = item.graph
        shape = "×".join(str(s) for s in graph.input_shape)
        unused = graph.model_params - graph.total_params
        self.totals.setText(
            f"<b>{graph.total_params:,}</b> parameters ({human(graph.total_params * 4)}B as "
            f"float32)<br><b>{human(graph.total_macs)}</b> multiply-adds "
            f"(≈ {human(2 * graph.total_macs)} FLOPs) for one {shape} image<br>"
            f"{len(graph.nodes)} graph nodes, {len(graph.edges)} edges"
            + (f"<br>{unused:,} parameters are never used by forward()" if unused else "")
            + (f"<br>opaque to torch.fx (one box each): {', '.join(graph.opaque)}"
               if graph.opaque else ""))

    def _classic_drawing_changed(self) -> None:
        params = self._classic_params
        prepared = self.prepared.get("classic")
        if params is None or prepared is None:
            return
        key = params.model_key()
        options = DrawOptions(self.classic_fold.isChecked(), self.classic_collapse.isChecked())
        self._classic_options[key] = options
        self._relayout_classic(prepared, options)

    def _toggle_classic_group(self, group: str, expand: bool) -> None:
        prepared = self.prepared.get("classic")
        params = self._classic_params
        if prepared is None or params is None:
            return
        expanded = set(prepared.options.expanded)
        (expanded.add if expand else expanded.discard)(group)
        options = DrawOptions(prepared.options.fold, prepared.options.collapse,
                              frozenset(expanded))
        self._classic_options[params.model_key()] = options
        self._relayout_classic(prepared, options)

    def _relayout_classic(self, prepared: PreparedGraph, options: DrawOptions) -> None:
        def make(_stop):
            yield Progress("layout", 0.5)
            yield arch.relayout(prepared.key, prepared.title, prepared.graph, options,
                                prepared.traced)

        self.jobs["classic"].submit(make)

    # -- inside nn.Module -----------------------------------------------------------------
    def _start_tree(self) -> None:
        choice = self.tree_choice.value()
        connectivity = self.connectivity_params()
        if choice.startswith("net:") and connectivity.validate():
            self._problems["tree"] = [f"the Connectivity settings are invalid: "
                                      f"{connectivity.validate()[0]}"]
            return
        self._problems["tree"] = []

        def make(_stop):
            yield (choice, arch.build_tree_model(choice, connectivity))

        self.jobs["tree"].submit(make)

    def _tree_item(self, item: tuple[str, Any]) -> None:
        choice, model = item
        self._tree_choice = choice
        self.tree.set_model(model, (Flatten, ChannelScale))
        counts = ModuleCounts.of(model)
        for row, value in enumerate((counts.modules, counts.children, counts.named_parameters,
                                     counts.parameters)):
            self.counts_table.setItem(row, 1, QTableWidgetItem(f"{value:,}"))
        name = arch.TREE_MODELS[choice].split(":")[0].split(" (")[0]
        self.counts_table.setHorizontalHeaderItem(1, QTableWidgetItem(
            "notes" if choice == "notes" else name))
        self.show_layer_code(self._shown_class)
        self._mark("tree")

    def _set_all_modes(self, training: bool) -> None:
        if self.tree.model_ is not None:
            self.tree.set_mode("", training)

    def show_layer_code(self, layer: type | None) -> None:
        """Show the source of Flatten / ChannelScale (None: the notes' example) and where
        it sits in the current tree."""
        from lab import models

        self._shown_class = layer
        source = inspect.getsource(layer if layer is not None else models.notes_example)
        self.layer_code.set_code(source)
        model = self.tree.model_
        if layer is None:
            self.where_label.setText("Built with both home-made layers; choose “The notes' "
                                     "example” above to see its tree.")
            return
        if model is None:
            self.where_label.setText("")
            return
        paths = [p for p, m in model.named_modules() if isinstance(m, layer)]
        if paths:
            shown = ", ".join(f"<code>{p}</code>" for p in paths[:6])
            more = f" and {len(paths) - 6} more" if len(paths) > 6 else ""
            self.where_label.setText(f"Its place in this model's tree: {shown}{more} "
                                     "(highlighted)."
                                     + (" Its parameter shows up in named_parameters() as "
                                        f"<code>{paths[0]}.scale</code>."
                                        if layer is ChannelScale else ""))
        else:
            others = ("the notes' example" if layer is ChannelScale else
                      "the notes' example, LeNet-5 and the three connectivity nets")
            self.where_label.setText(f"This model has no {layer.__name__} layer; "
                                     f"{others} do.")

    def _find_in_tree(self) -> None:
        if self._shown_class is not None:
            self.tree.select_first(self._shown_class)

    # -- exports ----------------------------------------------------------------------------
    def _ask_export_connectivity(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export graphs", "connectivity.png",
                                              "PNG (*.png)")
        if path:
            self.export_connectivity_png(path)

    def export_connectivity_png(self, path: str | Path) -> bool:
        return self.graph_views["plain"].parentWidget().grab().save(str(path), "PNG")

    def _ask_export_classic_png(self) -> None:
        params = self._classic_params
        name = f"{params.model if params else 'model'}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export graph", name, "PNG (*.png)")
        if path:
            self.classic_view.export_png(path)

    def _ask_export_csv(self) -> None:
        params = self._classic_params
        name = f"{params.model if params else 'model'}-layers.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export layer table", name, "CSV (*.csv)")
        if path:
            self.export_table_csv(path)

    def export_table_csv(self, path: str | Path) -> bool:
        prepared = self.prepared.get("classic")
        if prepared is None:
            return False
        from lab.graphs import table_csv

        Path(path).write_text(table_csv(prepared.graph), encoding="utf-8")
        return True

    # ====================================================================== lifetime
    def is_idle(self) -> bool:
        """No job running or waiting and every graph fully drawn (tests, benchmarks)."""
        views = [*self.graph_views.values(), self.classic_view]
        return not self._dirty and not any(job.busy() for job in self.jobs.values()) and all(
            v.is_complete() or v.view_graph() is None for v in views)

    def shutdown(self) -> None:
        self._timer.stop()
        for job in self.jobs.values():
            job.shutdown()
