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
from lab.regularization.data import GRID_POINTS, draw_sample, features, truth
from lab.regularization.fit import ridge_batch, solutions
from lab.regularization.view import MAX_DEGREE, TEST_POINTS, TEST_SEED, RegView, ridge_alpha

REFITS = 200
DRAWN_CURVES = 40  # fitted curves drawn faintly for the current degree


@dataclass(frozen=True)
class BiasVariance:
    degrees: np.ndarray
    bias2: np.ndarray
    variance: np.ndarray
    noise: float
    mc_error: np.ndarray        # mean test MSE over the refits, per degree
    mc_stderr: np.ndarray       # its standard error
    grid: np.ndarray
    curves: np.ndarray          # (degrees, DRAWN_CURVES, grid): some of the fits
    mean_curves: np.ndarray     # (degrees, grid): the mean fit over all refits
    refits: int

    def identity_gap(self) -> np.ndarray:
        """(bias² + variance + σ²) − Monte-Carlo test error, per degree."""
        return self.bias2 + self.variance + self.noise - self.mc_error


def refit_seed(seed: int, refit: int) -> list[int]:
    """Entropy of refit r's sample: apart from the view's own sample and the test set."""
    return [seed, refit, 17]


def bias_variance(view: RegView, should_stop: Callable[[], bool] = lambda: False,
                  refits: int = REFITS, max_degree: int = MAX_DEGREE
                  ) -> Iterator[Progress | BiasVariance]:
    """Refit degrees 0…max_degree at the view's penalty and λ on `refits` fresh samples;
    yields Progress on the way and a BiasVariance at the end."""
    x_test = draw_sample(view.truth, TEST_POINTS, view.noise, TEST_SEED)[0]
    f_test = truth(view.truth, x_test)
    grid = np.linspace(-1.0, 1.0, GRID_POINTS)
    samples, fresh_targets = [], []
    for r in range(refits):
        rng = np.random.default_rng(refit_seed(view.seed, r))
        x = np.sort(rng.uniform(-1.0, 1.0, view.samples))
        y = truth(view.truth, x) + view.noise * rng.standard_normal(view.samples)
        samples.append((x, y))
        fresh_targets.append(f_test + view.noise * rng.standard_normal(len(x_test)))
    targets = np.array(fresh_targets)
    all_train = [features(x, max_degree, view.basis) for x, _ in samples]
    test_features = features(x_test, max_degree, view.basis)
    grid_features = features(grid, max_degree, view.basis)
    degrees = np.arange(max_degree + 1)
    bias2, variance, mc_error, mc_stderr = (np.zeros(len(degrees)) for _ in range(4))
    curves = np.zeros((len(degrees), min(DRAWN_CURVES, refits), len(grid)))
    mean_curves = np.zeros((len(degrees), len(grid)))
    for d in degrees:
        if should_stop():
            return
        yield Progress(f"refitting degree {d} on {refits} samples", d / len(degrees))
        problems = [(X[:, :d], y) for X, (_, y) in zip(all_train, samples, strict=True)]
        if view.penalty == "none":
            solved = ridge_batch(problems, np.zeros(1))
        elif view.penalty == "l2":
            solved = ridge_batch(problems, [ridge_alpha(view.lam, view.samples)])
        else:
            solved = [solutions(X, y, view.penalty, [view.lam], view.ratio)
                      for X, y in problems]
        coefs = np.array([c[0] for c, _ in solved])            # (R, d)
        intercepts = np.array([i[0] for _, i in solved])       # (R,)
        predictions = intercepts[:, None] + coefs @ test_features[:, :d].T
        mean_prediction = predictions.mean(axis=0)
        bias2[d] = np.mean((mean_prediction - f_test) ** 2)
        variance[d] = np.mean(predictions.var(axis=0))
        errors = np.mean((targets - predictions) ** 2, axis=1)
        mc_error[d] = errors.mean()
        mc_stderr[d] = errors.std(ddof=1) / np.sqrt(refits)
        mean_curves[d] = intercepts.mean() + coefs.mean(axis=0) @ grid_features[:, :d].T
        curves[d] = intercepts[:DRAWN_CURVES, None] + coefs[:DRAWN_CURVES] @ grid_features[:, :d].T
    yield Progress("done", 1.0)
    yield BiasVariance(degrees.astype(float), bias2, variance, view.noise**2, mc_error,
                       mc_stderr, grid, curves, mean_curves, refits)
