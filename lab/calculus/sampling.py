"""Curves for display: sampled with numpy, broken at poles and jumps, and honest about what
the y range cuts off (nothing is clipped silently)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lab.calculus.notation import show_number

SAMPLES = 801


@dataclass(frozen=True)
class Curve:
    xs: np.ndarray
    ys: np.ndarray          # nan where undefined, at poles and at jumps (the line breaks)
    undefined: float        # fraction of the interval where the function is undefined


def evaluate(function: Callable, xs: np.ndarray) -> np.ndarray:
    """`function(xs)` as real floats: nan where it is undefined, not real, or failed."""
    with np.errstate(all="ignore"):
        try:
            values = np.asarray(function(xs))
        except (ZeroDivisionError, ValueError, TypeError, OverflowError, FloatingPointError):
            values = np.array([_one(function, v) for v in xs])
    values = np.broadcast_to(values, xs.shape)
    if np.iscomplexobj(values):
        real = np.where(np.abs(values.imag) < 1e-12, values.real, np.nan)
    else:
        real = values.astype(float, copy=True)
    real[~np.isfinite(real)] = np.nan
    return real


def _one(function: Callable, value: float) -> complex:
    try:
        return complex(function(value))
    except (ZeroDivisionError, ValueError, TypeError, OverflowError, FloatingPointError):
        return complex(math.nan)


def sample(function: Callable, lo: float, hi: float, poles: Sequence[float] = (),
           samples: int = SAMPLES) -> Curve:
    xs = np.linspace(lo, hi, samples)
    inside = sorted(p for p in poles if lo < p < hi)
    ys = evaluate(function, xs)
    undefined = float(np.mean(np.isnan(ys)))
    if inside:  # a nan exactly at each pole, so the line never joins its two sides
        where = np.searchsorted(xs, inside)
        xs = np.insert(xs, where, inside)
        ys = np.insert(ys, where, np.nan)
    return Curve(xs, ys, undefined)


def auto_range(curves: Sequence[np.ndarray], pad: float = 0.08) -> tuple[float, float]:
    """A y range that shows the body of the curves: the 2nd–98th percentiles of the finite
    values, padded (a pole's spike would otherwise flatten everything else)."""
    finite = [c[np.isfinite(c)] for c in curves]
    values = np.concatenate(finite) if finite else np.array([])
    if values.size == 0:
        return -1.0, 1.0
    low, high = np.percentile(values, [2, 98])
    full_low, full_high = float(values.min()), float(values.max())
    # keep the whole curve when it is only a little beyond the percentiles
    if full_high - full_low <= 1.5 * max(high - low, 1e-12):
        low, high = full_low, full_high
    span = high - low
    if span < 1e-9:
        span = max(1.0, abs(high))
        low, high = low - span / 2, high + span / 2
    return float(low - pad * span), float(high + pad * span)


def for_display(curve: Curve, y_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The curve ready to draw in `y_range`: jumps from far above to far below (a pole
    sympy did not name) break the line; values far outside are pulled in (a line to 1e300
    would stall the renderer) — `cut_note` says when anything is outside."""
    low, high = y_range
    span = high - low
    ys = curve.ys.copy()
    above, below = ys > high, ys < low
    jump = (above[:-1] & below[1:]) | (below[:-1] & above[1:])
    ys[1:][jump] = np.nan
    limit = 10 * span
    np.clip(ys, low - limit, high + limit, out=ys)
    return curve.xs, ys


def cut_note(name: str, curve: Curve, y_range: tuple[float, float]) -> str:
    """'' or "f goes beyond the y range [−3, 5] (up to 1.2e+08 at x = 0.01)"."""
    low, high = y_range
    ys = curve.ys
    finite = np.isfinite(ys)
    if not finite.any():
        return f"{name} is undefined on the whole x range"
    outside = finite & ((ys > high) | (ys < low))
    if not outside.any():
        return ""
    index = int(np.nanargmax(np.where(outside, np.abs(ys), -np.inf)))
    return (f"{name} leaves the y range [{show_number(low, 3)}, {show_number(high, 3)}] on "
            f"{100 * outside.sum() / finite.sum():.0f} % of the samples (reaching "
            f"{show_number(float(ys[index]), 3)} at x = {show_number(float(curve.xs[index]), 4)})")


def gap_note(name: str, curve: Curve) -> str:
    """'' or "f is undefined on 50 % of the x range (the gaps)": where numpy found no real
    value (ln x for x ≤ 0, √x for x < 0)."""
    if curve.undefined <= 0.002 or curve.undefined >= 1:
        return ""
    return f"{name} is undefined (not real) on {100 * curve.undefined:.0f} % of the x range"


__all__ = ["Curve", "auto_range", "cut_note", "evaluate", "for_display", "gap_note", "sample"]
