"""lab.formula: what students type is understood; hostile text is refused and runs nothing."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.formula import FormulaError, numeric_function, parse_formula, symbol

x, y = symbol("x"), symbol("y")

ACCEPTED = [
    ("x^2", x**2),
    ("2x sin x", 2 * x * sp.sin(x)),
    ("e^x", sp.exp(x)),
    ("ln x", sp.log(x)),
    ("sqrt(x)", sp.sqrt(x)),
    ("|x|", sp.Abs(x)),
    ("x(x+1)", x * (x + 1)),
    ("x^3 - 3x + 1", x**3 - 3 * x + 1),
    ("sin^2 x", sp.sin(x) ** 2),
    ("e^-x", sp.exp(-x)),
    ("|x - |x + 1||", sp.Abs(x - sp.Abs(x + 1))),
    ("2|x| + 1", 2 * sp.Abs(x) + 1),
    ("pi x", sp.pi * x),
    ("(x+1)(x-1)", (x + 1) * (x - 1)),
    ("x**2", x**2),
    ("1.5x", sp.Float("1.5") * x),
    ("x/sqrt(x^2+1)", x / sp.sqrt(x**2 + 1)),
    ("log(x, 2)", sp.log(x) / sp.log(2)),
    ("sigmoid(x)", 1 / (1 + sp.exp(-x))),
    ("tan x / x", sp.tan(x) / x),
    ("x − 1", x - 1),  # a Unicode minus pasted from a document
    ("arctan(x)", sp.atan(x)),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_accepted_examples_parse_to_the_expected_expression(text, expected):
    assert sp.simplify(parse_formula(text) - expected) == 0


def test_two_variables_when_asked_for():
    assert parse_formula("x^2 + 3y^2", ("x", "y")) == x**2 + 3 * y**2
    with pytest.raises(FormulaError, match="unknown name 'y'"):
        parse_formula("x^2 + 3y^2")


def _hostile(marker: str) -> list[str]:
    touch = f"open('{marker}', 'w')"
    return [
        f"__import__('os').system('touch {marker}')",
        f"__import__('pathlib').Path('{marker}').touch()",
        touch,
        f"exec(\"{touch}\")",
        f"eval(\"{touch}\")",
        f"x + {touch}",
        f"(lambda: {touch})()",
        f"[{touch} for _ in (1,)]",
        f"{{{touch}}}",
        "getattr(x, 'evalf')()",
        "x.__class__.__bases__[0].__subclasses__()",
        "().__class__.__base__.__subclasses__()",
        "x.evalf()",
        "x.func",
        "sin.__globals__",
        f"Symbol('x') if {touch} else 1",
        f"x; {touch}",
        f"x\n{touch}",
        f"sin({touch})",
        "import os",
        "sympify('x')",
        "Function('f')(x)",
        "x" * 20_000,
        "(" * 5_000 + "x" + ")" * 5_000,
        "-" * 5_000 + "x",
        "-" * 290 + "x",
        "2^" * 140 + "2",
        "x^" * 140 + "x",
        "9^9^9^9",
        "10**10**10",
        "x\x00",
        "globals()",
        "locals()['x']",
        "Integer(5).__class__",
        "f'{x}'",
        "x @ x",
        "x = 1",
    ]


def test_hostile_text_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    # The corpus is real: sympy's own parser runs such text (this is why lab.formula exists).
    sp.sympify(f"__import__('pathlib').Path('{marker}').touch()")
    assert marker.exists()
    marker.unlink()
    for text in _hostile(str(marker)):
        with pytest.raises(FormulaError) as refused:
            parse_formula(text)
        assert str(refused.value), text
        assert not marker.exists(), f"{text!r} ran"


@pytest.mark.parametrize(("text", "words"), [
    ("sinx", "did you mean sin(x)"),
    ("x.real", "attribute"),
    ("x^", "ends with an operator"),
    ("(x+1", "never closed"),
    ("x+1)", "never opened"),
    ("sin", "is a function"),
    ("sin(x, 2)", "takes 1 argument"),
    ("[x]", "use ( ) for grouping"),
    ("", "type a formula"),
    ("x" * 400, "at most 300"),
    ("9^9^9", "too large a number"),
    ("|x", "'|' is not closed"),
])
def test_messages_name_the_problem(text, words):
    with pytest.raises(FormulaError, match=words.replace("(", r"\(").replace(")", r"\)")
                       .replace("^", r"\^").replace("[", r"\[").replace("]", r"\]")):
        parse_formula(text)


def test_numeric_function_matches_sympy_and_is_cached():
    expr = parse_formula("x^3 - 3x + 1")
    f = numeric_function(expr)
    assert f is numeric_function(parse_formula("x^3 - 3x + 1"))
    xs = np.linspace(-2, 2, 9)
    assert np.allclose(f(xs), [float(expr.subs(x, v)) for v in xs])


@settings(max_examples=150)
@given(st.text(alphabet="x0129.+-*/^()| esinlogqrtpa,_[]'", max_size=40))
def test_any_text_gives_an_expression_or_a_formula_error(text):
    try:
        expr = parse_formula(text)
    except FormulaError as refused:
        assert str(refused)
    else:
        assert isinstance(expr, sp.Expr) and expr.free_symbols <= {x}
