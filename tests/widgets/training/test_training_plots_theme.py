"""The live plots follow the light/dark theme, legend and mark labels included."""

import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from widgets.kit.theme import apply_theme
from widgets.training.plots import MetricPlot


def test_legend_and_mark_labels_follow_the_theme(qtbot):
    app = QApplication.instance()
    plot = MetricPlot("loss", "Loss", "loss")
    qtbot.addWidget(plot)
    curve = plot.plot([0, 1, 2], [1.0, 0.5, 0.25])
    plot.legend.addItem(curve, "#1: dropout 0")
    line = pg.InfiniteLine(pos=1, angle=90, label="best", labelOpts={"fill": (255, 255, 255)})
    plot.addItem(line)
    try:
        apply_theme(app, "dark")
        qtbot.wait(10)
        text = plot.palette().color(plot.palette().ColorRole.Text)
        assert text.lightness() > 128  # light text on a dark theme
        assert plot.legend.brush().color().lightness() < 128
        assert plot.legend.opts["labelTextColor"].lightness() > 128
        assert pg.mkColor(plot.legend.items[0][1].opts["color"]).lightness() > 128
        assert line.label.fill.color().lightness() < 128
    finally:
        apply_theme(app, "light")
    qtbot.wait(10)
    assert plot.legend.brush().color().lightness() > 128
    assert line.label.fill.color().lightness() > 128
