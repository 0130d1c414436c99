"""The Calculus panel's whole state as data (saved views, examples, JSON via lab.params)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Tab = Literal["derivative", "taylor", "limit", "critical"]
Direction = Literal["+-", "+", "-"]
MAX_ORDER = 20


@dataclass(frozen=True)
class CalculusView:
    formula: str = "x^3 - 3x + 1"
    tab: Tab = "derivative"
    x_range: tuple[float, float] = (-3.0, 3.0)
    #: None: chosen from the curves (their 2nd–98th percentiles)
    y_range: tuple[float, float] | None = None
    tangent_at: float = 0.5
    #: finite-difference step h = 10^log10_h
    log10_h: float = -5.0
    float32: bool = False
    taylor_centre: float = 0.0
    taylor_order: int = 5
    limit_formula: str = "sin(x)/x"
    limit_point: str = "0"
    limit_direction: Direction = "+-"


def validate(view: CalculusView) -> list[str]:
    """Messages naming each broken rule with its numbers (the formula texts are checked by
    lab.formula when they are read)."""
    problems = []
    lo, hi = view.x_range
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        problems.append(f"the x range needs left < right, not [{lo:g}, {hi:g}]")
    if view.y_range is not None:
        ylo, yhi = view.y_range
        if not (math.isfinite(ylo) and math.isfinite(yhi) and ylo < yhi):
            problems.append(f"the y range needs bottom < top, not [{ylo:g}, {yhi:g}]")
    if not 0 <= view.taylor_order <= MAX_ORDER:
        problems.append(f"the Taylor order must be 0…{MAX_ORDER}, not {view.taylor_order}")
    if not -16 <= view.log10_h <= 0:
        problems.append(f"h must be between 1e-16 and 1, not 1e{view.log10_h:g}")
    return problems


__all__ = ["MAX_ORDER", "CalculusView", "validate"]
