import csv
import dataclasses
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.regularization import fit as fits
from lab.regularization.data import make_data
from lab.regularization.examples import EXAMPLES
from lab.regularization.view import RegView
from widgets.kit.panel import AppState
from widgets.regularization.panel import TABS, RegularizationPanel
from widgets.regularization.plots import steady_range


@pytest.fixture
def panel(qtbot):
    widget = RegularizationPanel(AppState())
    qtbot.addWidget(widget)
    widget.resize(1280, 740)
    widget.show()
    qtbot.waitUntil(widget.has_drawn, timeout=30_000)
    return widget


def settle(panel, qtbot, timeout=30_000):
    panel.flush()
    qtbot.waitUntil(panel.is_idle, timeout=timeout)


def shown_fit(panel) -> np.ndarray:
    return panel.fit_curve.getData()[1]


def test_first_view_is_the_sklearn_fit_with_its_numbers(panel):
    view = panel.params()
    data = make_data(view)
    fit = fits.fit_sklearn(data.x, data.y, view)
    assert np.allclose(shown_fit(panel), fit.predict(data.grid))
    assert np.allclose(panel.bars.opts["height"], fit.coef)
    assert f"{fit.zeros} of 7 exactly 0" in panel.bars_plot.title_text
    test = fits.mse(data.y_test, fit.predict(data.x_test))
    assert f"test MSE {test:.3g}" in panel.facts.text()
    curves = fits.degree_curves(data, view)
    assert np.allclose(panel.degree_cv.getData()[1], np.log10(curves.cv))  # log axis
    assert f"CV best {int(curves.best('cv'))} (○)" in panel.degree_plot.title_text


def test_degree_and_lambda_sliders_redraw_fit_and_cursors(panel, qtbot):
    before = panel.compute_counts["fit"]
    for degree in range(1, 15):  # a burst: computed once or twice, shows the last
        panel.degree.setValue(degree)
    settle(panel, qtbot)
    assert panel.compute_counts["fit"] - before <= 3
    assert panel.degree_cursor.value() == 14 and len(panel.bars.opts["height"]) == 14
    panel.penalty.setValue("l1")
    panel.lam.setValue(0.01)
    settle(panel, qtbot)
    view = panel.params()
    data = make_data(view)
    fit = fits.fit_sklearn(data.x, data.y, view)
    assert fit.zeros > 0
    assert np.allclose(shown_fit(panel), fit.predict(data.grid))
    assert f"w₁…w₁₄: {fit.zeros} of 14 exactly 0" in panel.bars_plot.title_text
    assert len(panel.zero_marks.data) == fit.zeros
    assert panel.lambda_cursor.value() == pytest.approx(-2)
    panel.log_bars.setChecked(True)
    assert "log₁₀|w|" in panel.bars_plot.plotItem.getAxis("left").labelText


def test_past_the_interpolation_threshold_says_minimum_norm(panel, qtbot):
    panel.set_params(RegView(samples=10, degree=15, penalty="none"))
    settle(panel, qtbot)
    assert "minimum-norm" in panel.facts.text() and panel.problems() == []
    panel.folds.setValue(10)
    panel.samples.setValue(8)  # K = 10 folds > 8 samples: a message, the last fit stays
    panel.flush()
    assert "K-fold needs 2 ≤ K ≤ samples = 8" in panel.problems()[0]
    assert len(panel.bars.opts["height"]) == 15


@settings(max_examples=4)
@given(degree=st.integers(0, 20), penalty=st.sampled_from(["none", "l2", "l1", "elastic"]),
       lam=st.sampled_from([1e-6, 1e-3, 0.1, 10.0]), basis=st.sampled_from(["legendre", "raw"]),
       samples=st.integers(5, 60), truth=st.sampled_from(["cubic", "sin", "cos", "step"]))
def test_any_controls_round_trip_and_draw(panel, qtbot, degree, penalty, lam, basis, samples,
                                          truth):
    view = RegView(truth=truth, samples=samples, degree=degree, penalty=penalty, lam=lam,
                   basis=basis, folds=5)
    panel.set_params(view)
    assert panel.params() == view
    settle(panel, qtbot)
    assert panel.problems() == []
    data = make_data(view)
    assert np.allclose(shown_fit(panel), fits.fit_sklearn(data.x, data.y, view).predict(
        data.grid), atol=1e-6)


def test_tabs_compute_their_views_when_shown(panel, qtbot):
    panel.set_params(RegView(truth="sin", penalty="l1", lam=0.01, degree=6, gd_steps=200))
    settle(panel, qtbot)
    assert panel.paths is None and panel.bias is None  # hidden tabs wait
    panel.tabs.setCurrentIndex(TABS.index("paths"))
    settle(panel, qtbot)
    assert panel.paths.coefs.shape == (100, 6) and panel.paths.zeros[-1] == 6
    assert "exactly 0" in panel.paths_caption.text()
    panel.tabs.setCurrentIndex(TABS.index("geometry"))
    settle(panel, qtbot)
    assert "diamond" in panel.geometry_caption.text()
    panel.tabs.setCurrentIndex(TABS.index("torch"))
    settle(panel, qtbot, 60_000)
    text = panel.torch_caption.text()
    assert "weight_decay = 2λ(1 − r) = 0" in text and "2λr·Σ|w| = 0.02" in text
    assert "hover within" in text and "Lasso(alpha = λ = 0.01)" in text
    panel.penalty.setValue("l2")
    panel.degree.setValue(4)
    panel.gd_steps.setValue(300)
    settle(panel, qtbot, 60_000)
    text = panel.torch_caption.text()
    assert "Ridge(alpha = n·λ = 0.3)" in text and "weight_decay = 2λ(1 − r) = 0.02" in text
    assert "agree within 0.0001" in text
    loss = panel.loss_curve.getData()[1][-1]  # log axis: log₁₀ of the last loss
    assert loss == pytest.approx(panel.loss_target.getData()[1][0], abs=1e-6)
    panel.tabs.setCurrentIndex(TABS.index("conditioning"))
    settle(panel, qtbot)
    assert "κ(raw powers)" in panel.kappa_caption.text()
    panel.tabs.setCurrentIndex(TABS.index("code"))
    settle(panel, qtbot)
    assert "model = Ridge(alpha=0.3)" in panel.sklearn_code.code()
    assert "weight_decay = 0.02\nl1_weight = 0.0\n" in panel.torch_code.code()


def test_paths_cursor_and_caption_sit_at_the_sliders_exact_lambda(panel, qtbot):
    panel.set_params(RegView(truth="sin", penalty="l1", lam=1e-3, degree=8))
    panel.tabs.setCurrentIndex(TABS.index("paths"))
    settle(panel, qtbot)
    lam = panel.lam.value()
    assert lam == 0.001 and not np.any(np.isclose(panel.paths.lambdas, lam, rtol=1e-3))
    caption = panel.paths_caption.text()
    assert float(re.search(r"At λ = ([0-9.e+-]+) ", caption).group(1)) == lam
    fit = panel.result.fit  # the Fit tab's fit: the same λ, its zeros counted the same
    assert f"{fit.zeros} of 8 coefficients exactly 0" in caption
    assert f"{fit.zeros} of 8 exactly 0" in panel.bars_plot.title_text
    x, y = panel.path_marks.getData()  # log x axis: log₁₀ λ
    assert np.allclose(x, math.log10(lam)) and np.array_equal(y, fit.coef)
    assert panel.paths_cursor.value() == pytest.approx(math.log10(lam))
    computed = panel.compute_counts["paths"]
    panel.lam.setValue(0.0022)  # another λ: the same paths, the marks and caption follow
    settle(panel, qtbot)
    assert "At λ = 0.0022 " in panel.paths_caption.text()
    assert np.array_equal(panel.path_marks.getData()[1], panel.result.fit.coef)
    assert panel.compute_counts["paths"] == computed
    panel.penalty.setValue("none")  # the ridge path: ridge's coefficients at the λ shown
    settle(panel, qtbot)
    assert "At λ = 0.0022 (ridge at this λ)" in panel.paths_caption.text()
    view = panel.params()
    data = make_data(view)
    ridge = fits.fit_sklearn(data.x, data.y, dataclasses.replace(view, penalty="l2"))
    assert np.allclose(panel.path_marks.getData()[1], ridge.coef, atol=1e-9)


def test_bias_variance_tab(panel, qtbot):
    panel.set_params(RegView(truth="cubic", penalty="l2", lam=1e-3, degree=3, samples=20))
    panel.tabs.setCurrentIndex(TABS.index("bias"))
    settle(panel, qtbot, 60_000)
    result = panel.bias
    assert result.refits == 200
    gap = np.abs(result.identity_gap())
    assert np.all(gap < 4 * result.mc_stderr)
    assert "Monte-Carlo test MSE over 200 refits" in panel.bias_caption.text()
    assert np.allclose(panel.stack_variance.opts["y0"], result.bias2)
    before = panel.compute_counts["bias"]
    panel.degree.setValue(5)  # a new degree: the stored refits are redrawn, not recomputed
    settle(panel, qtbot)
    assert panel.compute_counts["bias"] == before
    assert panel.stack_cursor.value() == 5 and "Degree 5:" in panel.bias_caption.text()
    panel.bias_axis.setValue("lambda")
    settle(panel, qtbot, 60_000)
    assert panel.bias.axis == "lambda" and panel.compute_counts["bias"] == before + 1
    assert panel.stack_cursor.value() == pytest.approx(-3)  # log₁₀ of λ = 1e-3
    assert "λ = 0.001: bias²" in panel.bias_caption.text()


def test_prepared_views_and_csv(panel, qtbot, tmp_path):
    assert set(panel.examples()) == {32, 33, 34, 35}
    panel.examples_box.setValue(32)
    settle(panel, qtbot)
    assert panel.params() == EXAMPLES[32].params
    assert panel.degree.value() == 7 and panel.penalty.value() == "none"
    path = tmp_path / "numbers.csv"
    panel.export_numbers(path)
    rows = list(csv.reader(path.open()))
    assert rows[1][0] == "intercept" and rows[8][0] == "w7"
    assert sum(1 for row in rows if row[0] == "mse_vs_degree") == 21
    assert dataclasses.replace(panel.params(), degree=3) != panel.params()


def test_axes_hold_still_while_a_slider_steps(panel, qtbot):
    """Degree 7 → 8 and λ 0.001 → 0.0022 redraw curves and bars inside the ranges already
    shown (an axis that moves redraws its labels, and moves under the pointer)."""
    plots = (panel.bars_plot, panel.degree_plot, panel.lambda_plot, panel.fit_plot)
    before = [plot.viewRange() for plot in plots]
    panel.degree.setValue(8)
    settle(panel, qtbot)
    panel.lam.setValue(0.0022)
    settle(panel, qtbot)
    assert len(panel.bars.opts["height"]) == 8
    assert [plot.viewRange() for plot in plots] == before


def test_steady_range():
    first = steady_range(None, -1.04, 1.6)
    assert first[0] < -1.04 and first[1] > 1.6
    assert steady_range(first, -0.9, 1.5) == first     # inside and filling it: kept
    grown = steady_range(first, -0.9, 3.1)             # leaves it: a new range around it
    assert grown[0] < -0.9 and grown[1] > 3.1
    shrunk = steady_range(first, 0.0, 0.1)             # far smaller: a closer range
    assert 0.1 < shrunk[1] < 0.5 and shrunk[0] <= 0.0
    low, high = steady_range(None, 0.0, 0.0)            # every coefficient 0 (large λ)
    assert low < 0 < high and high - low >= 0.1
