"""Parameters are data: every panel's state is a frozen dataclass, and this module turns
one into JSON-friendly values and back, checking every field against its type hint.

A saved view (widgets.app: File → Save view…) is `{"panel": id, "params": to_data(p)}`;
`from_data(cls, data)` rebuilds `p` exactly, or raises `ParamsError` naming the field.
Fields may be bool, int, float, str, None, tuples / lists of those, dicts with str keys,
nested dataclasses, Literal[...] and unions (`X | None`).
"""

from __future__ import annotations

import dataclasses
import math
import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints


class ParamsError(ValueError):
    """The data does not describe that dataclass (a missing or mistyped field)."""


@dataclasses.dataclass(frozen=True)
class Example:
    """A prepared view that shows one idea of the course: the Welcome map links each concept
    to one. `params` is the panel's params dataclass (what `Panel.set_params` takes)."""

    title: str
    params: Any


def to_data(params: Any) -> Any:
    """A dataclass (or plain value) as JSON-friendly data: dicts, lists, numbers, strings."""
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return {f.name: to_data(getattr(params, f.name)) for f in dataclasses.fields(params)
                if f.init}
    if isinstance(params, tuple | list):
        return [to_data(v) for v in params]
    if isinstance(params, dict):
        return {str(k): to_data(v) for k, v in params.items()}
    if isinstance(params, float) and not math.isfinite(params):
        return repr(params)  # JSON has no inf/nan; read back by _convert
    return params


def first_difference(wanted: Any, got: Any, where: str = "params") -> str | None:
    """Where two params first differ ("params.pool.kernel_size: 9, shown as 8"), or None.
    A panel whose controls cannot show a value (out of a slider's range, between its
    steps) says so with this instead of pretending."""
    if dataclasses.is_dataclass(wanted) and type(wanted) is type(got):
        for f in dataclasses.fields(wanted):
            found = first_difference(getattr(wanted, f.name), getattr(got, f.name),
                                     f"{where}.{f.name}")
            if found:
                return found
        return None
    if wanted == got:
        return None
    if isinstance(wanted, tuple | list) and isinstance(got, tuple | list) and \
            len(wanted) == len(got):
        for i, (a, b) in enumerate(zip(wanted, got, strict=True)):
            found = first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
    return f"{where}: {wanted!r} cannot be shown (the controls give {got!r})"


def from_data(cls: type, data: Any, where: str = "params") -> Any:
    """Rebuild a `cls` instance from `to_data`'s output. Fields missing from `data` keep
    their defaults (views saved by an older version still open); unknown fields and wrong
    types raise `ParamsError` with the field's path."""
    return _convert(cls, data, where)


def _fields_of(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ParamsError(f"{where} should be an object of {cls.__name__}'s settings")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ParamsError(f"{where}: unknown setting {unknown[0]!r} for {cls.__name__}")
    kwargs = {name: _convert(hints[name], value, f"{where}.{name}")
              for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ParamsError(f"{where}: {exc}") from exc


def _convert(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _fields_of(hint, value, where)
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        problems = []
        for option in get_args(hint):
            try:
                return _convert(option, value, where)
            except ParamsError as exc:
                problems.append(str(exc))
        raise ParamsError(problems[0] if len(problems) == 1 else
                          f"{where}: {value!r} is none of the allowed kinds")
    if origin is Literal:
        if value in get_args(hint):
            return value
        raise ParamsError(f"{where} must be one of {', '.join(map(repr, get_args(hint)))}"
                          f", not {value!r}")
    if hint is type(None):
        if value is None:
            return None
        raise ParamsError(f"{where} should be empty (null), not {value!r}")
    if origin in (tuple, list) or hint in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ParamsError(f"{where} should be a list, not {value!r}")
        args = get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ParamsError(f"{where} should have {len(args)} values, not {len(value)}")
            items = [_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value,
                                                                                   strict=True))]
        else:
            item = args[0] if args else Any
            items = [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return list(items) if (origin or hint) is list else tuple(items)
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where} should be an object, not {value!r}")
        args = get_args(hint)
        item = args[1] if len(args) == 2 else Any
        return {str(k): _convert(item, v, f"{where}.{k}") for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ParamsError(f"{where} should be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ParamsError(f"{where} should be a whole number, not {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if value in ("inf", "-inf", "nan"):
            return float(value)
        raise ParamsError(f"{where} should be a number, not {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ParamsError(f"{where} should be text, not {value!r}")
    if isinstance(hint, type) and isinstance(value, hint):
        return value
    raise ParamsError(f"{where}: cannot read {value!r} as {getattr(hint, '__name__', hint)}")


__all__ = ["Example", "ParamsError", "first_difference", "from_data", "to_data"]
