"""Loss and accuracy: per step (EMA over the faint raw values) and per epoch, with marks for
live changes, LR drops and the best / stop epoch."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from lab.training.runs import RunRecord, ema
from widgets.training.plots.base import (
    LEGEND_MIN_SIZE,
    MARK_STYLE,
    SYMBOLS_UP_TO,
    _fold_breaks,
    _Plot,
    _with_alpha,
    epoch_range,
    run_colour,
)
from widgets.training.plots.curves import StepCurve, _RunItems

#: a run whose highest loss is this many times the lowest run's highest is off the scale
OFF_SCALE_FACTOR = 100.0
MARK_LABEL_TOP = 0.96  # the marks' labels hang from near the top of the view…
MARK_LABEL_ROWS = 4  # …in up to this many rows, so labels of close lines do not collide
MARK_LABEL_GAP_PX = 4


def label_rows(spans: list[tuple[float, float]], gap: float) -> list[int]:
    """The row of each label (given as its left, right x, sorted by left): the first row
    whose last label ends more than `gap` before it, so neighbours stack instead of
    overlapping (rows past MARK_LABEL_ROWS reuse the last one)."""
    ends: list[float] = []
    rows = []
    for left, right in spans:
        row = next((r for r, end in enumerate(ends) if end + gap < left), len(ends))
        row = min(row, MARK_LABEL_ROWS - 1)
        if row == len(ends):
            ends.append(right)
        else:
            ends[row] = max(ends[row], right) if row == MARK_LABEL_ROWS - 1 else right
        rows.append(row)
    return rows


def log_values(y: np.ndarray) -> np.ndarray:
    """log10 of the values for a log axis; zero or negative ones become gaps (NaN)."""
    y = np.asarray(y, dtype=np.float64)
    out = np.full(y.shape, np.nan)
    positive = y > 0
    out[positive] = np.log10(y[positive])
    return out


def shown_epochs(record: RunRecord) -> int:
    """Epochs the x axis needs for a run: all planned while it runs, the ones it reached
    once it has ended (early stopping, Stop, divergence)."""
    if record.status == "running" or not record.epochs:
        return record.config.epochs
    return max(1, max(e.epoch for e in record.epochs))


def off_scale_runs(records: list[RunRecord], highs: dict[int, float]) -> list[int]:
    """Runs to leave out of the loss range: diverged ones, and ones whose loss is
    OFF_SCALE_FACTOR times the calmest run's (never all of them)."""
    if len(highs) < 2:
        return []
    calm = min(highs.values())
    out = [r.id for r in records if r.id in highs and (
        r.status == "diverged" or highs[r.id] > OFF_SCALE_FACTOR * max(calm, 1e-6))]
    return [] if len(out) == len(highs) else out


class MetricPlot(_Plot):
    """Loss or accuracy over epochs: per step (raw, faint; EMA, thin) and per epoch
    (training dashed, validation solid), with marks."""

    def __init__(self, metric: str, title: str, y_label: str) -> None:
        super().__init__(title, "epoch", y_label)
        self.base_title = title
        self.off_scale: list[int] = []
        self.quantity = metric  # not "metric": that would hide QPaintDevice.metric()
        self.runs: dict[int, _RunItems] = {}
        self.smoothing = 0.6
        if metric == "accuracy":
            self.setYRange(0, 1.02, padding=0)
        self.show_steps = True
        self.log_y = False  # a log loss axis (set_log_y)
        # below the strip where the marks' labels ("best", "LR↓") sit
        self.legend = self.addLegend(offset=(-6, 26), labelTextSize="8pt")
        self._follow_palette()  # the legend's colours
        self._legend_wanted = metric == "loss"
        self.legend.setVisible(False)  # see resizeEvent
        # the marks' labels are spaced in pixels: a zoom or a resize changes what collides
        self.getViewBox().sigXRangeChanged.connect(self._stagger_labels)
        self.getViewBox().sigResized.connect(self._stagger_labels)

    def set_log_y(self, on: bool) -> None:
        """A log10 loss axis: losses that span decades (a diverging run, the first epochs)
        all stay readable. The per-step pieces are plain Qt paths, which pyqtgraph does not
        transform, so they are drawn in log10 units here; the caller redraws with force."""
        if on == self.log_y:
            return
        self.log_y = on
        self.setLogMode(y=on)
        self._user_zoomed = False  # the old range is in the other units
        for items in self.runs.values():
            items.revision = -1

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
        # the x axis follows the data: a run stopped early at 30 of 300 epochs is not
        # squeezed into the left tenth
        epochs = max(shown_epochs(r) for r in records)
        if self.quantity == "accuracy":
            self.manage_range(epoch_range(epochs), (0.0, 1.0))
            return
        highs, lows = {}, {}
        for record in records:
            values = [v for e in record.epochs for v in (e.train_loss, e.val_loss)
                      if v is not None and np.isfinite(v) and (v > 0 or not self.log_y)]
            if len(record.steps) and self.show_steps:
                steps = record.steps.column("loss")
                finite = steps[np.isfinite(steps) & ((steps > 0) | (not self.log_y))]
                if len(finite):
                    values += [float(finite.max()), float(finite.min())]
            if values:
                highs[record.id] = max(values)
                lows[record.id] = min(values)
        # one diverged run (loss 4·10¹⁰) flattened every other curve: the range follows
        # the others, and the title says which runs are off the scale
        self.off_scale = off_scale_runs(records, highs)
        kept = [i for i in highs if i not in self.off_scale]
        names = {r.id: r.name for r in records}
        self.set_title(self.base_title + ("" if not self.off_scale else
                       " — off the scale: " + ", ".join(names[i] for i in self.off_scale)))
        if kept and self.log_y:  # the view's y is log10(loss)
            self.manage_range(epoch_range(epochs), (np.log10(min(lows[i] for i in kept)),
                                                    np.log10(max(highs[i] for i in kept))))
        elif kept:
            self.manage_range(epoch_range(epochs), (min(0.0, min(lows[i] for i in kept)),
                                                    max(highs[i] for i in kept)))
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
            items.steps["raw"].set(x, log_values(y) if self.log_y else y, rebuild=force)
            smooth = ema(steps.column(column), self.smoothing, folds)
            sx, sy = _fold_breaks(folds, steps.column("position"), smooth)
            if self.log_y:
                sy = log_values(sy)
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
        self._stagger_labels()

    def _stagger_labels(self, *_args) -> None:
        """Hang the labels of lines that are close on screen at different heights, so
        "best", "stop" and "LR↓" of neighbouring epochs do not print over each other."""
        view = self.getViewBox()
        pixel_x, _pixel_y = view.viewPixelSize()
        height = view.height()
        if pixel_x <= 0 or height <= 0:
            return
        lines = sorted((line for items in self.runs.values() for line in items.marks
                        if line.isVisible() and line.label.isVisible()),
                       key=lambda line: line.value())
        if not lines:
            return
        right_edge = view.viewRange()[0][1]
        placed = []  # (left, right, line, anchor): a label that would run past the right
        for line in lines:  # edge hangs to the left of its line instead of being cut
            width = line.label.boundingRect().width() * pixel_x
            left_side = line.value() + width > right_edge
            anchor = (1, 0) if left_side else (0, 0)
            start = line.value() - width if left_side else line.value()
            placed.append((start, start + width, line, anchor))
        placed.sort(key=lambda item: item[0])
        rows = label_rows([(left, right) for left, right, _, _ in placed],
                          MARK_LABEL_GAP_PX * pixel_x)
        label_height = max(line.label.boundingRect().height() for line in lines) + 1
        step = label_height / height
        # the legend box sits below the labels' rows, not over the lower ones
        legend_y = max(26, round((1 - MARK_LABEL_TOP) * height + (max(rows) + 1) * label_height
                                 + 4))
        if tuple(self.legend.opts["offset"]) != (-6, legend_y):
            self.legend.setOffset((-6, legend_y))
        for (_left, _right, line, anchor), row in zip(placed, rows, strict=True):
            position = max(0.0, MARK_LABEL_TOP - row * step)
            if abs(line.label.orthoPos - position) > 1e-9 or line.label.anchors[0] != anchor:
                line.label.anchors = [anchor, anchor]
                line.label.setPosition(position)

    def mark_kinds(self, run_id: int) -> list[str]:
        items = self.runs.get(run_id)
        return [line.mark_kind for line in items.marks if line.mark_kind] if items else []
