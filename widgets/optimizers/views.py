"""The Optimizers panel's plots: the surface map (contour bands, minima, trajectories, what
each optimizer remembers), loss and learning rate per step, the basin map and momentum's
rate map. They draw what they are given; the panel decides what."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QVBoxLayout, QWidget

from lab.optimizers.basins import DIVERGED, NOT_CONVERGED, BasinMap
from lab.optimizers.trajectories import Trajectory
from lab.optimizers.view import COLOURS, OPTIMIZER_KINDS

MINIMUM_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
                   "#b07aa1", "#ff9da7"]


def contour_bands(values: np.ndarray, f_min: float, levels: int = 14) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """(RGBA image, level values): f − f_min banded at log-spaced levels, band edges darker
    (the contour lines), NaN (f undefined) transparent."""
    shifted = values - f_min
    finite = np.isfinite(shifted)
    positive = shifted[finite & (shifted > 0)]
    low = np.percentile(positive, 1) if positive.size else 1e-3
    high = np.percentile(positive, 99.5) if positive.size else 1.0
    low = max(low, high * 1e-8, 1e-12)
    edges = np.geomspace(low, max(high, low * 10), levels)
    index = np.searchsorted(edges, np.where(finite, shifted, 0))
    lut = pg.colormap.get("viridis").getLookupTable(0.0, 1.0, levels + 1, alpha=False)
    lut = (0.45 * lut + 0.55 * 255).astype(np.uint8)   # pale: trajectories stay readable
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    rgba[..., :3] = lut[index]
    rgba[..., 3] = 255
    edge = np.zeros(values.shape, dtype=bool)
    edge[:, 1:] |= index[:, 1:] != index[:, :-1]
    edge[1:, :] |= index[1:, :] != index[:-1, :]
    rgba[edge, :3] = (rgba[edge, :3] * 0.7).astype(np.uint8)
    rgba[~finite] = 0
    return rgba, edges


def follow_palette(plot: pg.PlotWidget) -> None:
    """The theme's Base behind the plot, its Text for axes, title and legend."""
    palette = plot.palette()
    text = palette.color(palette.ColorRole.Text)
    plot.setBackground(palette.color(palette.ColorRole.Base))
    faint = QColor(text)
    faint.setAlpha(140)
    for name in ("left", "bottom"):
        plot.getAxis(name).setPen(pg.mkPen(faint))
        plot.getAxis(name).setTextPen(pg.mkPen(text))
    title = plot.getPlotItem().titleLabel
    title.setText(title.text, color=text)
    legend = plot.getPlotItem().legend
    if legend is not None:
        base = QColor(palette.color(palette.ColorRole.Base))
        base.setAlpha(210)
        legend.setBrush(pg.mkBrush(base))
        legend.setLabelTextColor(text)
        for _sample, label in legend.items:
            label.setText(label.text, color=text)


class ThemedPlot(pg.PlotWidget):
    """A PlotWidget that follows the light / dark theme."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._ready = False  # Qt sends palette events while pyqtgraph is still building
        super().__init__(parent)
        self.setMenuEnabled(False)
        self._ready = True
        follow_palette(self)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt name
        if self._ready and event.type() in (QEvent.Type.PaletteChange,
                                            QEvent.Type.ApplicationPaletteChange):
            follow_palette(self)
        super().changeEvent(event)

    def set_title(self, text: str) -> None:
        """The title in the theme's text colour; one longer than the plot is wide ends in
        "…" (a title is as wide as its text: it would push the plot past the view's edge)."""
        self._title = text
        self._show_title()

    def _show_title(self) -> None:
        text = getattr(self, "_title", None)
        if text is None:
            return
        plot = self.getPlotItem()
        label = plot.titleLabel
        beside = max(0.0, plot.minimumWidth() - label.minimumWidth())  # the y axis' room
        room = int(max(40, self.width() - beside - 12))
        font = QFont(label.item.font())
        size = str(label.opts.get("size", ""))
        if size.endswith("pt"):  # the label's HTML sets its size: measure at that size
            font.setPointSizeF(float(size[:-2]))
        shown = QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, room)
        if shown != label.text:
            self.getPlotItem().setTitle(shown)
            follow_palette(self)
            # the view sized the plot while the longer title held it wide (a window made
            # narrower cut the map's right side off): fit the plot to the view again
            plot.setGeometry(QRectF(self.range))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._show_title()


class SurfaceMap(ThemedPlot):
    """f's contour bands, its minima (white stars), trajectories and the current step."""

    startClicked = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setLabel("bottom", "x")
        self.setLabel("left", "y")
        self.getViewBox().setAspectLocked(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image)
        self.minima = pg.ScatterPlotItem(symbol="star", size=16, brush="w",
                                         pen=pg.mkPen("k", width=1))
        self.minima.setZValue(5)
        self.addItem(self.minima)
        self.start_marker = pg.ScatterPlotItem(symbol="o", size=11, brush=None,
                                               pen=pg.mkPen("k", width=2))
        self.start_marker.setZValue(6)
        self.addItem(self.start_marker)
        self.legend = self.addLegend(offset=(5, 5))
        follow_palette(self)
        self.paths: dict[str, pg.PlotDataItem] = {}
        self.heads = pg.ScatterPlotItem(size=10, pen=pg.mkPen("k", width=1))
        self.heads.setZValue(8)
        self.addItem(self.heads)
        self.lookahead = pg.ScatterPlotItem(size=9, symbol="o", brush=None)
        self.lookahead.setZValue(8)
        self.addItem(self.lookahead)
        self.arrows = {name: pg.PlotDataItem(connect="pairs", pen=pg.mkPen(colour, width=2))
                       for name, colour in (("gradient", "#000000"), ("velocity", "#ff7f0e"))}
        for item in self.arrows.values():
            item.setZValue(7)
            self.addItem(item)
        self.scales = pg.PlotDataItem(connect="finite", pen=pg.mkPen("#444", width=1,
                                                                    style=Qt.PenStyle.DashLine))
        self.scales.setZValue(7)
        self.addItem(self.scales)
        self.domain = (0.0, 1.0, 0.0, 1.0)
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_surface(self, rgba: np.ndarray, domain, minima) -> None:
        x0, x1, y0, y1 = domain
        self.domain = domain
        self.image.setImage(rgba, autoLevels=False)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.minima.setData([m[0] for m in minima], [m[1] for m in minima])
        self.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    def set_start(self, start) -> None:
        self.start_marker.setData([start[0]], [start[1]])

    def set_paths(self, runs: dict[str, Trajectory], upto: int) -> None:
        for kind in list(self.paths):
            if kind not in runs:
                self.legend.removeItem(self.paths[kind])
                self.removeItem(self.paths.pop(kind))
        for kind, run in runs.items():
            if kind not in self.paths:
                item = pg.PlotDataItem(pen=pg.mkPen(COLOURS[kind], width=2),
                                       name=OPTIMIZER_KINDS[kind][0])
                item.setZValue(4)
                self.addItem(item)
                self.paths[kind] = item
            points = self._clipped(run.points[: upto + 1])
            self.paths[kind].setData(points[:, 0], points[:, 1])

    def _clipped(self, points: np.ndarray) -> np.ndarray:
        """Far-away (diverged) points drawn at 10× the domain: the view stays usable."""
        x0, x1, y0, y1 = self.domain
        span = max(x1 - x0, y1 - y0) * 10
        finite = np.all(np.isfinite(points), axis=1)
        return np.clip(points[finite], -span, span) if len(points) else points

    def set_memory(self, heads, gradient_segments, velocity_segments, lookahead, rects) -> None:
        """heads: [(x, y, colour)]; segments: (2k, 2) arrays of start/end pairs;
        lookahead: [(x, y, colour)]; rects: list of (5, 2) closed outlines."""
        self.heads.setData([h[0] for h in heads], [h[1] for h in heads],
                           brush=[pg.mkBrush(h[2]) for h in heads])
        self.lookahead.setData([h[0] for h in lookahead], [h[1] for h in lookahead],
                               pen=[pg.mkPen(h[2], width=2) for h in lookahead])
        for name, segments in (("gradient", gradient_segments), ("velocity", velocity_segments)):
            data = np.asarray(segments, dtype=float).reshape(-1, 2)
            self.arrows[name].setData(data[:, 0], data[:, 1]) if len(data) else \
                self.arrows[name].setData([], [])
        if rects:
            joined = np.concatenate([np.vstack([r, [np.nan, np.nan]]) for r in rects])
            self.scales.setData(joined[:, 0], joined[:, 1])
        else:
            self.scales.setData([], [])

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        point: QPointF = self.getViewBox().mapSceneToView(event.scenePos())
        x0, x1, y0, y1 = self.domain
        if x0 <= point.x() <= x1 and y0 <= point.y() <= y1:
            self.startClicked.emit(float(point.x()), float(point.y()))


class LossAndRate(QWidget):
    """f − f_min per step on a log axis, and the learning rate per step beneath it (its
    drops marked), x axes linked; a vertical line at the shown step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = ThemedPlot()
        self.loss.setMenuEnabled(False)
        self.loss.setLogMode(y=True)
        self.loss.setLabel("left", "f − f_min")
        self.lr = ThemedPlot()
        self.lr.setMenuEnabled(False)
        self.lr.setLabel("left", "learning rate")
        for plot in (self.loss, self.lr):  # "×1e+12" on a log axis reads as nonsense
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.lr.setLabel("bottom", "step")
        self.lr.setXLink(self.loss)
        self.lr.setMaximumHeight(170)
        for plot in (self.loss, self.lr):
            plot.getAxis("left").setWidth(58)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss, 3)
        layout.addWidget(self.lr, 2)
        self.loss_curves: dict[str, pg.PlotDataItem] = {}
        self.lr_curves: dict[str, pg.PlotDataItem] = {}
        self.drops = pg.ScatterPlotItem(symbol="t", size=10, brush="#d62728", pen=None)
        self.lr.addItem(self.drops)
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", style=Qt.PenStyle.DotLine))
                        for _ in range(2)]
        self.loss.addItem(self.cursors[0])
        self.lr.addItem(self.cursors[1])

    def set_runs(self, runs: dict[str, Trajectory], f_min: float) -> None:
        for curves, plot in ((self.loss_curves, self.loss), (self.lr_curves, self.lr)):
            for kind in list(curves):
                if kind not in runs:
                    plot.removeItem(curves.pop(kind))
        drops_x, drops_y = [], []
        for kind, run in runs.items():
            for curves, plot in ((self.loss_curves, self.loss), (self.lr_curves, self.lr)):
                if kind not in curves:
                    curves[kind] = plot.plot(pen=pg.mkPen(COLOURS[kind], width=2))
            gap = np.clip(run.losses - f_min, 1e-16, None)
            finite = np.isfinite(gap)
            steps = np.arange(len(gap))
            self.loss_curves[kind].setData(steps[finite], gap[finite])
            self.lr_curves[kind].setData(np.arange(len(run.lrs)), run.lrs)
            for d in run.lr_drops():
                drops_x.append(d)
                drops_y.append(run.lrs[d])
        self.drops.setData(drops_x, drops_y)

    def set_cursor(self, step: int) -> None:
        for line in self.cursors:
            line.setValue(step)


class BasinView(ThemedPlot):
    """Each start coloured by the minimum it reached; grey: not converged; black: diverged."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setLabel("bottom", "start x")
        self.setLabel("left", "start y")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image)
        self.minima = pg.ScatterPlotItem(symbol="star", size=16, brush="w",
                                         pen=pg.mkPen("k", width=1))
        self.addItem(self.minima)
        self.start = pg.ScatterPlotItem(symbol="o", size=11, brush=None, pen=pg.mkPen("w", width=2))
        self.addItem(self.start)

    def set_map(self, result: BasinMap, start) -> None:
        colours = {DIVERGED: "#202020", NOT_CONVERGED: "#b0b0b0"}
        rgba = np.zeros((*result.labels.shape, 4), dtype=np.uint8)
        for label in np.unique(result.labels):
            colour = colours.get(int(label)) or MINIMUM_COLOURS[int(label) % len(MINIMUM_COLOURS)]
            rgba[result.labels == label] = QColor(colour).getRgb()
        xs, ys = result.xs, result.ys
        dx, dy = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
        self.image.setImage(rgba, autoLevels=False)
        self.image.setRect(QRectF(xs[0] - dx, ys[0] - dy, xs[-1] - xs[0] + 2 * dx,
                                  ys[-1] - ys[0] + 2 * dy))
        self.minima.setData([m[0] for m in result.minima], [m[1] for m in result.minima])
        self.set_start(start)

    def set_start(self, start) -> None:
        self.start.setData([start[0]], [start[1]])


class RateMap(ThemedPlot):
    """Predicted convergence rate ρ of SGD + momentum over (log10 lr, momentum); the current
    setting marked. Coloured by −log10(1 − ρ), so that
    dark = fast (ρ small), bright = slow (ρ near 1); grey: no convergence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setLabel("bottom", "log₁₀ learning rate")
        self.setLabel("left", "momentum μ")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image)
        self.marker = pg.ScatterPlotItem(symbol="+", size=18, pen=pg.mkPen("#d62728", width=3))
        self.marker.setZValue(5)
        self.addItem(self.marker)
        self.best = pg.ScatterPlotItem(symbol="star", size=16, brush="w",
                                       pen=pg.mkPen("k", width=1))
        self.best.setZValue(5)
        self.addItem(self.best)

    def set_best(self, lr: float, momentum: float) -> None:
        self.best.setData([np.log10(lr)], [momentum])

    def set_map(self, rates: np.ndarray, log_lrs: np.ndarray, momenta: np.ndarray) -> None:
        lut = pg.colormap.get("magma").getLookupTable(0.0, 1.0, 256, alpha=False)
        with np.errstate(all="ignore"):
            slowness = -np.log10(np.clip(1 - rates, 1e-4, 1)) / 4   # 0 (ρ = 0) … 1 (ρ ≥ 0.9999)
        index = np.clip((slowness * 255).astype(int), 0, 255)
        rgba = np.zeros((*rates.shape, 4), dtype=np.uint8)
        rgba[..., :3] = lut[index]
        rgba[..., 3] = 255
        rgba[rates >= 1] = (120, 120, 120, 255)
        self.image.setImage(rgba, autoLevels=False)
        self.image.setRect(QRectF(log_lrs[0], momenta[0], log_lrs[-1] - log_lrs[0],
                                  momenta[-1] - momenta[0]))

    def set_marker(self, lr: float, momentum: float) -> None:
        self.marker.setData([np.log10(lr)], [momentum])
