"""The Calculus panel as a user sees it: typed formulas, the tangent, the named steps, the
autograd bridge, Taylor, L'Hôpital, critical points, Cancel, saved views."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from lab.calculus.examples import EXAMPLES
from lab.calculus.view import CalculusView
from lab.formula import parse_formula, symbol
from lab.params import from_data, to_data
from widgets.calculus.panel import CalculusPanel
from widgets.kit.panel import AppState

x = symbol("x")
SLOW_LIMIT = "(sin(tan(x)) - tan(sin(x)))/x^7"  # sympy.limit takes many seconds


@pytest.fixture
def panel(qtbot):
    widget = CalculusPanel(AppState())
    qtbot.addWidget(widget)
    widget.resize(1280, 740)
    widget.show()
    qtbot.waitUntil(widget.has_drawn, timeout=20_000)
    yield widget
    widget.shutdown()


def _idle(panel, qtbot, timeout=60_000):
    qtbot.waitUntil(panel.is_idle, timeout=timeout)


def test_typed_formula_draws_f_its_derivatives_the_tangent_and_the_named_steps(panel, qtbot):
    panel.formula.setText("2x sin x")
    qtbot.waitUntil(lambda: "2·x·sin(x)" in panel.preview.text(), timeout=20_000)
    xs, ys = panel.derivative.d1_curve.getData()
    exact = sp.lambdify(x, sp.diff(2 * x * sp.sin(x), x))
    finite = np.isfinite(ys)
    assert finite.sum() > 700 and np.allclose(ys[finite], exact(xs[finite]))
    panel.derivative.tangent_at.setValue(1.25)
    panel.flush()
    line_x, line_y = panel.derivative.tangent_line.getData()
    slope = (line_y[1] - line_y[0]) / (line_x[1] - line_x[0])
    assert slope == pytest.approx(float(exact(1.25)))
    assert panel.derivative.marker.value() == pytest.approx(1.25)
    _idle(panel, qtbot)
    steps = panel.derivative.steps.toPlainText()
    assert "constant multiple rule" in steps and "product rule" in steps
    assert panel.derivative.check.text().startswith("✓")
    bridge = panel.derivative.bridge_text.text()
    assert "torch.autograd.grad (float64): " + f"{float(exact(1.25)):.12g}"[:8] in bridge
    # bad text: a message, and the last good curves stay
    panel.formula.setText("2x sin(x")
    qtbot.waitUntil(lambda: any("never closed" in p for p in panel.problems()), timeout=10_000)
    assert np.array_equal(panel.derivative.d1_curve.getData()[1], ys, equal_nan=True)
    assert panel.banner.isVisible()


def test_dragging_the_tangent_marker_moves_the_point_and_the_y_range_can_be_typed(panel):
    panel.derivative.marker.setValue(-1.5)
    panel.flush()
    assert panel.derivative.tangent_at.value() == pytest.approx(-1.5)
    point = panel.derivative.point
    assert point.isVisible()
    assert (point.pos().x(), point.pos().y()) == pytest.approx((-1.5, (-1.5) ** 3 + 4.5 + 1))
    shown = panel.derivative.f_plot.viewRange()[1]
    panel.y_auto.setChecked(False)  # the typed range starts from what was on screen
    assert (panel.y_lo.value(), panel.y_hi.value()) == pytest.approx(shown, abs=1e-3)
    panel.y_hi.setValue(2.0)
    panel.flush()
    assert panel.derivative.f_plot.viewRange()[1][1] == pytest.approx(2.0)
    assert "f leaves the y range" in panel.note.text()


def test_examples_show_taylor_limit_and_critical_points(panel, qtbot):
    assert panel.set_params(EXAMPLES[2].params)  # Taylor of sin at 0, order 5
    _idle(panel, qtbot)
    panel.flush()
    coefficients = panel.taylor.coefficients.toPlainText().splitlines()
    assert coefficients == ["c0 = 0", "c1 = 1", "c2 = 0", "c3 = -1/6", "c4 = 0", "c5 = 1/120"]
    assert "R = ∞" in panel.taylor.summary.toPlainText()
    tx, ty = panel.taylor.t_curve.getData()
    inside = np.abs(tx) < 1
    assert np.allclose(ty[inside], (tx - tx**3 / 6 + tx**5 / 120)[inside])
    panel.taylor.order.setValue(7)
    panel.flush()
    _, ty7 = panel.taylor.t_curve.getData()
    assert np.allclose(ty7[inside], (tx - tx**3 / 6 + tx**5 / 120 - tx**7 / 5040)[inside])

    assert panel.set_params(EXAMPLES[3].params)  # sin(x)/x at 0
    _idle(panel, qtbot)
    assert "sympy.limit agrees" in panel.limit.verdict.text()
    assert "L'Hôpital #1" in panel.limit.steps.toPlainText()

    assert panel.set_params(EXAMPLES[4].params)  # x^3 - 3x + 1 on [-3, 3]
    _idle(panel, qtbot)
    table = panel.critical.table
    rows = [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]
    assert [r[2] for r in rows] == ["endpoint", "local maximum", "local minimum", "endpoint"]
    assert "global maximum on [-3, 3]: f(3) = 19" in panel.critical.extremes.text()


def test_cancel_kills_a_slow_limit_and_the_panel_keeps_working(panel, qtbot):
    _idle(panel, qtbot)
    old_worker = panel.sandbox.worker_pid()
    panel.set_params(CalculusView(tab="limit", limit_formula=SLOW_LIMIT, limit_point="0"))
    qtbot.waitUntil(panel.cancel.isVisible, timeout=20_000)
    panel.cancel.click()
    assert any("stopped" in p for p in panel.problems())
    _idle(panel, qtbot, timeout=20_000)
    assert panel.sandbox.worker_pid() != old_worker  # killed and replaced
    panel.limit.formula.setText("(1 - cos x)/x^2")
    qtbot.waitUntil(lambda: "agrees" in panel.limit.verdict.text(), timeout=30_000)
    assert not any("stopped" in p for p in panel.problems())
    # past the time limit: killed, and the banner says what to try
    panel.sandbox.time_limit = 0.5
    panel.limit.formula.setText(SLOW_LIMIT)
    qtbot.waitUntil(lambda: any("took too long" in p for p in panel.problems()),
                    timeout=30_000)
    message = next(p for p in panel.problems() if "took too long" in p)
    assert message.startswith("limit: ") and "try a simpler expression" in message
    assert "agrees" in panel.limit.verdict.text()  # the last good result stays


def test_saved_view_round_trip_and_exports(panel, qtbot, tmp_path):
    view = CalculusView(formula="x^2 e^-x", tab="critical", x_range=(-1.0, 6.0),
                        y_range=(-1.0, 2.0), tangent_at=2.0, log10_h=-7.0, float32=True,
                        taylor_centre=1.0, taylor_order=3, limit_formula="x ln x",
                        limit_point="0", limit_direction="+")
    assert panel.set_params(view)
    assert panel.params() == view
    assert from_data(CalculusView, json.loads(json.dumps(to_data(panel.params())))) == view
    panel.request_code()
    qtbot.waitUntil(lambda: hasattr(panel, "last_code"), timeout=20_000)
    assert "f = x**2*exp(-x)" in panel.last_code
    target = tmp_path / "calculus.png"
    assert panel.export_png_to(target) and target.stat().st_size > 1000
    assert parse_formula(view.formula) == x**2 * sp.exp(-x)
