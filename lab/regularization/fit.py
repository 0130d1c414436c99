"""Polynomial fits with no penalty, L2, L1 or elastic net — scikit-learn's estimators for
the fit on screen, and the same solutions by faster routes for the many fits behind the
curves (tests hold the two equal):

- none / L2: the closed form through the SVD of the centred design matrix,
  w = V·diag(s / (s² + n·λ))·Uᵀ·(y − ȳ) (with λ = 0 and s ≈ 0 dropped: the minimum-norm
  least-squares solution, what `LinearRegression` returns past the interpolation
  threshold);
- L1 / elastic net: `sklearn.linear_model.enet_path` for one λ or many — the coordinate
  descent `Lasso` and `ElasticNet` run themselves, without their per-call input checks.

Errors are mean squared errors. The intercept is fitted apart and never penalised.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from lab.regularization.data import Dataset, features
from lab.regularization.factors import RidgeFactors, ridge_factors
from lab.regularization.view import LAMBDA_RANGE, MAX_DEGREE, RegView, ridge_alpha

CD_MAX_ITER = 10_000  # ten times scikit-learn's default; tiny λ on nearly collinear columns never
# converges, and 100 000 sweeps cost seconds per fit
CD_TOL = 1e-7
CD_TOL_REFITS = 1e-4  # scikit-learn's default: Monte-Carlo refits need no more
ZERO = 0.0  # lasso zeros are exact: coordinate descent writes 0.0


@dataclass(frozen=True)
class Fit:
    degree: int
    basis: str
    coef: np.ndarray        # (degree,): w₁ … w_d
    intercept: float
    notes: tuple[str, ...] = ()

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.intercept + features(x, self.degree, self.basis) @ self.coef

    @property
    def zeros(self) -> int:
        """Coefficients that are exactly 0.0 (not merely small)."""
        return int(np.count_nonzero(self.coef == ZERO))


def mse(y: np.ndarray, prediction: np.ndarray) -> float:
    return float(np.mean((np.asarray(y) - prediction) ** 2))


# ============================================================================ scikit-learn

def sklearn_estimator(penalty: str, lam: float, ratio: float, samples: int):
    """The scikit-learn estimator of the panel's objective (view.py's convention)."""
    from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

    if penalty == "none":
        return LinearRegression()
    if penalty == "l2":
        return Ridge(alpha=ridge_alpha(lam, samples))
    if penalty == "l1":
        return Lasso(alpha=lam, max_iter=CD_MAX_ITER, tol=CD_TOL)
    return ElasticNet(alpha=lam, l1_ratio=ratio, max_iter=CD_MAX_ITER, tol=CD_TOL)


def fit_sklearn(x: np.ndarray, y: np.ndarray, view: RegView, degree: int | None = None) -> Fit:
    """The fit on screen, by scikit-learn's estimator for the view's penalty."""
    from sklearn.exceptions import ConvergenceWarning

    degree = view.degree if degree is None else degree
    notes: list[str] = []
    if degree == 0:
        return Fit(0, view.basis, np.zeros(0), float(np.mean(y)), ())
    design = features(x, degree, view.basis)
    estimator = sklearn_estimator(view.penalty, view.lam, view.ratio, len(x))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(design, y)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append(f"coordinate descent stopped at max_iter = {CD_MAX_ITER} before its "
                     f"tolerance {CD_TOL:g}")
    if view.penalty == "none" and degree + 1 > len(x):
        notes.append(past_threshold_note(degree, len(x)))
    return Fit(degree, view.basis, np.asarray(estimator.coef_, dtype=float).ravel().copy(),
               float(estimator.intercept_), tuple(notes))


def fit_closed_form(factors: RidgeFactors, view: RegView) -> Fit:
    """The ridge fit on screen from the sample's SVDs: the solution scikit-learn's Ridge
    returns (equal to rounding; `fit_sklearn` is the tested reference), without its input
    checks — a slider step costs microseconds."""
    degree = view.degree
    if degree == 0:
        return Fit(0, view.basis, np.zeros(0), float(factors.offset[0]), ())
    coef, intercept = factors.solve(degree, ridge_alpha(view.strength, factors.samples))
    notes = (past_threshold_note(degree, factors.samples),) \
        if view.penalty == "none" and degree + 1 > factors.samples else ()
    return Fit(degree, view.basis, coef, intercept, notes)


def past_threshold_note(degree: int, samples: int) -> str:
    return (f"{degree + 1} coefficients > {samples} points: past the interpolation threshold "
            f"infinitely many polynomials pass through every point; least squares returns the "
            f"minimum-norm one (smallest ‖w‖₂), which is why the fit is still defined")


# ============================================================================ fast routes

def _centred(design: np.ndarray, y: np.ndarray):
    x_mean = design.mean(axis=0)
    y_mean = float(np.mean(y))
    return design - x_mean, y - y_mean, x_mean, y_mean


def ridge_solutions(design: np.ndarray, y: np.ndarray, alphas: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Ridge(alpha) for every alpha (0 allowed: minimum-norm least squares) via one SVD:
    (coefs (len(alphas), d), intercepts (len(alphas),))."""
    return ridge_batch([(design, y)], alphas)[0]


def ridge_batch(problems: list[tuple[np.ndarray, np.ndarray]], alphas
                ) -> list[tuple[np.ndarray, np.ndarray]]:
    """`ridge_solutions` of several problems with the same columns (a fit and its K folds)
    in one stacked SVD: each centred problem is padded with zero rows, which change
    neither its singular values nor its solution."""
    alphas = np.atleast_1d(np.asarray(alphas, dtype=float))
    columns = problems[0][0].shape[1]
    if columns == 0:
        return [(np.zeros((len(alphas), 0)), np.full(len(alphas), float(np.mean(y))))
                for _, y in problems]
    rows = max(len(y) for _, y in problems)
    lengths = np.array([len(y) for _, y in problems])
    stacked = np.zeros((len(problems), rows, columns))
    b = np.zeros((len(problems), rows))
    for p, (design, y) in enumerate(problems):
        stacked[p, :len(y)], b[p, :len(y)] = design, y
    x_means = stacked.sum(axis=1) / lengths[:, None]
    y_means = b.sum(axis=1) / lengths
    inside = np.arange(rows)[None, :] < lengths[:, None]
    stacked = np.where(inside[:, :, None], stacked - x_means[:, None, :], 0.0)  # centred, padding 0
    b = np.where(inside, b - y_means[:, None], 0.0)
    u, s, vt = np.linalg.svd(stacked, full_matrices=False)
    keep = s > s[:, :1] * (np.finfo(float).eps * max(rows, columns))
    s_kept = np.where(keep, s, 1.0)
    uty = np.einsum("pnk,pn->pk", u, b)
    shrink = np.where(keep[:, None, :], s_kept[:, None, :]
                      / (s_kept[:, None, :] ** 2 + alphas[None, :, None]), 0.0)
    coefs = np.einsum("plk,pk,pkd->pld", shrink, uty, vt)
    intercepts = y_means[:, None] - np.einsum("pld,pd->pl", coefs, x_means)
    return list(zip(coefs, intercepts, strict=True))


def enet_solutions(design: np.ndarray, y: np.ndarray, lambdas: np.ndarray, ratio: float,
                   tol: float = CD_TOL) -> tuple[np.ndarray, np.ndarray, bool]:
    """Lasso / ElasticNet(alpha=λ, l1_ratio=ratio) for every λ by scikit-learn's coordinate
    descent path (warm starts from the largest λ): (coefs, intercepts, converged)."""
    from sklearn import config_context
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import enet_path

    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
    if design.shape[1] == 0:
        return np.zeros((len(lambdas), 0)), np.full(len(lambdas), float(np.mean(y))), True
    xc, yc, x_mean, y_mean = _centred(design, y)
    order = np.argsort(lambdas)[::-1]  # enet_path walks from the largest λ down
    # the inputs are checked here; sklearn's per-call parameter validation (inspect-based)
    # costs more than the descent itself on 30×20 problems
    with warnings.catch_warnings(record=True) as caught, \
            config_context(skip_parameter_validation=True):
        warnings.simplefilter("always", ConvergenceWarning)
        _, path, _ = enet_path(np.asfortranarray(xc), np.ascontiguousarray(yc),
                               l1_ratio=ratio, alphas=lambdas[order], max_iter=CD_MAX_ITER,
                               tol=tol, check_input=False)
    coefs = np.empty((len(lambdas), design.shape[1]))
    coefs[order] = path.T
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return coefs, y_mean - coefs @ x_mean, converged


def solutions(design: np.ndarray, y: np.ndarray, penalty: str, lambdas, ratio: float,
              tol: float = CD_TOL) -> tuple[np.ndarray, np.ndarray]:
    """The view's objective solved for each λ: (coefs (L, d), intercepts (L,))."""
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
    if penalty == "none":
        coefs, intercepts = ridge_solutions(design, y, np.zeros(1))
        return np.repeat(coefs, len(lambdas), 0), np.repeat(intercepts, len(lambdas))
    if penalty == "l2":
        return ridge_solutions(design, y, ridge_alpha(1.0, len(y)) * lambdas)
    coefs, intercepts, _ = enet_solutions(design, y, lambdas, ratio, tol)
    return coefs, intercepts


# ============================================================================ curves

@dataclass(frozen=True)
class Curves:
    """Train, test and K-fold cross-validated MSE over `values` (degrees or λs)."""

    axis: str               # "degree" or "lambda"
    values: np.ndarray
    train: np.ndarray
    test: np.ndarray
    cv: np.ndarray
    cv_std: np.ndarray      # spread of the K fold errors
    key: tuple = field(default=(), compare=False)

    def best(self, which: str = "cv") -> float:
        """The degree / λ with the lowest `which` error (the first on ties)."""
        return float(self.values[int(np.nanargmin(getattr(self, which)))])


def kfold_splits(samples: int, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's KFold(folds, shuffle=True, random_state=seed) index pairs."""
    from sklearn.model_selection import KFold

    return list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(samples)))


def _curve_rows(data: Dataset, view: RegView, degree: int, lambdas, splits,
                train_features: np.ndarray, test_features: np.ndarray):
    """(train, test, cv mean, cv std) MSE over `lambdas` at one degree for L1 / elastic
    net: coordinate descent on all the points and on each fold's training part."""
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
    design, test_design = train_features[:, :degree], test_features[:, :degree]
    problems = [(design, data.y)] + [(design[fit], data.y[fit]) for fit, _ in splits]
    solved = [solutions(xp, yp, view.penalty, lambdas, view.ratio) for xp, yp in problems]

    def error(solution, design_eval, y_eval):
        coefs, intercepts = solution
        prediction = intercepts[:, None] + coefs @ design_eval.T
        return np.mean((y_eval[None, :] - prediction) ** 2, axis=1)

    train = error(solved[0], design, data.y)
    test = error(solved[0], test_design, data.y_test)
    folds = np.array([error(solution, design[held], data.y[held])
                      for solution, (_, held) in zip(solved[1:], splits, strict=True)])
    return train, test, folds.mean(axis=0), folds.std(axis=0)


def curve_factors(data: Dataset, view: RegView, max_degree: int = MAX_DEGREE
                  ) -> RidgeFactors:
    """The SVDs behind the none / L2 error curves of `data` (see factors.py); they hold
    for every degree ≤ max_degree and every λ of the view's basis and folds."""
    splits = kfold_splits(len(data.x), view.folds, view.seed)
    return ridge_factors(factors_key(view, max_degree),
                         features(data.x, max_degree, view.basis), data.y,
                         features(data.x_test, max_degree, view.basis), data.y_test, splits)


def factors_key(view: RegView, max_degree: int = MAX_DEGREE) -> tuple:
    """What `curve_factors` depend on: the sample, basis and folds — not degree, λ or
    penalty."""
    return (view.truth, view.samples, view.noise, view.seed, view.basis, view.folds,
            max_degree)


def _usable(factors: RidgeFactors | None, view: RegView, max_degree: int) -> bool:
    return factors is not None and factors.key == factors_key(view, factors.max_degree) \
        and factors.max_degree >= max_degree


def degree_curves(data: Dataset, view: RegView, max_degree: int = MAX_DEGREE,
                  factors: RidgeFactors | None = None) -> Curves:
    """Errors of degrees 0…max_degree at the view's penalty and λ: the U curve. None / L2
    come from `factors` (computed here unless given)."""
    values = np.arange(max_degree + 1, dtype=float)
    if view.penalty in ("none", "l2"):
        if not _usable(factors, view, max_degree):
            factors = curve_factors(data, view, max_degree)
        rows = factors.errors(np.arange(max_degree + 1),
                              ridge_alpha(1.0, len(data.y)) * view.strength)
        return Curves("degree", values, *rows)
    splits = kfold_splits(len(data.x), view.folds, view.seed)
    train_features = features(data.x, max_degree, view.basis)
    test_features = features(data.x_test, max_degree, view.basis)
    rows = [_curve_rows(data, view, d, [view.strength], splits, train_features,
                        test_features) for d in range(max_degree + 1)]
    train, test, cv, cv_std = (np.array([r[i][0] for r in rows]) for i in range(4))
    return Curves("degree", values, train, test, cv, cv_std)


def lambda_grid(count: int = 60) -> np.ndarray:
    return np.logspace(np.log10(LAMBDA_RANGE[0]), np.log10(LAMBDA_RANGE[1]), count)


def lambda_curves(data: Dataset, view: RegView, lambdas: np.ndarray | None = None,
                  factors: RidgeFactors | None = None) -> Curves:
    """Errors over λ at the view's degree and penalty (flat without a penalty). None / L2
    come from `factors` (computed here unless given)."""
    lambdas = lambda_grid() if lambdas is None else np.asarray(lambdas, dtype=float)
    if view.penalty in ("none", "l2"):
        if not _usable(factors, view, view.degree):
            factors = curve_factors(data, view, view.degree)
        strength = lambdas if view.penalty == "l2" else np.zeros(len(lambdas))
        rows = factors.errors(view.degree, ridge_alpha(1.0, len(data.y)) * strength)
        return Curves("lambda", lambdas, *rows)
    splits = kfold_splits(len(data.x), view.folds, view.seed)
    rows = _curve_rows(data, view, view.degree, lambdas, splits,
                       features(data.x, view.degree, view.basis),
                       features(data.x_test, view.degree, view.basis))
    return Curves("lambda", lambdas, *rows)


# ============================================================================ one fit's facts

def effective_dof(x: np.ndarray, fit: Fit, view: RegView) -> float:
    """Effective degrees of freedom tr(H) of the fit, the intercept included: ridge's
    1 + Σ s²/(s² + n·λ) over the centred design's singular values; without a penalty
    1 + rank; for L1 / elastic net the same over the active (non-zero) columns with the
    L2 part n·λ·(1 − r) (for the lasso: 1 + the number of non-zeros)."""
    if fit.degree == 0:
        return 1.0
    design = features(x, fit.degree, fit.basis)
    if view.penalty in ("l1", "elastic"):
        design = design[:, fit.coef != ZERO]
    if design.shape[1] == 0:
        return 1.0
    xc = design - design.mean(axis=0)
    s = np.linalg.svd(xc, compute_uv=False)
    s = s[s > (s[0] if s.size else 0) * np.finfo(float).eps * max(xc.shape)]
    alpha = ridge_alpha(view.strength * (1.0 - view.ratio), len(x))
    return 1.0 + float(np.sum(s**2 / (s**2 + alpha)))


def objective(x: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: float,
              view: RegView) -> float:
    """J(w, b) of view.py's convention."""
    residual = y - intercept - features(x, len(coef), view.basis) @ coef
    lam, r = view.strength, view.ratio
    return float(residual @ residual / (2 * len(y)) + lam * (r * np.abs(coef).sum()
                                                             + (1 - r) / 2 * coef @ coef))


@dataclass(frozen=True)
class Paths:
    """Coefficients of the view's penalty and degree over λ (largest-first order is not
    assumed: `lambdas` ascend)."""

    lambdas: np.ndarray
    coefs: np.ndarray       # (len(lambdas), degree)
    zeros: np.ndarray       # exact zeros at each λ
    converged: bool


def coefficient_paths(data: Dataset, view: RegView, count: int = 100) -> Paths:
    lambdas = lambda_grid(count)
    design = features(data.x, view.degree, view.basis)
    if view.penalty in ("l1", "elastic"):
        coefs, _, converged = enet_solutions(design, data.y, lambdas, view.ratio)
    else:
        coefs, _ = ridge_solutions(design, data.y, ridge_alpha(1.0, len(data.y)) * lambdas)
        converged = True
    return Paths(lambdas, coefs, np.count_nonzero(coefs == ZERO, axis=1), converged)
