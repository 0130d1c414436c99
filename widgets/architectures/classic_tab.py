"""The classic nets (concept 19): LeNet-5, AlexNet, VGG, GoogLeNet, ResNet-18,
DenseNet-121 — every layer's shape, parameters and multiply-adds, and the graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab import architectures as arch
from lab.architectures import ClassicParams, DrawOptions, PreparedGraph, Progress
from lab.architectures.graphs import human, table_csv
from lab.architectures.view import ClassicView
from lab.models import CLASSIC_MODELS
from widgets.architectures.connectivity_tab import hover_text
from widgets.architectures.graph_view import GraphView
from widgets.architectures.layer_table import LayerTable
from widgets.kit.controls import ChoiceBox, ProgressLine, caption, group_box, row_of, scrolling
from widgets.kit.files import write_text
from widgets.kit.jobs import freeze_heap
from widgets.kit.panel import Page
from widgets.kit.views import CodeView


class ClassicTab(Page):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.updaters = {"classic": self._start}
        self.prepared: PreparedGraph | None = None
        self.prepared_params: ClassicParams | None = None  # what `prepared` was made for
        self.options: dict[tuple, DrawOptions] = {}      # per model: the user's drawing
        self.traced_cache: dict[tuple, Any] = {}         # per model: its torch.fx trace
        self.requested: ClassicParams | None = None
        self.add_job("classic", self._item, self._update_progress)

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
        self.fold = QCheckBox("Draw BN / ReLU inside their layer's box")
        self.fold.setChecked(True)
        self.collapse = QCheckBox("Collapse repeated blocks (×N)")
        self.collapse.setToolTip("Runs of identical blocks (ResNet's basic blocks, DenseNet's "
                                 "dense layers, Inception blocks) as one box ×N; click to "
                                 "expand. On by default for big graphs.")
        self.fit_button = QPushButton("Fit")
        self.png_button = QPushButton("Export PNG…")
        self.csv_button = QPushButton("Export table CSV…")
        self.csv_button.setToolTip("Save the layer table (with totals) as CSV")
        self.lesson = caption(CLASSIC_MODELS["lenet5"][3])
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QVBoxLayout()
        form.addWidget(group_box("Model", self.model_choice, self.input_size, self.in_channels,
                                 self.num_classes, self.lesson))
        form.addWidget(group_box("Size", self.totals))
        form.addWidget(group_box("Drawing", self.fold, self.collapse,
                                 row_of(self.fit_button, self.png_button), self.csv_button))
        form.addStretch(1)

        self.view = GraphView()
        self.table = LayerTable()
        self.code = CodeView()
        right = QTabWidget()
        right.addTab(self.table, "Layer table")
        right.addTab(self.code, "PyTorch code")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.view)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([280, 580])
        self.hover_label = QLabel(" ")
        self.progress = ProgressLine()
        status = QHBoxLayout()
        status.addWidget(self.hover_label, 1)
        status.addWidget(self.progress)
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(splitter, 1)
        page_layout.addLayout(status)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scrolling(form, 270))
        layout.addWidget(page, 1)

        self.view.groupToggled.connect(self._toggle_group)
        self.view.nodeHovered.connect(lambda node: self.hover_label.setText(
            hover_text(self.view, self.prepared, node)))
        self.view.drawn.connect(self._drawn)
        self.model_choice.valueChanged.connect(self._model_changed)
        for box in (self.input_size, self.in_channels, self.num_classes):
            box.valueChanged.connect(lambda _v: self.request_update("classic"))
        self.fold.toggled.connect(lambda _v: self._drawing_changed())
        self.collapse.toggled.connect(lambda _v: self._drawing_changed())
        self.fit_button.clicked.connect(self.view.fit)
        self.png_button.clicked.connect(self._ask_export_png)
        self.csv_button.clicked.connect(self._ask_export_csv)

    def params(self) -> ClassicView:
        return ClassicView(self.classic_params(), self.fold.isChecked(),
                           self.collapse.isChecked())

    def apply_params(self, view: ClassicView) -> None:
        layers = view.layers
        self.model_choice.setValue(layers.model)  # comes with its own input: set those after
        self.input_size.setValue(layers.input_size)
        self.in_channels.setValue(layers.in_channels)
        self.num_classes.setValue(layers.num_classes)
        for box, on in ((self.fold, view.fold), (self.collapse, view.collapse)):
            box.blockSignals(True)  # the next graph is drawn with them
            box.setChecked(on)
            box.blockSignals(False)
        key = layers.model_key()
        current = self.options.get(key)
        if current is None or (current.fold, current.collapse) != (view.fold, view.collapse):
            self.options[key] = DrawOptions(view.fold, view.collapse)
            if self.requested is not None:  # shown already: draw it again with them
                self.request_update("classic")

    def classic_params(self) -> ClassicParams:
        """The model and its input (what is traced and drawn)."""
        return ClassicParams(self.model_choice.value(), self.input_size.value(),
                             self.in_channels.value(), self.num_classes.value())

    def _model_changed(self, model: str) -> None:
        """A new model comes with the input it was built for."""
        defaults = ClassicParams.for_model(model)
        for box, value in ((self.input_size, defaults.input_size),
                           (self.in_channels, defaults.in_channels),
                           (self.num_classes, defaults.num_classes)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.lesson.setText(CLASSIC_MODELS[model][3])
        self.request_update("classic")

    def _start(self) -> None:
        params = self.classic_params()
        problems = params.validate()
        self.set_problems("classic", problems)
        if problems:
            self.jobs["classic"].cancel()
            return
        key = params.model_key()
        traced = self.traced_cache.get(key)
        options = self.options.get(key)
        if options is not None:
            options = DrawOptions(self.fold.isChecked(), options.collapse, options.expanded)
        self.code.set_code(arch.classic_code(params))
        self.requested = params
        self.jobs["classic"].submit(
            lambda stop: arch.prepare_classic(params, options, traced, stop))

    def _item(self, item: Progress | PreparedGraph) -> None:
        if isinstance(item, Progress):
            self.progress.show_progress(item)
            return
        params = self.requested
        if params is None or item.key != params.model:
            return
        freeze_heap("torchvision")  # imported by the first classic job
        key = params.model_key()
        self.traced_cache[key] = item.traced
        self.options[key] = item.options
        self.collapse.blockSignals(True)
        self.collapse.setChecked(item.options.collapse)
        self.collapse.blockSignals(False)
        self.set_problems("classic", [])
        same_model = self.prepared is not None and self.prepared.key == item.key
        self.prepared, self.prepared_params = item, params
        self.view.set_graph(item.view, item.layout, fit=not same_model)
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

    def job_failed(self, part: str, message: str) -> None:
        super().job_failed(part, message)
        self._update_progress()
        if self.prepared is not None:
            shape = "×".join(str(s) for s in self.prepared.graph.input_shape)
            self.totals.setText(self.totals.text().split("<br><i>")[0]
                                + f"<br><i>(shown: the last input that fitted, {shape})</i>")

    def _can_relayout(self) -> bool:
        """Only a graph that is the current request, with nothing on its way, is laid out
        again in place. Otherwise the re-layout's result passed for the request's: it
        cleared an "input too small" rule, or replaced a graph still on its way."""
        return (self.prepared is not None and self.requested is not None
                and self.prepared_params == self.requested and not self.problems()
                and not self.jobs["classic"].busy())

    def _drawing_changed(self) -> None:
        if self.requested is None:
            return
        options = DrawOptions(self.fold.isChecked(), self.collapse.isChecked())
        self.options[self.requested.model_key()] = options
        if self._can_relayout():
            self._relayout(self.prepared, options)
        elif self.jobs["classic"].busy():
            self.request_update("classic")  # the graph on its way is drawn again with them

    def _toggle_group(self, group: str, expand: bool) -> None:
        prepared, params = self.prepared, self.requested
        if not self._can_relayout():
            return
        expanded = set(prepared.options.expanded)
        (expanded.add if expand else expanded.discard)(group)
        options = DrawOptions(prepared.options.fold, prepared.options.collapse,
                              frozenset(expanded))
        self.options[params.model_key()] = options
        self._relayout(prepared, options)

    def _relayout(self, prepared: PreparedGraph, options: DrawOptions) -> None:
        def make(_stop):
            yield Progress("layout", 0.5)
            yield arch.relayout(prepared.key, prepared.title, prepared.graph, options,
                                prepared.traced)

        self.jobs["classic"].submit(make)

    def _drawn(self) -> None:
        self._update_progress()
        self.drawn.emit()

    def _update_progress(self) -> None:
        if not self.jobs["classic"].busy() and (self.view.is_complete()
                                                or self.view.view_graph() is None):
            self.progress.done()

    def _ask_export_png(self) -> None:
        name = f"{self.requested.model if self.requested else 'model'}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export graph", name, "PNG (*.png)")
        if path:
            self.export_png(path)

    def export_png(self, path: str | Path) -> bool:
        return self.exported(self.view.export_png(path, report=self.export_failed))

    def _ask_export_csv(self) -> None:
        name = f"{self.requested.model if self.requested else 'model'}-layers.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export layer table", name, "CSV (*.csv)")
        if path:
            self.export_table_csv(path)

    def export_table_csv(self, path: str | Path) -> bool:
        if self.prepared is None:
            return False
        return self.exported(write_text(path, table_csv(self.prepared.graph),
                                        self.export_failed))

    def is_idle(self) -> bool:
        return super().is_idle() and (self.view.is_complete() or self.view.view_graph() is None)
