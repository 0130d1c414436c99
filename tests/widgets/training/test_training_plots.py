"""The per-step curves are drawn in pieces, so a redraw during training repaints little."""

import numpy as np
import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsPathItem

from lab.data import DataConfig
from lab.training import TrainConfig
from lab.training.events import LayerHistogram, StepMetrics, WeightSnapshot
from lab.training.runs import RunRecord
from widgets.training.plots import STEP_PIECES, DrawnKey, MetricPlot, StepCurve, WeightsPlot


def make_curve(qtbot, expected=300):
    plot = MetricPlot("loss", "Loss", "loss")
    qtbot.addWidget(plot)
    plot.resize(500, 300)
    plot.setXRange(0, 40, padding=0)
    plot.setYRange(-1, 3, padding=0)
    return plot, StepCurve(plot, QColor("red"), 1, expected)


def series(n):
    x = np.arange(n, dtype=float) / 10
    return x, 1 + np.sin(x)


def test_the_pieces_show_the_whole_series_and_an_appended_step_resets_only_the_newest(qtbot):
    plot, curve = make_curve(qtbot)
    x, y = series(100)
    curve.set(x, y)
    shown_x, shown_y = curve.data()
    np.testing.assert_array_equal(shown_x, x)
    np.testing.assert_array_equal(shown_y, y)
    assert len(curve.pieces) == 4  # 32 points a piece (3 × 32 + shared ends)

    changed = []
    for index, piece in enumerate(curve.pieces):
        def recording(x, y, piece=piece, index=index, set_points=piece.set_points):
            changed.append(index)
            set_points(x, y)
        piece.set_points = recording
    x, y = series(110)
    curve.set(x, y)
    assert changed == [3]  # the finished pieces keep their path
    np.testing.assert_array_equal(curve.data()[1], y)


def test_a_rebuild_replaces_every_piece_and_a_long_series_stays_in_few_pieces(qtbot):
    _plot, curve = make_curve(qtbot, expected=0)
    x, y = series(150)
    curve.set(x, y)
    curve.set(x, y * 0.5, rebuild=True)  # a new smoothing changes every point
    np.testing.assert_array_equal(curve.data()[1], y * 0.5)
    x, y = series(20_000)  # far more steps than foreseen
    curve.set(x, y)
    filled = [p for p in curve.pieces if len(p.xs)]
    assert len(filled) <= 2 * STEP_PIECES + 1
    np.testing.assert_array_equal(curve.data()[0], x)
    curve.set(x[:10], y[:10])  # fewer points (a new series): the extra pieces empty
    np.testing.assert_array_equal(curve.data()[0], x[:10])
    curve.clear()
    assert len(curve.data()[0]) == 0


def test_drawn_key_compares_values_and_holds_snapshots_by_identity():
    key = DrawnKey()
    first = np.zeros(3)
    assert not key.unchanged(("a", 1), (first,))
    assert key.unchanged(("a", 1), (first,))
    assert not key.unchanged(("a", 1), (np.zeros(3),))  # equal content, a new snapshot
    assert not key.unchanged(("a", 2), (key.objects[0],))
    held = key.objects[0]
    key.reset()
    assert not key.unchanged(("a", 2), (held,))


def _snapshot(epoch: int, scale: float) -> WeightSnapshot:
    edges = np.linspace(-1, 1, 5)
    layer = LayerHistogram("fc.weight", np.array([1.0, 3.0, 3.0, 1.0]) * scale, edges,
                           0.1, 0.4)
    return WeightSnapshot(0, epoch, (layer,))


def test_the_weights_view_redraws_for_a_new_snapshot_and_skips_redraws_without_one(qtbot):
    view = WeightsPlot()
    qtbot.addWidget(view)
    record = RunRecord(1, "#1", TrainConfig(data=DataConfig("moons")))
    record.apply(_snapshot(1, 1.0))
    view.sync([record], record)
    curve = view.curves[record.id]
    calls = []
    original = curve.setData
    curve.setData = lambda *a, **k: (calls.append(1), original(*a, **k))
    caption = view.caption.text()
    fitted = []
    view.plot.manage_range = lambda *a, **k: fitted.append(a)
    for _ in range(3):  # steps arrived, no new histogram
        record.apply(StepMetrics(0, 2, 11, 1.5, 0.5, 0.8, 0.01, 0.0, 100.0, 1.0, 0.5))
        view.sync([record], record)
    assert calls == [] and fitted == []
    record.apply(_snapshot(2, 2.0))  # the same shares, but a new epoch's histogram
    view.sync([record], record)
    assert calls == [1] and len(fitted) == 1
    np.testing.assert_allclose(curve.getData()[1], [0.125, 0.375, 0.375, 0.125])
    view.log_scale.setChecked(True)
    view.refresh()
    view.sync([record], record)
    assert calls == [1, 1] and view.caption.text() == caption


def test_step_pieces_are_drawn_by_qt_alone_with_the_points_as_bounds(qtbot):
    plot, curve = make_curve(qtbot)
    x, y = series(60)
    curve.set(x, y)
    piece = curve.pieces[0]
    # no Python paint()/boundingRect(): a repaint needs no GIL for them
    assert type(piece).paint is QGraphicsPathItem.paint
    assert type(piece).boundingRect is QGraphicsPathItem.boundingRect
    assert piece.pen().widthF() == 0  # a hairline: bounds are the points, not a stroke
    bounds = piece.boundingRect()
    assert bounds.left() == pytest.approx(0) and bounds.right() == pytest.approx(x[32])
    assert bounds.top() == pytest.approx(y[:33].min())
    assert bounds.bottom() == pytest.approx(y[:33].max())
    plot.show()
    qtbot.waitExposed(plot)
    image = plot.grab().toImage()
    red = sum(1 for px in range(image.width()) for py in range(image.height())
              if image.pixelColor(px, py).red() > 200 and image.pixelColor(px, py).green() < 80)
    assert red > 100  # the curve is on screen


def test_the_loss_legend_box_shows_only_in_a_plot_with_room_for_it(qtbot):
    """The panel's header names the runs; a legend box in a small plot would hide data."""
    loss, accuracy = MetricPlot("loss", "Loss", "loss"), MetricPlot("accuracy", "Acc", "acc")
    for plot in (loss, accuracy):
        qtbot.addWidget(plot)
        plot.show()
    loss.resize(600, 400)
    accuracy.resize(600, 400)
    qtbot.waitUntil(lambda: loss.legend.isVisible())
    assert not accuracy.legend.isVisible()
    loss.resize(250, 180)
    qtbot.waitUntil(lambda: not loss.legend.isVisible())


def test_prediction_labels_shorten_instead_of_overlapping(qtbot):
    from widgets.training.plots import PredictionMontage

    montage = PredictionMontage()
    qtbot.addWidget(montage)
    montage.resize(900, 600)
    montage.show()
    montage.set_images(np.zeros((12, 28, 28), dtype=np.uint8))
    labels = [("Ankle boot", 0.87, True)] + [("triangle", 0.4, False)] * 11
    montage.set_labels(labels)
    qtbot.wait(20)
    assert montage.shown_labels()[0] == "Ankle boot 87% ✓"  # room for the whole label
    montage.resize(160, 120)
    qtbot.waitUntil(lambda: montage.shown_labels()[0] in ("Ankle boot ✓", "✓"))
    assert montage.shown_labels()[1] in ("triangle ✗", "✗")
    assert montage.labels()[0] == "Ankle boot 87% ✓"  # the full texts stay available


def test_a_diverged_run_does_not_flatten_the_others_and_x_follows_the_data(qtbot):
    from lab.training.events import EpochMetrics

    plot = MetricPlot("loss", "Loss (cross-entropy)", "loss")
    qtbot.addWidget(plot)
    calm = RunRecord(1, "#1", TrainConfig(data=DataConfig("moons"), epochs=300))
    wild = RunRecord(2, "#2", TrainConfig(data=DataConfig("moons"), epochs=300))
    for epoch in range(1, 31):  # both stopped at epoch 30 of 300 (early stopping)
        calm.apply(EpochMetrics(0, epoch, 0.5, 0.8, 0.6, 0.8, 0.1, 0.1, epoch, 100.0))
        wild.apply(EpochMetrics(0, epoch, 4e10, 0.5, 4e10, 0.5, 0.1, 0.1, epoch, 100.0))
    calm.status = wild.status = "early_stopped"
    plot.sync([calm, wild], {}, None)
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    assert y1 < 10  # the calm run's 0.5–0.6 fills the plot
    assert "off the scale: #2" in plot.getPlotItem().titleLabel.text
    assert x1 < 40  # 30 epochs reached, not the 300 planned


def _loss_run(epochs: int = 30, best: int = 5, stop: int = 6) -> RunRecord:
    from lab.training.events import EpochMetrics

    record = RunRecord(1, "#1", TrainConfig(data=DataConfig("moons"), epochs=epochs))
    for epoch in range(1, stop + 1):
        loss = 10.0 ** (1 - epoch)  # 1, 0.1, 0.01, …: decades apart
        for step in range(4):
            record.apply(StepMetrics(0, epoch, 4 * epoch + step, epoch - 1 + (step + 1) / 4,
                                     loss, 0.8, 0.1, 0.0, 100.0, 1.0, epoch / epochs))
        record.apply(EpochMetrics(0, epoch, loss, 0.8, loss, 0.8, 0.1, 0.1, best, 100.0))
    record.status = "early_stopped"
    record.best_epoch, record.stop_epoch = best, stop
    return record


def test_the_log_loss_box_puts_the_loss_on_a_log_axis_and_the_curves_follow(qtbot):
    from widgets.training.plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(1200, 600)
    record = _loss_run()
    plots.sync_curves([record], record, {})
    assert not plots.loss.getPlotItem().ctrl.logYCheck.isChecked()
    plots.log_loss.setChecked(True)
    plots.sync_curves([record], record, {}, force=True)
    assert plots.loss.getPlotItem().ctrl.logYCheck.isChecked()
    items = plots.loss.runs[record.id]
    epoch_x, epoch_y = items.curves["val"].getData()  # as drawn: log10 of the losses
    assert np.allclose(epoch_y, np.log10([10.0 ** (1 - e) for e in range(1, 7)]))
    step_x, step_y = items.steps["raw"].data()
    assert np.allclose(step_y[:4], 0.0) and np.allclose(step_y[-4:], -5.0)
    (_x0, _x1), (y0, y1) = plots.loss.getViewBox().viewRange()
    assert y0 <= -5.0 and 0.0 <= y1 < 2  # every decade in view, in log units
    plots.log_loss.setChecked(False)
    plots.sync_curves([record], record, {}, force=True)
    assert np.allclose(items.steps["raw"].data()[1][:4], 1.0)


def test_labels_of_marks_at_neighbouring_epochs_do_not_overlap(qtbot):
    plot = MetricPlot("loss", "Loss (cross-entropy)", "loss")
    qtbot.addWidget(plot)
    plot.resize(500, 300)
    plot.show()
    qtbot.waitExposed(plot)
    record = _loss_run(epochs=300, best=59, stop=60)  # x shows the 60 epochs reached
    plot.sync([record], {}, record.id)
    qtbot.wait(10)
    labels = [line.label for line in plot.runs[record.id].marks if line.isVisible()]
    assert sorted(label.format for label in labels) == ["best", "stop"]
    first, second = (label.sceneBoundingRect() for label in labels)
    assert first.width() > 0 and not first.intersects(second)
    inside = plot.getViewBox().sceneBoundingRect()
    for rect in (first, second):  # the last epoch's label hangs left of its line, in view
        assert inside.contains(rect)
    plot.resize(600, 400)  # room for the legend box: it stays clear of the labels
    qtbot.waitUntil(lambda: plot.legend.isVisible())
    plot.grab()
    legend = plot.legend.sceneBoundingRect()
    for label in labels:
        assert not legend.intersects(label.sceneBoundingRect())
