"""The plain sympy (and torch) script that reproduces what the panel shows: it runs in a
fresh interpreter without `lab` or `widgets`, and prints its numbers as JSON on the last
line (the tests compare them with the panel's)."""

from __future__ import annotations

import sympy as sp

from lab.calculus.limits import parse_point
from lab.calculus.symbolic import exact_centre
from lab.calculus.view import CalculusView
from lab.formula import parse_formula


def _code(expr: sp.Expr) -> str:
    return sp.sstr(expr, order=None)


def sympy_code(view: CalculusView) -> str:
    f = parse_formula(view.formula)
    lo, hi = view.x_range
    a = exact_centre(view.tangent_at)
    centre = exact_centre(view.taylor_centre)
    lines = [
        '"""Visual Lab, Calculus panel: sympy code for what the panel shows."""',
        "import json",
        "",
        "import sympy as sp",
        "from sympy import *  # the names the expressions use: sin, exp, log, sqrt, Abs, E, pi",
        "",
        'x = sp.Symbol("x", real=True)',
        f"f = {_code(f)}",
        "results = {}",
        "",
        "# derivative, second derivative, tangent",
        "d1 = sp.simplify(sp.diff(f, x))",
        "d2 = sp.simplify(sp.diff(d1, x))",
        'print("f\'(x) =", d1)',
        'print("f\'\'(x) =", d2)',
        f"a = sp.Rational({str(a)!r})",
        'slope = d1.subs(x, a)',
        'print(f"tangent at x = {a}: y = {f.subs(x, a)} + ({slope})*(x - {a})")',
        'results["slope"] = float(slope)',
        'results["f_at_a"] = float(f.subs(x, a))',
        "",
        "# the autograd bridge: the same f with torch operations",
        "import torch",
        "",
        'torch_f = sp.lambdify(x, f, modules="torch")',
        f"point = torch.tensor({float(a)!r}, dtype=torch."
        f"{'float32' if view.float32 else 'float64'}, requires_grad=True)",
        "value = torch_f(point)",
        "grad = torch.autograd.grad(value, point)[0] if isinstance(value, torch.Tensor) "
        "and value.requires_grad else torch.tensor(0.0)",
        'results["autograd"] = float(grad)',
        f"h = {10.0 ** view.log10_h!r}",
        'numpy_f = sp.lambdify(x, f, modules="numpy")',
        "import numpy as np",
        "",
        f"dtype = np.{'float32' if view.float32 else 'float64'}",
        "step = dtype(dtype(point.item()) + dtype(h)) - dtype(point.item())",
        "difference = (dtype(numpy_f(dtype(point.item()) + dtype(h))) - "
        "dtype(numpy_f(dtype(point.item())))) / step",
        'results["forward_difference"] = float(difference)',
        'print("autograd:", results["autograd"], " forward difference:", '
        'results["forward_difference"])',
        "",
        f"# Taylor polynomial of order {view.taylor_order} at {centre}",
        f"centre = sp.Rational({str(centre)!r})",
        "t = sp.Symbol('t')",
        f"series = sp.series(f.subs(x, centre + t), t, 0, {view.taylor_order + 1}).removeO()",
        f"coefficients = [sp.simplify(series.coeff(t, k)) for k in range({view.taylor_order + 1})]",
        'print("Taylor coefficients:", coefficients)',
        'results["taylor"] = [float(c) for c in coefficients]',
        "",
        f"# critical points on [{lo:g}, {hi:g}]",
        f"interval = sp.Interval(sp.Rational({str(lo)!r}), sp.Rational({str(hi)!r}))",
        "critical = sp.solveset(sp.diff(f, x), x, interval)",
        'print("f\'(x) = 0 on the interval:", critical)',
        'results["critical"] = sorted(float(c) for c in critical) '
        "if isinstance(critical, sp.FiniteSet) else None",
    ]
    try:
        limit_f = parse_formula(view.limit_formula)
        point = parse_point(view.limit_point)
    except ValueError:
        limit_f = None
    if limit_f is not None:
        direction = "" if point in (sp.oo, -sp.oo) else f", {view.limit_direction!r}"
        lines += [
            "",
            "# the limit (sympy.limit)",
            f"g = {_code(limit_f)}",
            f"L = sp.limit(g, x, {_code(point)}{direction})",
            f'print("limit of", g, "as x ->", {_code(point)!r}, "=", L)',
            'results["limit"] = str(L)',
        ]
    lines += ["", "print(json.dumps(results))", ""]
    return "\n".join(lines)


__all__ = ["sympy_code"]
