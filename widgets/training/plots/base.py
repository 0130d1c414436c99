"""Shared by the Training lab's plots: one colour per run, the epoch axis, a "drawn already?" key
and `_Plot`, a PlotWidget that follows the theme and keeps its range until the user zooms."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QGraphicsItem,
)

from widgets.kit.axes import follow_palette, free_title_width

RUN_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
               "#e377c2", "#7f7f7f", "#bcbd22")
# Class colours (Paul Tol's "bright"), distinct from the run colours drawn over them.
CLASS_COLOURS = np.array([(68, 119, 170), (238, 102, 119), (34, 136, 51), (204, 187, 68),
                          (102, 204, 238), (170, 51, 119), (187, 187, 187), (238, 119, 51),
                          (0, 153, 136), (51, 34, 136)], dtype=np.float32)
MARK_STYLE = {"control": ("#8e44ad", Qt.PenStyle.DashLine),
              "lr": ("#e67e22", Qt.PenStyle.DashLine),
              "best": ("#27ae60", Qt.PenStyle.DotLine),
              "stop": ("#c0392b", Qt.PenStyle.DashDotLine),
              "diverged": ("#c0392b", Qt.PenStyle.SolidLine),
              "out_of_memory": ("#c0392b", Qt.PenStyle.SolidLine)}
SYMBOLS_UP_TO = 60  # per-epoch points get symbols while there are few
STEP_PIECES = 12  # a run's per-step curve is drawn in about this many pieces
STEP_PIECE_MIN = 32  # points, so short runs are not cut into slivers
LEGEND_MIN_SIZE = (380, 260)  # px: a loss plot smaller than this shows no legend box
LEFT_AXIS_WIDTH = 58  # px: axis title and tick labels such as "-0.25" or "1e-05"


def run_colour(run_id: int) -> QColor:
    return QColor(RUN_COLOURS[run_id % len(RUN_COLOURS)])


def _with_alpha(colour: QColor, alpha: int) -> QColor:
    faded = QColor(colour)
    faded.setAlpha(alpha)
    return faded


def epoch_range(epochs: int) -> tuple[float, float]:
    """0…epochs with a small margin: curves that touch the view's edge make pyqtgraph
    repaint the axis beside it at every update."""
    return (-0.08 * epochs, 1.03 * epochs)


def _fold_breaks(folds: np.ndarray, *columns: np.ndarray) -> list[np.ndarray]:
    """Insert NaN between folds so each fold is its own line (connect="finite")."""
    if len(folds) < 2:
        return list(columns)
    cuts = np.flatnonzero(np.diff(folds)) + 1
    if not len(cuts):
        return list(columns)
    return [np.insert(c.astype(np.float64), cuts, np.nan) for c in columns]


def _loose_range(shown: tuple[float, float], data: tuple[float, float]
                 ) -> tuple[float, float] | None:
    """A new range with 8 % margins when `data` leave `shown` or use under a third of it;
    None while `shown` still suits them."""
    low, high = data
    span = max(high - low, 1e-9)
    if low < shown[0] or high > shown[1] or (shown[1] - shown[0]) > 3 * span:
        return low - 0.08 * span, high + 0.08 * span
    return None


class DrawnKey:
    """What a view last drew, so a redraw that would draw the same can be skipped: plain
    values compared with ==, snapshots by identity. Holding the snapshots keeps a new one
    from reusing a drawn one's id() (CPython reuses a freed object's address at once)."""

    def __init__(self) -> None:
        self.values: object = None
        self.objects: tuple = ()

    def unchanged(self, values: object, objects: tuple = ()) -> bool:
        """True if `values` and `objects` are what was drawn; else remember them."""
        if values == self.values and len(objects) == len(self.objects) and all(
                a is b for a, b in zip(objects, self.objects, strict=True)):
            return True
        self.values, self.objects = values, tuple(objects)
        return False

    def reset(self) -> None:
        self.values, self.objects = None, ()


class _Plot(pg.PlotWidget):
    """A plot that follows the app palette and has a title with a small caption."""

    def set_title(self, text: str) -> None:
        """Set the title only when it changes (each change re-lays out the plot)."""
        if getattr(self, "_title", None) != text:
            self._title = text
            self.getPlotItem().setTitle(text, size="10pt")
            free_title_width(self.getPlotItem())


    def __init__(self, title: str, x_label: str = "epoch", y_label: str = "") -> None:
        self._ready = False
        super().__init__()
        self._ready = True
        self.setMinimumSize(200, 120)  # a 1280×740 window shows two rows and the run list
        self.getPlotItem().setTitle(title, size="10pt")
        free_title_width(self.getPlotItem())
        self.setLabel("bottom", x_label)
        if y_label:
            self.setLabel("left", y_label)
        # No grid: grid lines belong to the axes, so every curve update would repaint
        # them and their tick labels (most of a redraw's cost).
        self.getPlotItem().setMenuEnabled(True)
        for axis in ("left", "bottom"):
            self.getAxis(axis).enableAutoSIPrefix(False)  # "loss (×0.001)" confuses
            # Kept as a pixmap: a curve's update that touches the axis's tick strip then
            # copies pixels instead of redrawing every tick label (Qt renews the pixmap
            # when the axis itself changes).
            self.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # A fixed tick-label column: pyqtgraph otherwise re-lays-out the whole plot (and
        # redraws both axes) whenever the labels' width changes as the range moves; the
        # plots of the grid also line up.
        self.getAxis("left").setStyle(autoExpandTextSpace=False)
        self.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        self._user_zoomed = False
        view = self.getViewBox()
        view.disableAutoRange()
        view.sigRangeChangedManually.connect(self._zoomed_by_user)
        self._follow_palette()

    def _zoomed_by_user(self, *_args) -> None:
        self._user_zoomed = True

    def manage_range(self, x: tuple[float, float] | None = None,
                     y: tuple[float, float] | None = None, *, loose_x: bool = False) -> None:
        """Keep the data in view without moving the axes on every update (moving them
        costs a repaint of the ticks): y (and x when `loose_x`) changes only when the
        data leave the range or use less than a third of it; otherwise x is set as given.
        A user's zoom is left alone until the "A" button (auto range) is pressed."""
        view = self.getViewBox()
        if any(view.state["autoRange"]):
            self._user_zoomed = False
            view.disableAutoRange()
        if self._user_zoomed:
            return
        (x0, x1), (y0, y1) = view.viewRange()
        if x is not None and np.isfinite(x).all():
            if loose_x:
                loose = _loose_range((x0, x1), x)
                if loose is not None:
                    self.setXRange(*loose, padding=0)
            elif abs(x[0] - x0) + abs(x[1] - x1) > 1e-6 * max(x[1] - x[0], 1e-9):
                self.setXRange(x[0], x[1], padding=0)
        if y is not None and np.isfinite(y).all():
            loose = _loose_range((y0, y1), y)
            if loose is not None:
                self.setYRange(*loose, padding=0)

    def changeEvent(self, event: QEvent) -> None:
        if self._ready and event.type() in (QEvent.Type.PaletteChange,
                                            QEvent.Type.ApplicationPaletteChange):
            self._follow_palette()
        super().changeEvent(event)

    def _follow_palette(self) -> None:
        text = follow_palette(self)
        palette = self.palette()
        title = self.getPlotItem().titleLabel
        title.setText(title.text, color=text)
        free_title_width(self.getPlotItem())
        legend = self.getPlotItem().legend
        if legend is not None:  # a translucent box of the theme's own colours
            legend.setBrush(pg.mkBrush(_with_alpha(palette.color(palette.ColorRole.Base), 200)))
            legend.setPen(pg.mkPen(_with_alpha(text, 90)))
            legend.setLabelTextColor(text)
            for _sample, label in legend.items:
                label.setText(label.text, color=text)
        for item in self.getPlotItem().items:  # the marks' labels ("best", "LR↓", …)
            label = getattr(item, "label", None)
            if isinstance(item, pg.InfiniteLine) and label is not None:
                label.fill = pg.mkBrush(_with_alpha(palette.color(palette.ColorRole.Base), 170))
                label.update()
