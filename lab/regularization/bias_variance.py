"""Bias and variance by Monte Carlo: refit the same model on many fresh samples of the same
size from the same true function and noise, and look at the predictions on the fixed test
points x_test.

For each degree d, with p̂ᵣ(x) the fit on sample r and f the true function:

    bias²(d)    = mean over x of (mean over r of p̂ᵣ(x) − f(x))²
    variance(d) = mean over x of the spread of p̂ᵣ(x) over r  (1/R, so that
                  bias² + variance = mean over r and x of (p̂ᵣ(x) − f(x))² exactly)
    noise       = σ²

and the Monte-Carlo test error, each fit scored on fresh noisy targets at x_test, should
equal bias² + variance + σ² up to its own sampling error (`mc_stderr`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from lab.progress import Progress
from lab.regularization.data import draw_sample, features, truth
from lab.regularization.fit import CD_TOL_REFITS, ridge_batch, solutions
from lab.regularization.view import (
    LAMBDA_RANGE,
    MAX_DEGREE,
    TEST_POINTS,
    TEST_SEED,
    RegView,
    ridge_alpha,
)

REFITS = 200
DRAWN_CURVES = 40  # fitted curves drawn faintly for the current degree
CURVE_POINTS = 200  # x values of each drawn fit: smooth at any plot width, and 40 of them
# paint in a few ms (with 400 the redraw was one of the window's longest pauses)


@dataclass(frozen=True)
class BiasVariance:
    axis: str                   # "degree" or "lambda": what `values` are
    values: np.ndarray
    bias2: np.ndarray
    variance: np.ndarray
    noise: float
    mc_error: np.ndarray        # mean test MSE over the refits, per value
    mc_stderr: np.ndarray       # its standard error
    grid: np.ndarray
    curves: np.ndarray          # (values, DRAWN_CURVES, grid): some of the fits
    mean_curves: np.ndarray     # (values, grid): the mean fit over all refits
    refits: int

    def identity_gap(self) -> np.ndarray:
        """(bias² + variance + σ²) − Monte-Carlo test error, per value."""
        return self.bias2 + self.variance + self.noise - self.mc_error

    def nearest(self, value: float) -> int:
        """The index of the value closest to `value` (on a log scale for λ)."""
        if self.axis == "lambda":
            return int(np.argmin(np.abs(np.log10(self.values) - np.log10(max(value, 1e-300)))))
        return int(np.argmin(np.abs(self.values - value)))


def refit_seed(seed: int, refit: int) -> list[int]:
    """Entropy of refit r's sample: apart from the view's own sample and the test set."""
    return [seed, refit, 17]


def bias_lambdas(count: int = 11) -> np.ndarray:
    """λ of the bars vs λ: 1e-4…10 (below, every fit is practically unpenalised, and
    coordinate descent crawls on nearly collinear columns)."""
    return np.logspace(-4, np.log10(LAMBDA_RANGE[1]), count)


def bias_variance(view: RegView, should_stop: Callable[[], bool] = lambda: False,
                  refits: int = REFITS, max_degree: int = MAX_DEGREE, axis: str = "degree",
                  lambdas: np.ndarray | None = None) -> Iterator[Progress | BiasVariance]:
    """Refit on `refits` fresh samples — degrees 0…max_degree at the view's penalty and λ
    (axis "degree"), or the view's degree at each of `lambdas` (axis "lambda"); yields
    Progress on the way and a BiasVariance at the end."""
    x_test = draw_sample(view.truth, TEST_POINTS, view.noise, TEST_SEED)[0]
    f_test = truth(view.truth, x_test)
    grid = np.linspace(-1.0, 1.0, CURVE_POINTS)
    samples, fresh_targets = [], []
    for r in range(refits):
        rng = np.random.default_rng(refit_seed(view.seed, r))
        x = np.sort(rng.uniform(-1.0, 1.0, view.samples))
        y = truth(view.truth, x) + view.noise * rng.standard_normal(view.samples)
        samples.append((x, y))
        fresh_targets.append(f_test + view.noise * rng.standard_normal(len(x_test)))
    targets = np.array(fresh_targets)
    top = max_degree if axis == "degree" else view.degree
    all_train = [features(x, top, view.basis) for x, _ in samples]
    test_features = features(x_test, top, view.basis)
    grid_features = features(grid, top, view.basis)
    if axis == "degree":
        values = np.arange(max_degree + 1, dtype=float)
        settings = [(int(d), view.penalty, view.lam) for d in values]
    else:
        values = bias_lambdas() if lambdas is None else np.asarray(lambdas, dtype=float)
        penalty = "l2" if view.penalty == "none" else view.penalty
        settings = [(view.degree, penalty, float(lam)) for lam in values]
    bias2, variance, mc_error, mc_stderr = (np.zeros(len(values)) for _ in range(4))
    curves = np.zeros((len(values), min(DRAWN_CURVES, refits), len(grid)))
    mean_curves = np.zeros((len(values), len(grid)))
    every_lambda = []
    if axis == "lambda":  # all λ of one refit at once: one SVD / one warm-started path
        d, penalty = view.degree, settings[0][1]
        if penalty == "l2":
            every_lambda = ridge_batch([(design, y) for design, (_, y)
                                        in zip(all_train, samples, strict=True)],
                                       ridge_alpha(1.0, view.samples) * values)
        else:
            for r, (design, (_, y)) in enumerate(zip(all_train, samples, strict=True)):
                if r % 20 == 0:
                    if should_stop():
                        return
                    yield Progress(f"refitting {refits} samples over {len(values)} λ",
                                   r / refits)
                every_lambda.append(solutions(design, y, penalty, values, view.ratio,
                                              CD_TOL_REFITS))
    for k, (d, penalty, lam) in enumerate(settings):
        if should_stop():
            return
        problems = [(design[:, :d], y) for design, (_, y) in zip(all_train, samples,
                                                                  strict=True)]
        if every_lambda:
            solved = [(c[k:k + 1], i[k:k + 1]) for c, i in every_lambda]
        elif penalty == "none":
            solved = ridge_batch(problems, np.zeros(1))
        elif penalty == "l2":
            solved = ridge_batch(problems, [ridge_alpha(lam, view.samples)])
        else:
            solved = [solutions(design, y, penalty, [lam], view.ratio, CD_TOL_REFITS)
                      for design, y in problems]
        if axis == "degree":
            yield Progress(f"refitting {refits} samples: degree {d}", k / len(settings))
        coefs = np.array([c[0] for c, _ in solved])            # (R, d)
        intercepts = np.array([i[0] for _, i in solved])       # (R,)
        predictions = intercepts[:, None] + coefs @ test_features[:, :d].T
        bias2[k] = np.mean((predictions.mean(axis=0) - f_test) ** 2)
        variance[k] = np.mean(predictions.var(axis=0))
        errors = np.mean((targets - predictions) ** 2, axis=1)
        mc_error[k] = errors.mean()
        mc_stderr[k] = errors.std(ddof=1) / np.sqrt(refits)
        on_grid = grid_features[:, :d]
        mean_curves[k] = intercepts.mean() + coefs.mean(axis=0) @ on_grid.T
        curves[k] = intercepts[:DRAWN_CURVES, None] + coefs[:DRAWN_CURVES] @ on_grid.T
    yield Progress("done", 1.0)
    yield BiasVariance(axis, values, bias2, variance, view.noise**2, mc_error, mc_stderr,
                       grid, curves, mean_curves, refits)
