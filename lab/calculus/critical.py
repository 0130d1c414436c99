"""Critical points (Fermat): where f′(x) = 0 or f′ does not exist on [lo, hi], each with its
kind by the second-derivative test, falling back to the sign of f′ on each side when f″ is 0
or undefined; the endpoints are candidates too, and the largest and smallest value among
all candidates is the global maximum and minimum on the interval.

f′(x) = 0 is solved symbolically (`sympy.solveset`) where sympy can, and numerically
otherwise (sign changes of f′ on a fine grid, refined by Brent's method), and the result
says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.optimize import brentq

from lab.calculus.notation import show, show_number, show_point
from lab.formula import FormulaError, numeric_function, parse_formula, symbol

X = symbol("x")
GRID = 4001


@dataclass(frozen=True)
class Candidate:
    x: float
    exact: str             # "π/2 ≈ 1.5708", or the decimal value when found numerically
    source: str            # "f′(x) = 0", "f′ does not exist", "endpoint"
    kind: str              # "local minimum", "local maximum", "neither (…)", "endpoint"
    reason: str            # "f″(x) = 6 > 0", "f″ = 0; f′ goes − → +"
    value: float           # f(x)


@dataclass(frozen=True)
class CriticalPoints:
    text: str
    lo: float
    hi: float
    derivative: sp.Expr
    candidates: tuple[Candidate, ...]   # in order of x
    method: str                         # how f′ = 0 was solved
    global_max: float | None            # x of the largest value on [lo, hi]
    global_min: float | None
    derivative_text: str = ""


def critical_points(text: str, lo: float, hi: float) -> CriticalPoints:
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise FormulaError(f"the interval needs lo < hi, not [{lo:g}, {hi:g}]")
    f = parse_formula(text)
    first = sp.simplify(sp.diff(f, X))
    second = sp.diff(first, X)
    interval = sp.Interval(sp.Rational(str(lo)), sp.Rational(str(hi)))
    roots, method = _zeros_of(first, interval, lo, hi)
    f_num = numeric_function(f)
    candidates: list[Candidate] = []
    for point in _nondifferentiable(f, first, interval):
        xv = float(point)
        if not _finite(f_num, xv):
            continue
        kind, reason = _classify_by_sign(first, xv, lo, hi, "f′ does not exist")
        candidates.append(Candidate(xv, show_point(point), "f′ does not exist", kind, reason,
                                    _real(f_num, xv)))
    for root in roots:
        xv = float(root)
        if any(abs(c.x - xv) < 1e-9 for c in candidates) or not _finite(f_num, xv):
            continue
        kind, reason = _classify(first, second, root, xv, lo, hi)
        candidates.append(Candidate(xv, show_point(root) if isinstance(root, sp.Basic)
                                    else show_number(xv), "f′(x) = 0", kind, reason,
                                    _real(f_num, xv)))
    for end in (lo, hi):
        if _finite(f_num, end) and all(abs(c.x - end) > 1e-12 for c in candidates):
            candidates.append(Candidate(end, show_number(end), "endpoint", "endpoint",
                                        "ends of the interval are always candidates",
                                        float(f_num(end))))
    candidates.sort(key=lambda c: c.x)
    values = [c for c in candidates if math.isfinite(c.value)]
    unbounded = _unbounded(f, f_num, interval, lo, hi)
    global_max = max(values, key=lambda c: c.value).x if values and unbounded != "above" \
        and unbounded != "both" else None
    global_min = min(values, key=lambda c: c.value).x if values and unbounded != "below" \
        and unbounded != "both" else None
    return CriticalPoints(text, lo, hi, first, tuple(candidates), method, global_max,
                          global_min, show(first))


def _real(function, xv: float) -> float:
    """function(xv) as a float; nan where it is undefined or not real."""
    with np.errstate(all="ignore"):
        try:
            value = complex(function(xv))
        except (ZeroDivisionError, ValueError, TypeError, OverflowError):
            return math.nan
    return value.real if abs(value.imag) < 1e-12 else math.nan


def _finite(function, xv: float) -> bool:
    with np.errstate(all="ignore"):
        try:
            value = complex(function(xv))
        except (ZeroDivisionError, ValueError, TypeError, OverflowError):
            return False
    return math.isfinite(value.real) and abs(value.imag) < 1e-12


def _zeros_of(first: sp.Expr, interval: sp.Interval, lo: float, hi: float
              ) -> tuple[list, str]:
    if first == 0:
        raise FormulaError("f is constant: every point is critical")
    try:
        found = sp.solveset(first, X, interval)
    except Exception:  # noqa: BLE001 - sympy gives up in many ways; we go numeric
        found = None
    if isinstance(found, sp.FiniteSet) and all(p.is_real for p in found):
        return sorted(found, key=float), "symbolically: sympy.solveset found every solution"
    if found is sp.S.EmptySet:
        return [], "symbolically: f′(x) = 0 has no solution on the interval"
    return _numeric_zeros(first, lo, hi), (
        f"numerically: sympy could not solve f′(x) = 0 exactly, so the zeros are sign "
        f"changes of f′ on a {GRID}-point grid refined by Brent's method (a zero where f′ "
        "touches 0 without crossing can be missed)")


def _numeric_zeros(first: sp.Expr, lo: float, hi: float) -> list[float]:
    g = numeric_function(first)
    xs = np.linspace(lo, hi, GRID)
    with np.errstate(all="ignore"):
        ys = np.asarray(g(xs), dtype=float) * np.ones_like(xs)
    zeros: list[float] = [float(v) for v in xs[ys == 0]]
    for i in np.nonzero((np.sign(ys[:-1]) * np.sign(ys[1:])) < 0)[0]:
        a, b = float(xs[i]), float(xs[i + 1])
        with np.errstate(all="ignore"):
            if not (math.isfinite(ys[i]) and math.isfinite(ys[i + 1])):
                continue
            root = brentq(lambda t: float(g(t)), a, b, xtol=1e-14)
        # a sign change across a pole is no zero
        if abs(float(g(root))) < 1e-6 * (1 + abs(ys[i]) + abs(ys[i + 1])):
            zeros.append(root)
    return sorted(zeros)


def _nondifferentiable(f: sp.Expr, first: sp.Expr, interval: sp.Interval) -> list[sp.Expr]:
    """Points where f is defined but f′ is not: zeros of |u|'s and sign's arguments and of
    the bases of fractional powers, and f′'s own singularities."""
    bases = [a.args[0] for a in f.atoms(sp.Abs, sp.sign)]
    bases += [p.base for p in f.atoms(sp.Pow) if not p.exp.is_integer and p.base.has(X)]
    points: list[sp.Expr] = []
    for base in bases:
        try:
            found = sp.solveset(base, X, interval)
        except Exception:  # noqa: BLE001
            continue
        if isinstance(found, sp.FiniteSet):
            points.extend(found)
    try:
        found = sp.singularities(first, X)
        if isinstance(found, sp.FiniteSet):
            points.extend(p for p in found if p in interval)
    except Exception:  # noqa: BLE001
        pass
    out = []
    for p in points:
        if not p.is_real or p in out:
            continue
        try:
            left = sp.limit(first, X, p, "-")
            right = sp.limit(first, X, p, "+")
        except Exception:  # noqa: BLE001
            continue
        if left != right or not left.is_finite:
            out.append(p)
    return sorted(out, key=float)


def _classify(first: sp.Expr, second: sp.Expr, root, xv: float, lo: float, hi: float
              ) -> tuple[str, str]:
    point = root if isinstance(root, sp.Basic) else sp.Float(xv)
    try:
        curvature = sp.simplify(second.subs(X, point))
        value = complex(curvature.evalf())
    except (TypeError, ValueError):
        value = complex(math.nan)
    if math.isfinite(value.real) and abs(value.imag) < 1e-12:
        tolerance = 1e-9 if isinstance(root, sp.Basic) else 1e-6
        shown = show(curvature) if isinstance(root, sp.Basic) and curvature.is_number \
            and len(show(curvature)) < 24 else show_number(value.real, 4)
        if value.real > tolerance:
            return "local minimum", f"f″ = {shown} > 0 (second-derivative test)"
        if value.real < -tolerance:
            return "local maximum", f"f″ = {shown} < 0 (second-derivative test)"
        return _classify_by_sign(first, xv, lo, hi, "f″ = 0: the test says nothing")
    return _classify_by_sign(first, xv, lo, hi, "f″ is undefined there")


def _classify_by_sign(first: sp.Expr, xv: float, lo: float, hi: float, why: str
                      ) -> tuple[str, str]:
    g = numeric_function(first)
    step = max(1e-6, 1e-3 * (hi - lo))
    left, right = _real(g, xv - step), _real(g, xv + step)
    signs = "".join("+" if v > 0 else "−" if v < 0 else "0" for v in (left, right))
    where = f"{why}; f′ goes {signs[0]} → {signs[1]}"
    if signs == "−+":
        return "local minimum", where
    if signs == "+−":
        return "local maximum", where
    return "neither (f′ keeps its sign: an inflection / saddle)", where


def _unbounded(f: sp.Expr, function, interval: sp.Interval, lo: float, hi: float) -> str:
    """"above", "below", "both" or "": whether f is unbounded on [lo, hi] (a pole inside,
    found by sympy and its one-sided limits, or infinite samples)."""
    above = below = False
    try:
        found = sp.singularities(f, X)
        poles = [p for p in found if p in interval] if isinstance(found, sp.FiniteSet) else []
    except Exception:  # noqa: BLE001
        poles = []
    for pole in poles:
        for side in ("-", "+"):
            if (side == "-" and float(pole) <= lo) or (side == "+" and float(pole) >= hi):
                continue
            try:
                value = sp.limit(f, X, pole, side)
            except Exception:  # noqa: BLE001
                continue
            above |= value in (sp.oo, sp.zoo)
            below |= value in (-sp.oo, sp.zoo)
    xs = np.linspace(lo, hi, GRID)
    with np.errstate(all="ignore"):
        ys = np.real_if_close(np.asarray(function(xs)) * np.ones_like(xs))
    if np.isrealobj(ys):
        above |= bool(np.any(ys == np.inf))
        below |= bool(np.any(ys == -np.inf))
    return "both" if above and below else "above" if above else "below" if below else ""


__all__ = ["Candidate", "CriticalPoints", "critical_points"]
