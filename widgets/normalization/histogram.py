"""Histograms as stepped outlines, painted directly with QPainter.

A slider step redraws them; eight pyqtgraph curves cost ~6 ms of scene bookkeeping per
redraw, these a fraction of a millisecond. Axes: the x range's ends, 0 and the tallest
count, which change only when the data leave them (steady like the other plots)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_RIGHT = 34, 18, 18, 8


def _round_up(value: float) -> float:
    return next(m * 10 ** e for e in range(0, 9) for m in (1, 2, 5) if m * 10 ** e >= value)


class HistogramView(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self._edges = np.zeros(0)
        self._counts = np.zeros((0, 0))
        self._colors: list[QColor] = []
        self._range = (0.0, 1.0, 1.0)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(self.backgroundRole().Base)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 110)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(360, 180)

    def set_histograms(self, edges: np.ndarray, counts: np.ndarray,
                       colors: list[QColor]) -> None:
        """`counts` (curves, bins) over the common `edges` (bins + 1)."""
        self._edges = np.asarray(edges, np.float64)
        self._counts = np.asarray(counts, np.float64)
        self._colors = colors
        low, high = float(self._edges[0]), float(self._edges[-1])
        top = float(self._counts.max()) if self._counts.size else 1.0
        current = self._range
        # keep the axes unless the data left them or shrank a lot
        if not (current[0] <= low and current[1] >= high and top <= current[2] <= 2.5 * top
                and current[1] - current[0] <= 1.6 * (high - low)):
            self._range = (low, high, _round_up(max(top, 1.0)))
        self.update()

    def curves(self) -> np.ndarray:
        return self._counts

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        palette = self.palette()
        text = palette.color(palette.ColorRole.Text)
        faint = QColor(text)
        faint.setAlpha(120)
        plot = QRectF(MARGIN_LEFT, MARGIN_TOP, self.width() - MARGIN_LEFT - MARGIN_RIGHT,
                      self.height() - MARGIN_TOP - MARGIN_BOTTOM)
        painter.setPen(text)
        painter.drawText(QRectF(0, 0, self.width(), MARGIN_TOP), Qt.AlignmentFlag.AlignCenter,
                         self.title)
        low, high, top = self._range
        painter.setPen(faint)
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawLine(plot.bottomLeft(), plot.topLeft())
        font = painter.font()
        font.setPixelSize(10)
        painter.setFont(font)
        painter.setPen(text)
        below = QRectF(plot.left() - 20, plot.bottom() + 2, 40, MARGIN_BOTTOM - 2)
        painter.drawText(below, Qt.AlignmentFlag.AlignHCenter, f"{low:.2g}")
        painter.drawText(QRectF(plot.right() - 50, plot.bottom() + 2, 50 + MARGIN_RIGHT,
                                MARGIN_BOTTOM - 2), Qt.AlignmentFlag.AlignRight, f"{high:.2g}")
        if low < 0 < high:
            zero = plot.left() + plot.width() * (0 - low) / (high - low)
            painter.drawText(QRectF(zero - 20, plot.bottom() + 2, 40, MARGIN_BOTTOM - 2),
                             Qt.AlignmentFlag.AlignHCenter, "0")
        painter.drawText(QRectF(0, plot.top() - 6, MARGIN_LEFT - 4, 12),
                         Qt.AlignmentFlag.AlignRight, f"{top:g}")
        painter.drawText(QRectF(0, plot.bottom() - 6, MARGIN_LEFT - 4, 12),
                         Qt.AlignmentFlag.AlignRight, "0")
        if self._counts.size and high > low:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            xs = plot.left() + plot.width() * (self._edges - low) / (high - low)
            for row, color in zip(self._counts, self._colors, strict=False):
                ys = plot.bottom() - plot.height() * row / top
                points = [QPointF(xs[0], plot.bottom())]
                for i, y in enumerate(ys):
                    points.append(QPointF(xs[i], y))
                    points.append(QPointF(xs[i + 1], y))
                points.append(QPointF(xs[-1], plot.bottom()))
                painter.setPen(QPen(color, 1.5))
                painter.drawPolyline(QPolygonF(points))
        painter.end()
