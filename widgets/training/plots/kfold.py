"""K-fold cross-validation: a curve per fold and the mean ± std band."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from lab.training.runs import RunRecord
from widgets.training.plots.base import DrawnKey, _Plot, _with_alpha, epoch_range, run_colour
from widgets.training.plots.curves import _RunItems


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
