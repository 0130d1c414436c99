"""Plot axes whose tick labels never print over each other, and titles that never widen a plot.

pyqtgraph decides whether to label a level of ticks by how much of the axis all its labels
fill, not by whether two of them collide: on a log axis spanning two decades in 250 pixels
the minor labels 0.07, 0.08, 0.09, 0.1 were drawn on top of each other.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor


class SparseLabelAxis(pg.AxisItem):
    """An AxisItem that drops a tick label overlapping one already placed: labels of the
    coarser levels come first, so the decades (or round numbers) are the ones kept."""

    GAP = 2  # pixels between neighbouring labels

    def generateDrawSpecs(self, p):  # noqa: N802 - pyqtgraph's name
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis, ticks, texts = specs
        kept = []
        for spec in sorted(texts, key=self._priority):  # stable: levels' order otherwise
            rect = spec[0].adjusted(-self.GAP, -self.GAP, self.GAP, self.GAP)
            if not any(rect.intersects(other[0]) for other in kept):
                kept.append(spec)
        return axis, ticks, kept

    def _priority(self, spec) -> int:
        """Log axes: 1·10ᵏ first, then 2 and 5, then the rest; linear axes: level order."""
        if not self.logMode:
            return 0
        try:
            value = abs(float(spec[2]))
        except ValueError:
            return 0
        if value == 0:
            return 0
        mantissa = round(value / 10 ** math.floor(math.log10(value)), 6)
        return 0 if mantissa == 1 else 1 if mantissa in (2, 5) else 2


def free_title_width(plot_item: pg.PlotItem) -> None:
    """pyqtgraph makes a title's text width the plot's minimum width: a long title laid the
    plot out wider than its widget (cutting off its right edge, or widening a whole grid
    past the window's edge). A too-long title is cut instead."""
    label = plot_item.titleLabel
    label.setMinimumWidth(0)
    hints = getattr(label, "_sizeHint", {})
    for which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
        if which in hints:
            hints[which] = (0, hints[which][1])
    label.updateGeometry()


def follow_palette(plot: pg.PlotWidget) -> QColor:
    """A plot in the widget's palette (light or dark theme): the base colour behind it, axis
    lines in a faint text colour and tick labels in the text colour. Returns the text colour
    for the caller's title."""
    palette = plot.palette()
    plot.setBackground(palette.color(palette.ColorRole.Base))
    text = palette.color(palette.ColorRole.Text)
    faint = QColor(text)
    faint.setAlpha(140)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).setPen(pg.mkPen(faint))
        plot.getAxis(axis).setTextPen(pg.mkPen(text))
    return text
