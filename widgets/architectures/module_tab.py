"""Inside nn.Module (concepts 15–17): the module tree, modules() vs children() vs
named_parameters() beside the notes' example, train / eval per module, and the code of
the home-made layers (Flatten, ChannelScale) with their place in the tree."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lab import architectures as arch
from lab import models
from lab.architectures import ConnectivityParams, ModuleCounts
from lab.architectures.view import ModuleView
from lab.models import ChannelScale, Flatten
from widgets.architectures.module_tree import ModuleTree
from widgets.kit.controls import ChoiceBox, caption, group_box, row_of, scrolling
from widgets.kit.panel import Page
from widgets.kit.views import CodeView

NOTES = ("The notes: “modules() holds all the nodes; children() only the direct ones — the "
         "whole net has 5 nodes.” The example is nn.Sequential(Conv2d, ChannelScale, ReLU, "
         "Flatten, Linear): 5 children; modules() also counts the Sequential itself.")


class ModuleTab(Page):
    def __init__(self, connectivity: Callable[[], ConnectivityParams],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.updaters = {"tree": self._start}
        self._connectivity = connectivity
        self.shown_choice = ""
        self.add_job("tree", self._item, lambda: None)

        self.choice = ChoiceBox("Model", list(arch.TREE_MODELS.items()), "notes",
                                tooltip="Whose module tree to show")
        self.train_button = QPushButton("model.train()")
        self.train_button.setToolTip("Every module to training mode: Dropout drops units, "
                                     "BatchNorm normalises with the batch's statistics")
        self.eval_button = QPushButton("model.eval()")
        self.eval_button.setToolTip("Every module to evaluation mode: Dropout does nothing, "
                                    "BatchNorm uses its running statistics")
        self.counts_table = self._counts_table()
        form = QVBoxLayout()
        form.addWidget(group_box("Model", self.choice,
                                 row_of(self.train_button, self.eval_button)))
        form.addWidget(group_box("Counting", self.counts_table, caption(NOTES)))
        form.addStretch(1)

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
        buttons = QHBoxLayout()
        for button in (self.show_flatten, self.show_scale, self.show_example, self.find_in_tree):
            buttons.addWidget(button)
        buttons.addStretch(1)
        code_page = QWidget()
        code_layout = QVBoxLayout(code_page)
        code_layout.setContentsMargins(0, 0, 0, 0)
        code_layout.addLayout(buttons)
        code_layout.addWidget(self.where_label)
        code_layout.addWidget(self.layer_code, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(code_page)
        splitter.setSizes([480, 330])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scrolling(form, 340))
        layout.addWidget(splitter, 1)

        self.choice.valueChanged.connect(lambda _v: self.request_update("tree"))
        self.train_button.clicked.connect(lambda: self._set_all_modes(True))
        self.eval_button.clicked.connect(lambda: self._set_all_modes(False))
        self.show_flatten.clicked.connect(lambda: self.show_layer_code(Flatten))
        self.show_scale.clicked.connect(lambda: self.show_layer_code(ChannelScale))
        self.show_example.clicked.connect(lambda: self.show_layer_code(None))
        self.find_in_tree.clicked.connect(self._find_in_tree)
        self._shown_class: type | None = Flatten
        self.show_layer_code(Flatten)

    def params(self) -> ModuleView:
        code = {Flatten: "Flatten", ChannelScale: "ChannelScale", None: "example"}
        return ModuleView(self.choice.value(), code[self._shown_class])

    def apply_params(self, view: ModuleView) -> None:
        self.choice.setValue(view.model)
        if self.params().code != view.code:
            self.show_layer_code({"Flatten": Flatten, "ChannelScale": ChannelScale,
                                  "example": None}[view.code])

    def _counts_table(self) -> QTableWidget:
        table = QTableWidget(4, 2)
        table.setHorizontalHeaderLabels(["notes", "this model"])
        table.setVerticalHeaderLabels(["modules()", "children()", "named_parameters()",
                                       "Σ p.numel()"])
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setToolTip(
            "modules() walks every module, the model itself included; children() yields only "
            "the direct sub-modules; named_parameters() yields every weight tensor "
            "(what you hand to the optimizer: optim.SGD(model.parameters(), lr))")
        self._fill_counts(table, 0, ModuleCounts.of(arch.build_tree_model("notes")))
        table.resizeRowsToContents()
        table.setFixedHeight(table.verticalHeader().length()
                             + header.sizeHint().height() + 2 * table.frameWidth() + 2)
        return table

    @staticmethod
    def _fill_counts(table: QTableWidget, column: int, counts: ModuleCounts) -> None:
        for row, value in enumerate((counts.modules, counts.children, counts.named_parameters,
                                     counts.parameters)):
            table.setItem(row, column, QTableWidgetItem(f"{value:,}"))

    def _start(self) -> None:
        choice = self.choice.value()
        connectivity = self._connectivity()
        problems = connectivity.validate() if choice.startswith("net:") else []
        self.set_problems("tree", [f"the Connectivity settings are invalid: {problems[0]}"]
                          if problems else [])
        if problems:
            self.jobs["tree"].cancel()
            return

        def make(_stop):
            yield (choice, arch.build_tree_model(choice, connectivity))

        self.jobs["tree"].submit(make)

    def _item(self, item: tuple[str, Any]) -> None:
        choice, model = item
        self.shown_choice = choice
        self.tree.set_model(model, (Flatten, ChannelScale))
        self._fill_counts(self.counts_table, 1, ModuleCounts.of(model))
        name = arch.TREE_MODELS[choice].split(":")[0].split(" (")[0]
        self.counts_table.setHorizontalHeaderItem(1, QTableWidgetItem(
            "notes" if choice == "notes" else name))
        self.show_layer_code(self._shown_class)
        self.drawn.emit()

    def _set_all_modes(self, training: bool) -> None:
        if self.tree.model_ is not None:
            self.tree.set_mode("", training)

    def show_layer_code(self, layer: type | None) -> None:
        """Show the source of Flatten / ChannelScale (None: the notes' example) and where
        it sits in the current tree."""
        self._shown_class = layer
        self.layer_code.set_code(inspect.getsource(layer if layer is not None
                                                   else models.notes_example))
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
