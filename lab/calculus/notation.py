"""How expressions are written on screen: `2·x·sin(x)`, `x^3`, `√`-free plain text."""

from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter


class _Printer(StrPrinter):
    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"|{self._print(expr.args[0])}|"

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "e"

    def _print_exp(self, expr: sp.Expr) -> str:
        (arg,) = expr.args
        inner = self._print(arg)
        return f"e^{inner}" if arg.is_Symbol or arg.is_Integer and arg > 0 else f"e^({inner})"

    def _print_Infinity(self, expr: sp.Expr) -> str:
        return "∞"

    def _print_NegativeInfinity(self, expr: sp.Expr) -> str:
        return "-∞"

    def _print_ComplexInfinity(self, expr: sp.Expr) -> str:
        return "∞ (unsigned)"

    def _print_log(self, expr: sp.Expr) -> str:
        return f"ln({self._print(expr.args[0])})"


_PRINTER = _Printer({"order": None})


def show(expr: sp.Expr) -> str:
    """One line, as a student writes it: `^` for powers, `·` for products, `ln`, `|u|`."""
    text = _PRINTER.doprint(expr)
    return text.replace("**", "^").replace("*", "·")


def show_number(value: float, digits: int = 6) -> str:
    """A float for a caption: `0.333333`, `1.2e-08`, `inf`."""
    if value != value:  # nan
        return "undefined"
    if abs(value) == float("inf"):
        return "∞" if value > 0 else "-∞"
    return f"{value:.{digits}g}"


def show_point(value: sp.Expr) -> str:
    """An exact point with its decimal value when they differ: `π/2 ≈ 1.5708`."""
    text = show(value)
    if value.is_number and not value.is_Integer and not value.is_Float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return text
        return f"{text} ≈ {show_number(number, 5)}"
    return text


__all__ = ["show", "show_number", "show_point"]
