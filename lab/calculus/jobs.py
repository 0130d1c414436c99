"""The panel's background jobs as generators (run on a worker thread by widgets.kit.jobs):

- `curves(text)`: parse, differentiate (no simplification) and lambdify f, f′, f″ — quick,
  bounded work, so a typed character redraws at once;
- `in_sandbox(...)`: a `lab.calculus.symbolic` / `limits` / `critical` function in the
  sandbox's worker process, with progress, a time limit and a real cancel; its result
  arrives as `Done(part, key, value)`, a failure as `Failed(part, key, message)`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sympy as sp

from lab.calculus.notation import show
from lab.formula import FormulaError, numeric_function, parse_formula, symbol
from lab.progress import Progress
from lab.sandbox import (
    Finished,
    Sandbox,
    SandboxCancelledError,
    SandboxError,
    SandboxTimeoutError,
)

X = symbol("x")
#: a superseded sandbox call is left to finish for this long before it is killed: killing
#: costs a fresh worker (a second or two of CPU importing sympy), typing costs little
SUPERSEDED_GRACE_S = 1.0
HINTS = {
    "analysis": "try a simpler formula",
    "taylor": "try a smaller order or a simpler formula",
    "taylor_exact": "try a smaller order or a simpler centre",
    "limit": "try a simpler expression, or rewrite it first",
    "critical": "try a narrower interval or a simpler formula",
}


@dataclass(frozen=True)
class CurveSet:
    text: str
    expr: sp.Expr
    first: sp.Expr
    second: sp.Expr
    f: Callable
    d1: Callable
    d2: Callable
    preview: str      # what was understood, in one line
    first_text: str   # f′ and f″ as shown (printed here: the GUI thread runs no sympy)
    second_text: str
    #: f with torch operations, when torch is loaded already (else the bridge job builds it)
    torch_f: Callable | None = None


@dataclass(frozen=True)
class Done:
    part: str
    key: tuple
    value: Any


@dataclass(frozen=True)
class Failed:
    part: str
    key: tuple
    message: str


def curves(text: str) -> Iterator[CurveSet | Failed]:
    try:
        f = parse_formula(text)
    except FormulaError as exc:
        yield Failed("formula", (text,), str(exc))
        return
    first = sp.diff(f, X)
    second = sp.diff(first, X)
    torch_f = None
    if "torch" in sys.modules:
        from lab.calculus.autograd import torch_function

        torch_f = torch_function(f)
    yield CurveSet(text, f, first, second, numeric_function(f), numeric_function(first),
                   numeric_function(second), show(f), show(first), show(second), torch_f)


def in_sandbox(sandbox: Sandbox, part: str, key: tuple, function: Callable, args: tuple,
               should_stop: Callable[[], bool], cancelled: Callable[[], bool],
               after: Callable[[Any], Any] | None = None, time_limit: float | None = None
               ) -> Iterator[Progress | Done | Failed]:
    """`function(*args)` in the sandbox. A Cancel (`cancelled`) kills it at once; a newer
    request (`should_stop`) only after SUPERSEDED_GRACE_S. `after` runs on this thread
    with the result (e.g. lambdify, which returns functions that cannot be pickled)."""
    started = time.monotonic()

    def stop() -> bool:
        return cancelled() or (should_stop() and time.monotonic() - started > SUPERSEDED_GRACE_S)

    try:
        for item in sandbox.steps(function, *args, should_stop=stop, time_limit=time_limit,
                                  stage=f"sympy: {part.replace('_', ' ')}"):
            if isinstance(item, Finished):
                value = item.value if after is None else after(item.value)
                yield Done(part, key, value)
            else:
                yield item
    except SandboxTimeoutError as exc:
        yield Failed(part, key, f"{exc} — {HINTS.get(part, 'try a simpler formula')}")
    except SandboxCancelledError:
        yield Failed(part, key, "stopped" if cancelled() else "")
    except SandboxError as exc:
        message = str(exc)
        for prefix in ("FormulaError: ", "ValueError: "):
            if message.startswith(prefix):
                message = message[len(prefix):]
        yield Failed(part, key, message)


def lambdified(derivatives: tuple[sp.Expr, ...]) -> tuple[Callable, ...]:
    """numpy functions of Taylor's derivatives (on the job thread, never the GUI's)."""
    return tuple(numeric_function(d) for d in derivatives)


__all__ = ["CurveSet", "Done", "Failed", "curves", "in_sandbox", "lambdified"]
