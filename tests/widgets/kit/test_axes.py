import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage, QPainter

from widgets.kit.axes import SparseLabelAxis


def _label_rects(plot: pg.PlotWidget) -> list:
    axis = plot.getAxis("left")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [(rect, text) for rect, _flags, text in texts]


def _overlaps(rects) -> int:
    return sum(a.intersects(b) for i, (a, _) in enumerate(rects) for b, _ in rects[i + 1:])


def test_log_axis_labels_never_overlap_and_decades_stay(qtbot):
    """The Regularization panel's MSE axes (0.02 … 0.6 in ~250 px) printed 0.07, 0.08,
    0.09 and 0.1 over each other."""
    plots = []
    for axis in (pg.AxisItem("left"), SparseLabelAxis("left")):
        plot = pg.PlotWidget(axisItems={"left": axis})
        qtbot.addWidget(plot)
        plot.resize(320, 250)
        plot.setLogMode(y=True)
        plot.plot(np.arange(20), np.geomspace(0.02, 0.6, 20))
        plot.show()
        qtbot.wait(20)
        plots.append(plot)
    plain, sparse = (_label_rects(p) for p in plots)
    assert _overlaps(plain) > 0  # what pyqtgraph draws on its own
    assert _overlaps(sparse) == 0
    assert "0.1" in {text for _, text in sparse}  # the decade wins over its neighbours
    assert {text for _, text in sparse} < {text for _, text in plain}
