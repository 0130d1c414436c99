"""Prepared views for concepts 1–4 of the course (the Welcome map opens them)."""

from __future__ import annotations

from lab.calculus.view import CalculusView
from lab.params import Example

EXAMPLES: dict[int, Example] = {
    1: Example("The derivative of x³ − 3x + 1, rule by rule, with its tangent at x = 0.5",
               CalculusView(formula="x^3 - 3x + 1", tab="derivative", tangent_at=0.5)),
    2: Example("Taylor polynomials of sin x at 0, order 5",
               CalculusView(formula="sin x", tab="taylor", x_range=(-7.0, 7.0),
                            y_range=(-3.0, 3.0), taylor_centre=0.0, taylor_order=5)),
    3: Example("L'Hôpital: sin(x)/x as x → 0",
               CalculusView(formula="sin x", tab="limit", limit_formula="sin(x)/x",
                            limit_point="0")),
    4: Example("Fermat: critical points of x³ − 3x + 1 on [−3, 3]",
               CalculusView(formula="x^3 - 3x + 1", tab="critical", x_range=(-3.0, 3.0))),
}

#: formulas offered in the formula box (from the notes and the classic exercises)
PRESETS: tuple[tuple[str, str], ...] = (
    ("x^3 - 3x + 1", "a cubic: two critical points"),
    ("x^2", "the parabola of the notes"),
    ("2x sin x", "a product"),
    ("sin(x^2)", "a chain"),
    ("e^x / x", "a quotient"),
    ("ln(1 + x)", "Taylor radius 1"),
    ("1/(1 - x)", "the geometric series, radius 1"),
    ("x^x", "logarithmic differentiation"),
    ("|x|", "no derivative at 0"),
    ("x^4", "f'' = 0 at a minimum"),
    ("sigmoid(x)", "the logistic function of neural networks"),
    ("tanh x", "an activation function"),
    ("x^2 e^-x", "a maximum and a minimum"),
    ("tan x", "poles"),
)

LIMIT_PRESETS: tuple[tuple[str, str, str, str], ...] = (
    # (expression, point, direction, what it shows)
    ("sin(x)/x", "0", "+-", "0/0"),
    ("(1 - cos x)/x^2", "0", "+-", "0/0 twice"),
    ("(e^x - 1 - x)/x^2", "0", "+-", "0/0 twice"),
    ("e^x / x^3", "oo", "+-", "∞/∞ three times"),
    ("ln(x)/(1/x)", "0", "+", "∞/∞ kept as typed"),
    ("x ln x", "0", "+", "0·∞ rewritten"),
    ("1/x - 1/sin(x)", "0", "+-", "∞ − ∞"),
    ("x - sqrt(x^2 + x)", "oo", "+-", "∞ − ∞ with a root"),
    ("(1 + 1/x)^x", "oo", "+-", "1^∞ → e"),
    ("x^x", "0", "+", "0^0"),
    ("x/sqrt(x^2 + 1)", "oo", "+-", "L'Hôpital cycles"),
    ("(x^2 + 1)/(x + 1)", "1", "+-", "not indeterminate"),
    ("1/x", "0", "+", "not indeterminate: c/0"),
)

__all__ = ["EXAMPLES", "LIMIT_PRESETS", "PRESETS"]
