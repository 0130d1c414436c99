"""The Training lab's live plots, drawn from `RunRecord`s.

Six views, each able to overlay several runs (one colour per run, the same in every
view): loss and accuracy (per step with EMA smoothing, and per epoch), learning rate,
weight histogram per layer, the decision boundary of 2-D sets (or the same validation
images' predictions for image sets) in eval() or train() mode, and K-fold curves per
fold with the mean ± std band. Live changes, LR drops, the best and the stop epoch are
marked with vertical lines.

Items are created once per run and updated only when what they show changed (the run's
revision, a new epoch, a new snapshot), so a redraw during training costs little.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainterPath, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QGraphicsPathItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from lab.training import format_value
from lab.training.runs import RunRecord, ema
from widgets.kit.controls import ChoiceBox, ElidedLabel, ParamSlider, caption

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


def fix_lines(label: QLabel, lines: int) -> QLabel:
    """A label whose height never changes with its text (a height change re-lays-out and
    repaints every plot beside it)."""
    label.setFixedHeight(lines * label.fontMetrics().lineSpacing() + 4)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


def set_text(label: QLabel, text: str) -> None:
    """Change a label only when its text changes (each change may re-lay-out its parent)."""
    if label.text() != text:
        label.setText(text)


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
            self._free_title_width()

    def _free_title_width(self) -> None:
        """pyqtgraph makes a title's text width the plot's minimum width: a long title
        widened the whole grid past the window's edge. A too-long title is cut instead."""
        label = self.getPlotItem().titleLabel
        label.setMinimumWidth(0)
        hints = getattr(label, "_sizeHint", {})
        for which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
            if which in hints:
                hints[which] = (0, hints[which][1])
        label.updateGeometry()

    def __init__(self, title: str, x_label: str = "epoch", y_label: str = "") -> None:
        self._ready = False
        super().__init__()
        self._ready = True
        self.setMinimumSize(200, 120)  # a 1280×740 window shows two rows and the run list
        self.getPlotItem().setTitle(title, size="10pt")
        self._free_title_width()
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
        palette = self.palette()
        self.setBackground(palette.color(palette.ColorRole.Base))
        text = palette.color(palette.ColorRole.Text)
        for axis in ("left", "bottom"):
            self.getAxis(axis).setPen(pg.mkPen(_with_alpha(text, 140)))
            self.getAxis(axis).setTextPen(pg.mkPen(text))
        title = self.getPlotItem().titleLabel
        title.setText(title.text, color=text)
        self._free_title_width()
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


class StepPiece(QGraphicsPathItem):
    """A run of consecutive points of a per-step curve, as a plain Qt path item.

    Qt paints it and computes its bounds in C++: pyqtgraph's curve items call back into
    Python for paint() and boundingRect(), and each such call during a repaint must win
    the GIL from the training thread. The pen is a hairline (width 0, always one pixel),
    so the item's bounds are the points' own: a wider pen would be stroked in data units."""

    def __init__(self, colour: QColor, z: float) -> None:
        super().__init__()
        pen = QPen(colour)
        pen.setWidthF(0)
        self.setPen(pen)
        self.setZValue(z)
        self.xs = self.ys = np.empty(0)  # not x, y: those are QGraphicsItem methods

    def set_points(self, x: np.ndarray, y: np.ndarray) -> None:
        self.xs, self.ys = x, y
        self.setPath(pg.arrayToQPath(x, y, connect="finite") if len(x) else QPainterPath())


class StepCurve:
    """A per-step series drawn as pieces of consecutive points (neighbours share an end).

    Training only appends steps and the EMA is causal, so finished pieces never change:
    a redraw replaces the newest piece only, and Qt repaints the strip it covers instead
    of the whole plot (axes, per-epoch curves and marks included), which is what a
    redraw cost when one curve held every step."""

    def __init__(self, plot: pg.PlotWidget, colour: QColor, z: float,
                 expected_points: int) -> None:
        self.plot, self.colour, self.z = plot, colour, z
        self.size = max(STEP_PIECE_MIN, -(-expected_points // STEP_PIECES))
        self.pieces: list[StepPiece] = []
        self.drawn = 0  # points the pieces hold

    def set(self, x: np.ndarray, y: np.ndarray, rebuild: bool = False) -> None:
        """Show x, y: the points after the first `drawn` are new, unless `rebuild`."""
        n = len(x)
        while n - 1 > 2 * STEP_PIECES * self.size:  # longer than foreseen: coarser pieces
            self.size *= 2
            rebuild = True
        first = 0 if rebuild or n < self.drawn or self.drawn == 0 else (self.drawn - 1) // self.size
        needed = max(1, -(-(n - 1) // self.size)) if n else 0
        empty = np.empty(0)
        for index in range(first, max(needed, len(self.pieces))):
            if index >= needed:
                self.pieces[index].set_points(empty, empty)
                continue
            if index == len(self.pieces):
                piece = StepPiece(self.colour, self.z)
                self.plot.addItem(piece, ignoreBounds=True)  # the plot sets its own range
                self.pieces.append(piece)
            start, end = index * self.size, min((index + 1) * self.size + 1, n)
            self.pieces[index].set_points(x[start:end], y[start:end])
        self.drawn = n

    def clear(self) -> None:
        if self.drawn:
            empty = np.empty(0)
            for piece in self.pieces:
                piece.set_points(empty, empty)
            self.drawn = 0

    def remove(self) -> None:
        for piece in self.pieces:
            self.plot.removeItem(piece)
        self.pieces = []
        self.drawn = 0

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole series, as the pieces show it."""
        xs, ys = [], []
        for index, piece in enumerate(self.pieces):
            if not len(piece.xs):
                break
            xs.append(piece.xs if index == 0 else piece.xs[1:])
            ys.append(piece.ys if index == 0 else piece.ys[1:])
        if not xs:
            return np.array([]), np.array([])
        return np.concatenate(xs), np.concatenate(ys)


class _RunItems:
    """The curves one run contributes to one plot."""

    def __init__(self) -> None:
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.steps: dict[str, StepCurve] = {}
        self.epoch_key: tuple = ()
        self.marks: list[pg.InfiniteLine] = []
        self.revision = -1
        self.mark_key: tuple = ()
        self.extra_key: tuple = ()
        self.marks_drawn = DrawnKey()


class MetricPlot(_Plot):
    """Loss or accuracy over epochs: per step (raw, faint; EMA, thin) and per epoch
    (training dashed, validation solid), with marks."""

    def __init__(self, metric: str, title: str, y_label: str) -> None:
        super().__init__(title, "epoch", y_label)
        self.quantity = metric  # not "metric": that would hide QPaintDevice.metric()
        self.runs: dict[int, _RunItems] = {}
        self.smoothing = 0.6
        if metric == "accuracy":
            self.setYRange(0, 1.02, padding=0)
        self.show_steps = True
        # below the strip where the marks' labels ("best", "LR↓") sit
        self.legend = self.addLegend(offset=(-6, 26), labelTextSize="8pt")
        self._follow_palette()  # the legend's colours
        self._legend_wanted = metric == "loss"
        self.legend.setVisible(False)  # see resizeEvent

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "legend", None) is None:
            return  # pyqtgraph's own set-up
        # the panel's header names the runs too; in a small plot the box would hide data
        roomy = self.width() >= LEGEND_MIN_SIZE[0] and self.height() >= LEGEND_MIN_SIZE[1]
        self.legend.setVisible(self._legend_wanted and roomy)

    def sync(self, records: list[RunRecord], labels: dict[int, str], focus_id: int | None,
             force: bool = False) -> None:
        wanted = {r.id for r in records}
        for run_id in list(self.runs):
            if run_id not in wanted:
                self._remove(run_id)
        for record in records:
            items = self.runs.get(record.id)
            if items is None:
                items = self.runs[record.id] = self._create(record)
            label = labels.get(record.id, record.name)
            if items.extra_key != (label,):
                self._relabel(record.id, items, label)
                items.extra_key = (label,)
            if force or items.revision != record.revision:
                self._update(record, items, force)
                items.revision = record.revision
            labelled = focus_id if focus_id is not None else records[-1].id
            self._update_marks(record, items, label_marks=self.quantity == "loss"
                               and record.id == labelled)
        self._fit(records)

    def _fit(self, records: list[RunRecord]) -> None:
        if not records:
            return
        epochs = max(r.config.epochs for r in records)
        if self.quantity == "accuracy":
            self.manage_range(epoch_range(epochs), (0.0, 1.0))
            return
        highs, lows = [], []
        for record in records:
            values = [v for e in record.epochs for v in (e.train_loss, e.val_loss)
                      if v is not None and np.isfinite(v)]
            if len(record.steps) and self.show_steps:
                steps = record.steps.column("loss")
                values += [float(np.nanmax(steps)), float(np.nanmin(steps))]
            if values:
                highs.append(max(values))
                lows.append(min(values))
        if highs:
            self.manage_range(epoch_range(epochs), (min(0.0, min(lows)), max(highs)))
        else:
            self.manage_range(epoch_range(epochs))

    def _create(self, record: RunRecord) -> _RunItems:
        colour = run_colour(record.id)
        items = _RunItems()
        expected = record.started.total_steps if record.started is not None else 0
        items.steps = {
            "raw": StepCurve(self, _with_alpha(colour, 45), 1, expected),
            "smooth": StepCurve(self, _with_alpha(colour, 150), 2, expected)}
        train = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.6, style=Qt.PenStyle.DashLine),
                                connect="finite", symbol=None, symbolSize=7,
                                symbolBrush=colour, symbolPen=None)
        val = pg.PlotDataItem(pen=pg.mkPen(colour, width=2.4), connect="finite", symbol=None,
                              symbolSize=7, symbolBrush=colour, symbolPen=None)
        items.symbols = False
        for name, item, z in (("train", train, 3), ("val", val, 4)):  # over the steps (1, 2)
            item.setZValue(z)
            self.addItem(item)
            items.curves[name] = item
        return items

    def _relabel(self, run_id: int, items: _RunItems, label: str) -> None:
        self.legend.removeItem(items.curves["val"])
        self.legend.addItem(items.curves["val"], label)

    def _remove(self, run_id: int) -> None:
        items = self.runs.pop(run_id)
        self.legend.removeItem(items.curves["val"])
        for curve in items.steps.values():
            curve.remove()
        for item in [*items.curves.values(), *items.marks]:
            self.removeItem(item)

    def _update(self, record: RunRecord, items: _RunItems, force: bool = False) -> None:
        steps = record.steps
        column = "loss" if self.quantity == "loss" else "accuracy"
        if self.show_steps and len(steps):
            folds = steps.column("fold")
            x, y = _fold_breaks(folds, steps.column("position"), steps.column(column))
            items.steps["raw"].set(x, y, rebuild=force)
            smooth = ema(steps.column(column), self.smoothing, folds)
            sx, sy = _fold_breaks(folds, steps.column("position"), smooth)
            items.steps["smooth"].set(sx, sy, rebuild=force)
        else:
            items.steps["raw"].clear()
            items.steps["smooth"].clear()
        epochs = record.epochs
        # symbols mark each epoch of a finished run; while training (or with many epochs)
        # lines only, because symbols cost paint time at every update
        symbols = record.finished and len(epochs) <= SYMBOLS_UP_TO
        key = (len(epochs), symbols)
        if key == items.epoch_key and not force:
            return  # steps arrived, epochs did not: leave these (full-width) curves alone
        items.epoch_key = key
        folds = np.array([e.fold for e in epochs])
        x = np.array([e.epoch for e in epochs], dtype=np.float64)
        train_y = np.array([getattr(e, f"train_{column}") for e in epochs], dtype=np.float64)
        val_y = np.array([np.nan if getattr(e, f"val_{column}") is None
                          else getattr(e, f"val_{column}") for e in epochs], dtype=np.float64)
        tx, ty = _fold_breaks(folds, x, train_y)
        vx, vy = _fold_breaks(folds, x, val_y)
        if symbols != items.symbols:
            items.curves["train"].setSymbol("t" if symbols else None)
            items.curves["val"].setSymbol("o" if symbols else None)
            items.symbols = symbols
        items.curves["train"].setData(tx, ty)
        items.curves["val"].setData(vx, vy)

    def _update_marks(self, record: RunRecord, items: _RunItems, label_marks: bool) -> None:
        # the marks come from events, epochs and the status: not from the steps
        if items.marks_drawn.unchanged((len(record.events), len(record.epochs),
                                        record.best_epoch, record.stop_epoch, record.status,
                                        label_marks)):
            return
        marks = [(e.kind, e.position, e.text) for e in record.marks()
                 if e.kind not in ("restore", "early_stop")]
        if record.best_epoch and record.epochs:
            marks.append(("best", float(record.best_epoch), f"best epoch {record.best_epoch}"))
        if record.status == "early_stopped" and record.stop_epoch:
            marks.append(("stop", float(record.stop_epoch), f"stopped at {record.stop_epoch}"))
        key = (tuple(marks), label_marks)
        if key == items.mark_key:
            return
        items.mark_key = key
        # Lines are reused, not re-created: adding or removing an item repaints the whole
        # view (and its axes); moving a line repaints only the strip it covers.
        while len(items.marks) < len(marks):
            line = pg.InfiniteLine(pos=0, angle=90, movable=False, label="",
                                   labelOpts={"position": 0.96, "anchors": [(0, 0), (0, 0)],
                                              "fill": _with_alpha(self.palette().color(
                                                  self.palette().ColorRole.Base), 170)})
            line.setZValue(0)
            self.addItem(line)
            items.marks.append(line)
        for line, (kind, position, text) in zip(items.marks, marks, strict=False):
            colour, style = MARK_STYLE.get(kind, ("#888888", Qt.PenStyle.DashLine))
            short = {"best": "best", "stop": "stop", "lr": "LR↓"}.get(
                kind, text.split(" → ")[0] + "→" + text.split(" → ")[-1] if " → " in text
                else text)
            if getattr(line, "mark_style", None) != (kind, colour):
                line.setPen(pg.mkPen(colour, width=1.2, style=style))
                line.label.setColor(colour)
                line.mark_style = (kind, colour)
            line.setPos(position)
            line.label.setFormat(short)
            line.label.setVisible(label_marks)
            line.setToolTip(f"{record.name}: {text}")
            line.mark_kind = kind
            line.setVisible(True)
        for line in items.marks[len(marks):]:
            line.setVisible(False)
            line.mark_kind = None

    def mark_kinds(self, run_id: int) -> list[str]:
        items = self.runs.get(run_id)
        return [line.mark_kind for line in items.marks if line.mark_kind] if items else []


class LearningRatePlot(_Plot):
    def __init__(self) -> None:
        super().__init__("Learning rate", "epoch", "LR")
        self.runs: dict[int, _RunItems] = {}
        self.drawn = DrawnKey()

    def sync(self, records: list[RunRecord], force: bool = False) -> None:
        # the LR moves at epoch ends and live changes: redraw only then
        keys = {r.id: (len(r.epochs), len(r.events), r.status) for r in records}
        if self.drawn.unchanged(tuple(keys.items())) and not force:
            return
        wanted = {r.id for r in records}
        for run_id in list(self.runs):
            if run_id not in wanted:
                for item in self.runs.pop(run_id).curves.values():
                    self.removeItem(item)
        for record in records:
            items = self.runs.get(record.id)
            if items is None:
                items = self.runs[record.id] = _RunItems()
                curve = pg.PlotDataItem(pen=pg.mkPen(run_colour(record.id), width=2),
                                        connect="finite")
                curve.setDownsampling(auto=True, method="peak")
                self.addItem(curve)
                items.curves["lr"] = curve
            key = keys[record.id]
            if force or items.extra_key != key:
                steps = record.steps
                if len(steps):
                    x, y = _fold_breaks(steps.column("fold"), steps.column("position"),
                                        steps.column("lr"))
                    items.curves["lr"].setData(x, y)
                items.extra_key = key
        top = max((float(np.nanmax(r.steps.column("lr"))) for r in records if len(r.steps)),
                  default=0.0)
        if records and top > 0:  # from 0, so a constant LR is a flat line, not noise
            self.manage_range(epoch_range(max(r.config.epochs for r in records)), (0.0, top))

    def curve(self, run_id: int) -> pg.PlotDataItem:
        return self.runs[run_id].curves["lr"]


class WeightsPlot(QWidget):
    """Histogram of weight values, per layer or all layers, one step curve per run."""

    def __init__(self) -> None:
        super().__init__()
        self.plot = _Plot("Weights", "weight value", "share of weights")
        self.layer = ChoiceBox("Layer", [("all", "all layers")], "all",
                               tooltip="Which layer's weights to histogram")
        self.layer.combo.setMinimumContentsLength(8)
        self.log_scale = QCheckBox("log")
        self.log_scale.setToolTip("Logarithmic share axis: small bins become visible next "
                                  "to L1's spike at zero")
        self.caption = caption(small=True, steady=True, lines=2)
        self.caption.setToolTip("|w| < 0.001 counts as zero. L1 drives many weights to "
                                "exactly zero (a spike at 0); L2 shrinks them all (a "
                                "narrower bell).")
        # as tall as its lines (a WrapLabel): one per run, more in a narrow column
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.layer, 1)
        row.addWidget(self.log_scale)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        self.curves: dict[int, pg.PlotDataItem] = {}
        self._drawn: dict[int, DrawnKey] = {}
        self.drawn = DrawnKey()
        self.log_scale.toggled.connect(lambda on: self.plot.setLogMode(y=on))

    def sync(self, records: list[RunRecord], focus: RunRecord | None) -> None:
        # new histograms come once an epoch; the redraws between them change nothing here
        if self.drawn.unchanged(
                (tuple((r.id, r.name) for r in records), focus.id if focus else None,
                 self.layer.value(), self.log_scale.isChecked()),
                (focus.weights if focus else None, *(r.weights for r in records))):
            return
        names = ["all"]
        source = focus if focus is not None and focus.weights is not None else next(
            (r for r in records if r.weights is not None), None)
        if source is not None:
            names += [h.name for h in source.weights.layers]
        if names != self.layer.values():
            current = self.layer.value()
            self.layer.setChoices([(n, "all layers" if n == "all" else n) for n in names],
                                  current if current in names else "all")
        layer = self.layer.value()
        wanted = {r.id for r in records if r.weights is not None}
        for run_id in list(self.curves):
            if run_id not in wanted:
                self.plot.removeItem(self.curves.pop(run_id))
                self._drawn.pop(run_id, None)
        parts = []
        for record in records:
            snapshot = record.weights
            if snapshot is None:
                continue
            chosen = [h for h in snapshot.layers if layer in ("all", h.name)]
            if not chosen:
                chosen = list(snapshot.layers)
            curve = self.curves.get(record.id)
            if curve is None:
                colour = run_colour(record.id)
                curve = pg.PlotDataItem(stepMode="center", pen=pg.mkPen(colour, width=1.6),
                                        fillLevel=0, brush=_with_alpha(colour, 40))
                self.plot.addItem(curve)
                self.curves[record.id] = curve
            counts = np.sum([h.counts for h in chosen], axis=0)
            total = max(float(counts.sum()), 1.0)
            if not self._drawn.setdefault(record.id, DrawnKey()).unchanged(layer, (snapshot,)):
                share = counts / total
                if self.log_scale.isChecked():
                    share = np.maximum(share, 1e-5)
                curve.setData(chosen[0].edges, share)
            near = sum(h.near_zero * h.counts.sum() for h in chosen) / total
            mean_abs = sum(h.mean_abs * h.counts.sum() for h in chosen) / total
            parts.append(f"<span style='color:{run_colour(record.id).name()}'>■</span> "
                         f"{record.name}: {100 * near:.0f}% ≈ 0, mean |w| {mean_abs:.3g}")
        set_text(self.caption, " &nbsp; ".join(parts) if parts else
                             "Weight histograms appear as runs train.")
        curves = [c.getData() for c in self.curves.values()]
        if curves and not self.log_scale.isChecked():
            xs = [d[0] for d in curves if d[0] is not None and len(d[0])]
            ys = [d[1] for d in curves if d[1] is not None and len(d[1])]
            if xs and ys:
                self.plot.manage_range((min(float(x.min()) for x in xs),
                                        max(float(x.max()) for x in xs)),
                                       (0.0, max(float(y.max()) for y in ys)), loose_x=True)
        elif curves:
            self.plot.enableAutoRange()
        self.plot.set_title(f"Weights{'' if layer == 'all' else ' — ' + layer}")

    def refresh(self) -> None:
        self._drawn.clear()
        self.drawn.reset()


class BoundaryView(QWidget):
    """2-D sets: the decision boundary as a heatmap over the plane with the data on top.
    Image sets: the same validation images with their predicted classes. Either in
    eval() mode (what validation sees) or train() mode (dropout on, BatchNorm on batch
    statistics) — the toggle shows the same inputs through both."""

    modeToggled = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.train_mode = QCheckBox("train() mode")
        self.train_mode.setToolTip("Off: eval() mode — dropout off, BatchNorm uses running "
                                   "statistics (what validation sees). On: train() mode — "
                                   "dropout drops units, BatchNorm normalises with the "
                                   "batch's own statistics. Same inputs, same weights.")
        self.title = ElidedLabel("Decision boundary")  # beside the check box: may be cut
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.plot = _Plot("", "x₁", "x₂")
        self.plot.getPlotItem().setTitle(None)
        self.plot.setAspectLocked(False)
        # title and 3-line caption share this cell's height with the plot: less than the
        # other plots' minimum, or a small window cuts the caption and the x axis
        self.plot.setMinimumHeight(90)
        self.heatmap = pg.ImageItem()
        self.heatmap.setZValue(-10)
        self.plot.addItem(self.heatmap)
        self.scatter = pg.ScatterPlotItem(size=5, pen=pg.mkPen(30, 30, 30, 160))
        self.scatter.setZValue(10)
        self.plot.addItem(self.scatter)
        self.contours: dict[int, pg.PlotDataItem] = {}
        self.images = PredictionMontage()
        self.images.setToolTip("The same validation images through the model: the predicted "
                               "class and its confidence, ✓ when right, ✗ when wrong")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plot)
        self.stack.addWidget(self.images)
        self.caption = caption(small=True, steady=True, lines=3)
        # a WrapLabel: as tall as its wrapped lines (three or four in a narrow column)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.train_mode)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.caption)
        self._image = DrawnKey()  # the heatmap or the montage shown
        self._contours_drawn: dict[int, DrawnKey] = {}
        self.drawn = DrawnKey()
        self._points_key: tuple = ()
        self.train_mode.toggled.connect(self.modeToggled)

    # -- drawing ---------------------------------------------------------------------
    def show_points(self, x: np.ndarray | None, y: np.ndarray | None) -> None:
        """The data set's points (coloured by class) — also before any run exists."""
        if x is None or y is None:
            if self._points_key:
                self.scatter.setData([], [])
                self._points_key = ()
            return
        key = (x.shape, float(x.sum()), float(y.sum()))
        if key == self._points_key:
            return
        self._points_key = key
        if len(x) > 2500:  # a readable cloud; the heatmap shows the rest
            keep = np.random.default_rng(0).choice(len(x), 2500, replace=False)
            x, y = x[keep], y[keep]
        palette = [pg.mkBrush(int(r), int(g), int(b), 220) for r, g, b in CLASS_COLOURS]
        brushes = [palette[c % len(palette)] for c in y.tolist()]
        self.scatter.setData(x[:, 0], x[:, 1], brush=brushes)
        x0, x1 = float(x[:, 0].min()), float(x[:, 0].max())
        y0, y1 = float(x[:, 1].min()), float(x[:, 1].max())
        pad_x, pad_y = 0.15 * (x1 - x0 or 1), 0.15 * (y1 - y0 or 1)
        self.plot.manage_range((x0 - pad_x, x1 + pad_x), (y0 - pad_y, y1 + pad_y))
        self.stack.setCurrentWidget(self.plot)

    def sync(self, records: list[RunRecord], focus: RunRecord | None) -> None:
        train_mode = self.train_mode.isChecked()
        # new boundaries and predictions come once an epoch: skip the redraws between
        if focus is None:
            values: tuple = (train_mode, tuple(r.id for r in records))
        else:
            values = (train_mode, tuple(r.id for r in records), focus.id, focus.name,
                      focus.status, len(focus.events), focus.started is not None)
        if self.drawn.unchanged(values, (focus.boundary if focus else None,
                                         focus.modes if focus else None,
                                         *(r.boundary for r in records))):
            return
        mode = "train()" if train_mode else "eval()"
        if focus is not None and focus.started is not None and focus.started.kind == "images":
            self._show_predictions(focus, train_mode)
            return
        self.stack.setCurrentWidget(self.plot)
        boundary = focus.boundary if focus is not None else None
        if boundary is not None and not self._image.unchanged(train_mode, (boundary,)):
            probs = boundary.train_probs if train_mode else boundary.eval_probs
            self.heatmap.setImage(boundary_rgb(probs), autoLevels=False, levels=(0, 255))
            x0, x1, y0, y1 = boundary.extent
            self.heatmap.setRect(x0, y0, x1 - x0, y1 - y0)
            self.plot.manage_range((x0, x1), (y0, y1))
        elif boundary is None and self._image.objects:
            self.heatmap.clear()
            self._image.reset()
        self._sync_contours(records, focus, train_mode)
        if focus is None:
            set_text(self.title, "Data")
            set_text(self.caption, "Press Start to train: the background will show which class "
                                 "the model predicts everywhere in the plane.")
            return
        set_text(self.title, f"Boundary — {focus.name}, {mode}")
        self.title.setToolTip(f"Decision boundary of {focus.name} in {mode} mode: the class "
                              "the model predicts at every point of the plane")
        set_text(self.caption, self._mode_text(focus, train_mode))

    def _sync_contours(self, records: list[RunRecord], focus: RunRecord | None,
                       train_mode: bool) -> None:
        """Other runs' boundaries as lines in their colour (p = 0.5 per class)."""
        wanted = {r.id: r for r in records if r.boundary is not None
                  and (focus is None or r.id != focus.id)}
        for run_id in list(self.contours):
            if run_id not in wanted:
                self.plot.removeItem(self.contours.pop(run_id))
                self._contours_drawn.pop(run_id, None)
        for run_id, record in wanted.items():
            curve = self.contours.get(run_id)
            if curve is None:
                curve = pg.PlotDataItem(pen=pg.mkPen(run_colour(run_id), width=2),
                                        connect="finite")
                curve.setZValue(5)
                self.plot.addItem(curve)
                self.contours[run_id] = curve
            if self._contours_drawn.setdefault(run_id, DrawnKey()).unchanged(
                    train_mode, (record.boundary,)):
                continue  # marching squares is slow in Python: only for new snapshots
            probs = record.boundary.train_probs if train_mode else record.boundary.eval_probs
            x, y = boundary_lines(probs, record.boundary.extent)
            curve.setData(x, y)

    def _show_predictions(self, focus: RunRecord, train_mode: bool) -> None:
        self.stack.setCurrentWidget(self.images)
        modes = focus.modes
        mode = "train()" if train_mode else "eval()"
        set_text(self.title, f"Predictions — {focus.name}, {mode}")
        self.title.setToolTip(f"The same validation images through {focus.name} in {mode} "
                              "mode")
        if modes is None or modes.images is None:
            set_text(self.caption, "Predictions appear after the first epoch.")
            return
        if self._image.unchanged(train_mode, (modes,)):
            return
        names = focus.started.class_names if focus.started else ()
        pred = modes.train_pred if train_mode else modes.eval_pred
        confidence = modes.train_confidence if train_mode else modes.eval_confidence
        count = min(MONTAGE_COLUMNS * MONTAGE_ROWS, len(modes.labels))
        self.images.set_images(modes.images[:count])
        self.images.set_labels([(_name(names, int(pred[i])), float(confidence[i]),
                                 int(modes.labels[i]) == int(pred[i])) for i in range(count)])
        set_text(self.caption, self._mode_text(focus, train_mode))

    @staticmethod
    def _mode_text(focus: RunRecord, train_mode: bool) -> str:
        modes = focus.modes
        if modes is None:
            return ""
        dropout = focus.config.dropout
        live = [e for e in focus.events if e.kind == "control" and e.name == "dropout"]
        if live:
            dropout = live[-1].new
        why = []
        if dropout:
            why.append(f"dropout (p = {format_value(dropout)}) only drops units in train()")
        if focus.config.batchnorm:
            why.append("BatchNorm uses batch statistics in train()")
        reason = "; ".join(why) if why else "no dropout or BatchNorm, so the modes agree"
        return (f"{len(modes.labels)} validation samples, epoch {modes.epoch}: eval() "
                f"{100 * modes.eval_accuracy:.0f}% right, train() "
                f"{100 * modes.train_accuracy:.0f}%, {modes.differ} differ. {reason}.")


def _name(names, index: int) -> str:
    return str(names[index]) if 0 <= index < len(names) else str(index)


def boundary_rgb(probs: np.ndarray) -> np.ndarray:
    """(rows, cols, classes) probabilities -> RGB: the predicted class's colour, paler
    where the model is unsure."""
    classes = probs.shape[-1]
    top = probs.argmax(-1)
    confidence = probs.max(-1)
    strength = np.clip((confidence - 1 / classes) / (1 - 1 / classes), 0, 1)[..., None]
    colours = CLASS_COLOURS[top % len(CLASS_COLOURS)]
    white = np.full_like(colours, 255.0)
    return (white + (colours - white) * (0.15 + 0.4 * strength)).astype(np.uint8)


def boundary_lines(probs: np.ndarray, extent: tuple[float, float, float, float]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Where each class's probability crosses 0.5, as NaN-separated line segments in
    data coordinates."""
    rows, cols, classes = probs.shape
    x0, x1, y0, y1 = extent
    xs, ys = [], []
    for c in range(1 if classes == 2 else 0, classes):
        for line in pg.functions.isocurve(probs[..., c], 0.5, connected=True):
            points = np.asarray(line, dtype=np.float64)
            if len(points) < 2:
                continue
            # isocurve returns (row, col) in cell units; cell i's centre is grid point i
            ys.append(y0 + (points[:, 0] - 0.5) / (rows - 1) * (y1 - y0))
            xs.append(x0 + (points[:, 1] - 0.5) / (cols - 1) * (x1 - x0))
            xs.append(np.array([np.nan]))
            ys.append(np.array([np.nan]))
    if not xs:
        return np.array([]), np.array([])
    return np.concatenate(xs), np.concatenate(ys)


MONTAGE_COLUMNS, MONTAGE_ROWS = 4, 3


def _label_forms(name: str, confidence: float, right: bool) -> tuple[str, str, str]:
    """A prediction's label, longest first: ("Ankle boot 87% ✓", "Ankle boot ✓", "✓")."""
    mark = "✓" if right else "✗"
    return f"{name} {100 * confidence:.0f}% {mark}", f"{name} {mark}", mark


class PredictionMontage(pg.GraphicsLayoutWidget):
    """Up to 12 images in one picture (one ImageItem), each with its prediction as a text
    item above it. Cheap to update: new predictions change 12 strings, nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setMouseEnabled(False, False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.texts: list[pg.TextItem] = []
        self._forms: list[tuple[str, ...]] = []
        self._colours: list[str] = []
        self._shown: list[tuple[str, str] | None] = []
        self._source: np.ndarray | None = None
        self._cell = (0, 0, 0, 0)
        self.view.sigResized.connect(self._fit_labels)
        self.view.sigRangeChanged.connect(self._fit_labels)
        self._follow_palette()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._follow_palette()
        super().changeEvent(event)

    def _follow_palette(self) -> None:
        self.setBackground(self.palette().color(self.palette().ColorRole.Base))

    def set_images(self, images: np.ndarray) -> None:
        """(N, H, W) or (N, H, W, 3) uint8; redrawn only when the pixels change."""
        if self._source is not None and np.array_equal(self._source, images):
            return
        self._source = images.copy()
        count, height, width = images.shape[:3]
        gap, label = max(2, width // 8), max(8, height // 2)
        cell_w, cell_h = width + gap, height + label
        rows = -(-count // MONTAGE_COLUMNS)
        shape = (rows * cell_h, MONTAGE_COLUMNS * cell_w) + images.shape[3:]
        montage = np.full(shape, 255, dtype=np.uint8)
        for i in range(count):
            row, col = divmod(i, MONTAGE_COLUMNS)
            top, left = row * cell_h + label, col * cell_w
            montage[top:top + height, left:left + width] = images[i]
        self._cell = (cell_w, cell_h, label, width)
        self.image.setImage(montage, autoLevels=False, levels=(0, 255))
        self.view.autoRange(padding=0.01)

    def set_labels(self, labels: list[tuple[str, float, bool]]) -> None:
        """(predicted class, confidence, right) per image, shown as "cat 87% ✓"; a label
        wider than its image is shortened ("cat ✓", then "✓") so neighbours never
        overlap. The full ones are `labels()`."""
        cell_w, cell_h, label, width = self._cell
        while len(self.texts) < len(labels):
            text = pg.TextItem(anchor=(0.5, 1.0))
            self.view.addItem(text)
            self.texts.append(text)
            self._shown.append(None)  # (text, colour) it shows
        self._forms = [_label_forms(*label) for label in labels]
        self._colours = ["#1e7b34" if right else "#b03a2e" for *_, right in labels]
        for i, text in enumerate(self.texts[:len(labels)]):
            row, col = divmod(i, MONTAGE_COLUMNS)
            text.setPos(col * cell_w + width / 2, row * cell_h + label)
            text.setVisible(True)
        for text in self.texts[len(labels):]:
            text.setVisible(False)
        self._fit_labels()

    def _fit_labels(self) -> None:
        """Each label in the longest form that fits its image's width on screen."""
        if not self._forms or not self._cell[0]:
            return
        pixel = self.view.viewPixelSize()[0]  # data units per screen pixel
        room = self._cell[0] / pixel if pixel > 0 else float("inf")
        metrics = QFontMetrics(self.font())
        for i, (forms, colour) in enumerate(zip(self._forms, self._colours, strict=True)):
            shown = next((f for f in forms if metrics.horizontalAdvance(f) + 4 <= room),
                         forms[-1])
            if self._shown[i] != (shown, colour):
                self.texts[i].setText(shown, color=colour)
                self._shown[i] = (shown, colour)

    def labels(self) -> list[str]:
        """The full labels ("cat 87% ✓"), whatever the montage has room for."""
        return [forms[0] for forms in self._forms]

    def shown_labels(self) -> list[str]:
        return [shown[0] for shown in self._shown[:len(self._forms)]]


class KFoldPlot(_Plot):
    """Validation accuracy per epoch: one thin curve per fold, the mean and a ± std band."""

    def __init__(self) -> None:
        super().__init__("K-fold accuracy", "epoch", "validation accuracy")
        self.runs: dict[int, _RunItems] = {}
        self.drawn = DrawnKey()

    def sync(self, records: list[RunRecord], force: bool = False) -> None:
        kfold = [r for r in records if r.folds_total >= 2]
        keys = {r.id: (len(r.epochs), r.status) for r in kfold}
        titles = tuple((r.id, r.name, r.summary is not None) for r in kfold)
        if self.drawn.unchanged((tuple(keys.items()), titles)) and not force:
            return  # folds' curves change at epoch ends only
        wanted = {r.id for r in kfold}
        for run_id in list(self.runs):
            if run_id not in wanted:
                for item in self.runs.pop(run_id).curves.values():
                    self.removeItem(item)
        for record in kfold:
            items = self.runs.get(record.id)
            if items is None:
                items = self.runs[record.id] = self._create(record)
            key = keys[record.id]
            if force or items.extra_key != key:
                self._update(record, items)
                items.extra_key = key
        if kfold:
            self.manage_range(epoch_range(max(r.config.epochs for r in kfold)), (0.0, 1.0))
        summaries = [f"{r.name}: {100 * r.summary.mean_accuracy:.1f}% ± "
                     f"{100 * r.summary.std_accuracy:.1f}%" for r in kfold
                     if r.summary is not None]
        self.set_title("K-fold accuracy" + (f" — {summaries[-1]}" if len(summaries) == 1
                                            else ""))
        self.setToolTip("\n".join(f"{r.name}: {r.summary.text()}" for r in kfold
                                   if r.summary is not None))

    def _create(self, record: RunRecord) -> _RunItems:
        colour = run_colour(record.id)
        items = _RunItems()
        items.curves["folds"] = pg.PlotDataItem(pen=pg.mkPen(_with_alpha(colour, 110),
                                                             width=1), connect="finite")
        items.curves["mean"] = pg.PlotDataItem(pen=pg.mkPen(colour, width=2.6))
        items.curves["upper"] = pg.PlotDataItem(pen=pg.mkPen(None))
        items.curves["lower"] = pg.PlotDataItem(pen=pg.mkPen(None))
        band = pg.FillBetweenItem(items.curves["upper"], items.curves["lower"],
                                  brush=_with_alpha(colour, 50))
        items.curves["band"] = band
        for item in items.curves.values():
            self.addItem(item)
        return items

    def _update(self, record: RunRecord, items: _RunItems) -> None:
        by_fold: dict[int, dict[int, float]] = {}
        for e in record.epochs:
            if e.val_accuracy is not None:
                by_fold.setdefault(e.fold, {})[e.epoch] = e.val_accuracy
        xs, ys = [], []
        for fold in sorted(by_fold):
            points = sorted(by_fold[fold].items())
            xs += [p[0] for p in points] + [np.nan]
            ys += [p[1] for p in points] + [np.nan]
        items.curves["folds"].setData(np.array(xs, dtype=float), np.array(ys, dtype=float))
        epochs = sorted({epoch for values in by_fold.values() for epoch in values})
        mean, low, high, ex = [], [], [], []
        for epoch in epochs:
            values = [v[epoch] for v in by_fold.values() if epoch in v]
            if len(values) < 2:
                continue
            m, s = float(np.mean(values)), float(np.std(values))
            ex.append(epoch)
            mean.append(m)
            low.append(m - s)
            high.append(m + s)
        items.curves["mean"].setData(ex, mean)
        items.curves["upper"].setData(ex, high)
        items.curves["lower"].setData(ex, low)

    def band(self, run_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        items = self.runs[run_id]
        x, mean = items.curves["mean"].getData()
        _, high = items.curves["upper"].getData()
        return x, mean, high


class GapPlot(_Plot):
    """Validation minus training loss per epoch: overfitting shows as a growing gap, and
    each remedy (dropout, L2, more data, early stopping) as a smaller one."""

    def __init__(self) -> None:
        super().__init__("Overfitting gap", "epoch", "val − train loss")
        self.setToolTip("Above 0: the model does better on data it trained on than on data it "
                        "has not seen — it overfits. Dropout can push this below 0: training "
                        "loss is measured with units dropped. (Set K-fold k ≥ 2 to see the "
                        "folds here instead.)")
        self.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#999999", width=1)))
        self.runs: dict[int, pg.PlotDataItem] = {}
        self._keys: dict[int, tuple] = {}
        self.drawn = DrawnKey()

    def sync(self, records: list[RunRecord]) -> None:
        keys = {r.id: (len(r.epochs), r.status) for r in records}
        if self.drawn.unchanged(tuple(keys.items())):
            return  # the gap changes at epoch ends only
        wanted = {r.id for r in records}
        for run_id in list(self.runs):
            if run_id not in wanted:
                self.removeItem(self.runs.pop(run_id))
                self._keys.pop(run_id, None)
        low, high = 0.0, 0.0
        for record in records:
            curve = self.runs.get(record.id)
            if curve is None:
                curve = pg.PlotDataItem(pen=pg.mkPen(run_colour(record.id), width=2))
                self.addItem(curve)
                self.runs[record.id] = curve
            key = keys[record.id]
            if self._keys.get(record.id) != key:
                rows = [e for e in record.epochs if e.val_loss is not None]
                curve.setData([e.epoch for e in rows],
                              [e.val_loss - e.train_loss for e in rows])
                self._keys[record.id] = key
            _, y = curve.getData()
            if y is not None and len(y):
                low, high = min(low, float(np.nanmin(y))), max(high, float(np.nanmax(y)))
        if records:
            self.manage_range(epoch_range(max(r.config.epochs for r in records)),
                              (low, high if high > low else low + 0.1))


class TrainingPlots(QWidget):
    """The grid of plots plus the per-step display options."""

    def __init__(self) -> None:
        super().__init__()
        self.loss = MetricPlot("loss", "Loss (cross-entropy)", "loss")
        self.accuracy = MetricPlot("accuracy", "Accuracy", "accuracy")
        self.lr = LearningRatePlot()
        self.weights = WeightsPlot()
        self.boundary = BoundaryView()
        self.kfold = KFoldPlot()
        self.gap = GapPlot()
        self.corner = QStackedWidget()  # K-fold curves when a K-fold run is shown, else the gap
        self.corner.addWidget(self.gap)
        self.corner.addWidget(self.kfold)
        self.show_steps = QCheckBox("per step")
        self.show_steps.setChecked(True)
        self.show_steps.setToolTip("Draw every mini-batch's value (noisy: each batch is a "
                                   "different sample) as well as the per-epoch averages")
        self.smoothing = ParamSlider("EMA smoothing", 0.0, 0.99, 0.6, step=0.01, decimals=2,
                                     tooltip=("Exponential moving average of the per-step "
                                              "curves, as TensorBoard does it: 0 = raw, "
                                              "0.99 = very smooth (bias-corrected at the "
                                              "start)"))
        self.smoothing.label.setMinimumWidth(0)
        options = QHBoxLayout()
        options.setContentsMargins(0, 0, 0, 0)
        options.addWidget(self.show_steps)
        options.addWidget(self.smoothing, 1)
        key = caption("solid ━ validation per epoch · dashed ╍ training per epoch · thin: per "
                      "step (EMA over faint raw) · vertical lines: live changes, LR drops, "
                      "best / stop epoch", small=True)
        options.addWidget(key, 2)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        grid.addWidget(self.loss, 0, 0)
        grid.addWidget(self.accuracy, 0, 1)
        grid.addWidget(self.boundary, 0, 2)
        grid.addWidget(self.lr, 1, 0)
        grid.addWidget(self.weights, 1, 1)
        grid.addWidget(self.corner, 1, 2)
        for column in range(3):
            grid.setColumnStretch(column, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(options)
        layout.addLayout(grid, 1)
        # no setXLink: pyqtgraph links views by screen position, which only suits plots
        # stacked vertically; each plot sets the same epoch range itself

    def sync(self, records: list[RunRecord], focus: RunRecord | None, labels: dict[int, str],
             force: bool = False) -> None:
        self.sync_curves(records, focus, labels, force)
        self.sync_others(records, focus, force)

    def sync_curves(self, records: list[RunRecord], focus: RunRecord | None,
                    labels: dict[int, str], force: bool = False) -> None:
        """Loss and accuracy: what changes at every step."""
        for plot in (self.loss, self.accuracy):
            plot.smoothing = float(self.smoothing.value())
            plot.show_steps = self.show_steps.isChecked()
            plot.sync(records, labels, focus.id if focus else None, force)

    def sync_others(self, records: list[RunRecord], focus: RunRecord | None,
                    force: bool = False) -> None:
        """The views that change at epoch ends and snapshots."""
        self.sync_epoch_views(records, force)
        self.sync_snapshot_views(records, focus, force)

    def sync_epoch_views(self, records: list[RunRecord], force: bool = False) -> None:
        """Learning rate, and the gap or K-fold curves."""
        self.lr.sync(records, force)
        if any(r.folds_total >= 2 for r in records):
            self.corner.setCurrentWidget(self.kfold)
            self.kfold.sync(records, force)
        else:
            self.corner.setCurrentWidget(self.gap)
            self.gap.sync(records)

    def sync_snapshot_views(self, records: list[RunRecord], focus: RunRecord | None,
                            force: bool = False) -> None:
        """Weight histograms and the decision boundary / predictions."""
        if force:
            self.weights.drawn.reset()
            self.boundary.drawn.reset()
        self.weights.sync(records, focus)
        self.boundary.sync(records, focus)
