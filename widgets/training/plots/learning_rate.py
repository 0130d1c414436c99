"""The learning rate of each run, epoch by epoch (schedulers and live changes show as steps)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from lab.training.runs import RunRecord
from widgets.training.plots.base import DrawnKey, _fold_breaks, _Plot, epoch_range, run_colour
from widgets.training.plots.curves import _RunItems


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
