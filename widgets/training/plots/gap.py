"""The generalisation gap: validation minus training loss, epoch by epoch."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from lab.training.runs import RunRecord
from widgets.training.plots.base import DrawnKey, _Plot, epoch_range, run_colour


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
