"""Work for tests/lab/test_sandbox.py, importable by name in the sandbox's worker process
(only sympy and the standard library)."""

from __future__ import annotations

import os
import time

import sympy as sp


def derivative(text: str) -> str:
    x = sp.Symbol("x")
    return str(sp.diff(sp.sympify(text, locals={"x": x}), x))


def fail(message: str) -> None:
    raise ValueError(message)


def sleep_then(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


def explode(power: int) -> int:
    """A deliberately slow expression: expanding a power of a five-term sum."""
    a, b, c, d, e = sp.symbols("a b c d e")
    return len(sp.expand((a + b + c + d + e + 1) ** power).args)


def pid() -> int:
    return os.getpid()
