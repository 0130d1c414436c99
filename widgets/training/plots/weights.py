"""Weight histograms per layer (L1 sparsity vs L2 shrinkage)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QVBoxLayout,
    QWidget,
)

from lab.training.runs import RunRecord
from widgets.kit.controls import ChoiceBox, caption, set_text
from widgets.training.plots.base import DrawnKey, _Plot, _with_alpha, run_colour


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
