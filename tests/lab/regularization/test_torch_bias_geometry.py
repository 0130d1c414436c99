import dataclasses
import json

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from lab.regularization import export
from lab.regularization import fit as fits
from lab.regularization.bias_variance import bias_variance
from lab.regularization.data import features, make_data
from lab.regularization.geometry import pair_geometry
from lab.regularization.gradient import agreement, gradient_descent
from lab.regularization.view import (
    RegView,
    ridge_alpha,
    torch_l1_weight,
    torch_weight_decay,
    weight_decay_from_ridge_alpha,
)
from tests.plain_python import run_plain


def descend(view: RegView):
    data = make_data(view)
    return data, list(gradient_descent(data.x, data.y, view))[-1]


def test_scaling_relation_between_ridge_alpha_and_weight_decay():
    lam, n = 0.004, 30
    assert ridge_alpha(lam, n) == pytest.approx(0.12)
    assert torch_weight_decay(lam) == pytest.approx(weight_decay_from_ridge_alpha(0.12, n))
    assert torch_weight_decay(lam, 0.25) == pytest.approx(2 * lam * 0.75)
    assert torch_l1_weight(lam, 0.25) == pytest.approx(2 * lam * 0.25)


def test_torch_weight_decay_converges_to_ridges_closed_form():
    """MSELoss + weight_decay = 2·alpha/n reaches Ridge(alpha): the relation in numbers."""
    view = RegView(penalty="l2", degree=4, lam=1e-2, gd_steps=300)
    data, result = descend(view)
    alpha = ridge_alpha(view.lam, view.samples)
    ridge = Ridge(alpha=alpha).fit(features(data.x, 4, view.basis), data.y)
    assert result.weight_decay == pytest.approx(weight_decay_from_ridge_alpha(alpha, 30))
    assert agreement(result.coef, result.intercept, ridge.coef_, ridge.intercept_) < 1e-6
    # a wrong scaling (weight_decay = alpha) lands elsewhere
    wrong = dataclasses.replace(view, lam=alpha / 2)
    _, other = descend(wrong)
    assert agreement(other.coef, other.intercept, ridge.coef_, ridge.intercept_) > 1e-2


def test_plain_gradient_descent_on_l1_hovers_near_zero_instead_of_reaching_it():
    view = RegView(truth="sin", penalty="l1", degree=6, lam=2e-2, gd_steps=500)
    data, result = descend(view)
    lasso = fits.fit_sklearn(data.x, data.y, view)
    assert lasso.zeros >= 2 and result.exact_zeros == 0
    zeroed = lasso.coef == 0.0
    band = result.lr * result.l1_weight / 0.1
    assert np.all(np.abs(result.coef[zeroed]) < band)
    assert agreement(result.coef, result.intercept, lasso.coef, lasso.intercept) < 0.05


def test_raw_powers_at_high_degree_have_not_converged():
    view = RegView(penalty="l2", degree=14, basis="raw", lam=1e-6, gd_steps=200)
    data, result = descend(view)
    exact = fits.fit_sklearn(data.x, data.y, view)
    assert agreement(result.coef, result.intercept, exact.coef, exact.intercept) > 1e-2


def test_bias_variance_identity_holds_within_monte_carlo_error():
    view = RegView(truth="cubic", penalty="none", samples=20, noise=0.3)
    result = list(bias_variance(view, refits=60, max_degree=8))[-1]
    assert np.all(np.abs(result.identity_gap()) < 4 * result.mc_stderr)
    assert result.bias2[0] > result.bias2[3] and result.bias2[3] < 0.01
    assert result.variance[8] > 2 * result.variance[3] > result.variance[0]
    assert result.curves.shape == (9, 40, len(result.grid))
    ridge = list(bias_variance(dataclasses.replace(view, penalty="l2", lam=0.05), refits=60,
                               max_degree=8))[-1]
    # the penalty trades variance for bias: far less variance, a better total at degree 8
    assert ridge.variance[8] < 0.1 * result.variance[8]
    assert ridge.bias2[8] + ridge.variance[8] < result.bias2[8] + result.variance[8]
    assert ridge.bias2[1] >= result.bias2[1] - 1e-12  # and never less bias


def test_bias_variance_against_lambda():
    view = RegView(truth="cos", penalty="l1", samples=20, degree=10)
    result = list(bias_variance(view, refits=40, axis="lambda"))[-1]
    assert result.axis == "lambda" and result.values[0] == pytest.approx(1e-4)
    assert np.all(np.abs(result.identity_gap()) < 4 * result.mc_stderr)
    assert result.variance[0] > 3 * result.variance[-1]  # a strong penalty: little scatter
    assert result.bias2[-1] > 3 * result.bias2[0]        # … and a flat, biased fit
    assert result.nearest(1e-3) == int(np.argmin(np.abs(np.log10(result.values) + 3)))


def test_geometry_lasso_corner_and_constrained_optima():
    view = RegView(truth="sin", penalty="l1", degree=6, lam=2e-2)
    data = make_data(view)
    fit = fits.fit_sklearn(data.x, data.y, view)
    zero = int(np.flatnonzero(fit.coef == 0.0)[0]) + 1
    nonzero = int(np.flatnonzero(fit.coef != 0.0)[0]) + 1
    g = pair_geometry(data.x, data.y, fit, (nonzero, zero), "l1")
    assert g.budget == pytest.approx(abs(fit.coef[nonzero - 1]))
    assert np.allclose(g.l1_optimum, g.current, atol=1e-5)  # the lasso's pair is the optimum
    assert g.on_corner()
    # brute force over the boundaries: no point of the diamond / circle does better
    angles = np.linspace(0, 2 * np.pi, 20000)
    circle = g.budget * np.array([np.cos(angles), np.sin(angles)])
    assert g.loss(*g.l2_optimum) <= g.loss(*circle).min() + 1e-9
    s = np.linspace(0, 1, 5000)
    t = g.budget
    edge = np.concatenate([np.array([t * (1 - s), t * s]), np.array([-t * s, t * (1 - s)]),
                           np.array([-t * (1 - s), -t * s]), np.array([t * s, -t * (1 - s)])],
                          axis=1)
    assert g.loss(*g.l1_optimum) <= g.loss(*edge).min() + 1e-12


@pytest.mark.slow
def test_exported_code_reproduces_the_panel_without_lab(tmp_path):
    """The scikit-learn and torch scripts of an L2 and an L1 view, in one plain
    interpreter (no `lab`), print the panel's numbers."""
    views = [RegView(penalty=penalty, degree=6, lam=5e-3, gd_steps=300, truth="sin")
             for penalty in ("l2", "l1")]
    codes = [code for view in views for code in (export.sklearn_code(view),
                                                export.torch_code(view))]
    outputs = run_plain(codes, tmp_path)
    for k, view in enumerate(views):
        data = make_data(view)
        fit = fits.fit_sklearn(data.x, data.y, view)
        curves = fits.degree_curves(data, view, max_degree=8)
        result = list(gradient_descent(data.x, data.y, view))[-1]
        fitted = json.loads(outputs[2 * k].strip().splitlines()[-1])
        assert np.allclose(fitted["coef"], fit.coef, atol=1e-9)
        assert fitted["intercept"] == pytest.approx(fit.intercept, abs=1e-9)
        assert fitted["exact_zeros"] == fit.zeros
        assert fitted["test_mse"] == pytest.approx(curves.test[view.degree], rel=1e-7)
        assert fitted["cv_mse"] == pytest.approx(curves.cv[view.degree], rel=1e-6)
        descended = json.loads(outputs[2 * k + 1].strip().splitlines()[-1])
        assert np.allclose(descended["coef"], result.coef, atol=1e-10)
        assert descended["intercept"] == pytest.approx(result.intercept, abs=1e-10)
