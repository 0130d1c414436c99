"""Noisy samples of a true function on [−1, 1], a fixed held-out test set, and the design
matrices of a polynomial in raw powers or Legendre polynomials.

Everything is drawn with `numpy.random.default_rng` in an order the exported scripts
repeat line by line, so a script without `lab` gets the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre, polynomial

from lab.regularization.view import TEST_POINTS, TEST_SEED, TRUTH_CODE, RegView

GRID_POINTS = 400


def truth(name: str, x: np.ndarray) -> np.ndarray:
    """The true function `name` at `x` (the same numpy text the exported code runs)."""
    return np.asarray(eval(TRUTH_CODE[name], {"np": np}, {"x": np.asarray(x)}),  # noqa: S307
                      dtype=float) + 0.0 * x


def draw_sample(name: str, samples: int, noise: float, seed: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """`samples` points x ~ U(−1, 1) (sorted) and y = f(x) + σ·N(0, 1), from `seed`."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-1.0, 1.0, samples))
    y = truth(name, x) + noise * rng.standard_normal(samples)
    return x, y


@dataclass(frozen=True)
class Dataset:
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    grid: np.ndarray
    grid_truth: np.ndarray
    noise: float


def make_data(view: RegView) -> Dataset:
    """The training sample of `view` (its seed) and the held-out test set (TEST_SEED: the
    same test points whatever the sample's seed)."""
    x, y = draw_sample(view.truth, view.samples, view.noise, view.seed)
    x_test, y_test = draw_sample(view.truth, TEST_POINTS, view.noise, TEST_SEED)
    grid = np.linspace(-1.0, 1.0, GRID_POINTS)
    return Dataset(x, y, x_test, y_test, grid, truth(view.truth, grid), view.noise)


def features(x: np.ndarray, degree: int, basis: str) -> np.ndarray:
    """The (n, degree) design matrix without its constant column (the intercept is fitted
    apart, unpenalised): x, x², … or P₁(x), P₂(x), …"""
    vander = legendre.legvander if basis == "legendre" else polynomial.polyvander
    return np.ascontiguousarray(vander(np.asarray(x, dtype=float), degree)[:, 1:])


def condition_number(x: np.ndarray, degree: int, basis: str) -> float:
    """κ = σ_max/σ_min of the full design matrix [1, features] (∞ when rank-deficient)."""
    full = np.column_stack([np.ones(len(x)), features(x, degree, basis)])
    s = np.linalg.svd(full, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > s[0] * 1e-16 else float("inf")
