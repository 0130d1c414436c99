"""The Regularization panel's plots: pyqtgraph PlotWidgets whose items are made once and
updated with setData / setOpts (a slider drag redraws, never rebuilds)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QWidget

from widgets.kit.axes import SparseLabelAxis, follow_palette, free_title_width

COLORS = {
    "train": "#2f6fdb", "test": "#d9534f", "cv": "#2ca02c", "fit": "#e67e22",
    "truth": "#7f7f7f", "torch": "#8e44ad", "bias": "#2f6fdb", "variance": "#e67e22",
    "noise": "#a0a0a0", "l1": "#d9534f", "l2": "#2f6fdb", "raw": "#d9534f",
    "legendre": "#2ca02c",
}
FLOOR = 1e-12  # log axes: an interpolating fit's train error of 0 is drawn here


def positive(values: np.ndarray) -> np.ndarray:
    return np.maximum(np.asarray(values, dtype=float), FLOOR)


def nice_step(span: float) -> float:
    """The 1-2-5 step (…, 0.5, 1, 2, 5, 10, …) at or above `span`."""
    power = 10.0 ** math.floor(math.log10(span))
    return next(power * m for m in (1, 2, 5, 10) if power * m >= span * (1 - 1e-9))


def steady_range(shown: tuple[float, float] | None, low: float, high: float,
                 fill: float = 0.4) -> tuple[float, float]:
    """An axis range for data in [low, high] that stays put while the data moves inside it:
    `shown` while it holds the data and the data fills at least `fill` of it; otherwise a
    new range on a 1-2-5 grid around the data with a margin. (An axis whose range changes
    redraws its ticks and labels: most of a slider step's drawing.)"""
    if not (math.isfinite(low) and math.isfinite(high)):
        return shown if shown is not None else (0.0, 1.0)
    if shown is not None and shown[0] <= low and high <= shown[1] \
            and high - low >= fill * (shown[1] - shown[0]):
        return shown
    span = high - low if high > low else max(abs(high), 1.0)
    step = nice_step(span / 5)
    return (math.floor(low / step - 0.25) * step, math.ceil(high / step + 0.25) * step)


class Plot(pg.PlotWidget):
    """A PlotWidget in the palette's colours, with a title and an optional legend; it
    follows the light / dark theme."""

    def __init__(self, title: str, *, left: str = "", bottom: str = "", legend: bool = False,
                 parent: QWidget | None = None) -> None:
        # labels of a log axis over two decades overlapped ("0.07" on "0.08" on "0.09")
        super().__init__(parent, axisItems={side: SparseLabelAxis(side)
                                            for side in ("left", "bottom")})
        self.title_text = title
        self.setMinimumSize(120, 120)
        self.setMenuEnabled(False)
        self.plotItem.setLabel("left", left)
        self.plotItem.setLabel("bottom", bottom)
        self.legend = self.plotItem.addLegend(offset=(-4, 4), labelTextSize="8pt") \
            if legend else None
        self.getAxis("left").setWidth(48)  # a changing label width would re-lay-out the plot
        # the background is painted in full here: a redrawn curve repaints no widget beneath
        # (the tab widget's frame, the page)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        for axis in ("left", "bottom"):
            # repainted from a pixmap while the curves move
            self.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            # no "(×1e+06)" prefix: pyqtgraph re-sets and re-measures the axis label at
            # every range change to keep it (most of a new range's cost)
            self.getAxis(axis).enableAutoSIPrefix(False)
        self._y_held = False
        self._styled = True
        self._follow_palette()

    def hold_y(self, low: float, high: float) -> None:
        """Show data spanning [low, high] on y (log₁₀ values on a log axis) in a range that
        changes only when the data leaves it or shrinks well inside it (`steady_range`);
        set here, not by auto-range, which runs at paint time and so paints twice."""
        shown = tuple(self.viewRange()[1]) if self._y_held else None
        wanted = steady_range(shown, low, high)
        if wanted != shown:
            self.setYRange(*wanted, padding=0)
        self._y_held = True

    def set_title(self, text: str) -> None:
        if text != self.title_text:
            self.title_text = text
            self.plotItem.setTitle(text, color=self.palette().text().color().name(),
                                   size="9pt")
            free_title_width(self.plotItem)

    def _follow_palette(self) -> None:
        follow_palette(self)
        palette = self.palette()
        self.plotItem.setTitle(self.title_text, color=palette.text().color().name(),
                               size="9pt")
        free_title_width(self.plotItem)
        if self.legend is not None:  # readable over the curves it covers
            backdrop = QColor(palette.base().color())
            backdrop.setAlpha(215)
            self.legend.setBrush(pg.mkBrush(backdrop))
            self.legend.setLabelTextColor(palette.text().color())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.PaletteChange and getattr(self, "_styled", False):
            self._follow_palette()
        super().changeEvent(event)


def key(*entries: tuple[str, str]) -> str:
    """A colour key for a title: ("train", "#2f6fdb"), … as coloured words (legends cover the
    data of small plots)."""
    return " ".join(f"<span style='color:{color}'>■{name}</span>" for name, color in entries)


def curve(plot: Plot, color: str, name: str | None = None, *, width: float = 2,
          style: Qt.PenStyle = Qt.PenStyle.SolidLine, symbol: str | None = None
          ) -> pg.PlotDataItem:
    pen = pg.mkPen(color, width=width, style=style)
    item = pg.PlotDataItem(pen=pen, name=name, symbol=symbol, symbolSize=5,
                           symbolBrush=color, symbolPen=None)
    plot.addItem(item)
    return item


def points(plot: Plot, color: str, name: str | None = None, size: float = 7,
           hollow: bool = False) -> pg.ScatterPlotItem:
    item = pg.ScatterPlotItem(size=size, pen=pg.mkPen(color) if hollow else None,
                              brush=None if hollow else pg.mkBrush(color), name=name)
    plot.addItem(item)
    return item


def cursor(plot: Plot, angle: int = 90) -> pg.InfiniteLine:
    line = pg.InfiniteLine(pos=0, angle=angle, movable=False,
                           pen=pg.mkPen("#888888", width=1, style=Qt.PenStyle.DashLine))
    plot.addItem(line, ignoreBounds=True)
    return line
