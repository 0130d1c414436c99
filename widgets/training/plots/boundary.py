"""The decision boundary of 2-D sets in eval() or train() mode, or the predictions on validation
images for image sets."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from lab.training import format_value
from lab.training.runs import RunRecord
from widgets.kit.controls import ElidedLabel, caption, set_text
from widgets.training.plots.base import CLASS_COLOURS, DrawnKey, _Plot, run_colour
from widgets.training.plots.predictions import MONTAGE_COLUMNS, MONTAGE_ROWS, PredictionMontage


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
        self.previewing_images = False  # no run shown: an image set's samples are
        self.train_mode.toggled.connect(self.modeToggled)

    # -- drawing ---------------------------------------------------------------------
    def show_points(self, x: np.ndarray | None, y: np.ndarray | None) -> None:
        """The data set's points (coloured by class) — also before any run exists."""
        self.previewing_images = False
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

    def show_samples(self, images: np.ndarray | None, names: list[str]) -> None:
        """An image data set before any run: its first images with their true classes
        (`images` None: a set that is not read yet — the montage stays empty)."""
        self.show_points(None, None)
        self.heatmap.clear()  # no old boundary under a later points preview
        self._image.reset()  # a run's predictions are drawn again when it is shown
        self.previewing_images = True
        self.stack.setCurrentWidget(self.images)
        if images is None:
            self.images.clear()
        else:
            count = min(MONTAGE_COLUMNS * MONTAGE_ROWS, len(images))
            self.images.set_images(images[:count])
            self.images.set_names(names[:count])

    def sync(self, records: list[RunRecord], focus: RunRecord | None,
             preview: str = "") -> None:
        """`preview`: with no run to show, what the caption says about the form's data."""
        train_mode = self.train_mode.isChecked()
        # new boundaries and predictions come once an epoch: skip the redraws between
        if focus is None:
            values: tuple = (train_mode, tuple(r.id for r in records), preview)
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
        if focus is not None or not self.previewing_images:
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
            set_text(self.caption, preview or (
                "Press Start to train: the background will show which class the model "
                "predicts everywhere in the plane."))
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
