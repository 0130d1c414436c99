"""L'Hôpital's rule step by step, with the rewrites of the other indeterminate forms, a cap
on applications, cycle detection, and every answer checked against `sympy.limit`.

The numerator and denominator are kept as separate expressions throughout (sympy would
rewrite ln(x)/(1/x) into x·ln(x) by itself and hide the form): the typed text is split at
its outermost operation by `lab.formula.parse_top_level`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from lab.calculus.notation import show
from lab.formula import FormulaError, parse_formula, parse_top_level, symbol

X = symbol("x")
MAX_APPLICATIONS = 6
_INFINITY_WORDS = {"oo": sp.oo, "+oo": sp.oo, "inf": sp.oo, "+inf": sp.oo, "∞": sp.oo,
                   "+∞": sp.oo, "infinity": sp.oo, "-oo": -sp.oo, "-inf": -sp.oo,
                   "-∞": -sp.oo, "−∞": -sp.oo, "−oo": -sp.oo, "-infinity": -sp.oo}
Direction = str  # "+" (from the right), "-" (from the left), "+-" (both sides)


@dataclass(frozen=True)
class LimitStep:
    title: str
    detail: str


@dataclass(frozen=True)
class LimitResult:
    text: str
    point: sp.Expr
    direction: Direction
    steps: tuple[LimitStep, ...]
    answer: sp.Expr | None      # what the steps reached (None: they could not finish)
    sympy_answer: sp.Expr       # sympy.limit of the whole expression
    verdict: str                # one line: how it ended and whether sympy agrees
    applications: int
    cycled: bool
    point_value: float = 0.0            # the point as a float (±inf for ±∞)
    answer_value: float | None = None   # sympy's limit as a float, when finite and real


def parse_point(text: str) -> sp.Expr:
    """`0`, `pi/2`, `oo`, `-inf`, `∞` -> the point a limit goes to."""
    cleaned = text.strip().replace(" ", "").lower()
    if cleaned in _INFINITY_WORDS:
        return _INFINITY_WORDS[cleaned]
    value = parse_formula(text, variables=())
    if not value.is_number or not value.is_real:
        raise FormulaError(f"the point must be a real number or ±oo, not {text!r}")
    return value


def _limit(expr: sp.Expr, point: sp.Expr, direction: Direction) -> sp.Expr:
    if point.is_finite and not expr.has(sp.Abs, sp.sign, sp.Pow) or (
            point.is_finite and all(p.exp.is_integer for p in expr.atoms(sp.Pow))
            and not expr.has(sp.Abs, sp.sign)):
        # elementary functions are continuous where they are defined: substitute first
        value = expr.subs(X, point)
        if value.is_number and value.is_finite and value.is_real:
            return sp.simplify(value)
    if point is sp.oo:
        return sp.limit(expr, X, sp.oo)
    if point is -sp.oo:
        return sp.limit(expr, X, -sp.oo)
    return sp.limit(expr, X, point, direction)


def _is_infinite(value: sp.Expr) -> bool:
    return value in (sp.oo, -sp.oo, sp.zoo)


def _is_number(value: sp.Expr) -> bool:
    return value.is_number and value.is_finite is True and not isinstance(value,
                                                                          sp.AccumBounds)


def _where(point: sp.Expr, direction: Direction) -> str:
    side = {"+": "⁺", "-": "⁻"}.get(direction, "") if point not in (sp.oo, -sp.oo) else ""
    return f"x → {show(point)}{side}"


def lhopital(text: str, point_text: str, direction: Direction = "+-",
             max_applications: int = MAX_APPLICATIONS) -> LimitResult:
    point = parse_point(point_text)
    op, parts = parse_top_level(text)
    whole = parse_formula(text)
    where = _where(point, direction)
    steps: list[LimitStep] = []

    def finish(answer: sp.Expr | None, ending: str, applications: int = 0,
               cycled: bool = False) -> LimitResult:
        value = sp.exp(answer) if (wrap_exp and answer is not None) else answer
        if wrap_exp and answer is not None:
            steps.append(LimitStep("undo the logarithm",
                                   f"the limit is e^({show(answer)}) = {show(sp.simplify(value))}"))
            value = sp.simplify(value)
        reference = _limit(whole, point, direction)
        if value is None:
            verdict = f"{ending} sympy.limit finds {show(reference)}."
        elif sp.simplify(value - reference) == 0 or value == reference:
            verdict = f"{ending} The limit is {show(value)} — sympy.limit agrees."
        else:
            verdict = (f"{ending} The steps give {show(value)} but sympy.limit finds "
                       f"{show(reference)}.")
        finite = reference.is_number and reference.is_finite and reference.is_real
        return LimitResult(text, point, direction, tuple(steps), value, reference, verdict,
                           applications, cycled, float(point),
                           float(reference) if finite else None)

    numerator, denominator, wrap_exp = _as_quotient(op, parts, whole, point, direction, steps)
    if numerator is None:
        return finish(_limit(whole, point, direction),
                      "No indeterminate form to rewrite: direct evaluation.")
    seen: list[sp.Expr] = [sp.simplify(numerator / denominator)]
    for applications in range(max_applications + 1):
        top = _limit(numerator, point, direction)
        bottom = _limit(denominator, point, direction)
        form = _form(top, bottom)
        steps.append(LimitStep(
            f"check the form: {form or show(top) + ' / ' + show(bottom)}",
            f"as {where}: top {show(numerator)} → {show(top)}, "
            f"bottom {show(denominator)} → {show(bottom)}"))
        if not form:
            if _is_number(bottom) and bottom != 0 and (_is_number(top) or _is_infinite(top)):
                value = sp.simplify(top / bottom)
                ending = ("Not an indeterminate form any more: the limit is the quotient of "
                          "the limits." if applications else
                          "Not an indeterminate form: L'Hôpital's rule does not apply; "
                          "the limit is the quotient of the limits.")
                return finish(value, ending, applications)
            if bottom == 0 and top != 0:
                value = _limit(numerator / denominator, point, direction)
                return finish(value, f"{show(top)}/0 is not an indeterminate form: L'Hôpital's "
                                     "rule does not apply; the quotient grows without bound "
                                     "(or has no limit).", applications)
            value = _limit(numerator / denominator, point, direction)
            return finish(value, "The top or bottom has no limit here: L'Hôpital's rule does "
                                 "not apply.", applications)
        if applications == max_applications:
            return finish(None, f"Stopped after {max_applications} applications, still "
                                f"{form}: another method is needed.", applications)
        d_top = sp.diff(numerator, X)
        d_bottom = sp.diff(denominator, X)
        steps.append(LimitStep(
            f"L'Hôpital #{applications + 1}: differentiate top and bottom separately",
            f"({show(numerator)})′ = {show(d_top)};   ({show(denominator)})′ = {show(d_bottom)}"))
        ratio = sp.simplify(sp.simplify(d_top) / sp.simplify(d_bottom))
        numerator, denominator = sp.fraction(sp.together(ratio))
        steps.append(LimitStep("simplify",
                              f"({show(d_top)}) / ({show(d_bottom)}) = {show(ratio)}"))
        if any(ratio == earlier or sp.simplify(ratio - earlier) == 0 for earlier in seen):
            steps.append(LimitStep("the quotient came back",
                                   f"{show(ratio)} was already seen: applying the rule again "
                                   "only cycles"))
            return finish(None, "L'Hôpital's rule cycles here: another method is needed "
                                "(e.g. divide top and bottom by the fastest-growing term).",
                          applications + 1, cycled=True)
        seen.append(ratio)
    raise AssertionError("unreachable")


def _form(top: sp.Expr, bottom: sp.Expr) -> str:
    if top == 0 and bottom == 0:
        return "0/0"
    if _is_infinite(top) and _is_infinite(bottom):
        return "∞/∞"
    return ""


def _as_quotient(op: str, parts: tuple[sp.Expr, ...], whole: sp.Expr, point: sp.Expr,
                 direction: Direction, steps: list[LimitStep]
                 ) -> tuple[sp.Expr | None, sp.Expr | None, bool]:
    """The typed expression as (numerator, denominator, take e^ at the end), with the
    rewrite of 0·∞, ∞ − ∞ and the power forms shown as a step; (None, None, False) when
    there is nothing to rewrite (direct evaluation)."""
    if op == "/":
        return parts[0], parts[1], False
    if op in ("*", "-", "+", "^"):
        f, g = parts
        lf, lg = _limit(f, point, direction), _limit(g, point, direction)
        if op == "*" and {_kind(lf), _kind(lg)} == {"0", "∞"}:
            zero, infinite = (f, g) if _kind(lf) == "0" else (g, f)
            steps.append(LimitStep("0·∞ form: rewrite as a quotient ∞/∞",
                                   f"{show(f)} · {show(g)} = {show(infinite)} / "
                                   f"(1/({show(zero)}))"))
            return infinite, 1 / zero, False
        if op in ("-", "+") and _kind(lf) == _kind(lg) == "∞" and (
                (op == "-" and sp.sign(lf) == sp.sign(lg))
                or (op == "+" and sp.sign(lf) != sp.sign(lg))):
            difference = f - g if op == "-" else f + g
            top, bottom = sp.fraction(sp.together(difference))
            if bottom.has(X):
                steps.append(LimitStep("∞ − ∞ form: one fraction over a common denominator",
                                       f"{show(difference)} = ({show(top)}) / ({show(bottom)})"))
                return top, bottom, False
            g_signed = g if op == "-" else -g
            if any(isinstance(h, sp.Pow) and h.exp == sp.Rational(1, 2) for h in (f, g_signed)):
                top, bottom = sp.expand(f**2 - g_signed**2), f + g_signed
                steps.append(LimitStep("∞ − ∞ form with a square root: multiply by the conjugate",
                                       f"f − g = (f² − g²)/(f + g) = ({show(top)}) / "
                                       f"({show(bottom)})"))
                return top, bottom, False
            top, bottom = 1 / g_signed - 1 / f, 1 / (f * g_signed)
            steps.append(LimitStep("∞ − ∞ form: f − g = (1/g − 1/f) / (1/(f·g))",
                                   f"= ({show(top)}) / ({show(bottom)})"))
            return top, bottom, False
        if op == "^":
            kinds = (_kind(lf), _kind(lg))
            name = {("1", "∞"): "1^∞", ("0", "0"): "0^0", ("∞", "0"): "∞^0"}.get(kinds)
            if name:
                log_f = sp.expand_log(sp.log(f), force=True)
                steps.append(LimitStep(
                    f"{name} form: take the logarithm",
                    f"ln(({show(f)})^({show(g)})) = {show(g)} · {show(log_f)}; find its limit L, "
                    f"then the answer is e^L; as a 0·∞ quotient: {show(log_f)} / (1/({show(g)}))"))
                return log_f, 1 / g, True
    top, bottom = sp.fraction(whole)
    if bottom.has(X):
        steps.append(LimitStep("read as a quotient", f"{show(top)} / {show(bottom)}"))
        return top, bottom, False
    return None, None, False


def _kind(value: sp.Expr) -> str:
    if value == 0:
        return "0"
    if value == 1:
        return "1"
    if _is_infinite(value):
        return "∞"
    return "number"


__all__ = ["LimitResult", "LimitStep", "lhopital", "parse_point"]
