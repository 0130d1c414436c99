"""Plain vs ResNet vs DenseNet (concept 18): three traced graphs side by side at one
scale, their connections counted, and the gradient that reaches each layer."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab import architectures as arch
from lab.architectures import ConnectivityParams, DrawOptions, PreparedGraph, Progress
from lab.architectures import gradient_flow as gf
from lab.architectures.graphs import human
from lab.architectures.view import ConnectivityView
from lab.models import PATTERNS
from widgets.architectures.graph_view import EDGE_COLORS, GraphView, LinkedZoom
from widgets.kit.controls import (
    ChoiceBox,
    ParamSlider,
    ProgressLine,
    WrapLabel,
    caption,
    group_box,
    row_of,
    scrolling,
    with_controls,
)
from widgets.kit.files import save_image
from widgets.kit.panel import Page
from widgets.kit.views import CodeView

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
GRADIENT_CAPTION = "Same batch, same seed, one backward pass: computing…"


class ConnectivityTab(Page):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.updaters = {"connectivity": self._start_connectivity,
                         "gradient": self._start_gradient}
        self.prepared: dict[str, PreparedGraph] = {}
        self.options = {p: DrawOptions() for p in PATTERNS}
        self.profiles: dict[tuple[str, int], gf.GradientProfile] = {}
        self._gradient_params: gf.GradientParams | None = None
        self._drawn_parts: set[str] = set()
        self.add_job("connectivity", self._connectivity_item, self._update_progress)
        self.add_job("gradient", self._gradient_item, lambda: None)

        controls = self._build_controls()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self._build_graphs())
        splitter.addWidget(self._build_gradient_page())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([560, 300])
        self.setLayout(with_controls(controls, splitter))
        self._connect()

    # ====================================================================== building
    def _build_controls(self) -> QWidget:
        self.kind = ChoiceBox("Layers", [
            ("conv", "3×3 conv (images)", "Each layer: Conv2d 3×3 + BatchNorm + ReLU on "
                                          "3×32×32 images"),
            ("dense", "linear (vectors)", "Each layer: Linear + BatchNorm1d + ReLU on 2-D "
                                          "points (an MLP)")], "conv",
            tooltip="What one layer is made of")
        self.depth_slider = ParamSlider("Depth L", 1, 64, 8, tooltip=(
            "Weight layers between the stem and the classifier, in each of the three nets"))
        self.width_slider = ParamSlider("Width", 2, 64, 16, tooltip=(
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
        form.addWidget(group_box("The three networks", self.kind, self.depth_slider,
                                 self.width_slider, self.growth, self.blocks, self.batchnorm))
        form.addWidget(group_box("Drawing", self.fold, self.collapse,
                                 row_of(self.fit_button, self.export_graphs), caption(
            "Drag to pan, wheel to zoom (all three follow), double-click the background "
            "to fit. Hover a box for its module, output shape and parameters.")))
        form.addWidget(group_box("Gradient flow", self.grad_depth, self.grad_activation,
                                 self.grad_init, self.grad_batchnorm))
        form.addStretch(1)
        return scrolling(form)

    def _build_graphs(self) -> QWidget:
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
            view.groupToggled.connect(lambda group, expand, p=pattern:
                                      self._toggle_group(p, group, expand))
            view.nodeHovered.connect(lambda node, p=pattern: self._hovered(p, node))
            view.drawn.connect(self._graph_drawn)
            counts = WrapLabel("…")  # as tall as its wrapped lines: narrow columns need four
            counts.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            counts.setToolTip(CONNECTION_RULE)
            grid.addWidget(title, 0, column)
            grid.addWidget(view, 1, column)
            grid.addWidget(counts, 2, column)
            grid.setColumnStretch(column, 1)
            self.graph_views[pattern] = view
            self.count_labels[pattern] = counts
        grid.setRowStretch(1, 1)
        self.columns = columns
        self.linked = LinkedZoom(list(self.graph_views.values()))
        self.connection_rule = caption(CONNECTION_RULE)
        self.connection_rule.setToolTip(CONNECTION_RULE)
        self.hover_label = QLabel(" ")
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = ProgressLine()
        status = QHBoxLayout()
        status.addWidget(self.hover_label, 1)
        status.addWidget(self.progress)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(columns, 1)
        layout.addWidget(self.connection_rule)
        layout.addLayout(status)
        return page

    def _build_gradient_page(self) -> QWidget:
        self.layer_plot = pg.PlotWidget()
        self.depth_plot = pg.PlotWidget()
        for plot, x_label in ((self.layer_plot, "layer (1 = nearest the input)"),
                              (self.depth_plot, "depth L")):
            plot.setLogMode(x=False, y=True)
            plot.setLabel("bottom", x_label)
            plot.setLabel("left", "gradient norm")
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMinimumHeight(150)
            plot.setMenuEnabled(False)
            plot.setToolTip(GRADIENT_RULE)
        self._follow_palette()
        self.depth_plot.getAxis("bottom").setTicks(
            [[(math.log2(d), str(d)) for d in gf.SWEEP_DEPTHS]])
        self.layer_curves: dict[str, pg.PlotDataItem] = {}
        self.depth_curves: dict[str, pg.PlotDataItem] = {}
        for pattern in PATTERNS:
            color = PATTERN_COLORS[pattern]
            pen = pg.mkPen(color, width=2)
            name = arch.PATTERN_TITLES[pattern]
            self.layer_curves[pattern] = self.layer_plot.plot(
                [], [], pen=pen, symbol="o", symbolSize=4, symbolBrush=color, symbolPen=None,
                name=name)
            self.depth_curves[pattern] = self.depth_plot.plot(
                [], [], pen=pen, symbol="o", symbolSize=6, symbolBrush=color, symbolPen=None,
                name=name)
        self.gradient_summary = WrapLabel()
        # derived from the numbers drawn (a fixed sentence said "vanishes" under a plot
        # that grew with BatchNorm on)
        self.gradient_caption = gradient_caption = caption(GRADIENT_CAPTION)
        gradient_caption.setToolTip(GRADIENT_RULE)
        # box layouts, not a grid: a grid gives a label spanning both columns one line's
        # height, and its wrapped lines were drawn over the plots' axes
        plot_row = QHBoxLayout()
        plot_row.addWidget(self.layer_plot)
        plot_row.addWidget(self.depth_plot)
        plots = QWidget()
        column = QVBoxLayout(plots)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(plot_row, 1)
        column.addWidget(self.gradient_summary)
        column.addWidget(gradient_caption)
        self.connectivity_code = CodeView()
        self.gradient_code = CodeView("PyTorch code that reproduces the gradient norms")
        bottom = QTabWidget()
        bottom.addTab(plots, "Gradient flow")
        bottom.addTab(self.connectivity_code, "Code: the three nets")
        bottom.addTab(self.gradient_code, "Code: gradient flow")
        return bottom

    def _connect(self) -> None:
        for slider in (self.depth_slider, self.width_slider, self.growth, self.blocks):
            slider.valueChanged.connect(lambda _v: self.request_update("connectivity"))
        self.kind.valueChanged.connect(lambda _v: self.request_update("connectivity"))
        self.batchnorm.toggled.connect(lambda _v: self.request_update("connectivity"))
        self.fold.toggled.connect(lambda _v: self._drawing_changed())
        self.collapse.toggled.connect(lambda _v: self._drawing_changed())
        self.fit_button.clicked.connect(self.linked.fit_exact)
        self.export_graphs.clicked.connect(self._ask_export)
        for slider in (self.grad_depth, self.width_slider, self.growth, self.blocks):
            slider.valueChanged.connect(lambda _v: self.request_update("gradient"))
        self.grad_activation.valueChanged.connect(lambda _v: self.request_update("gradient"))
        self.grad_init.valueChanged.connect(lambda _v: self.request_update("gradient"))
        self.grad_batchnorm.toggled.connect(lambda _v: self.request_update("gradient"))

    def _follow_palette(self) -> None:
        palette = self.palette()
        for plot, title in ((self.layer_plot, "‖∂loss/∂W‖ per layer"),
                            (self.depth_plot, "first layer's ‖∂loss/∂W‖ vs depth")):
            plot.setBackground(palette.base().color())
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTextPen(palette.text().color())
                plot.getAxis(axis).setPen(palette.mid().color())
            plot.setTitle(title, color=palette.text().color().name(), size="10pt")

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # the light / dark theme switched
            self._follow_palette()
        super().changeEvent(event)

    # ====================================================================== parameters
    def params(self) -> ConnectivityView:
        return ConnectivityView(
            layers=self.connectivity_params(), fold=self.fold.isChecked(),
            collapse=self.collapse.isChecked(), gradient_depth=self.grad_depth.value(),
            gradient_activation=self.grad_activation.value(),
            gradient_init=self.grad_init.value(),
            gradient_batchnorm=self.grad_batchnorm.isChecked())

    def apply_params(self, view: ConnectivityView) -> None:
        layers = view.layers
        self.kind.setValue(layers.kind)
        for slider, value in ((self.depth_slider, layers.depth), (self.width_slider, layers.width),
                              (self.growth, layers.growth_rate), (self.blocks, layers.blocks),
                              (self.grad_depth, view.gradient_depth)):
            slider.setValue(value)
        self.batchnorm.setChecked(layers.batchnorm)
        self.grad_activation.setValue(view.gradient_activation)
        self.grad_init.setValue(view.gradient_init)
        self.grad_batchnorm.setChecked(view.gradient_batchnorm)
        if (view.fold, view.collapse) != (self.fold.isChecked(), self.collapse.isChecked()):
            for box, on in ((self.fold, view.fold), (self.collapse, view.collapse)):
                box.blockSignals(True)  # drawn with the new graphs: one job, not two
                box.setChecked(on)
                box.blockSignals(False)
            for pattern in PATTERNS:
                self.options[pattern] = DrawOptions(view.fold, view.collapse)
            self.request_update("connectivity")

    def connectivity_params(self) -> ConnectivityParams:
        """The three nets' settings (what is traced and drawn)."""
        return ConnectivityParams(self.kind.value(), self.depth_slider.value(),
                                  self.width_slider.value(), self.growth.value(),
                                  self.blocks.value(), self.batchnorm.isChecked())

    def gradient_params(self) -> gf.GradientParams:
        return gf.GradientParams(
            depth=self.grad_depth.value(), width=self.width_slider.value(),
            growth_rate=self.growth.value(), dense_blocks=min(self.blocks.value(), gf.MIN_DEPTH),
            activation=self.grad_activation.value(), batchnorm=self.grad_batchnorm.isChecked(),
            init=self.grad_init.value())

    # ====================================================================== the graphs
    def _start_connectivity(self) -> None:
        params = self.connectivity_params()
        problems = params.validate()
        self.set_problems("connectivity", problems)
        if problems:
            self.jobs["connectivity"].cancel()
            return
        options = dict(self.options)
        self.jobs["connectivity"].submit(
            lambda stop: arch.prepare_connectivity(params, options, stop))
        self.connectivity_code.set_code(arch.connectivity_code(params))

    def _connectivity_item(self, item: Progress | PreparedGraph) -> None:
        if isinstance(item, Progress):
            self.progress.show_progress(item)
            return
        # a re-layout of the last good graphs (new drawing options) may arrive while the
        # settings are invalid: their rule stays in the banner
        self.set_problems("connectivity", self.connectivity_params().validate())
        self.prepared[item.key] = item
        self.graph_views[item.key].set_graph(item.view, item.layout)
        if item.counts is not None:
            self.count_labels[item.key].setText(item.counts.summary())

    def _drawing_changed(self) -> None:
        for pattern in PATTERNS:
            self.options[pattern] = DrawOptions(self.fold.isChecked(), self.collapse.isChecked())
        self._relayout(list(PATTERNS))

    def _toggle_group(self, pattern: str, group: str, expand: bool) -> None:
        option = self.options[pattern]
        expanded = set(option.expanded)
        (expanded.add if expand else expanded.discard)(group)
        self.options[pattern] = DrawOptions(option.fold, option.collapse, frozenset(expanded))
        self._relayout([pattern])

    def _relayout(self, patterns: list[str]) -> None:
        """New drawing options: lay out again (off the GUI thread), without re-tracing."""
        current = [self.prepared[p] for p in patterns if p in self.prepared]
        if len(current) < len(patterns) or self.jobs["connectivity"].busy():
            self.request_update("connectivity")
            return
        options = dict(self.options)

        def make(stop):
            for prepared in current:
                if stop():
                    return
                yield Progress("layout", 0.5)
                yield arch.relayout(prepared.key, prepared.title, prepared.graph,
                                    options[prepared.key], prepared.traced, prepared.counts)

        self.jobs["connectivity"].submit(make)

    def _graph_drawn(self) -> None:
        if all(v.is_complete() for v in self.graph_views.values()):
            self.linked.fit_all()
            self._update_progress()
            self._mark("connectivity")

    def _update_progress(self) -> None:
        if not self.jobs["connectivity"].busy() and all(
                v.is_complete() or v.view_graph() is None for v in self.graph_views.values()):
            self.progress.done()

    def _mark(self, part: str) -> None:
        self._drawn_parts.add(part)
        if {"connectivity", "gradient"} <= self._drawn_parts:
            self.drawn.emit()

    def _hovered(self, pattern: str, node_id: str) -> None:
        self.hover_label.setText(hover_text(self.graph_views[pattern],
                                            self.prepared.get(pattern), node_id))

    # ====================================================================== gradient flow
    def _start_gradient(self) -> None:
        params = self.gradient_params()
        problems = params.validate()
        self.set_problems("gradient", [f"gradient flow: {p}" for p in problems])
        if problems:
            self.jobs["gradient"].cancel()
            return
        previous = self._gradient_params
        if previous is None or replace(previous, depth=0) != replace(params, depth=0):
            self.profiles = {}  # another experiment: nothing computed so far applies
        self._gradient_params = params
        known = set(self.profiles)
        self.gradient_code.set_code(gf.gradient_code(params))
        self._draw_gradients()
        if not self.gradient_missing():
            self._mark("gradient")
            return

        def make(stop):
            for profile in gf.gradient_sweep(params, stop):
                if (profile.pattern, profile.depth) not in known:
                    yield profile

        self.jobs["gradient"].submit(make)

    def job_failed(self, part: str, message: str) -> None:
        super().job_failed(part, message)
        if part == "gradient":
            self._problems["gradient"] = [f"gradient flow: {p}" for p in
                                          self._problems["gradient"]]
            self.problemsChanged.emit()

    def _gradient_item(self, profile: gf.GradientProfile) -> None:
        self.profiles[(profile.pattern, profile.depth)] = profile
        self.set_problems("gradient", [])
        self._draw_gradients()
        if not self.gradient_missing():
            self._mark("gradient")

    def gradient_missing(self) -> int:
        """How many of the runs the two plots need are still being computed."""
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
        self.gradient_caption.setText(gf.gradient_caption(params, {
            pattern: self.profiles[(pattern, params.depth)] for pattern in PATTERNS
            if (pattern, params.depth) in self.profiles}) + " Hover for the details.")
        missing = self.gradient_missing()
        status = f" <i>(computing {missing} more runs…)</i>" if missing else ""
        self.gradient_summary.setText((f"Depth {params.depth}: " + " · ".join(summary)
                                       if summary else "computing…") + status)

    # ====================================================================== the rest
    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export graphs", "connectivity.png",
                                              "PNG (*.png)")
        if path:
            self.export_png(path)

    def export_png(self, path: str | Path) -> bool:
        ok = save_image(self.columns.grab(), path,
                        lambda message: self.set_problems("export", [message]))
        if ok:
            self.set_problems("export", [])
        return ok

    def is_idle(self) -> bool:
        return super().is_idle() and all(v.is_complete() or v.view_graph() is None
                                         for v in self.graph_views.values())


def hover_text(view: GraphView, prepared: PreparedGraph | None, node_id: str) -> str:
    """One line about the box under the mouse: what, where, output, parameters."""
    graph = view.view_graph()
    if not node_id or graph is None:
        return " "
    node = graph.node(node_id)
    layer = prepared.graph.node(node.members[-1]) if prepared is not None else None
    where = layer.module_path if layer is not None and layer.module_path else node_id
    text = (f"{node.title} — {where} — output {node.subtitle.split(' · ')[-1]} — "
            f"{node.params:,} parameters")
    if node.macs:
        text += f", {human(node.macs)} multiply-adds"
    return text
