"""A small pyqtgraph plot in the theme's colours (light or dark), fixed axes, no menu."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent

from widgets.kit.axes import follow_palette


class ThemedPlot(pg.PlotWidget):
    def __init__(self, title: str) -> None:
        self._ready = False  # Qt sends palette events from inside the base __init__
        super().__init__()
        self._title = title
        self.setMenuEnabled(False)
        self.setMinimumHeight(120)
        self.getPlotItem().getViewBox().setMouseEnabled(x=False, y=False)
        self.getPlotItem().hideButtons()
        self._ready = True
        self._ranges: tuple | None = None
        self.enableAutoRange(False)
        self._follow_palette()

    def show_range(self, low: float, high: float, top: float) -> None:
        """Steady axes: x from `low` to `high` and y from 0 to a round number above `top`,
        changed only when they no longer fit (pyqtgraph repaints the axes on every range
        change, the slowest part of a redraw)."""
        span = max(high - low, 1e-6)
        steps = (1, 2, 5)
        ceiling = next(m * 10 ** e for e in range(-3, 9) for m in steps
                       if m * 10 ** e >= top * 1.05)
        wanted = (low - 0.02 * span, high + 0.02 * span, ceiling)
        current = self._ranges
        if current is not None and current[0] <= wanted[0] and current[1] >= wanted[1] \
                and current[2] >= wanted[2] and current[2] <= 2.5 * wanted[2] \
                and (current[1] - current[0]) <= 1.6 * (wanted[1] - wanted[0]):
            return
        self._ranges = wanted
        self.setXRange(wanted[0], wanted[1], padding=0)
        self.setYRange(0, wanted[2], padding=0)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt name
        if self._ready and event.type() in (QEvent.Type.PaletteChange,
                                            QEvent.Type.ApplicationPaletteChange):
            self._follow_palette()
        super().changeEvent(event)

    def _follow_palette(self) -> None:
        text = follow_palette(self)
        self.setTitle(self._title, color=text.name(), size="9pt")
        legend = self.getPlotItem().legend
        if legend is not None:
            legend.setLabelTextColor(text)
