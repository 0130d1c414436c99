"""The table of every layer of a traced model, with a bold totals row.

A QAbstractTableModel over `lab.architectures.graphs.layer_table`: setting a new graph is one model
reset, and the view asks only for the rows it shows, so DenseNet-121's 400-odd rows
never stall the GUI.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView, QWidget

from lab.architectures.graphs import ModelGraph, TableRow, layer_table

COLUMNS = ("layer", "type", "output shape", "parameters", "multiply-adds",
           "kernel / stride / padding")
COLUMN_TIPS = (
    "The module's path in the model (what named_modules() calls it), or the function "
    "call inside a module's forward()",
    "The module's class, or the function (add, cat, flatten …)",
    "Shape of the output for one input, without the batch dimension (C×H×W)",
    "Numbers in this layer's weight tensors (p.numel() summed); a module used twice "
    "is counted at its first use",
    "Multiplications (each followed by an addition) of conv and linear layers for one "
    "input; FLOPs ≈ 2 × multiply-adds. Element-wise layers are not counted.",
    "Convolution and pooling windows; in→out features of linear layers",
)
NUMBER_COLUMNS = (3, 4)


_ROOT = QModelIndex()


class LayerTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[TableRow] = []
        self._total: TableRow | None = None
        self._bold = QFont()
        self._bold.setBold(True)

    def set_graph(self, graph: ModelGraph | None) -> None:
        self.beginResetModel()
        if graph is None:
            self._rows, self._total = [], None
        else:
            self._rows, self._total = layer_table(graph)
        self.endResetModel()

    def rows(self) -> list[TableRow]:
        return list(self._rows)

    def total(self) -> TableRow | None:
        return self._total

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        if parent.isValid():
            return 0
        return len(self._rows) + (1 if self._total is not None else 0)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def _row(self, index: int) -> TableRow:
        return self._rows[index] if index < len(self._rows) else self._total

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0):
        if not index.isValid():
            return None
        row = self._row(index.row())
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            values = (row.name, row.type, row.output, row.params, row.macs, row.window)
            value = values[column]
            return f"{value:,}" if isinstance(value, int) else value
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMBER_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and row is self._total:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return row.name
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return COLUMN_TIPS[section]
        elif role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1) if section < len(self._rows) else "Σ"
        return None


class LayerTable(QTableView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table_model = LayerTableModel(self)
        self.setModel(self.table_model)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # the layer path takes what is left (elided in the middle, whole in its tooltip);
        # every other column is as wide as its widest cell, totals row included
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.fit_columns()

    def set_graph(self, graph: ModelGraph | None) -> None:
        self.table_model.set_graph(graph)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Columns 1… as wide as their widest text ("132,863,336" in bold, "BatchNorm2d",
        the header): the view's own sizing looks at visible rows only and cut them."""
        model = self.table_model
        plain = self.fontMetrics()
        bold_font = QFont(self.font())
        bold_font.setBold(True)
        bold = QFontMetrics(bold_font)
        header = self.horizontalHeader()
        padding = 2 * self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 12
        for column in range(1, len(COLUMNS)):
            widest = header.fontMetrics().horizontalAdvance(COLUMNS[column]) + 8
            for row in range(model.rowCount()):
                text = model.data(model.index(row, column)) or ""
                metrics = bold if model._row(row) is model.total() else plain
                widest = max(widest, metrics.horizontalAdvance(str(text)))
            self.setColumnWidth(column, widest + padding)
