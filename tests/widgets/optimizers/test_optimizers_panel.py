"""The Optimizers panel: what a user sees after each click."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPoint, QPointF, Qt

from lab.optimizers import rates, surfaces, trajectories
from lab.optimizers.examples import examples
from lab.optimizers.view import OptimizerSettings, OptimizersView
from lab.params import from_data, to_data
from widgets.kit.panel import AppState
from widgets.optimizers.panel import OptimizersPanel


@pytest.fixture(scope="module")
def shared_panel(qapp):
    """One panel for the module (building it is most of a test's time); each test starts
    from the default view, whose trajectories are cached by then."""
    widget = OptimizersPanel(AppState())
    widget.resize(1280, 740)
    widget.show()
    yield widget
    widget.shutdown()
    widget.close()
    widget.deleteLater()
    qapp.processEvents()


@pytest.fixture
def panel(shared_panel, qtbot):
    shared_panel.set_params(OptimizersView())
    shared_panel.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: shared_panel.has_drawn() and shared_panel.is_idle()
                    and not shared_panel.pending_parts()
                    and len(shared_panel._runs) == len(shared_panel._wanted), timeout=30000)
    return shared_panel


def settle(panel, qtbot):
    qtbot.waitUntil(lambda: panel.is_idle() and not panel.pending_parts(), timeout=30000)


def test_first_view_shows_sgd_stuck_and_momentum_through(panel):
    assert set(panel._runs) == {"sgd", "momentum", "adam"}
    xs, ys = panel.map.paths["momentum"].getData()
    assert xs[-1] == pytest.approx(-1.5257, abs=0.01)
    assert "SGD → (1.27, 0.0176) = minimum (1.27, 0)" in panel.summary.text()
    assert "SGD + momentum → (-1.53" in panel.summary.text()
    view = panel.params()
    expected = trajectories.run(surfaces.preset("local_minimum"), view, view.settings("sgd"))
    np.testing.assert_array_equal(panel._runs["sgd"].points, expected.points)


def test_changing_one_lr_reruns_that_optimizer_only(panel, qtbot):
    cached = len(panel._cache)
    panel.editing.setValue("sgd")
    panel.hyper["lr"].setValue(0.05)
    settle(panel, qtbot)
    assert len(panel._cache) == cached + 1
    assert panel.params().settings("sgd").lr == 0.05
    assert panel.params().settings("momentum").lr == 0.02


def test_click_on_the_map_sets_the_start(panel, qtbot):
    view_box = panel.map.getViewBox()
    scene_point = view_box.mapViewToScene(QPointF(-2.0, -1.0))
    widget_point = panel.map.mapFromScene(scene_point)
    qtbot.mouseClick(panel.map.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(widget_point.x(), widget_point.y()))
    settle(panel, qtbot)
    x, y = panel.params().start
    assert x == pytest.approx(-2.0, abs=0.05) and y == pytest.approx(-1.0, abs=0.05)
    assert panel._runs["sgd"].points[0] == pytest.approx([x, y])


def test_step_reset_and_memory_arrows(panel, qtbot):
    panel.reset.click()
    assert panel.step_label.text() == "step 0 / 200"
    panel.step_button.click()
    panel.step_button.click()
    assert panel.step_label.text() == "step 2 / 200"
    xs, _ = panel.map.paths["sgd"].getData()
    assert len(xs) == 3
    # gradient arrows for all three, velocity for momentum and Adam, a scale box for Adam
    gx, _ = panel.map.arrows["gradient"].getData()
    vx, _ = panel.map.arrows["velocity"].getData()
    assert len(gx) == 6 and len(vx) == 4
    assert "step scale lr/(√v+ε) at step 2: Adam x" in panel.memory_text.text()
    panel.step_slider.setValue(190)
    panel.play.click()
    qtbot.waitUntil(lambda: panel.step_label.text() == "step 200 / 200", timeout=20000)
    assert panel.play.text() == "Play"


def test_examples_round_trip_and_show_their_point(panel, qtbot):
    example = examples()[31].params
    panel.set_params(example)
    settle(panel, qtbot)
    assert panel.params() == example
    assert from_data(OptimizersView, json.loads(json.dumps(to_data(panel.params())))) == example
    assert panel._runs["sgd"].lr_drops()
    assert len(panel.plots.drops.data) == len(panel._runs["sgd"].lr_drops())
    assert "σ/√B = 1/√2" in panel.noise_caption.text()


def test_bad_settings_show_a_message_and_keep_the_last_result(panel, qtbot):
    before = panel._runs["sgd"]
    bad = OptimizersView().with_settings(OptimizerSettings("nesterov", True, momentum=0.0))
    panel.set_params(bad)
    settle(panel, qtbot)
    assert any("Nesterov needs momentum" in p for p in panel.banner.problems())
    assert panel._runs["sgd"] is before


def test_basin_tab_maps_where_starts_end(panel, qtbot):
    panel.basin_resolution.setValue(12)
    panel.basin_steps.setValue(100)
    panel.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel._basin is not None and panel.is_idle(), timeout=30000)
    counts = panel._basin.counts()
    assert set(counts) <= {0, 1, -1, -2} and counts.get(1, 0) > 0
    assert "%" in panel.basin_caption.text()


def test_rate_tab_compares_prediction_and_measurement(panel, qtbot):
    view = dataclasses.replace(OptimizersView(surface="quadratic", condition=10.0,
                                              start=(-1.8, 1.5), steps=400),
                               editing="momentum")
    view = view.with_settings(OptimizerSettings("momentum", True, lr=0.5, momentum=0.5))
    panel.set_params(view)
    panel.tabs.setCurrentIndex(2)
    settle(panel, qtbot)
    predicted = float(rates.predicted_rate(0.5, 0.5, 10.0))
    text = panel.rate_caption.text()
    assert f"predicted rate {predicted:.4f}" in text and "measured" in text
    measured = float(text.split("measured ")[1].split(" ")[0])
    assert measured == pytest.approx(predicted, rel=0.02)


def test_code_tab_and_csv_show_the_trajectories(panel, qtbot):
    panel.tabs.setCurrentIndex(3)  # the code is written when its tab is shown
    settle(panel, qtbot)
    assert "torch.optim.SGD(params, lr=0.02, momentum=0.9" in panel.code.code()
    csv = panel.trajectories_csv().splitlines()
    assert csv[0] == "step,optimizer,x,y,f,lr" and len(csv) == 1 + 3 * 201


@settings(max_examples=3)
@given(batch=st.integers(0, 64), steps=st.integers(1, 30), lr=st.floats(1e-4, 3.0),
       surface=st.sampled_from(["quadratic", "rosenbrock", "beale", "saddle", "himmelblau"]))
def test_any_control_values_give_a_result_or_a_message(panel, qtbot, batch, steps, lr, surface):
    panel.surface.setValue(surface)
    panel.steps.setValue(steps * 10)
    panel.batch.setValue(batch)
    panel.editing.setValue("momentum")
    panel.hyper["lr"].setValue(lr)
    settle(panel, qtbot)
    assert set(panel._runs) == {"sgd", "momentum", "adam"}
    assert panel.summary.text().startswith(f"After {steps * 10} steps")


@pytest.mark.slow
def test_own_formula_is_read_safely(panel, qtbot):
    panel.surface.setValue("custom")
    panel.formula.setText("x^2 + 3y^2")
    panel.use_formula.click()
    qtbot.waitUntil(lambda: panel._surface is not None and panel._surface.name == "custom"
                    and panel.is_idle(), timeout=60000)
    assert len(panel._surface.minima) == 1
    assert panel._surface.minima[0] == pytest.approx((0.0, 0.0), abs=1e-4)
    panel.formula.setText("__import__('os').system('echo hacked')")
    panel.use_formula.click()
    qtbot.waitUntil(lambda: bool(panel.banner.problems()), timeout=60000)
    assert "not allowed" in panel.banner.problems()[0]
    assert panel._surface.title == "f(x, y) = x^2 + 3y^2"


def test_a_saved_start_on_another_surface_is_kept(panel, qtbot):
    # choosing the surface moves the start to its default: set_params must not let it
    view = OptimizersView(surface="himmelblau", start=(1.25, -2.5))
    assert panel.set_params(view), panel.problems()
    settle(panel, qtbot)
    assert panel.params().start == (1.25, -2.5)
    assert panel.params() == view


def test_hyper_parameters_the_sliders_cannot_show_are_refused(panel, qtbot):
    before = panel.params()
    too_fast = before.with_settings(dataclasses.replace(before.settings("adam"), lr=10.0))
    assert not panel.set_params(too_fast)  # the lr slider ends at 3
    assert any("lr = 10.0" in p for p in panel.problems()), panel.problems()
    assert panel.params() == before
    first_stop = before.with_settings(dataclasses.replace(before.settings("adam"), eps=3.2e-10))
    assert panel.set_params(first_stop), panel.problems()  # the ε slider's first stop
    panel.editing.setValue("adam")
    assert panel.hyper["eps"].value() == 3.2e-10
    settle(panel, qtbot)


def test_a_narrower_window_keeps_the_whole_plot_in_view(qtbot):
    """Made narrower, the map kept the width its long title had given it and its right
    side (the start point) was cut off; the title now ends in … and the plot fits."""
    from widgets.optimizers.views import ThemedPlot

    plot = ThemedPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 300)
    plot.show()
    plot.set_title("Shallow local minimum, deeper one beyond the ridge to the right")
    qtbot.wait(10)
    plot.resize(260, 300)
    qtbot.wait(10)
    assert plot.getPlotItem().titleLabel.text.endswith("…")
    assert plot.getPlotItem().geometry().width() <= plot.width()
