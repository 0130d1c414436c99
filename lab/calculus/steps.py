"""A derivative worked out step by step, each step naming the rule it uses.

`derivative_steps(f, x)` applies the rules of the notes recursively (sum, constant multiple,
power, product, quotient, chain with its "let u = …", the exp / log / trig table) and
returns the steps in the order a student writes them, plus the resulting expression. The
result is checked against `sympy.diff` elsewhere (`lab.calculus.symbolic`), never assumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from lab.calculus.notation import show

#: derivatives of one-argument functions, in u: the table of the notes
_TABLE: dict[type, tuple[str, object]] = {
    sp.sin: ("sine rule: (sin u)' = cos u", lambda u: sp.cos(u)),
    sp.cos: ("cosine rule: (cos u)' = −sin u", lambda u: -sp.sin(u)),
    sp.tan: ("tangent rule: (tan u)' = 1 + tan²u", lambda u: 1 + sp.tan(u) ** 2),
    sp.cot: ("cotangent rule: (cot u)' = −1 − cot²u", lambda u: -1 - sp.cot(u) ** 2),
    sp.sec: ("secant rule: (sec u)' = sec u tan u", lambda u: sp.sec(u) * sp.tan(u)),
    sp.csc: ("cosecant rule: (csc u)' = −csc u cot u", lambda u: -sp.csc(u) * sp.cot(u)),
    sp.exp: ("exponential rule: (eᵘ)' = eᵘ", lambda u: sp.exp(u)),
    sp.log: ("logarithm rule: (ln u)' = 1/u", lambda u: 1 / u),
    sp.asin: ("arcsine rule: (asin u)' = 1/√(1 − u²)", lambda u: 1 / sp.sqrt(1 - u**2)),
    sp.acos: ("arccosine rule: (acos u)' = −1/√(1 − u²)", lambda u: -1 / sp.sqrt(1 - u**2)),
    sp.atan: ("arctangent rule: (atan u)' = 1/(1 + u²)", lambda u: 1 / (1 + u**2)),
    sp.sinh: ("hyperbolic sine rule: (sinh u)' = cosh u", lambda u: sp.cosh(u)),
    sp.cosh: ("hyperbolic cosine rule: (cosh u)' = sinh u", lambda u: sp.sinh(u)),
    sp.tanh: ("hyperbolic tangent rule: (tanh u)' = 1 − tanh²u", lambda u: 1 - sp.tanh(u) ** 2),
    sp.Abs: ("absolute value rule: |u|' = sign(u) (u ≠ 0)", lambda u: sp.sign(u)),
}


@dataclass(frozen=True)
class Step:
    """One line of the derivation: `d/dx[expr] = result` by `rule`, at nesting `depth`;
    `note` says more (the chain rule's "let u = …")."""

    rule: str
    expr: sp.Expr
    result: sp.Expr
    depth: int
    note: str = ""

    def text(self) -> str:
        line = f"d/dx[{show(self.expr)}] = {show(self.result)}"
        return f"{line}    — {self.rule}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Derivation:
    expr: sp.Expr
    result: sp.Expr
    steps: tuple[Step, ...]


class _Deriver:
    def __init__(self, x: sp.Symbol, max_steps: int) -> None:
        self.x = x
        self.steps: list[Step] = []
        self.max_steps = max_steps

    def d(self, f: sp.Expr, depth: int) -> sp.Expr:
        if len(self.steps) > self.max_steps:
            return sp.diff(f, self.x)  # a huge expression: keep the list readable
        x = self.x
        if not f.has(x):
            return self._step("constant rule: (c)' = 0", f, sp.Integer(0), depth)
        if f == x:
            return self._step("identity: (x)' = 1", f, sp.Integer(1), depth)
        if f.is_Add:
            index = len(self.steps)
            self.steps.append(None)  # type: ignore[arg-type] - the sum's line goes first
            parts = [self.d(term, depth + 1) for term in f.as_ordered_terms()]
            result = sp.Add(*parts)
            self.steps[index] = Step("sum rule: (u + v)' = u' + v'", f, result, depth)
            return result
        if f.is_Mul:
            return self._product(f, depth)
        if f.is_Pow:
            return self._power(f, depth)
        if isinstance(f, sp.Function) and len(f.args) == 1 and type(f) in _TABLE:
            rule, derivative = _TABLE[type(f)]
            (u,) = f.args
            outer = derivative(u)
            if u == x:
                return self._step(_in_x(rule), f, outer, depth)
            return self._chain(f, u, outer, rule, depth)
        if isinstance(f, sp.sign):
            return self._step("sign is constant where it is differentiable (x ≠ 0)", f,
                              sp.Integer(0), depth)
        result = sp.diff(f, x)
        return self._step("known derivative (sympy's table)", f, result, depth)

    def _step(self, rule: str, f: sp.Expr, result: sp.Expr, depth: int,
              note: str = "") -> sp.Expr:
        self.steps.append(Step(rule, f, result, depth, note))
        return result

    def _chain(self, f: sp.Expr, u: sp.Expr, outer: sp.Expr, rule: str, depth: int) -> sp.Expr:
        index = len(self.steps)
        self.steps.append(None)  # type: ignore[arg-type]
        du = self.d(u, depth + 1)
        result = outer * du
        self.steps[index] = Step("chain rule: (f(u))' = f'(u)·u'", f, result, depth,
                                 f"let u = {show(u)}; {rule}")
        return result

    def _product(self, f: sp.Expr, depth: int) -> sp.Expr:
        x = self.x
        constant, rest = f.as_independent(x, as_Add=False)
        if constant != 1:
            index = len(self.steps)
            self.steps.append(None)  # type: ignore[arg-type]
            result = constant * self.d(rest, depth + 1)
            self.steps[index] = Step("constant multiple rule: (c·u)' = c·u'", f, result, depth)
            return result
        numerator, denominator = _quotient(f)
        if denominator != 1 and denominator.has(x) and numerator != 1:
            index = len(self.steps)
            self.steps.append(None)  # type: ignore[arg-type]
            du = self.d(numerator, depth + 1)
            dv = self.d(denominator, depth + 1)
            result = (du * denominator - numerator * dv) / denominator**2
            self.steps[index] = Step("quotient rule: (u/v)' = (u'v − uv')/v²", f, result, depth,
                                     f"u = {show(numerator)}, v = {show(denominator)}")
            return result
        first, *others = f.as_ordered_factors()
        second = sp.Mul(*others)
        index = len(self.steps)
        self.steps.append(None)  # type: ignore[arg-type]
        d_first = self.d(first, depth + 1)
        d_second = self.d(second, depth + 1)
        result = d_first * second + first * d_second
        self.steps[index] = Step("product rule: (uv)' = u'v + uv'", f, result, depth,
                                 f"u = {show(first)}, v = {show(second)}")
        return result

    def _power(self, f: sp.Pow, depth: int) -> sp.Expr:
        x = self.x
        base, exponent = f.args
        if not exponent.has(x):
            outer = exponent * base ** (exponent - 1)
            name = "square root" if exponent == sp.Rational(1, 2) else "power"
            rule = f"{name} rule: (uⁿ)' = n·uⁿ⁻¹"
            if base == x:
                return self._step(_in_x(rule), f, outer, depth, f"n = {show(exponent)}")
            return self._chain(f, base, outer, f"{rule}, n = {show(exponent)}", depth)
        if not base.has(x):
            outer = f * sp.log(base)
            rule = "exponential rule: (aᵘ)' = aᵘ·ln a"
            if exponent == x:
                return self._step(_in_x(rule), f, outer, depth)
            return self._chain(f, exponent, outer, rule, depth)
        # u^v with both depending on x: u^v = e^(v ln u)
        rewritten = exponent * sp.log(base)
        index = len(self.steps)
        self.steps.append(None)  # type: ignore[arg-type]
        inner = self.d(rewritten, depth + 1)
        result = f * inner
        self.steps[index] = Step("logarithmic differentiation: u^v = e^(v·ln u)", f, result,
                                 depth, f"(u^v)' = u^v·(v·ln u)', v·ln u = {show(rewritten)}")
        return result


def _in_x(rule: str) -> str:
    """A rule written for u, restated for x itself (no chain needed)."""
    return re.sub(r"(?<![A-Za-z])u(?![A-Za-z])", "x", rule).replace("ᵘ", "ˣ")


def _quotient(f: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Numerator and denominator of a product as written (negative powers below the line),
    without cancelling or combining anything."""
    top, bottom = [], []
    for factor in sp.Mul.make_args(f):
        if factor.is_Pow and factor.exp.is_number and factor.exp.is_negative:
            bottom.append(factor.base ** (-factor.exp))
        else:
            top.append(factor)
    return sp.Mul(*top), sp.Mul(*bottom)


def derivative_steps(f: sp.Expr, x: sp.Symbol, max_steps: int = 200) -> Derivation:
    """The derivative of `f` by named rules: every step and the (unsimplified) result."""
    deriver = _Deriver(x, max_steps)
    result = deriver.d(f, 0)
    return Derivation(f, result, tuple(deriver.steps))


__all__ = ["Derivation", "Step", "derivative_steps"]
