"""The Training lab's live plots, drawn from `RunRecord`s.

Six views, each able to overlay several runs (one colour per run, the same in every
view): loss and accuracy (per step with EMA smoothing, and per epoch), learning rate,
weight histogram per layer, the decision boundary of 2-D sets (or the same validation
images' predictions for image sets) in eval() or train() mode, and K-fold curves per
fold with the mean ± std band. Live changes, LR drops, the best and the stop epoch are
marked with vertical lines.

Items are created once per run and updated only when what they show changed (the run's
revision, a new epoch, a new snapshot), so a redraw during training costs little.

One module per plot kind (`metric`, `learning_rate`, `weights`, `boundary`, `predictions`,
`kfold`, `gap`; shared pieces in `base` and `curves`); this package's `TrainingPlots` lays
them out, and re-exports what the panel and the tests import.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from lab.training.runs import RunRecord
from widgets.kit.controls import ParamSlider, caption, fix_lines, set_text
from widgets.training.plots.base import (
    CLASS_COLOURS,
    LEFT_AXIS_WIDTH,
    LEGEND_MIN_SIZE,
    MARK_STYLE,
    RUN_COLOURS,
    STEP_PIECE_MIN,
    STEP_PIECES,
    SYMBOLS_UP_TO,
    DrawnKey,
    epoch_range,
    run_colour,
)
from widgets.training.plots.boundary import BoundaryView, boundary_lines, boundary_rgb
from widgets.training.plots.curves import StepCurve, StepPiece
from widgets.training.plots.gap import GapPlot
from widgets.training.plots.kfold import KFoldPlot
from widgets.training.plots.learning_rate import LearningRatePlot
from widgets.training.plots.metric import MetricPlot
from widgets.training.plots.predictions import (
    MONTAGE_COLUMNS,
    MONTAGE_ROWS,
    PredictionMontage,
)
from widgets.training.plots.weights import WeightsPlot


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
        self.log_loss = QCheckBox("log loss")
        self.log_loss.setToolTip("Draw the loss on a logarithmic axis (each tick ×10): a "
                                 "run whose loss spans decades, or one that diverged, "
                                 "no longer flattens the others")
        self.log_loss.toggled.connect(self.loss.set_log_y)
        self.smoothing = ParamSlider("EMA smoothing", 0.0, 0.99, 0.6, step=0.01, decimals=2,
                                     tooltip=("Exponential moving average of the per-step "
                                              "curves, as TensorBoard does it: 0 = raw, "
                                              "0.99 = very smooth (bias-corrected at the "
                                              "start)"))
        self.smoothing.label.setMinimumWidth(0)
        options = QHBoxLayout()
        options.setContentsMargins(0, 0, 0, 0)
        options.addWidget(self.show_steps)
        options.addWidget(self.log_loss)
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


__all__ = ["BoundaryView", "CLASS_COLOURS", "DrawnKey", "GapPlot", "KFoldPlot", "LEFT_AXIS_WIDTH",
           "LEGEND_MIN_SIZE", "LearningRatePlot", "MARK_STYLE", "MONTAGE_COLUMNS", "MONTAGE_ROWS",
           "MetricPlot", "PredictionMontage", "RUN_COLOURS", "STEP_PIECES", "STEP_PIECE_MIN",
           "SYMBOLS_UP_TO", "StepCurve", "StepPiece", "TrainingPlots", "WeightsPlot",
           "_label_forms",
           "boundary_lines", "boundary_rgb", "epoch_range", "fix_lines", "run_colour", "set_text"]
