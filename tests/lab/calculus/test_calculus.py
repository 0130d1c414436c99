"""lab.calculus against sympy: derivative steps, Taylor coefficients, L'Hôpital, critical
points, the autograd bridge, the exported code and the saved view."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.calculus import autograd, critical, export, limits, sampling, symbolic
from lab.calculus.examples import EXAMPLES
from lab.calculus.steps import derivative_steps
from lab.calculus.view import CalculusView, validate
from lab.formula import numeric_function, parse_formula, symbol
from lab.params import from_data, to_data

x = symbol("x")

DERIVATIVES = ["x^3 - 3x + 1", "2x sin x", "sin(x^2)", "e^x/x", "x^x", "ln(x)/(1+x^2)", "|x|",
               "sqrt(1-x^2)", "2^x", "3/(x+1)^2", "tan(x) cos(x)", "atan(2x)", "sigmoid(x)",
               "x e^(-x^2) / (1 + x^2)", "log(x, 2)", "cosh(x)^3", "asin(x/2)"]


@pytest.mark.parametrize("text", DERIVATIVES)
def test_derivative_steps_end_where_sympy_diff_does(text):
    f = parse_formula(text)
    derivation = derivative_steps(f, x)
    assert sp.simplify(derivation.result - sp.diff(f, x)) == 0
    assert derivation.steps[0].expr == f and derivation.steps[0].result == derivation.result
    assert all(step.rule for step in derivation.steps)


def test_the_steps_name_the_rules_of_the_notes():
    rules = {text: " ".join(s.rule for s in derivative_steps(parse_formula(text), x).steps)
             for text in ("x^3 + x", "2x sin x", "e^x / x", "sin(x^2)", "x^x")}
    assert "sum rule" in rules["x^3 + x"] and "power rule" in rules["x^3 + x"]
    assert "constant multiple" in rules["2x sin x"] and "product rule" in rules["2x sin x"]
    assert "quotient rule" in rules["e^x / x"]
    assert "chain rule" in rules["sin(x^2)"]
    chain = derivative_steps(parse_formula("sin(x^2)"), x).steps[0]
    assert chain.note.startswith("let u = x^2")
    assert "logarithmic differentiation" in rules["x^x"]


_leaf = st.sampled_from(["x", "2", "3", "1/2", "pi"])


def _grow(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(inner, st.integers(-3, 4)).map(lambda t: f"({t[0]})^{t[1]}"),
        st.tuples(st.sampled_from(["sin", "cos", "exp", "atan", "sqrt", "ln", "tanh"]),
                  inner).map(lambda t: f"{t[0]}({t[1]})"))


@settings(max_examples=25)
@given(st.recursive(_leaf, _grow, max_leaves=5))
def test_random_formulas_never_raise_and_their_steps_agree_with_diff(text):
    try:
        f = parse_formula(text)
    except ValueError:
        return  # e.g. 1/0: refused with a message, never an exception of another kind
    derivation = derivative_steps(f, x)
    difference = derivation.result - sp.diff(f, x)
    g = numeric_function(difference)
    with np.errstate(all="ignore"):
        values = np.asarray(g(np.array([0.31, 0.77, 1.9, 2.6])), dtype=complex)
    values = values[np.isfinite(values)]
    assert np.allclose(values, 0, atol=1e-7 * (1 + np.abs(values).max(initial=0)))


def test_analysis_checks_the_steps_and_finds_poles():
    result = symbolic.analyse("1/(x^2 - 1)")
    assert result.steps_agree and result.check.startswith("✓")
    assert sorted(result.poles) == [-1.0, 1.0]
    assert sp.simplify(result.first - sp.diff(result.expr, x)) == 0
    assert sp.simplify(result.second - sp.diff(result.expr, x, 2)) == 0


@pytest.mark.parametrize(("text", "centre", "order"), [
    ("sin x", 0.0, 7), ("e^x", 1.0, 4), ("ln(1 + x)", 0.0, 6), ("1/(1 - x)", 0.5, 5),
    ("sqrt(x)", 4.0, 3)])
def test_taylor_coefficients_match_sympy_series(text, centre, order):
    result = symbolic.taylor_coefficients(text, centre, order)
    f = parse_formula(text)
    a = sp.Rational(str(centre))
    reference = sp.series(f, x, a, order + 1).removeO()
    assert sp.simplify(sp.expand(result.polynomial - reference)) == 0
    derivatives = symbolic.taylor_derivatives(text, max_order=order)
    for k, c in enumerate(result.coefficients):
        assert math.isclose(float(c), float(derivatives.derivatives[k].subs(x, a))
                            / math.factorial(k), rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize(("text", "nearest"), [
    ("ln(1 + x)", -1), ("1/(1 - x)", 1), ("1/(1 + x^2)", 1j), ("sqrt(x)", 0)])
def test_singular_points_bound_the_radius_of_convergence(text, nearest):
    points = symbolic.analyse(text).singular_points
    assert min(abs(p - nearest) for p in points) < 1e-9
    assert symbolic.analyse("sin x").singular_points == ()


@pytest.mark.parametrize(("text", "point", "direction", "expected", "applications"), [
    ("sin(x)/x", "0", "+-", 1, 1),
    ("(1 - cos x)/x^2", "0", "+-", sp.Rational(1, 2), 2),
    ("e^x / x^3", "oo", "+-", sp.oo, 3),
    ("x ln x", "0", "+", 0, 1),
    ("(1 + 1/x)^x", "oo", "+-", sp.E, 2),
])
def test_lhopital_reaches_sympy_limit(text, point, direction, expected, applications):
    result = limits.lhopital(text, point, direction)
    assert result.answer == expected == result.sympy_answer
    assert result.applications == applications
    assert "sympy.limit agrees" in result.verdict


def test_lhopital_keeps_numerator_and_denominator_as_typed():
    result = limits.lhopital("ln(x)/(1/x)", "0", "+")
    assert "∞/∞" in result.steps[0].title  # sympy alone would have made it x·ln(x), 0·∞


def test_lhopital_detects_cycles_and_forms_that_are_not_indeterminate():
    cycle = limits.lhopital("x/sqrt(x^2 + 1)", "oo")
    assert cycle.cycled and cycle.answer is None and cycle.sympy_answer == 1
    assert "another method" in cycle.verdict
    direct = limits.lhopital("(x^2 + 1)/(x + 1)", "1")
    assert direct.applications == 0 and "does not apply" in direct.verdict
    assert direct.answer == 1
    pole = limits.lhopital("1/x", "0", "+")
    assert "not an indeterminate form" in pole.verdict and pole.answer == sp.oo


def test_the_other_indeterminate_forms_are_rewritten_as_a_step():
    power = limits.lhopital("x^x", "0", "+")
    assert power.steps[0].title.startswith("0^0") and power.answer == 1
    root = limits.lhopital("x - sqrt(x^2 + x)", "oo")
    assert root.steps[0].title.startswith("∞ − ∞") and "conjugate" in root.steps[0].title
    assert root.sympy_answer == -sp.Rational(1, 2)


@pytest.mark.parametrize(("text", "lo", "hi", "kinds", "method"), [
    ("x^3 - 3x + 1", -3, 3, {-1: "local maximum", 1: "local minimum"}, "symbolically"),
    ("x^4", -2, 2, {0: "local minimum"}, "symbolically"),
    ("x^3", -2, 2, {0: "neither"}, "symbolically"),
    ("-x^4", -2, 2, {0: "local maximum"}, "symbolically"),
    ("|x|", -1, 2, {0: "local minimum"}, "symbolically"),
    ("e^x - 5x^2 + sin x", -3, 5, {0.2224: "local maximum", 3.611: "local minimum"},
     "numerically"),
])
def test_critical_points_and_their_kinds(text, lo, hi, kinds, method):
    result = critical.critical_points(text, lo, hi)
    assert result.method.startswith(method)
    inner = [c for c in result.candidates if c.source != "endpoint"]
    assert len(inner) == len(kinds)
    for candidate, (where, kind) in zip(inner, sorted(kinds.items()), strict=True):
        assert abs(candidate.x - where) < 1e-3 and candidate.kind.startswith(kind)
    f = parse_formula(text)
    for candidate in inner:
        if candidate.source == "f′(x) = 0":
            assert abs(float(sp.diff(f, x).subs(x, candidate.x))) < 1e-6
    assert [c.source for c in result.candidates].count("endpoint") == 2


def test_the_second_derivative_test_and_its_fallbacks_say_which_was_used():
    by_x = {round(c.x): c for c in critical.critical_points("x^3 - 3x + 1", -3, 3).candidates}
    assert "second-derivative test" in by_x[1].reason
    flat = critical.critical_points("x^4", -2, 2).candidates[1]
    assert "f″ = 0" in flat.reason and "− → +" in flat.reason
    corner = critical.critical_points("|x|", -1, 2).candidates[1]
    assert corner.source == "f′ does not exist"


def test_global_extremes_and_unbounded_functions():
    result = critical.critical_points("x^3 - 3x + 1", -2, 2)
    assert result.global_max in (-1.0, 2.0) and result.global_min in (1.0, -2.0)
    pole = critical.critical_points("1/x", -2, 2)
    assert pole.global_max is None and pole.global_min is None


def test_autograd_agrees_with_the_exact_derivative_and_differences_show_both_errors():
    f = parse_formula("sin(x) e^x")
    d1 = sp.diff(f, x)
    result = autograd.bridge(numeric_function(f), numeric_function(d1), f, 0.7, -5)
    exact = float(d1.subs(x, 0.7))
    assert result.exact == pytest.approx(exact, rel=1e-12)
    assert result.autograd == pytest.approx(exact, rel=1e-12)
    assert abs(result.difference - exact) < 1e-4
    errors = dict(zip(np.round(autograd.LOG10_HS, 1), result.errors, strict=True))
    # truncation: the error shrinks with h, then rounding makes it grow again
    assert errors[-1.0] > errors[-5.0] < errors[-13.0]
    single = autograd.bridge(numeric_function(f), numeric_function(d1), f, 0.7, -5, True)
    assert abs(single.difference - exact) > abs(result.difference - exact)


def test_sampling_breaks_at_poles_and_says_what_the_range_cuts():
    curve = sampling.sample(numeric_function(parse_formula("1/x")), -1, 1, poles=[0.0])
    assert np.isnan(curve.ys[np.searchsorted(curve.xs, 0.0)])
    xs, ys = sampling.for_display(curve, (-5, 5))
    assert np.nanmax(np.abs(ys)) <= 5 + 100
    note = sampling.cut_note("f", curve, (-5, 5))
    assert "leaves the y range" in note
    assert sampling.cut_note("f", curve, (-1e9, 1e9)) == ""
    tan = sampling.sample(numeric_function(parse_formula("tan x")), -3, 3)
    _, drawn = sampling.for_display(tan, sampling.auto_range([tan.ys]))
    assert np.isnan(drawn).sum() >= 2  # two poles in [-3, 3], found from the jumps alone
    log = sampling.sample(numeric_function(parse_formula("ln x")), -1, 1)
    assert sampling.gap_note("f", log) == "f is undefined (not real) on 50 % of the x range"
    assert sampling.gap_note("f", curve) == ""  # one sample at a pole is no gap


def test_view_round_trips_and_examples_are_valid():
    view = CalculusView(formula="x^2", y_range=(-1.0, 4.0), limit_point="oo")
    assert from_data(CalculusView, json.loads(json.dumps(to_data(view)))) == view
    assert validate(CalculusView(x_range=(2.0, 1.0))) == [
        "the x range needs left < right, not [2, 1]"]
    assert sorted(EXAMPLES) == [1, 2, 3, 4]
    for example in EXAMPLES.values():
        assert validate(example.params) == []
        parse_formula(example.params.formula)


@pytest.mark.slow
def test_exported_code_reproduces_the_numbers_in_a_fresh_interpreter(tmp_path):
    view = CalculusView(formula="x^3 - 3x + 1", tangent_at=0.7, taylor_centre=0.5,
                        taylor_order=4, limit_formula="(1 - cos x)/x^2")
    script = tmp_path / "calculus.py"
    script.write_text(export.sympy_code(view))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    numbers = json.loads(done.stdout.strip().splitlines()[-1])
    f = parse_formula(view.formula)
    assert numbers["slope"] == pytest.approx(float(sp.diff(f, x).subs(x, 0.7)))
    assert numbers["autograd"] == pytest.approx(autograd.autograd_derivative(f, 0.7))
    coefficients = symbolic.taylor_coefficients(view.formula, 0.5, 4).coefficients
    assert numbers["taylor"] == pytest.approx([float(c) for c in coefficients])
    assert numbers["critical"] == [-1.0, 1.0]
    assert numbers["limit"] == "1/2"
