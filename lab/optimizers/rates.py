"""Momentum on the quadratic f = (x²/κ + y²)/2 (Goh, "Why Momentum Really Works"):
torch's SGD with momentum μ and learning rate α is the heavy ball
x_{k+1} = x_k − α∇f(x_k) + μ(x_k − x_{k−1}); along an eigen-direction of curvature λ the
error obeys z² − (1 + μ − αλ)z + μ = 0, so it shrinks by the larger root's modulus per
step. The rate is the worst over the eigenvalues 1/κ and 1."""

from __future__ import annotations

import numpy as np


def eigenvalues(condition: float) -> tuple[float, float]:
    return 1.0 / condition, 1.0


def predicted_rate(lr, momentum, condition: float) -> np.ndarray:
    """max over eigenvalues of the larger |root|: < 1 converges, ≥ 1 does not. Broadcasts."""
    lr, momentum = np.asarray(lr, dtype=float), np.asarray(momentum, dtype=float)
    worst = np.zeros(np.broadcast(lr, momentum).shape)
    for lam in eigenvalues(condition):
        b = 1 + momentum - lr * lam
        disc = np.sqrt((b * b - 4 * momentum).astype(complex))
        roots = np.maximum(np.abs((b + disc) / 2), np.abs((b - disc) / 2))
        worst = np.maximum(worst, roots)
    return worst


def rate_map(condition: float, lrs: np.ndarray, momenta: np.ndarray) -> np.ndarray:
    """predicted_rate over a (momentum, lr) grid: rows are momenta, columns learning rates."""
    return predicted_rate(lrs[None, :], momenta[:, None], condition)


def measured_rate(points: np.ndarray, minimum=(0.0, 0.0)) -> float | None:
    """The error's shrink factor per step, from a trajectory: exp of the least-squares slope
    of log‖x_k − x*‖ over the second half of the steps where the error is still well above
    rounding (None when there are too few)."""
    errors = np.linalg.norm(np.asarray(points) - np.asarray(minimum), axis=1)
    usable = np.nonzero(np.isfinite(errors) & (errors > 1e-250))[0]
    if len(usable) < 20:
        return None
    errors = errors[: usable[-1] + 1]
    last = len(errors)
    keep = np.arange(last // 2, last)
    keep = keep[errors[keep] > 0]
    if len(keep) < 10:
        return None
    slope = np.polyfit(keep, np.log(errors[keep]), 1)[0]
    return float(np.exp(slope))


def optimal_setting(condition: float) -> tuple[float, float, float]:
    """(lr, momentum, rate) of the fastest heavy ball on curvatures 1/κ … 1 (Polyak):
    α* = (2 / (√λ_max + √λ_min))², μ* = ((√κ − 1) / (√κ + 1))², rate √μ*."""
    low, high = eigenvalues(condition)
    lr = (2 / (np.sqrt(high) + np.sqrt(low))) ** 2
    root = np.sqrt(condition)
    momentum = ((root - 1) / (root + 1)) ** 2
    return float(lr), float(momentum), float(np.sqrt(momentum))
