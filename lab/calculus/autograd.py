"""The autograd bridge: the same f written with torch operations, its derivative by
`torch.autograd.grad`, and the forward difference (f(a+h) − f(a))/h for any h — how a
network's gradients relate to the derivative of the notes (truncation error for large h,
rounding error for small h)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from lab.formula import symbol

#: the h values of the error curve: 10^-16 … 10^0
LOG10_HS = np.linspace(-16.0, 0.0, 161)


@functools.lru_cache(maxsize=64)
def torch_function(expr: sp.Expr) -> Callable:
    """`expr` with torch operations (sympy.lambdify's torch printer); imports torch."""
    import torch  # noqa: F401 - lambdify's torch module needs it loaded

    return sp.lambdify([symbol("x")], expr, modules="torch")


def autograd_derivative(f: sp.Expr | Callable, a: float, float32: bool = False) -> float:
    """d f/dx at a by torch.autograd.grad (nan where torch's value is not finite); `f` is
    the expression or its `torch_function` (built off the GUI thread: lambdify is sympy)."""
    import torch

    function = torch_function(f) if isinstance(f, sp.Basic) else f
    dtype = torch.float32 if float32 else torch.float64
    point = torch.tensor(a, dtype=dtype, requires_grad=True)
    value = function(point)
    if not isinstance(value, torch.Tensor) or not value.requires_grad:
        return 0.0  # a constant: autograd sees no path from x
    (grad,) = torch.autograd.grad(value, point)
    result = float(grad)
    return result if math.isfinite(result) else math.nan


def forward_differences(function: Callable, a: float, hs: np.ndarray,
                        float32: bool = False) -> np.ndarray:
    """(f(a+h) − f(a))/h for every h, computed in float32 or float64."""
    dtype = np.float32 if float32 else np.float64
    base = np.asarray(a, dtype=dtype)
    steps = hs.astype(dtype)
    with np.errstate(all="ignore"):
        shifted = (base + steps).astype(dtype)
        top = np.asarray(function(shifted), dtype=dtype) - np.asarray(function(base),
                                                                        dtype=dtype)
        return (top / (shifted - base)).astype(np.float64)  # the step actually taken


@dataclass(frozen=True)
class Bridge:
    a: float
    exact: float          # f′(a) from sympy's derivative
    autograd: float       # torch.autograd.grad
    h: float
    difference: float     # forward difference at h
    errors: np.ndarray    # |difference − exact| for every h in LOG10_HS
    best_h: float         # the h with the smallest error


def bridge(f_num: Callable, d1_num: Callable, expr: sp.Expr | Callable, a: float,
           log10_h: float, float32: bool = False) -> Bridge:
    with np.errstate(all="ignore"):
        exact = float(np.real_if_close(np.asarray(d1_num(np.float64(a)), dtype=complex)))
    hs = 10.0 ** LOG10_HS
    differences = forward_differences(f_num, a, hs, float32)
    errors = np.abs(differences - exact)
    h = 10.0 ** log10_h
    difference = float(forward_differences(f_num, a, np.array([h]), float32)[0])
    finite = np.isfinite(errors)
    best = float(hs[np.nanargmin(np.where(finite, errors, np.nan))]) if finite.any() \
        else math.nan
    return Bridge(a, exact, autograd_derivative(expr, a, float32), h, difference, errors,
                  best)


__all__ = ["LOG10_HS", "Bridge", "autograd_derivative", "bridge", "forward_differences",
           "torch_function"]
