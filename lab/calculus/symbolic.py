"""The panel's symbolic work, as plain functions of picklable inputs (typed text and numbers)
so that `lab.sandbox` can run them in its worker process under a time limit.

- `analyse(text)`: f, f′, f″ simplified, the derivation's named steps checked against
  `sympy.diff`, poles and complex singular points (for plots and Taylor's radius).
- `taylor_derivatives(text)`: f, f′, f″, … as far as a soft time budget allows (the panel
  evaluates Taylor polynomials for any centre and order from them, numerically).
- `taylor_coefficients(text, centre, order)`: the exact coefficients f⁽ᵏ⁾(a)/k!.
- `lhopital(...)`: lives in `lab.calculus.limits`; `critical_points(...)` in
  `lab.calculus.critical`.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import sympy as sp

from lab.calculus.notation import show
from lab.calculus.steps import Derivation, derivative_steps
from lab.formula import parse_formula, symbol

X = symbol("x")
#: real poles are looked for (and drawn as breaks) within this window
POLE_WINDOW = 1000.0
_PERIODIC_COPIES = 40


@dataclass(frozen=True)
class Analysis:
    text: str
    expr: sp.Expr
    first: sp.Expr           # f′ simplified
    second: sp.Expr          # f″ simplified
    derivation: Derivation
    #: how the steps' result compares with sympy.diff (shown under the steps)
    check: str
    steps_agree: bool
    #: real points where f, f′ or f″ is singular (lines break there)
    poles: tuple[float, ...]
    #: complex points where f is not analytic (the nearest bounds Taylor's radius)
    singular_points: tuple[complex, ...]
    #: what the panel shows, printed in the worker (the GUI thread runs no sympy)
    first_text: str = ""
    second_text: str = ""
    step_lines: tuple[str, ...] = ()


def analyse(text: str) -> Analysis:
    f = parse_formula(text)
    derivation = derivative_steps(f, X)
    exact = sp.diff(f, X)
    first = _simplest(exact)
    second = _simplest(sp.diff(first, X))
    agree, check = _compare(derivation.result, first)
    poles = sorted({p for g in (f, first, second) for p in _real_poles(g)})
    return Analysis(text, f, first, second, derivation, check, agree, tuple(poles),
                    _singular_points(f), show(first), show(second),
                    tuple("   " * s.depth + s.text() for s in derivation.steps))


def _simplest(expr: sp.Expr) -> sp.Expr:
    """sympy.simplify, unless that is longer than the input (it sometimes is)."""
    simpler = sp.simplify(expr)
    return simpler if sp.count_ops(simpler) <= sp.count_ops(expr) else expr


def _compare(steps_result: sp.Expr, simplified: sp.Expr) -> tuple[bool, str]:
    difference = sp.simplify(steps_result - simplified)
    if difference == 0:
        same = sp.simplify(steps_result) == simplified or steps_result == simplified
        return True, ("✓ the steps give sympy.diff's result" if same else
                      f"✓ equal to sympy.diff: {show(steps_result)} is equivalent to "
                      f"{show(simplified)}")
    # simplify cannot always prove 0; compare numerically at a few points
    points = [0.37, 1.3, 2.9, -0.71, -2.3]
    values = []
    for p in points:
        try:
            values.append(complex(difference.subs(X, p).evalf()))
        except (TypeError, ValueError):
            continue
    finite = [v for v in values if math.isfinite(abs(v))]
    if finite and all(abs(v) < 1e-9 for v in finite):
        return True, ("✓ equal to sympy.diff at every test point (sympy could not "
                      "simplify the difference to 0)")
    return False, f"✗ the steps differ from sympy.diff by {show(difference)}"


def _real_poles(expr: sp.Expr) -> list[float]:
    try:
        found = sp.singularities(expr, X)
    except Exception:  # noqa: BLE001 - sympy cannot always say; the plot still breaks at jumps
        return []
    return [p for p in _points_of(found) if isinstance(p, float)]


def _points_of(found: sp.Set, window: float = POLE_WINDOW) -> list[float | complex]:
    """The elements of a sympy set of singular points as numbers (periodic families are
    listed near 0)."""
    out: list[float | complex] = []
    if isinstance(found, sp.Union):
        for part in found.args:
            out.extend(_points_of(part, window))
        return out
    if isinstance(found, sp.FiniteSet):
        for value in found:
            number = complex(value.evalf())
            if abs(number) <= window:
                out.append(number.real if abs(number.imag) < 1e-12 else number)
        return out
    if isinstance(found, sp.ImageSet) and found.base_set == sp.S.Integers:
        (variable,) = found.lamda.variables
        for n in range(-_PERIODIC_COPIES, _PERIODIC_COPIES + 1):
            number = complex(found.lamda.expr.subs(variable, n).evalf())
            if abs(number) <= window:
                out.append(number.real if abs(number.imag) < 1e-12 else number)
    return out


def _singular_points(f: sp.Expr) -> tuple[complex, ...]:
    """Where f, continued to complex z, is not analytic: poles (sympy.singularities) and
    branch points (zeros of log arguments and of bases of fractional powers, |u| at 0)."""
    z = sp.Symbol("z")
    g = f.subs(X, z)
    points: list[complex] = []
    with contextlib.suppress(Exception):  # sympy cannot always say
        points.extend(complex(p) for p in _points_of(sp.singularities(g, z, sp.S.Complexes)))
    branch_bases = [a.args[0] for a in g.atoms(sp.log, sp.Abs, sp.sign)]
    branch_bases += [p.base for p in g.atoms(sp.Pow) if not p.exp.is_integer and p.base.has(z)]
    for base in branch_bases:
        try:
            found = sp.solveset(base, z, sp.S.Complexes)
        except Exception:  # noqa: BLE001
            continue
        points.extend(complex(p) for p in _points_of(found))
    unique: list[complex] = []
    for p in points:
        if all(abs(p - q) > 1e-9 for q in unique):
            unique.append(p)
    return tuple(unique)


# =========================================================================== Taylor

@dataclass(frozen=True)
class TaylorDerivatives:
    text: str
    #: f, f′, f″, … (index k is the k-th derivative), as many as the time allowed
    derivatives: tuple[sp.Expr, ...]
    complete: bool


def taylor_derivatives(text: str, max_order: int = 21, budget_s: float = 2.0
                       ) -> TaylorDerivatives:
    """The derivatives of f up to `max_order`, stopping early when the next one would
    not fit in `budget_s` (tan's derivatives grow fast)."""
    f = parse_formula(text)
    started = time.monotonic()
    derivatives = [f]
    for _ in range(max_order):
        if time.monotonic() - started > budget_s or sp.count_ops(derivatives[-1]) > 4000:
            return TaylorDerivatives(text, tuple(derivatives), False)
        derivatives.append(sp.diff(derivatives[-1], X))
    return TaylorDerivatives(text, tuple(derivatives), True)


@dataclass(frozen=True)
class TaylorCoefficients:
    text: str
    centre: sp.Expr
    order: int
    coefficients: tuple[sp.Expr, ...]   # c_k = f⁽ᵏ⁾(a)/k!
    polynomial: sp.Expr                 # Σ c_k (x − a)^k
    texts: tuple[str, ...] = ()         # the coefficients as shown


def exact_centre(value: float) -> sp.Expr:
    """A slider's centre as an exact number (0.25 -> 1/4)."""
    return sp.Rational(str(round(value, 6)))


def taylor_coefficients(text: str, centre: float, order: int) -> TaylorCoefficients:
    f = parse_formula(text)
    a = exact_centre(centre)
    t = sp.Symbol("t")
    shifted = f.subs(X, a + t)
    try:
        series = sp.series(shifted, t, 0, order + 1).removeO()
        coefficients = tuple(sp.simplify(series.coeff(t, k)) for k in range(order + 1))
    except (ValueError, NotImplementedError, TypeError):
        coefficients = ()
    if not coefficients or any(c.has(t) for c in coefficients):
        # not analytic at a (e.g. ln x at 0): say so through the coefficients
        derivative = f
        values = []
        for k in range(order + 1):
            values.append(sp.simplify(derivative.subs(X, a) / sp.factorial(k)))
            derivative = sp.diff(derivative, X)
        coefficients = tuple(values)
    polynomial = sum((c * (X - a) ** k for k, c in enumerate(coefficients)), sp.Integer(0))
    return TaylorCoefficients(text, a, order, coefficients, polynomial,
                              tuple(show(c) for c in coefficients))


__all__ = ["Analysis", "TaylorCoefficients", "TaylorDerivatives", "analyse", "exact_centre",
           "taylor_coefficients", "taylor_derivatives"]
