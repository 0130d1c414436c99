"""The module tree of an nn.Module: what `named_modules()` walks, with each module's own
parameters and its train / eval state (tick a row to call `module.train()`, untick for
`module.eval()`; like torch, that applies to the whole subtree)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget
from torch import nn

from lab.architectures import tree_rows

COLUMNS = ("module", "type", "own parameters (nn.Parameter)", "numbers", "mode")
HOME_MADE = QColor("#d7f3f0")


class ModuleTree(QTreeWidget):
    modesChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(COLUMNS)
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        header = self.headerItem()
        header.setToolTip(0, "The attribute name under its parent (children() yields the "
                             "direct ones; modules() walks them all, the root included)")
        header.setToolTip(2, "Tensors this module registers itself: named_parameters("
                             "recurse=False)")
        header.setToolTip(3, "Numbers in this module's subtree (sum of p.numel())")
        header.setToolTip(4, "Ticked: training mode (Dropout drops, BatchNorm uses batch "
                             "statistics). Unticked: eval mode. Click to switch the subtree.")
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(0, 230)
        self.setColumnWidth(1, 130)
        self.setColumnWidth(2, 230)
        self.setColumnWidth(3, 90)
        self.model_: nn.Module | None = None
        self._items: dict[str, QTreeWidgetItem] = {}
        self._modules: dict[str, nn.Module] = {}
        self._updating = False
        self.itemChanged.connect(self._item_changed)

    def set_model(self, model: nn.Module, home_made: tuple[type, ...] = ()) -> None:
        self._updating = True
        self.clear()
        self.model_ = model
        self._items, self._modules = {}, dict(model.named_modules())
        for path, type_name, own, _own_count, total in tree_rows(model):
            name = path.rsplit(".", 1)[-1] if path else f"{type(model).__name__} (the model)"
            parent_path = path.rsplit(".", 1)[0] if "." in path else ("" if path else None)
            parent = self._items.get(parent_path) if parent_path is not None else None
            item = QTreeWidgetItem([name, type_name, own, f"{total:,}", ""])
            item.setData(0, Qt.ItemDataRole.UserRole, path)
            item.setToolTip(0, path or "the model itself")
            item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight
                                  | Qt.AlignmentFlag.AlignVCenter)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            if isinstance(self._modules[path], home_made):
                for column in range(len(COLUMNS)):
                    item.setBackground(column, QBrush(HOME_MADE))
                item.setToolTip(1, "a layer written in lab/models.py — its code is below")
            if parent is None:
                self.addTopLevelItem(item)
            else:
                parent.addChild(item)
            self._items[path] = item
        self._refresh_modes()
        self._updating = False
        root = self._items.get("")
        if root is not None:
            root.setExpanded(True)
            for i in range(root.childCount()):
                if len(self._items) < 60:
                    root.child(i).setExpanded(True)

    def item_for(self, path: str) -> QTreeWidgetItem | None:
        return self._items.get(path)

    def paths(self) -> list[str]:
        return list(self._items)

    def mode_of(self, path: str) -> str:
        item = self._items[path]
        return item.text(4)

    def select_first(self, module_type: type) -> str | None:
        """Select and reveal the first module of this type; its path, or None."""
        for path, module in self._modules.items():
            if isinstance(module, module_type):
                item = self._items[path]
                self.setCurrentItem(item)
                self.scrollToItem(item)
                return path
        return None

    def set_mode(self, path: str, training: bool) -> None:
        """`module.train(training)` on the module at `path` (and so its subtree)."""
        self._modules[path].train(training)
        self._refresh_modes()
        self.modesChanged.emit()

    def refresh_modes(self) -> None:
        self._refresh_modes()

    def _refresh_modes(self) -> None:
        was = self._updating
        self._updating = True
        for path, item in self._items.items():
            training = self._modules[path].training
            item.setCheckState(4, Qt.CheckState.Checked if training else Qt.CheckState.Unchecked)
            item.setText(4, "train" if training else "eval")
        self._updating = was

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating or column != 4:
            return
        path = item.data(0, Qt.ItemDataRole.UserRole)
        self.set_mode(path, item.checkState(4) == Qt.CheckState.Checked)
