import dataclasses

import numpy as np
import pytest
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.model_selection import KFold, cross_val_score

from lab.params import from_data, to_data
from lab.regularization import fit as fits
from lab.regularization.data import condition_number, draw_sample, features, make_data
from lab.regularization.examples import EXAMPLES
from lab.regularization.view import RegView, ridge_alpha

ESTIMATORS = {"none": lambda lam, r, n: LinearRegression(),
              "l2": lambda lam, r, n: Ridge(alpha=n * lam),
              "l1": lambda lam, r, n: Lasso(alpha=lam, max_iter=100_000, tol=1e-10),
              "elastic": lambda lam, r, n: ElasticNet(alpha=lam, l1_ratio=r,
                                                      max_iter=100_000, tol=1e-10)}


@pytest.mark.parametrize("penalty", ["none", "l2", "l1", "elastic"])
@pytest.mark.parametrize("basis", ["legendre", "raw"])
def test_fit_and_fast_routes_equal_scikit_learn(penalty, basis):
    view = RegView(penalty=penalty, basis=basis, degree=9, lam=3e-3, l1_ratio=0.3)
    data = make_data(view)
    X = features(data.x, 9, basis)  # noqa: N806
    reference = ESTIMATORS[penalty](view.lam, view.l1_ratio, len(data.x)).fit(X, data.y)
    fit = fits.fit_sklearn(data.x, data.y, view)
    scale = max(1.0, np.abs(reference.coef_).max())
    assert np.allclose(fit.coef, reference.coef_, atol=1e-6 * scale)
    coefs, intercepts = fits.solutions(X, data.y, penalty, [view.lam], view.ratio)
    assert np.allclose(coefs[0], reference.coef_, atol=1e-6 * scale)
    assert intercepts[0] == pytest.approx(reference.intercept_, abs=1e-6 * scale)


def test_least_squares_matches_numpy_polyfit():
    view = RegView(penalty="none", basis="raw", degree=5, truth="sin")
    data = make_data(view)
    fit = fits.fit_sklearn(data.x, data.y, view)
    reference = np.polynomial.polynomial.polyfit(data.x, data.y, 5)
    assert np.allclose(fit.coef, reference[1:], atol=1e-8)
    assert fit.intercept == pytest.approx(reference[0], abs=1e-8)


def test_past_the_interpolation_threshold_the_fit_is_the_minimum_norm_interpolant():
    view = RegView(penalty="none", degree=15, samples=10)
    data = make_data(view)
    fit = fits.fit_sklearn(data.x, data.y, view)
    assert fits.mse(data.y, fit.predict(data.x)) < 1e-20
    X = features(data.x, 15, view.basis)  # noqa: N806
    centred = X - X.mean(axis=0)
    expected = np.linalg.pinv(centred) @ (data.y - data.y.mean())
    assert np.allclose(fit.coef, expected, atol=1e-8)
    assert any("minimum-norm" in note for note in fit.notes)
    assert "16 coefficients > 10 points" in fit.notes[0]


def test_lasso_makes_exact_zeros_ridge_only_shrinks():
    view = RegView(truth="sin", penalty="l1", degree=12, lam=1e-2)
    data = make_data(view)
    lasso = fits.fit_sklearn(data.x, data.y, view)
    direct = Lasso(alpha=1e-2, max_iter=100_000, tol=1e-7).fit(
        features(data.x, 12, view.basis), data.y)
    assert lasso.zeros == np.count_nonzero(direct.coef_ == 0.0) >= 3
    ridge = fits.fit_sklearn(data.x, data.y, dataclasses.replace(view, penalty="l2"))
    assert ridge.zeros == 0


def test_u_curve_minimum_is_at_the_true_degree_on_a_seeded_cubic():
    view = RegView(truth="cubic", samples=40, noise=0.2, seed=0, penalty="none")
    data = make_data(view)
    curves = fits.degree_curves(data, view, max_degree=10)
    assert curves.best("test") == 3 and curves.best("cv") == 3
    assert np.all(np.diff(curves.train) <= 1e-12)  # more degree never fits the points worse
    # the same test errors from numpy's own polynomial fit
    for degree in (1, 3, 8):
        coef = np.polynomial.polynomial.polyfit(data.x, data.y, degree)
        test = np.mean((np.polynomial.polynomial.polyval(data.x_test, coef) - data.y_test) ** 2)
        assert curves.test[degree] == pytest.approx(test, rel=1e-8)


@pytest.mark.parametrize("penalty", ["none", "l2", "l1"])
def test_cross_validated_errors_equal_scikit_learns_cross_val_score(penalty):
    view = RegView(penalty=penalty, lam=2e-3, folds=4, seed=3)
    data = make_data(view)
    by_degree = fits.degree_curves(data, view, max_degree=8)
    by_lambda = fits.lambda_curves(data, view, np.array([1e-4, 2e-3, 0.05]))
    folds = KFold(4, shuffle=True, random_state=3)
    for degree in (2, 7):
        X = features(data.x, degree, view.basis)  # noqa: N806
        model = ESTIMATORS[penalty](2e-3, 0.5, len(data.x))
        score = -cross_val_score(model, X, data.y, cv=folds, scoring="neg_mean_squared_error")
        assert by_degree.cv[degree] == pytest.approx(score.mean(), rel=1e-5)
    X = features(data.x, view.degree, view.basis)  # noqa: N806
    for k, lam in enumerate(by_lambda.values):
        model = ESTIMATORS[penalty](lam, 0.5, len(data.x))
        score = -cross_val_score(model, X, data.y, cv=folds, scoring="neg_mean_squared_error")
        assert by_lambda.cv[k] == pytest.approx(score.mean(), rel=1e-5)
        test = np.mean((model.fit(X, data.y).predict(features(data.x_test, view.degree,
                                                                view.basis)) - data.y_test) ** 2)
        assert by_lambda.test[k] == pytest.approx(test, rel=1e-5)


def test_ridge_effective_degrees_of_freedom_is_the_trace_of_the_hat_matrix():
    view = RegView(penalty="l2", degree=10, lam=1e-2)
    data = make_data(view)
    fit = fits.fit_sklearn(data.x, data.y, view)
    X = features(data.x, 10, view.basis)  # noqa: N806
    centred = X - X.mean(axis=0)
    alpha = ridge_alpha(view.lam, len(data.x))
    hat = centred @ np.linalg.solve(centred.T @ centred + alpha * np.eye(10), centred.T)
    assert fits.effective_dof(data.x, fit, view) == pytest.approx(1 + np.trace(hat))
    assert 1 < fits.effective_dof(data.x, fit, view) < 11
    free = dataclasses.replace(view, penalty="none")
    assert fits.effective_dof(data.x, fits.fit_sklearn(data.x, data.y, free), free) == \
        pytest.approx(11)


def test_raw_powers_are_badly_conditioned_legendre_is_not():
    x = make_data(RegView()).x
    full = np.column_stack([np.ones(30), features(x, 12, "raw")])
    assert condition_number(x, 12, "raw") == pytest.approx(np.linalg.cond(full))
    assert condition_number(x, 12, "raw") > 1000 * condition_number(x, 12, "legendre")


def test_coefficient_paths():
    view = RegView(truth="sin", penalty="l1", degree=8)
    data = make_data(view)
    paths = fits.coefficient_paths(data, view, count=40)
    assert paths.zeros[-1] == 8 and paths.zeros[0] == 0  # λ ascends: all zero at the end
    ridge = fits.coefficient_paths(data, dataclasses.replace(view, penalty="l2"), count=40)
    k = 17
    reference = Ridge(alpha=30 * ridge.lambdas[k]).fit(features(data.x, 8, view.basis), data.y)
    assert np.allclose(ridge.coefs[k], reference.coef_, atol=1e-9)
    assert ridge.zeros.max() == 0
    norms = np.linalg.norm(ridge.coefs, axis=1)
    assert np.all(np.diff(norms) <= 1e-12)  # ridge shrinks as λ grows


def test_the_test_set_does_not_depend_on_the_samples_seed():
    one, two = make_data(RegView(seed=1)), make_data(RegView(seed=2))
    assert np.array_equal(one.x_test, two.x_test) and not np.array_equal(one.x, two.x)
    x, y = draw_sample("cubic", 5, 0.0, 0)
    assert np.allclose(y, 2 * x**3 - x)


def test_saved_view_round_trip_and_rules():
    view = RegView(truth="step", penalty="elastic", lam=0.02, pair=(3, 5), log_bars=True)
    assert from_data(RegView, to_data(view)) == view
    assert RegView().validate() == []
    assert "K-fold needs 2 ≤ K ≤ samples = 4" in " ".join(RegView(samples=4, folds=5).validate())
    assert "two different coefficients" in " ".join(RegView(pair=(2, 2)).validate())


def test_examples_show_their_idea():
    outcome = {}
    for number, example in EXAMPLES.items():
        view = example.params
        data = make_data(view)
        fit = fits.fit_sklearn(data.x, data.y, view)
        outcome[number] = (fits.mse(data.y, fit.predict(data.x)),
                           fits.mse(data.y_test, fit.predict(data.x_test)), fit.zeros)
    train, test, _ = outcome[32]
    assert test > 10 * train                      # the 7th order overfits
    assert outcome[33][1] < 0.6 * test            # L2 simplifies it: better on new data
    assert outcome[34][2] >= 2                    # L1: exact zeros
    cubic = EXAMPLES[35].params
    assert fits.degree_curves(make_data(cubic), cubic, max_degree=10).best("cv") == 3


@pytest.mark.parametrize(("penalty", "basis", "samples", "folds"),
                         [("l2", "raw", 12, 3), ("none", "legendre", 30, 5),
                          ("l2", "legendre", 7, 7)])
def test_error_curves_from_the_cached_svds_equal_fitting_each_fold(penalty, basis, samples,
                                                                   folds):
    """The curves come from one SVD per degree, kept per sample; each value equals
    Ridge(alpha = n·λ) (or least squares) fitted on that fold's training part and scored
    on its held-out part, past the interpolation threshold too."""
    view = RegView(penalty=penalty, basis=basis, samples=samples, folds=folds, lam=2e-3)
    data = make_data(view)
    factors = fits.curve_factors(data, view)
    by_degree = fits.degree_curves(data, view, factors=factors)
    lambdas = np.array([1e-5, 3e-3, 0.4])
    by_lambda = fits.lambda_curves(data, view, lambdas, factors=factors)
    splits = fits.kfold_splits(samples, folds, view.seed)

    def errors(degree, lam):
        X, X_test = features(data.x, degree, basis), features(data.x_test, degree, basis)  # noqa: N806

        def solve(rows):  # the same estimator on every fold: alpha = n·λ of the whole sample
            coefs, intercepts = fits.ridge_solutions(X[rows], data.y[rows],
                                                     np.array([ridge_alpha(lam, samples)]))
            return coefs[0], intercepts[0]

        w, b = solve(np.arange(samples))
        folds_mse = [np.mean((data.y[held] - b_f - X[held] @ w_f) ** 2)
                     for (w_f, b_f), (_, held) in ((solve(fit), (fit, held))
                                                   for fit, held in splits)]
        return (np.mean((data.y - b - X @ w) ** 2),
                np.mean((data.y_test - b - X_test @ w) ** 2), np.mean(folds_mse),
                np.std(folds_mse))

    for degree in (0, 3, 11, 20):
        expected = errors(degree, view.strength)
        shown = [getattr(by_degree, name)[degree] for name in ("train", "test", "cv", "cv_std")]
        assert shown == pytest.approx(expected, rel=1e-7, abs=1e-14)
    for k, lam in enumerate(lambdas):
        expected = errors(view.degree, lam if penalty == "l2" else 0.0)
        shown = [getattr(by_lambda, name)[k] for name in ("train", "test", "cv", "cv_std")]
        assert shown == pytest.approx(expected, rel=1e-7, abs=1e-14)
    # a view that only moves degree, λ or penalty reuses them; a new sample does not
    assert fits.factors_key(dataclasses.replace(view, degree=2, lam=0.5, penalty="none")) == \
        factors.key != fits.factors_key(dataclasses.replace(view, seed=1))


@pytest.mark.parametrize("basis", ["legendre", "raw"])
def test_ridge_fit_in_closed_form_equals_scikit_learns_ridge(basis):
    """The Fit tab's L2 fit comes from the cached SVDs; it is Ridge's, to rounding."""
    for samples, degree, lam in ((30, 7, 1e-3), (10, 15, 1e-6), (30, 20, 0.5), (30, 0, 1e-3)):
        view = RegView(penalty="l2", basis=basis, samples=samples, degree=degree, lam=lam)
        data = make_data(view)
        fit = fits.fit_closed_form(fits.curve_factors(data, view), view)
        reference = fits.fit_sklearn(data.x, data.y, view)
        scale = max(1.0, np.abs(reference.coef).max()) if degree else 1.0
        assert np.allclose(fit.coef, reference.coef, rtol=0, atol=1e-9 * scale)
        assert fit.intercept == pytest.approx(reference.intercept, abs=1e-9 * scale)
        assert fit.zeros == reference.zeros and fit.notes == reference.notes
