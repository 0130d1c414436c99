"""Read a formula a student types (`2x sin x`, `e^x`, `|x|`, `x^2 + y^2`) into a sympy
expression without ever evaluating the text as Python.

sympy's `sympify` / `parse_expr` end in `eval`: with their default namespace
`__import__('os').system(...)` runs. Here sympy's tokenizer and its transformations
(implicit multiplication and application, `^` as power) only rewrite the text; the result
is parsed with `ast` and walked by a small interpreter that knows numbers, the chosen
variables, the constants pi and e and a whitelist of functions, and rejects everything
else (attributes, subscripts, lambdas, keywords, comprehensions...) with a message that
names the problem. Length, nesting and the size of exact numbers are limited, so no text
can make the parse itself slow.

    expr = parse_formula("x^3 - 3x + 1")                # one variable x
    expr = parse_formula("x^2 + 3y^2", ("x", "y"))      # any variables you choose
    f = numeric_function(expr, ("x",))                  # numpy, cached per expression
"""

from __future__ import annotations

import ast
import functools
import math
import re
import tokenize
from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp
from sympy.parsing.sympy_parser import (
    auto_number,
    auto_symbol,
    convert_xor,
    function_exponentiation,
    implicit_application,
    implicit_multiplication,
    stringify_expr,
)

MAX_LENGTH = 300
MAX_NESTING = 30
#: exact powers of numbers beyond this many bits are refused (9^9^9 would take minutes)
MAX_EXACT_BITS = 20_000


class FormulaError(ValueError):
    """The text is not a formula this lab accepts; the message says why."""


def _sigmoid(u: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-u))


#: name -> (sympy callable, allowed argument counts)
FUNCTIONS: dict[str, tuple[Callable[..., sp.Expr], tuple[int, ...]]] = {
    "sin": (sp.sin, (1,)), "cos": (sp.cos, (1,)), "tan": (sp.tan, (1,)),
    "cot": (sp.cot, (1,)), "sec": (sp.sec, (1,)), "csc": (sp.csc, (1,)),
    "asin": (sp.asin, (1,)), "acos": (sp.acos, (1,)), "atan": (sp.atan, (1,)),
    "arcsin": (sp.asin, (1,)), "arccos": (sp.acos, (1,)), "arctan": (sp.atan, (1,)),
    "sinh": (sp.sinh, (1,)), "cosh": (sp.cosh, (1,)), "tanh": (sp.tanh, (1,)),
    "asinh": (sp.asinh, (1,)), "acosh": (sp.acosh, (1,)), "atanh": (sp.atanh, (1,)),
    "exp": (sp.exp, (1,)), "log": (sp.log, (1, 2)), "ln": (sp.log, (1,)),
    "sqrt": (sp.sqrt, (1,)), "cbrt": (sp.cbrt, (1,)),
    "abs": (sp.Abs, (1,)), "Abs": (sp.Abs, (1,)), "sign": (sp.sign, (1,)),
    "sigmoid": (_sigmoid, (1,)),
}
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E, "E": sp.E}

# What the transformations may write around numbers; the interpreter checks their arguments.
_NUMBER_MAKERS = {"Integer", "Float", "Rational"}
_TRANSFORMATIONS = (auto_symbol, auto_number, convert_xor, implicit_multiplication,
                    implicit_application, function_exponentiation)
_UNICODE = {"−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/", "π": "pi",
            "√": "sqrt", "²": "^2", "³": "^3"}
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
_FORBIDDEN_WORDS = {
    "lambda": "'lambda' (a Python function) is not allowed in a formula",
    "import": "'import' is not allowed in a formula",
    "__": "names with '__' are not allowed in a formula",
}


def parse_formula(text: str, variables: Sequence[str] = ("x",)) -> sp.Expr:
    """The sympy expression `text` stands for, in `variables` (real symbols), or
    `FormulaError` naming the problem. Never evaluates `text` as Python."""
    variables = tuple(variables)
    source = _normalise(text)
    code = _rewrite(source, variables)
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(_syntax_message(source, exc)) from None
    except (MemoryError, RecursionError, ValueError):
        raise FormulaError("this formula is too deeply nested") from None
    symbols = {name: symbol(name) for name in variables}
    try:
        expr = _Interpreter(symbols).value(tree.body, depth=0)
    except RecursionError:
        raise FormulaError("this formula is too deeply nested") from None
    if not isinstance(expr, sp.Expr):
        raise FormulaError("this is not a formula")
    if expr.has(sp.zoo, sp.nan) or expr.has(sp.oo, -sp.oo):
        raise FormulaError(f"this formula is undefined everywhere: it simplifies to {expr}")
    return expr


def parse_top_level(text: str, variables: Sequence[str] = ("x",)
                    ) -> tuple[str, tuple[sp.Expr, ...]]:
    """The formula's outermost operation as typed and its operands, each parsed on its own:
    `ln(x)/(1/x)` -> ("/", (ln x, 1/x)) — sympy would rewrite the whole into x·ln x. The
    operation is one of "/", "*", "-", "+", "^", or "" (no binary operation outside)."""
    variables = tuple(variables)
    whole = parse_formula(text, variables)  # every check, and the messages
    tree = ast.parse(_rewrite(_normalise(text), variables), mode="eval").body
    interpreter = _Interpreter({name: symbol(name) for name in variables})
    if isinstance(tree, ast.BinOp) and type(tree.op) in _OPERATORS:
        left = interpreter.value(tree.left, depth=0)
        right = interpreter.value(tree.right, depth=0)
        return _OPERATORS[type(tree.op)], (left, right)
    return "", (whole,)


@functools.cache
def symbol(name: str) -> sp.Symbol:
    """The real symbol a formula's variable `name` stands for (the same object every time,
    so expressions from different parses combine)."""
    return sp.Symbol(name, real=True)


def numeric_function(expr: sp.Expr, variables: Sequence[str] = ("x",)) -> Callable[..., Any]:
    """`expr` as a numpy function of `variables` (lambdify), cached per expression: redraws
    never run sympy. Safe: `expr` is a sympy expression, not typed text."""
    return _lambdified(expr, tuple(variables))


@functools.lru_cache(maxsize=256)
def _lambdified(expr: sp.Expr, variables: tuple[str, ...]) -> Callable[..., Any]:
    return sp.lambdify([symbol(v) for v in variables], expr, modules="numpy")


def _normalise(text: str) -> str:
    if not isinstance(text, str):
        raise FormulaError("a formula is text")
    text = text.strip()
    if not text:
        raise FormulaError("type a formula, e.g. x^2 sin x")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"this formula is {len(text)} characters long; "
                           f"at most {MAX_LENGTH} are accepted")
    for char, replacement in _UNICODE.items():
        text = text.replace(char, replacement)
    for word, message in _FORBIDDEN_WORDS.items():
        if word in text:
            raise FormulaError(message)
    bad = sorted({c for c in text if c in "'\"\\;:{}[]@$`!?#&~=<>" or not c.isprintable()
                  or ord(c) > 127})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        hint = " (use ( ) for grouping)" if set(bad) & set("[]{}") else ""
        raise FormulaError(f"the character{'s' if len(bad) > 1 else ''} {shown} "
                           f"cannot appear in a formula{hint}")
    text = _absolute_bars(text)
    depth = deepest = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
        if depth < 0:
            raise FormulaError("a ')' closes a bracket that was never opened")
    if depth > 0:
        raise FormulaError(f"{depth} '(' never closed")
    if deepest > MAX_NESTING:
        raise FormulaError(f"brackets are nested {deepest} deep; at most {MAX_NESTING} "
                           "are accepted")
    return text


def _absolute_bars(text: str) -> str:
    """`|u|` -> `abs(u)`. A bar opens when it follows an operator, an opening bracket or
    nothing; otherwise it closes the innermost open one."""
    if "|" not in text:
        return text
    out: list[str] = []
    open_bars = 0
    previous = ""
    for char in text:
        if char == "|":
            opens = open_bars == 0 or previous in ("", "(", "+", "-", "*", "/", "^", ",")
            if opens:
                out.append("abs(")
                open_bars += 1
                previous = "("
            else:
                out.append(")")
                open_bars -= 1
                previous = ")"
            continue
        out.append(char)
        if not char.isspace():
            previous = char
    if open_bars:
        raise FormulaError("a '|' is not closed: write |x| for the absolute value")
    return "".join(out)


def _rewrite(source: str, variables: tuple[str, ...]) -> str:
    """sympy's transformations as text -> Python-syntax text (nothing is evaluated)."""
    for name in variables:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or name in FUNCTIONS \
                or name in CONSTANTS:
            raise ValueError(f"{name!r} cannot be a formula variable")
    local = {name: symbol(name) for name in variables}
    known: dict[str, Any] = {name: f for name, (f, _) in FUNCTIONS.items()}
    known.update({name: c for name, c in CONSTANTS.items() if name not in local})
    known.update({"Symbol": sp.Symbol, "Integer": sp.Integer, "Float": sp.Float,
                  "Rational": sp.Rational})
    try:
        return stringify_expr(source, local, known, _TRANSFORMATIONS)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        raise FormulaError("cannot read this formula: check the brackets and "
                           "operators") from None
    except Exception as exc:  # the tokenizer's other complaints about odd text
        raise FormulaError(f"cannot read this formula ({type(exc).__name__})") from None


def _syntax_message(source: str, exc: SyntaxError) -> str:
    if re.search(r"[-+*/^]\s*$", source):
        return "the formula ends with an operator: something is missing after it"
    if re.match(r"^\s*[*/^]", source):
        return "the formula starts with an operator: something is missing before it"
    if re.search(r"[*/^]\s*[*/^)]", source.replace("**", "^")):
        return "two operators in a row: something is missing between them"
    if "()" in source.replace(" ", ""):
        return "empty brackets '()': put something inside"
    return "cannot read this formula: check the operators and brackets"


class _Interpreter:
    """Builds the sympy expression from the whitelisted AST; anything else is refused."""

    def __init__(self, symbols: dict[str, sp.Symbol]) -> None:
        self.symbols = symbols

    def value(self, node: ast.AST, depth: int) -> Any:
        if depth > 4 * MAX_NESTING:
            raise FormulaError("this formula is too deeply nested")
        depth += 1
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left = self.value(node.left, depth)
            right = self.value(node.right, depth)
            return self._binary(type(node.op), left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.value(node.operand, depth)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise FormulaError(_refusal(node))

    def _name(self, name: str) -> sp.Expr:
        if name in self.symbols:
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise FormulaError(f"'{name}' is a function: write {name}(x)")
        raise FormulaError(_unknown_name(name, self.symbols))

    def _call(self, node: ast.Call, depth: int) -> sp.Expr:
        if node.keywords or not isinstance(node.func, ast.Name):
            raise FormulaError(_refusal(node))
        name = node.func.id
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise FormulaError("'*' before an argument is not allowed in a formula")
        if name in _NUMBER_MAKERS:
            return self._number(name, node.args)
        if name == "Symbol":
            arg = node.args[0] if len(node.args) == 1 else None
            text = arg.value if isinstance(arg, ast.Constant) else "?"
            raise FormulaError(_unknown_name(str(text), self.symbols))
        if name in self.symbols:
            raise FormulaError(f"'{name}' is a variable, not a function: write {name}*(...)")
        if name not in FUNCTIONS:
            raise FormulaError(_unknown_name(name, self.symbols))
        function, counts = FUNCTIONS[name]
        if len(node.args) not in counts:
            wanted = " or ".join(str(c) for c in counts)
            raise FormulaError(f"{name} takes {wanted} argument{'s' if counts[-1] > 1 else ''}"
                               f", not {len(node.args)}")
        args = [self.value(a, depth) for a in node.args]
        if not all(isinstance(a, sp.Expr) for a in args):
            raise FormulaError(f"{name} needs a formula inside its brackets")
        return function(*args)

    @staticmethod
    def _number(maker: str, args: list[ast.expr]) -> sp.Expr:
        if not all(isinstance(a, ast.Constant) and isinstance(a.value, int | str)
                   and not isinstance(a.value, bool) for a in args) or not 1 <= len(args) <= 2:
            raise FormulaError("cannot read this number")
        values = [a.value for a in args]  # type: ignore[attr-defined]
        if any(isinstance(v, str) and not re.fullmatch(r"[0-9.eE+\-_]+", v) for v in values):
            raise FormulaError("cannot read this number")
        try:
            return {"Integer": sp.Integer, "Float": sp.Float, "Rational": sp.Rational}[maker](
                *values)
        except (TypeError, ValueError):
            raise FormulaError(f"cannot read the number {values[0]}") from None

    @staticmethod
    def _binary(op: type, left: Any, right: Any) -> sp.Expr:
        if not (isinstance(left, sp.Expr) and isinstance(right, sp.Expr)):
            raise FormulaError(f"'{_OPERATORS[op]}' needs a formula on both sides")
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if op is ast.Div:
            return left / right
        _check_power_size(left, right)
        return left ** right


def _check_power_size(base: sp.Expr, exponent: sp.Expr) -> None:
    """Refuse exact powers whose result would have more than MAX_EXACT_BITS bits."""
    if not (base.is_Number and exponent.is_Number) or base.is_Float or exponent.is_Float:
        return
    size = abs(float(base)) if base.is_finite else math.inf
    if size in (0.0, 1.0):
        return
    bits = abs(float(exponent)) * abs(math.log2(size)) if math.isfinite(size) else math.inf
    if bits > MAX_EXACT_BITS:
        raise FormulaError(f"{base}^{exponent} is too large a number to compute exactly "
                           "(write it with a decimal point for an approximate value)")


def _unknown_name(name: str, symbols: dict[str, sp.Symbol]) -> str:
    allowed = ", ".join(symbols) or "none"
    for function in sorted(FUNCTIONS, key=len, reverse=True):
        rest = name[len(function):]
        if name.startswith(function) and rest in symbols:
            return f"unknown name '{name}': did you mean {function}({rest}) or {function} {rest}?"
    if len(name) > 1 and all(c in symbols for c in name):
        return f"unknown name '{name}': write {'*'.join(name)} for a product"
    return (f"unknown name '{name}': the variables are {allowed}; constants pi, e; "
            f"functions {', '.join(sorted(set(FUNCTIONS) - {'Abs'}))}")


def _refusal(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "'.' after a name (attribute access) is not allowed in a formula",
        ast.Subscript: "[ ] (indexing) is not allowed in a formula",
        ast.Lambda: "'lambda' is not allowed in a formula",
        ast.Compare: "comparisons are not allowed in a formula",
        ast.BoolOp: "'and' / 'or' are not allowed in a formula",
        ast.IfExp: "'if ... else' is not allowed in a formula",
        ast.Tuple: "a ',' outside a function's brackets is not allowed",
        ast.Constant: "only numbers are allowed as values",
    }
    for kind, message in kinds.items():
        if isinstance(node, kind):
            return message
    if isinstance(node, ast.Call):
        return "only the listed functions can be called, by name"
    if isinstance(node, ast.BinOp):
        return "only + - * / ^ are allowed as operators"
    return f"'{type(node).__name__}' is not allowed in a formula"


__all__ = ["CONSTANTS", "FUNCTIONS", "FormulaError", "MAX_LENGTH", "numeric_function",
           "parse_formula", "parse_top_level", "symbol"]
