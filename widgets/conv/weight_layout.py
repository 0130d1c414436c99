"""A drawing of a Conv2d weight tensor's layout: [out_channels, in_channels/groups, kH, kW].

One row per output channel (kernel); in each row one small kH×kW grid per input channel
that kernel sees, coloured by value on the same diverging map as the feature maps.
Groups are shaded bands; the kernel being edited is outlined; clicking a small grid picks
it for editing.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

#: The diverging colour map shared with the feature maps (blue < 0 < red).
DIVERGING = "CET-D1"
GROUP_SHADES = (QColor(90, 140, 230, 28), QColor(230, 150, 60, 32), QColor(80, 180, 120, 30),
                QColor(180, 90, 200, 28))


HEADER_WRAP = Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap


def kernel_number(value: float) -> str:
    """A weight as a cell shows it: "-2", "0.5", "-0.12" (the tooltip has 3 digits)."""
    text = f"{value:.2g}"
    return "0" if text in ("-0", "0") else text


class WeightLayoutView(QWidget):
    """Draws the weight tensor; `kernelClicked(out_channel, in_index)` on a click."""

    kernelClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._weight = np.zeros((0, 0, 0, 0), dtype=np.float32)
        self._in_channels = 1
        self._groups = 1
        self._channel_names: list[str] = []
        self._row_titles: list[str] = []
        self._bias = False
        self._selected: tuple[int, int] | None = None
        self._header_key: tuple | None = None
        self._header: tuple[int, int] = (0, 0)
        lut = pg.colormap.get(DIVERGING).getLookupTable(nPts=256)
        self._colors = [QColor(int(r), int(g), int(b)) for r, g, b in lut[:, :3]]
        self.setMinimumSize(220, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("The weight tensor: one row per output channel (kernel), one small "
                        "grid per input channel it sees. Click a grid to edit it.")

    # -- data ------------------------------------------------------------------------
    def set_weight(self, weight: np.ndarray, *, in_channels: int, groups: int,
                   channel_names: list[str], row_titles: list[str], bias: bool,
                   selected: tuple[int, int] | None) -> bool:
        """Show a [out, in/groups, kH, kW] array. Returns False (and repaints nothing)
        when nothing changed, so a slider drag that leaves the weights alone costs nothing."""
        weight = np.asarray(weight, dtype=np.float32)
        same = (weight.shape == self._weight.shape and np.array_equal(weight, self._weight)
                and (in_channels, groups, channel_names, row_titles, bias, selected)
                == (self._in_channels, self._groups, self._channel_names, self._row_titles,
                    self._bias, self._selected))
        if same:
            return False
        self._weight = weight.copy()
        self._in_channels, self._groups = in_channels, groups
        self._channel_names, self._row_titles = list(channel_names), list(row_titles)
        self._bias, self._selected = bias, selected
        self.update()
        return True

    def shape_text(self) -> str:
        out, per_group, kh, kw = self._weight.shape
        extra = f" + {out} biases" if self._bias else ""
        return (f"weight [out_channels, in_channels/groups, kH, kW] = [{out}, {per_group}, "
                f"{kh}, {kw}]: {self._weight.size} numbers{extra}")

    def groups_text(self) -> str:
        out, per_group = self._weight.shape[:2]
        if self._groups == 1:
            return (f"groups = 1: each of the {out} kernels has one {self._weight.shape[2]}×"
                    f"{self._weight.shape[3]} slice per input channel ({per_group}) and sums "
                    "their responses")
        depthwise = " (depthwise)" if per_group == 1 else ""
        return (f"groups = {self._groups}{depthwise}: input channels split into "
                f"{self._groups} groups of {per_group}; each kernel sees only its group's")

    def sizeHint(self) -> QSize:
        return QSize(360, 260)

    def _header_heights(self) -> tuple[int, int]:
        """The two header texts' heights wrapped to the width (a narrow view needs three
        lines where a wide one needs one; fixed heights cut the end off)."""
        width = max(40, self.width() - 8)
        key = (width, self.shape_text(), self.groups_text(), self.font().key())
        if self._header_key != key:  # asked for by every kernel_rect() of a paint
            metrics = self.fontMetrics()
            self._header_key = key
            self._header = tuple(metrics.boundingRect(0, 0, width, 10_000, HEADER_WRAP,
                                                      text).height() for text in key[1:3])
        return self._header

    # -- painting --------------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        text = palette.color(palette.ColorRole.Text)
        dim = palette.color(palette.ColorRole.PlaceholderText)
        painter.setPen(text)
        width = self.width()
        shape_height, groups_height = self._header_heights()
        painter.drawText(QRectF(4, 2, width - 8, shape_height), HEADER_WRAP, self.shape_text())
        painter.setPen(dim)
        painter.drawText(QRectF(4, 2 + shape_height, width - 8, groups_height), HEADER_WRAP,
                         self.groups_text())
        geometry = self._geometry()
        if geometry is None:
            painter.end()
            return
        top, blocks, rows_per_block, label_width, row_height, block_width, cell = geometry
        out, per_group, kh, kw = self._weight.shape
        tag_width = 14
        bound = float(np.abs(self._weight).max()) or 1.0
        small = QFont(self.font())
        small.setPixelSize(int(max(7, min(12, row_height * 0.55))))
        painter.setFont(small)
        out_per_group = out // max(1, self._groups)
        for o in range(out):
            block, row = divmod(o, rows_per_block)
            x0 = block * block_width
            y = top + row * row_height
            group = o // max(1, out_per_group)
            band = QRectF(x0, y, block_width - 4, row_height)
            painter.fillRect(band, GROUP_SHADES[group % len(GROUP_SHADES)] if self._groups > 1
                             else (GROUP_SHADES[0] if o % 2 else QColor(0, 0, 0, 0)))
            painter.setPen(text)
            title = self._row_titles[o] if o < len(self._row_titles) else ""
            painter.drawText(QRectF(x0 + 4, y, label_width - 4, row_height),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             f"{o} {title}")
            for j in range(per_group):
                channel = group * per_group + j
                name = (self._channel_names[channel] if channel < len(self._channel_names)
                        else str(channel))
                rect = self.kernel_rect(o, j)
                painter.setPen(dim)
                painter.drawText(QRectF(rect.x() - tag_width - 3, y, tag_width, row_height),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                                 name[:1])
                self._draw_kernel(painter, self._weight[o, j], rect.topLeft(), cell, bound)
                if self._selected == (o, j):
                    painter.setPen(QPen(text, 2))
                    painter.drawRect(rect.adjusted(-2, -2, 2, 2))
        painter.end()

    def _geometry(self) -> tuple | None:
        """(top, blocks, rows per block, label width, row height, block width, cell size):
        many short rows wrap into side-by-side blocks so the kernels stay large."""
        if self._weight.ndim != 4 or 0 in self._weight.shape[:2]:
            return None
        out, per_group, kh, kw = self._weight.shape
        top = sum(self._header_heights()) + 6
        height = max(1.0, self.height() - top - 2)
        best = None
        titles = self._title_width()
        for blocks in range(1, min(out, 4) + 1):
            rows = -(-out // blocks)
            block_width = self.width() / blocks
            label_width = min(120.0, max(40.0, titles, block_width / 6))
            row_height = height / rows
            column_width = (block_width - label_width - 8) / per_group
            box = min(row_height - 3, column_width - 20, 90.0)
            if best is None or box > best[0] + 0.5:
                best = (box, blocks, rows, label_width, row_height, block_width)
        box, blocks, rows, label_width, row_height, block_width = best
        return top, blocks, rows, label_width, row_height, block_width, max(1.0, box) / max(
            kh, kw)

    def _title_width(self) -> float:
        """Room for the widest row title ("3 Laplacian") in the largest font rows use."""
        font = QFont(self.font())
        font.setPixelSize(12)
        metrics = QFontMetrics(font)
        out = self._weight.shape[0] if self._weight.ndim == 4 else 0
        titles = [f"{o} {self._row_titles[o] if o < len(self._row_titles) else ''}"
                  for o in range(out)]
        return max((metrics.horizontalAdvance(t) for t in titles), default=0) + 8.0

    def kernel_rect(self, out_channel: int, in_index: int) -> QRectF | None:
        """Where kernel (out_channel, in_index) is drawn, or None."""
        geometry = self._geometry()
        out, per_group, kh, kw = self._weight.shape if self._weight.ndim == 4 else (0,) * 4
        if geometry is None or not (0 <= out_channel < out and 0 <= in_index < per_group):
            return None
        top, _, rows_per_block, label_width, row_height, block_width, cell = geometry
        block, row = divmod(out_channel, rows_per_block)
        column_width = (block_width - label_width - 8) / per_group
        x = block * block_width + label_width + in_index * column_width + 14 + 3
        y = top + row * row_height + (row_height - cell * kh) / 2
        return QRectF(x, y, cell * kw, cell * kh)

    def _draw_kernel(self, painter: QPainter, kernel: np.ndarray, origin: QPointF, cell: float,
                     bound: float) -> None:
        indices = np.clip(np.rint(kernel / bound * 127.5 + 127.5), 0, 255).astype(int)
        font = self._number_font(kernel, cell)
        if font is not None:
            painter.save()
            painter.setFont(font)
        for r in range(kernel.shape[0]):
            for c in range(kernel.shape[1]):
                rect = QRectF(origin.x() + c * cell, origin.y() + r * cell, cell, cell)
                colour = self._colors[indices[r, c]]
                painter.fillRect(rect, colour)
                if font is not None:  # dark text on the pale middle, white on strong ends
                    painter.setPen(QColor(20, 20, 20) if colour.lightness() > 140
                                   else QColor(255, 255, 255))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter,
                                     kernel_number(kernel[r, c]))
        if font is not None:
            painter.restore()
        painter.setPen(QPen(QColor(120, 120, 120), 1))
        painter.drawRect(QRectF(origin.x(), origin.y(), cell * kernel.shape[1],
                                cell * kernel.shape[0]))

    def _number_font(self, kernel: np.ndarray, cell: float) -> QFont | None:
        """A font in which every number of `kernel` fits its cell, or None: cells too
        small to read a number in show the colours only."""
        font = QFont(self.font())
        widest = max((kernel_number(v) for v in kernel.flat), key=len, default="")
        for size in range(min(14, int(cell * 0.5)), 6, -1):
            font.setPixelSize(size)
            if QFontMetrics(font).horizontalAdvance(widest) <= cell - 3:
                return font
        return None

    def shows_numbers(self, out_channel: int, in_index: int) -> bool:
        """Whether the kernel's numbers are printed in its cells at the current size."""
        geometry = self._geometry()
        if geometry is None:
            return False
        return self._number_font(self._weight[out_channel, in_index], geometry[-1]) is not None

    # -- interaction -----------------------------------------------------------------
    def kernel_at(self, pos: QPointF) -> tuple[int, int] | None:
        out, per_group = self._weight.shape[:2] if self._weight.ndim == 4 else (0, 0)
        for o in range(out):
            for j in range(per_group):
                rect = self.kernel_rect(o, j)
                if rect is not None and rect.adjusted(-3, -3, 3, 3).contains(pos):
                    return o, j
        return None

    def kernel_tooltip(self, out_channel: int, in_index: int) -> str:
        out, per_group = self._weight.shape[:2]
        group = out_channel // max(1, out // max(1, self._groups))
        channel = group * per_group + in_index
        name = (self._channel_names[channel] if channel < len(self._channel_names)
                else str(channel))
        title = self._row_titles[out_channel] if out_channel < len(self._row_titles) else ""
        rows = "\n".join("  ".join(f"{v:.3g}" for v in row)
                         for row in self._weight[out_channel, in_index])
        return (f"weight[{out_channel}, {in_index}]: kernel {out_channel} ({title}) on input "
                f"{name}\n{rows}\nClick to edit it.")

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            hit = self.kernel_at(QPointF(event.pos()))
            if hit is not None:
                QToolTip.showText(event.globalPos(), self.kernel_tooltip(*hit), self)
                return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        hit = self.kernel_at(event.position())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.kernelClicked.emit(*hit)
        super().mousePressEvent(event)
