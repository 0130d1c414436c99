"""Loss surfaces f(x, y): the presets and "your own f(x, y)", each a sympy expression with
its exact gradient (sympy differentiates), as plain-Python functions of two floats (one
trajectory's steps), as torch functions of tensors (the batched basin map, autograd) and
as numpy functions of grids (contours). Minima are known for the presets and found
numerically (grid, then BFGS) for a typed formula.

A typed formula is read by `lab.formula.parse_formula` (no eval) and differentiated in the
`lab.sandbox` worker process, under a time limit: see `prepare_formula`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from lab.formula import parse_formula, symbol

X, Y = symbol("x"), symbol("y")

#: name -> (title, what it teaches)
SURFACES: dict[str, tuple[str, str]] = {
    "local_minimum": ("Shallow local minimum, deeper one beyond",
                      "A tilted double well: plain SGD stops in the first dip it meets; "
                      "momentum carries enough speed to roll over the ridge."),
    "quadratic": ("Ill-conditioned quadratic",
                  "f = (x²/κ + y²)/2: curvature 1/κ along x, 1 along y. A learning rate "
                  "small enough for y crawls along x; momentum helps."),
    "rosenbrock": ("Rosenbrock", "A curved narrow valley to the minimum at (1, 1)."),
    "beale": ("Beale", "Flat plateaus and sharp ridges; the minimum is at (3, 0.5)."),
    "himmelblau": ("Himmelblau", "Four minima of equal depth: where you start decides "
                                 "where you end."),
    "saddle": ("Saddle", "A saddle at the origin between two minima at (0, ±1): plain "
                         "gradient descent slows down near it."),
    "custom": ("Your own f(x, y)", "Type a formula in x and y."),
}

Domain = tuple[float, float, float, float]
_PRESETS: dict[str, tuple[str, Domain, tuple[tuple[float, float], ...]]] = {
    "local_minimum": ("x^4/4 - x^2 + x/2 + y^2/2", (-2.5, 2.5, -1.6, 1.6),
                      ((1.2670351, 0.0), (-1.5256871, 0.0))),
    "rosenbrock": ("(1 - x)^2 + 100 (y - x^2)^2", (-2.0, 2.0, -1.0, 3.0), ((1.0, 1.0),)),
    "beale": ("(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2",
              (-4.5, 4.5, -4.5, 4.5), ((3.0, 0.5),)),
    "himmelblau": ("(x^2 + y - 11)^2 + (x + y^2 - 7)^2", (-5.0, 5.0, -5.0, 5.0),
                   ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                    (3.584428, -1.848126))),
    "saddle": ("x^2/2 - y^2/2 + y^4/4", (-2.0, 2.0, -2.0, 2.0), ((0.0, 1.0), (0.0, -1.0))),
}
CUSTOM_DOMAIN = (-5.0, 5.0, -5.0, 5.0)


class SurfaceError(ValueError):
    """f cannot be evaluated where it was asked (log of a negative number, overflow...)."""


@dataclass(frozen=True, eq=False)
class Surface:
    name: str
    title: str
    expr: sp.Expr
    gradient: tuple[sp.Expr, sp.Expr]
    domain: tuple[float, float, float, float]   # x0, x1, y0, y1
    minima: tuple[tuple[float, float], ...]

    # ---------------------------------------------------------------- numbers
    @property
    def scalar(self) -> Callable[[float, float], tuple[float, float, float]]:
        """(f, ∂f/∂x, ∂f/∂y) at one point, in plain Python floats (`math`)."""
        return _scalar_function(self.expr, self.gradient)

    def value_and_gradient(self, x: float, y: float) -> tuple[float, float, float]:
        try:
            values = self.scalar(x, y)
        except (ValueError, OverflowError, ZeroDivisionError) as exc:
            raise SurfaceError(f"f cannot be evaluated at ({x:.4g}, {y:.4g}): {exc}") from None
        if any(isinstance(v, complex) for v in values):
            raise SurfaceError(f"f is not real at ({x:.4g}, {y:.4g})")
        return tuple(float(v) for v in values)

    def torch_function(self) -> Callable:
        """f of two tensors (element-wise), differentiable by autograd."""
        return _torch_function(self.expr)

    def grid(self, n: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xs, ys, values[iy, ix]) over the domain; NaN where f is undefined."""
        x0, x1, y0, y1 = self.domain
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        gx, gy = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            values = np.asarray(_numpy_function(self.expr)(gx, gy), dtype=complex)
        real = np.where(np.abs(values.imag) < 1e-12, values.real, np.nan)
        real = np.broadcast_to(real, gx.shape).astype(float)
        return xs, ys, np.where(np.isfinite(real), real, np.nan)

    @property
    def f_min(self) -> float:
        """The lowest marked minimum's value (the log plot shows f − f_min)."""
        values = [self.value_and_gradient(*m)[0] for m in self.minima]
        if values:
            return min(values)
        _, _, grid = self.grid(80)
        return float(np.nanmin(grid)) if np.isfinite(grid).any() else 0.0

    @property
    def span(self) -> float:
        x0, x1, y0, y1 = self.domain
        return max(x1 - x0, y1 - y0)


# ---------------------------------------------------------------------- building
def preset(name: str, condition: float = 10.0) -> Surface:
    title = SURFACES[name][0]
    if name == "quadratic":
        kappa = sp.nsimplify(condition) if float(condition).is_integer() else sp.Float(condition)
        expr = (X**2 / kappa + Y**2) / 2
        return _surface(name, f"{title} (κ = {condition:g})", expr, (-2.0, 2.0, -2.0, 2.0),
                        ((0.0, 0.0),))
    text, domain, minima = _PRESETS[name]
    return _surface(name, title, parse_formula(text, ("x", "y")), domain, minima)


def prepare_formula(text: str) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(f, ∂f/∂x, ∂f/∂y) of the typed `text`: run it in `lab.sandbox` (sympy work that
    cannot be interrupted). Raises `lab.formula.FormulaError` with the reason."""
    expr = parse_formula(text, ("x", "y"))
    if not expr.free_symbols <= {X, Y}:
        raise ValueError("use only x and y")
    return expr, sp.diff(expr, X), sp.diff(expr, Y)


def custom(text: str, prepared: tuple[sp.Expr, sp.Expr, sp.Expr],
           domain: tuple[float, float, float, float] = CUSTOM_DOMAIN) -> Surface:
    """The surface of a formula `prepare_formula` has read; its minima are found here."""
    expr, gx, gy = prepared
    surface = Surface("custom", f"f(x, y) = {text.strip()}", expr, (gx, gy), domain, ())
    return Surface("custom", surface.title, expr, (gx, gy), domain, find_minima(surface))


def _surface(name, title, expr, domain, minima) -> Surface:
    return Surface(name, title, expr, (sp.diff(expr, X), sp.diff(expr, Y)), domain,
                   tuple(minima))


def find_minima(surface: Surface, n: int = 81, limit: int = 8) -> tuple[tuple[float, float], ...]:
    """Local minima inside the domain: grid cells lower than their 8 neighbours, refined
    by BFGS with the exact gradient, de-duplicated."""
    from scipy.optimize import minimize

    xs, ys, values = surface.grid(n)
    v = np.where(np.isfinite(values), values, np.inf)
    centre = v[1:-1, 1:-1]
    lower = np.ones_like(centre, dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                lower &= centre < v[1 + dy:n - 1 + dy, 1 + dx:n - 1 + dx]
    lower &= np.isfinite(centre)
    candidates = sorted(zip(*np.nonzero(lower), strict=True), key=lambda c: centre[c])
    x0, x1, y0, y1 = surface.domain
    found: list[tuple[float, float]] = []

    def fun(p):
        f, gx, gy = surface.value_and_gradient(float(p[0]), float(p[1]))
        return f, np.array([gx, gy])

    for iy, ix in candidates[:4 * limit]:
        start = np.array([xs[ix + 1], ys[iy + 1]])
        try:
            result = minimize(fun, start, jac=True, method="BFGS", options={"maxiter": 400})
        except (ArithmeticError, ValueError):
            continue
        point = result.x
        inside = x0 <= point[0] <= x1 and y0 <= point[1] <= y1
        if not inside or not np.all(np.isfinite(point)) or np.hypot(*result.jac) > 1e-4:
            continue
        if all(math.hypot(point[0] - a, point[1] - b) > 1e-3 * surface.span for a, b in found):
            found.append((float(point[0]), float(point[1])))
        if len(found) >= limit:
            break
    return tuple(found)


# ---------------------------------------------------------------------- lambdify (cached)
_CACHE: dict[tuple, Callable] = {}


def _cached(key: tuple, make: Callable[[], Callable]) -> Callable:
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = make()
    return _CACHE[key]


def _scalar_function(expr, gradient):
    return _cached(("math", expr, *gradient),
                   lambda: sp.lambdify((X, Y), (expr, *gradient), modules="math"))


def _torch_function(expr):
    import torch

    raw = _cached(("torch", expr), lambda: sp.lambdify((X, Y), expr, modules="torch"))

    def f(x, y):
        value = raw(x, y)
        return value if isinstance(value, torch.Tensor) else torch.full_like(x, float(value))
    return f


def _numpy_function(expr):
    return _cached(("numpy", expr), lambda: sp.lambdify((X, Y), expr, modules="numpy"))
