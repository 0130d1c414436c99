"""Why the L1 penalty zeroes coefficients: the geometry of two of them.

Hold every other coefficient (and the intercept) at the current fit's values; the data
loss 1/(2n)·‖y − b − Xw‖² is then a quadratic bowl in the chosen pair (wᵢ, wⱼ) with
elliptical contours. stacked penalty is a budget: minimise the loss inside |wᵢ| + |wⱼ| ≤ t (the
L1 diamond) or wᵢ² + wⱼ² ≤ t² (the L2 circle). The ellipses usually first touch the
diamond at a corner — where one coefficient is exactly 0 — and the circle anywhere.
The budget t is the current fit's norm of the pair (L1 norm for L1 / elastic net, L2
norm otherwise), so with L1 the diamond's optimum is the current fit's pair itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.regularization.data import features
from lab.regularization.fit import Fit

CIRCLE_POINTS = 7200


@dataclass(frozen=True)
class PairGeometry:
    pair: tuple[int, int]             # 1-based coefficient numbers
    hessian: np.ndarray               # (2, 2): the loss's curvature in the pair
    centre: np.ndarray                # the unconstrained optimum of the pair
    minimum: float                    # the loss there
    budget: float
    budget_norm: str                  # "L1" or "L2"
    l1_optimum: np.ndarray            # best point in the diamond
    l2_optimum: np.ndarray            # best point in the circle
    current: np.ndarray               # the current fit's pair

    def loss(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The data loss at (wᵢ, wⱼ) = (a, b), arrays broadcast."""
        da, db = a - self.centre[0], b - self.centre[1]
        h = self.hessian
        return self.minimum + 0.5 * (h[0, 0] * da * da + 2 * h[0, 1] * da * db
                                     + h[1, 1] * db * db)

    def on_corner(self, tolerance: float = 1e-9) -> bool:
        """The diamond's optimum is a corner: one of the pair is exactly (numerically) 0."""
        return bool(self.budget > 0 and np.min(np.abs(self.l1_optimum))
                    <= tolerance * max(1.0, self.budget))

    def grid(self, size: int = 90) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a values, b values, loss (size, size) indexed [a, b]) over a square holding the
        centre, the origin and both budget shapes."""
        reach = max(abs(self.centre).max(), self.budget, 1e-3) * 1.35
        mid = self.centre / 2
        span = max(reach, float(np.abs(self.centre - mid).max()) * 1.35)
        a = np.linspace(mid[0] - span, mid[0] + span, size)
        b = np.linspace(mid[1] - span, mid[1] + span, size)
        return a, b, self.loss(a[:, None], b[None, :])


def pair_geometry(x: np.ndarray, y: np.ndarray, fit: Fit, pair: tuple[int, int],
                  penalty: str) -> PairGeometry:
    """The loss bowl of coefficients `pair` (1-based) of `fit`, the budget shapes and their
    constrained optima. `pair` must lie within the fit's degree."""
    i, j = pair[0] - 1, pair[1] - 1
    design = features(x, fit.degree, fit.basis)
    others = fit.coef.copy()
    others[[i, j]] = 0.0
    residual = y - fit.intercept - design @ others
    columns = design[:, [i, j]]
    n = len(y)
    hessian = columns.T @ columns / n
    rhs = columns.T @ residual / n
    centre = np.linalg.lstsq(hessian, rhs, rcond=None)[0]
    minimum = float(np.sum((residual - columns @ centre) ** 2) / (2 * n))
    current = fit.coef[[i, j]].copy()
    norm = "L1" if penalty in ("l1", "elastic") else "L2"
    budget = float(np.abs(current).sum() if norm == "L1" else np.hypot(*current))
    geometry = PairGeometry((pair[0], pair[1]), hessian, centre, minimum, budget, norm,
                            np.zeros(2), np.zeros(2), current)
    l1 = _diamond_optimum(geometry)
    l2 = _circle_optimum(geometry)
    return PairGeometry(geometry.pair, hessian, centre, minimum, budget, norm, l1, l2, current)


def _diamond_optimum(g: PairGeometry) -> np.ndarray:
    """Exact minimum of the quadratic over |a| + |b| ≤ t: the centre if inside, else the
    best point of the four edges (a quadratic in one variable on each)."""
    t = g.budget
    if np.abs(g.centre).sum() <= t or t == 0:
        return g.centre.copy() if t > 0 else np.zeros(2)
    corners = [np.array(c, float) * t for c in ((1, 0), (0, 1), (-1, 0), (0, -1))]
    best, best_loss = None, np.inf
    for start, end in zip(corners, corners[1:] + corners[:1], strict=True):
        direction = end - start
        # loss(start + s·direction) = … + s·(H(start − c))·direction + ½ s² dᵀHd
        curvature = direction @ g.hessian @ direction
        slope = direction @ g.hessian @ (start - g.centre)
        s = np.clip(-slope / curvature, 0.0, 1.0) if curvature > 0 else 0.0
        for candidate in (start + s * direction, start, end):
            value = float(g.loss(candidate[0], candidate[1]))
            if value < best_loss - 1e-15:
                best, best_loss = candidate, value
    return np.asarray(best, dtype=float)


def _circle_optimum(g: PairGeometry) -> np.ndarray:
    t = g.budget
    if np.hypot(*g.centre) <= t or t == 0:
        return g.centre.copy() if t > 0 else np.zeros(2)
    from scipy.optimize import minimize_scalar

    angles = np.linspace(0, 2 * np.pi, CIRCLE_POINTS, endpoint=False)
    k = int(np.argmin(g.loss(t * np.cos(angles), t * np.sin(angles))))
    step = 2 * np.pi / CIRCLE_POINTS  # refine the best angle of the coarse search
    best = minimize_scalar(lambda angle: float(g.loss(t * np.cos(angle), t * np.sin(angle))),
                           bounds=(angles[k] - step, angles[k] + step), method="bounded",
                           options={"xatol": 1e-12})
    return np.array([t * np.cos(best.x), t * np.sin(best.x)])
