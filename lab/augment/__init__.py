"""Augmentation pipelines as data, and their translation to real `torchvision.transforms.v2`.

A pipeline *spec* is plain JSON-able data, the interface the Training lab reads too:

    {"format": "visual-lab-augment", "version": 1,
     "steps": [{"name": "RandomHorizontalFlip", "enabled": true, "params": {"p": 0.5}}, ...]}

`name` is the `torchvision.transforms.v2` class, `params` its keyword arguments (JSON
types, tuples as lists). `build_transform(spec)` turns it into a `v2.Compose` that accepts
a (C, H, W) image tensor, uint8 in 0..255 or float in 0..1, with 1 or 3 channels: its
first element is always `v2.ToDtype(torch.float32, scale=True)`, so every step sees float
values in [0, 1] (Normalize and GaussianNoise need floats) and the output is float32.

Also here: validation with messages that name the rule and the numbers
(`validate_spec`, optionally against an image shape, following the image's size and
channels through every step), JSON load/save, presets, the Python code that reproduces a
grid of draws exactly (`export_code`), and per-channel statistics for Normalize ("feature
scaling") of an image or a data set. The steps on offer are described in
`lab.augment.steps`; the explained random draws are made by `lab.augment.draws`.
Nothing here knows about Qt.
"""

from __future__ import annotations

import copy
import json
import math
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch / torchvision are imported lazily: they cost seconds at start-up
    import torch
    from torchvision.transforms import v2

from lab.augment.steps import (  # noqa: F401 - re-exported: one import for users
    MAX_KERNEL,
    MAX_SIDE,
    REQUIRED,
    STEP_LIST,
    STEP_TYPES,
    ParamInfo,
    StepInfo,
    _scaled_dims,
)
from lab.augment.working import WorkingCopy

FORMAT = "visual-lab-augment"
VERSION = 1
#: a pipeline file larger than this is not a pipeline (a real one is a few kB)
MAX_SPEC_BYTES = 1_000_000
#: more steps than this are refused: each one is validated and drawn (10,000 froze the GUI)
MAX_STEPS = 100
FLOAT32_MAX = float(np.finfo(np.float32).max)
# =========================================================================== spec basics

def make_spec(steps: Sequence[dict] = ()) -> dict:
    """A spec holding these steps (deep-copied)."""
    return {"format": FORMAT, "version": VERSION, "steps": copy.deepcopy(list(steps))}


def make_step(name: str, params: dict | None = None, enabled: bool = True) -> dict:
    return {"name": name, "enabled": enabled, "params": copy.deepcopy(params or {})}


def new_step(name: str, image_shape: tuple[int, int, int] = (3, 256, 256)) -> dict:
    """A step with parameters suggested for an image of this shape (C, H, W)."""
    info = STEP_TYPES[name]
    params = info.defaults()
    params.update(info.start(tuple(image_shape)))
    order = [p.name for p in info.params]  # keyword order as torchvision's signature
    return make_step(name, {k: params[k] for k in sorted(params, key=order.index)})


def enabled_steps(spec: dict) -> list[dict]:
    return [s for s in spec.get("steps", []) if s.get("enabled", True)]


def complete_params(step: dict) -> dict:
    """The step's params with torchvision's defaults filled in for those it leaves out."""
    info = STEP_TYPES[step["name"]]
    params = info.defaults()
    params.update(copy.deepcopy(step.get("params") or {}))
    return params


# =========================================================================== validation

def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    """Numbers as a reader writes them: 0.5, 15, -0.05, [0.1, 2]."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if _is_int(value):
        return str(value).replace("-", "−")
    if isinstance(value, float):
        return f"{value:.4g}".replace("-", "−")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return repr(value)


def as_range(info: ParamInfo, value: Any) -> list[float] | None:
    """A "range"/"jitter" value as [low, high] (None stays None), spelling out what a
    single number means to torchvision."""
    if value is None:
        return None
    if _is_number(value):
        if info.number_means == "same":
            return [float(value), float(value)]
        if info.number_means == "around_one":
            return [max(0.0, 1.0 - value), 1.0 + value]
        return [-float(value), float(value)]
    return [float(v) for v in value]


def _range_problem(label: str, value: Any, info: ParamInfo, *, lowest: float | None,
                   highest: float | None, strict_low: bool = False) -> str | None:
    """Checks a [low, high] value (or the single number torchvision allows)."""
    if _is_number(value):
        if info.number_means in ("symmetric", "around_one") and value < 0:
            return f"{label} as a single number n means [−n, n]; it must be ≥ 0, got {_fmt(value)}"
        value = as_range(info, value)
    if not (isinstance(value, list | tuple) and len(value) == 2
            and all(_is_number(v) for v in value)):
        return f"{label} must be a [min, max] pair of numbers, got {_fmt(value)}"
    low, high = value
    if low > high:
        return f"{label} must be [min, max] with min ≤ max, got [{_fmt(low)}, {_fmt(high)}]"
    if lowest is not None and (low <= lowest if strict_low else low < lowest):
        sign = ">" if strict_low else "≥"
        return (f"{label} must be {sign} {_fmt(lowest)}, got [{_fmt(low)}, {_fmt(high)}]")
    if highest is not None and high > highest:
        return f"{label} must be ≤ {_fmt(highest)}, got [{_fmt(low)}, {_fmt(high)}]"
    if not all(math.isfinite(v) and abs(v) <= FLOAT32_MAX for v in (low, high)):
        # torchvision accepts it, then its float32 draw fails ("to is out of bounds")
        return (f"{label} must be finite and within ±{FLOAT32_MAX:.3g} (torch draws it as a "
                f"32-bit float), got [{_fmt(low)}, {_fmt(high)}]")
    return None


def _size_problem(label: str, value: Any, *, odd: bool = False,
                  limit: int = MAX_SIDE) -> str | None:
    sides = [value] if _is_int(value) else value
    if not (isinstance(sides, list | tuple) and len(sides) in (1, 2)
            and all(_is_int(v) for v in sides)):
        return f"{label} must be one whole number or a [h, w] list, got {_fmt(value)}"
    for side in sides:
        if side < 1:
            return f"{label} must be at least 1, got {_fmt(value)}"
        if side > limit:
            return f"{label} can be at most {limit}, got {_fmt(value)}"
        if odd and side % 2 == 0:
            return (f"{label} must be odd (the kernel needs a centre pixel: 3, 5, 7, …), "
                    f"got {_fmt(value)}")
    return None


def _pair(value: Any) -> tuple[int, int]:
    """(h, w) from an int or [h, w] / [s] list."""
    if _is_int(value):
        return value, value
    return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])


def _padding_sides(padding: Any) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) from torchvision's int / [lr, tb] / [l, t, r, b]."""
    if not padding:
        return 0, 0, 0, 0
    if _is_int(padding):
        return padding, padding, padding, padding
    if len(padding) == 1:
        return (padding[0],) * 4  # type: ignore[return-value]
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    return tuple(padding)  # type: ignore[return-value]


def _param_problem(step_name: str, info: ParamInfo, value: Any) -> str | None:
    """What is wrong with one parameter value on its own, or None."""
    label = info.name
    if value is None:
        return None if info.optional else f"{label} cannot be None"
    kind = info.kind
    if kind == "probability":
        if not _is_number(value) or not 0 <= value <= 1:
            return f"{label} is a probability: it must be between 0 and 1, got {_fmt(value)}"
    elif kind == "float":
        if not _is_number(value):
            return f"{label} must be a number, got {_fmt(value)}"
        if label == "sigma" and value < 0:
            return f"{label} (the noise's standard deviation) must be ≥ 0, got {_fmt(value)}"
    elif kind == "bool":
        if not isinstance(value, bool):
            return f"{label} must be true or false, got {_fmt(value)}"
    elif kind == "choice":
        allowed = [c[0] for c in info.choices]
        if value not in allowed or isinstance(value, bool):
            return f"{label} must be one of {', '.join(map(repr, allowed))}; got {value!r}"
    elif kind == "size":
        return _size_problem(label, value)
    elif kind == "kernel":
        return _size_problem(label, value, odd=True, limit=MAX_KERNEL)
    elif kind == "padding":
        sides = [value] if _is_int(value) else value
        if not (isinstance(sides, list | tuple) and len(sides) in (1, 2, 4)
                and all(_is_int(v) for v in sides)):
            return (f"{label} must be a whole number, or a list of 2 or 4 of them, "
                    f"got {_fmt(value)}")
        if any(v < 0 for v in sides) or any(v > MAX_SIDE for v in sides):
            return f"{label} must be between 0 and {MAX_SIDE}, got {_fmt(value)}"
    elif kind == "fill":
        fills = [value] if _is_number(value) else value
        if not (isinstance(fills, list | tuple) and fills and all(_is_number(v) for v in fills)):
            return f"{label} must be a number (or one per channel), got {_fmt(value)}"
    elif kind == "erase_value":
        if value == "random":
            return None
        values = [value] if _is_number(value) else value
        if not (isinstance(values, list | tuple) and values
                and all(_is_number(v) for v in values)):
            return f"{label} must be a number, one per channel, or 'random'; got {_fmt(value)}"
    elif kind == "channels":
        if not (isinstance(value, list | tuple) and value and all(_is_number(v) for v in value)):
            return f"{label} must be a list of numbers (one, or one per channel), got {_fmt(value)}"
        if label == "std" and any(v <= 0 for v in value):
            return (f"std must be positive for every channel (it divides), got {_fmt(value)}")
    elif kind == "pair":
        if not (isinstance(value, list | tuple) and len(value) == 2
                and all(_is_number(v) for v in value)):
            return f"{label} must be a pair of numbers [x, y], got {_fmt(value)}"
        if not all(info.low <= v <= info.high for v in value):
            return (f"{label} fractions must lie between {_fmt(info.low)} and "
                    f"{_fmt(info.high)}, got {_fmt(value)}")
    elif kind in ("range", "jitter"):
        return _range_rule(step_name, info, value)
    return None


def _range_rule(step_name: str, info: ParamInfo, value: Any) -> str | None:
    label = info.name
    if step_name == "RandomAffine" and label == "shear" and isinstance(value, list | tuple) \
            and len(value) == 4:
        return (_range_problem("shear (x)", list(value[:2]), info, lowest=None, highest=None)
                or _range_problem("shear (y)", list(value[2:]), info, lowest=None,
                                  highest=None))
    rules: dict[tuple[str, str], dict] = {
        ("RandomResizedCrop", "scale"): {"lowest": 0.0, "highest": 1.0, "strict_low": True},
        ("RandomResizedCrop", "ratio"): {"lowest": 0.0, "highest": None, "strict_low": True},
        ("RandomErasing", "scale"): {"lowest": 0.0, "highest": 1.0},
        ("RandomErasing", "ratio"): {"lowest": 0.0, "highest": None, "strict_low": True},
        ("RandomAffine", "scale"): {"lowest": 0.0, "highest": None, "strict_low": True},
        ("GaussianBlur", "sigma"): {"lowest": 0.0, "highest": None, "strict_low": True},
        ("ColorJitter", "hue"): {"lowest": -0.5, "highest": 0.5},
    }
    rule = rules.get((step_name, label))
    if rule is None and step_name == "ColorJitter":
        rule = {"lowest": 0.0, "highest": None}
    rule = rule or {"lowest": None, "highest": None}
    if step_name == "ColorJitter" and label == "hue" and _is_number(value) and value > 0.5:
        return f"hue as a single number n means [−n, n]; n must be ≤ 0.5, got {_fmt(value)}"
    problem = _range_problem(label, value, info, **rule)
    if problem and step_name == "GaussianBlur":
        problem += " (σ = 0 would be no blur at all; torch needs σ > 0)"
    if problem and (step_name, label) == ("RandomResizedCrop", "scale"):
        problem += " (it is a fraction of the image's area)"
    return problem


def _step_problems(step: Any, number: int) -> list[str]:
    """Problems of one step on its own (not depending on the image)."""
    if not isinstance(step, dict):
        return [f"step {number} must be an object with name, enabled and params"]
    name = step.get("name")
    if name not in STEP_TYPES:
        return [f"step {number}: unknown transform {name!r}; the lab offers "
                f"{', '.join(STEP_TYPES)}"]
    where = f"step {number} ({name})"
    problems = []
    if not isinstance(step.get("enabled", True), bool):
        problems.append(f"{where}: enabled must be true or false")
    params = step.get("params", {})
    if not isinstance(params, dict):
        return problems + [f"{where}: params must be an object of keyword arguments"]
    info = STEP_TYPES[name]
    known = {p.name for p in info.params}
    for key in params:
        if key not in known:
            problems.append(f"{where}: no parameter {key!r} (it takes "
                            f"{', '.join(sorted(known))})")
    if not step.get("enabled", True):
        return problems  # a switched-off step is skipped: its values don't matter yet
    for param in info.params:
        if param.name not in params:
            if param.default is REQUIRED:
                problems.append(f"{where}: {param.name} is required")
            continue
        problem = _param_problem(name, param, params[param.name])
        if problem:
            problems.append(f"{where}: {problem}")
    return problems


def validate_spec(spec: Any, image_shape: tuple[int, int, int] | None = None) -> list[str]:
    """Human-readable problems with a spec; empty when `build_transform` will accept it.

    With `image_shape` (C, H, W) it also follows the image through the enabled steps and
    reports what would fail on it: a crop larger than the image reaching it, padding or a
    blur kernel too wide for it, Normalize's number of values against the channels.
    """
    if not isinstance(spec, dict):
        return ["a pipeline must be a JSON object with format, version and steps"]
    problems = []
    if spec.get("format") != FORMAT:
        problems.append(f"format must be {FORMAT!r}, got {spec.get('format')!r}")
    version = spec.get("version")
    if not _is_int(version) or version < 1:
        problems.append(f"version must be a whole number ≥ 1, got {version!r}")
    elif version > VERSION:
        problems.append(f"this pipeline was saved in format version {version}; this Visual "
                        f"Lab reads up to version {VERSION}")
    steps = spec.get("steps")
    if not isinstance(steps, list):
        return problems + ["steps must be a list"]
    if len(steps) > MAX_STEPS:
        return problems + [f"a pipeline has at most {MAX_STEPS} steps (this one has "
                           f"{len(steps):,})"]
    for number, step in enumerate(steps, start=1):
        problems += _step_problems(step, number)
    if problems or image_shape is None:
        return problems
    return trace_shapes(spec, image_shape).problems


# =========================================================================== shapes

@dataclass(frozen=True)
class ShapeTrace:
    """How an image's shape changes through the enabled steps."""

    #: (C, H, W) ranges after each enabled step: (C, (min H, max H), (min W, max W))
    after: list[tuple[int, tuple[int, int], tuple[int, int]]]
    problems: list[str]
    #: the range of values the output can hold (for display): (low, high)
    value_range: tuple[float, float]

    @property
    def output(self) -> tuple[int, tuple[int, int], tuple[int, int]] | None:
        return self.after[-1] if self.after else None


def _resize_int(size: int, height: int, width: int) -> tuple[int, int]:
    """torchvision's Resize(int): the shorter side becomes `size`."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def _rotated_bounds(height: int, width: int, low: float, high: float) -> list[tuple[int, int]]:
    """Output (H, W) of expand=True rotations at the angles where H or W is smallest or
    largest: the range ends and every multiple of 90° inside (between those the sizes
    are concave in the angle), plus the peaks inside: the rotated width w·|cos| + h·|sin|
    is largest at ±atan(h/w) + k·180°, the height at ±atan(w/h) + k·180°, all of them
    ±atan(h/w) + k·90° (45° only for a square)."""
    angles = {low, high}
    peak = math.degrees(math.atan2(height, width))
    for k in range(math.floor(low / 90) - 1, math.ceil(high / 90) + 2):
        angles.update(a for a in (90.0 * k, 90.0 * k - peak, 90.0 * k + peak)
                      if low <= a <= high)
    shapes = []
    for angle in angles:
        rad = math.radians(angle)
        c, s = abs(math.cos(rad)), abs(math.sin(rad))
        exact_w, exact_h = width * c + height * s, width * s + height * c
        # torchvision rounds the rotated corners outwards: the size is exact..exact + 2
        shapes.append((max(1, math.floor(exact_h - 1e-3)), max(1, math.floor(exact_w - 1e-3))))
        shapes.append((math.ceil(exact_h) + 2, math.ceil(exact_w) + 2))
    return shapes


def trace_shapes(spec: dict, image_shape: tuple[int, int, int]) -> ShapeTrace:
    """Follow an image of shape (C, H, W) through the spec's enabled steps.

    Sizes are tracked as candidate (H, W) pairs that include the smallest and largest
    each side can be (only RandomRotation with expand makes them vary), so a crop that
    fits the smallest image fits every draw.
    """
    channels, height, width = (int(v) for v in image_shape)
    shapes = {(height, width)}
    problems: list[str] = []
    after = []
    low, high = 0.0, 1.0
    for number, step in enumerate(spec.get("steps", []), start=1):
        if not step.get("enabled", True):
            continue
        name = step["name"]
        params = complete_params(step)
        where = f"step {number} ({name})"
        min_h = min(h for h, _ in shapes)
        min_w = min(w for _, w in shapes)
        if name == "RandomRotation" and params.get("expand"):
            degrees = as_range(STEP_TYPES[name].param("degrees"), params["degrees"])
            shapes = {s for h, w in shapes for s in _rotated_bounds(h, w, *degrees)}
        elif name == "Resize":
            size = params["size"]
            if _is_int(size):
                shapes = {_resize_int(size, h, w) for h, w in shapes}
            else:
                shapes = {_pair(size)}
        elif name in ("CenterCrop", "RandomResizedCrop"):
            if name == "RandomResizedCrop":
                problem = _resized_crop_fallback_problem(shapes, params["ratio"])
                if problem:
                    problems.append(f"{where}: {problem}")
            shapes = {_pair(params["size"])}
        elif name == "RandomCrop":
            crop_h, crop_w = _pair(params["size"])
            left, top, right, bottom = _padding_sides(params.get("padding"))
            padded_h, padded_w = min_h + top + bottom, min_w + left + right
            if not params.get("pad_if_needed") and (padded_h < crop_h or padded_w < crop_w):
                pad_note = f" padded by {_fmt(params.get('padding'))}" if \
                    params.get("padding") else ""
                problems.append(
                    f"{where}: the crop {crop_h}×{crop_w} is larger than the image reaching "
                    f"it, {min_h}×{min_w}{pad_note}: make the crop smaller, add padding or "
                    f"tick pad_if_needed")
            extra_h = max(0, crop_h - padded_h) if params.get("pad_if_needed") else 0
            extra_w = max(0, crop_w - padded_w) if params.get("pad_if_needed") else 0
            widest_h, widest_w = max(top, bottom) + extra_h, max(left, right) + extra_w
            mode = params.get("padding_mode", "constant")
            if mode in ("reflect", "symmetric") and (widest_h or widest_w):
                strict = mode == "reflect"
                too_wide = (widest_h >= min_h or widest_w >= min_w) if strict else \
                    (widest_h > min_h or widest_w > min_w)
                if too_wide:
                    rule = "less than" if strict else "at most"
                    problems.append(
                        f"{where}: {mode} padding mirrors the image, so each side's padding "
                        f"must be {rule} the image's side: {max(widest_h, widest_w)} pixels "
                        f"of padding on a {min_h}×{min_w} image")
            shapes = {(crop_h, crop_w)}
        elif name == "GaussianBlur":
            # torchvision's kernel_size list is [kx, ky]: x along the width
            kernel_x, kernel_y = _pair(params["kernel_size"])
            if kernel_x // 2 >= min_w or kernel_y // 2 >= min_h:
                problems.append(
                    f"{where}: the blur pads by half the kernel with a mirror image, which "
                    f"must be smaller than the image: ⌊{max(kernel_x, kernel_y)}/2⌋ = "
                    f"{max(kernel_x, kernel_y) // 2} ≥ {min(min_h, min_w)} pixels of a "
                    f"{min_h}×{min_w} image; use a smaller kernel")
        elif name == "Grayscale":
            channels = params["num_output_channels"]
        elif name == "Normalize":
            for key in ("mean", "std"):
                count = len(params[key])
                if count not in (1, channels):
                    problems.append(
                        f"{where}: {count} {key} values for an image with {channels} "
                        f"channel{'s' if channels > 1 else ''} at this step: give 1 value or "
                        f"{channels}")
            if not problems:
                lows = [(low - m) / s for m, s in zip(*_broadcast(params, channels), strict=True)]
                highs = [(high - m) / s for m, s in zip(*_broadcast(params, channels),
                                                        strict=True)]
                low, high = min(lows), max(highs)
        elif name == "RandomErasing":
            value = params.get("value", 0.0)
            if isinstance(value, list | tuple) and len(value) not in (1, channels):
                problems.append(f"{where}: {len(value)} erase values for {channels} channels: "
                                f"give 1 value or {channels}")
        if name in ("RandomRotation", "RandomAffine", "RandomCrop"):
            fill = params.get("fill", 0)
            if isinstance(fill, list | tuple) and len(fill) not in (1, channels):
                problems.append(f"{where}: {len(fill)} fill values for {channels} channels: "
                                f"give 1 value or {channels}")
        if name == "ColorJitter" or (name == "GaussianNoise" and params.get("clip", True)):
            low, high = max(low, 0.0), min(high, 1.0)
            if low >= high:
                low, high = 0.0, 1.0
        if len(shapes) > 32:  # keep the extremes only; they decide every later check
            hs, ws = [h for h, _ in shapes], [w for _, w in shapes]
            shapes = {(min(hs), min(ws)), (max(hs), max(ws)),
                      min(shapes, key=lambda s: s[0] / s[1]),
                      max(shapes, key=lambda s: s[0] / s[1])}
        biggest = max(h * w for h, w in shapes)
        if biggest > 6000 * 6000:
            problems.append(f"{where}: the image would grow to about {biggest:,} pixels, more "
                            f"than the lab handles (6000×6000)")
        after.append((channels, (min(h for h, _ in shapes), max(h for h, _ in shapes)),
                      (min(w for _, w in shapes), max(w for _, w in shapes))))
        if problems:
            break
    return ShapeTrace(after, problems, (low, high))


def _resized_crop_fallback_problem(shapes: set[tuple[int, int]], ratio: Any) -> str | None:
    """RandomResizedCrop falls back to a centre box with the nearest allowed ratio when
    ten random boxes don't fit; on a tiny image that box can be 0 pixels thin."""
    low, high = (float(ratio), float(ratio)) if _is_number(ratio) else ratio
    for height, width in shapes:
        if width / height < low and int(round(width / low)) < 1:
            return (f"a {height}×{width} image is too narrow for ratios ≥ {_fmt(low)}: "
                    f"the fallback box would be round({width} / {_fmt(low)}) = 0 pixels high")
        if width / height > high and int(round(height * high)) < 1:
            return (f"a {height}×{width} image is too flat for ratios ≤ {_fmt(high)}: "
                    f"the fallback box would be round({height} · {_fmt(high)}) = 0 pixels wide")
    return None


def _broadcast(params: dict, channels: int) -> tuple[list[float], list[float]]:
    mean, std = list(params["mean"]), list(params["std"])
    return (mean * channels if len(mean) == 1 else mean,
            std * channels if len(std) == 1 else std)


def pipeline_notes(spec: dict) -> list[str]:
    """Advice that is not an error: steps after Normalize that expect [0, 1] values."""
    notes = []
    seen_normalize = False
    for number, step in enumerate(spec.get("steps", []), start=1):
        if not step.get("enabled", True):
            continue
        if step["name"] == "Normalize":
            seen_normalize = True
        elif seen_normalize and step["name"] in ("ColorJitter", "GaussianNoise", "Grayscale"):
            what = {"ColorJitter": "clamps values to [0, 1]",
                    "GaussianNoise": "assumes values in [0, 1]",
                    "Grayscale": "expects RGB values, not standard scores"}[step["name"]]
            notes.append(f"step {number} ({step['name']}) comes after Normalize but {what}: "
                         f"Normalize usually goes last")
    return notes


# =========================================================================== building

def _kwargs(step: dict) -> dict:
    """Keyword arguments for the torchvision class, exactly as the spec gives them."""
    return copy.deepcopy(step.get("params") or {})


def build_transform(spec: dict) -> v2.Compose:
    """The real `torchvision.transforms.v2.Compose` for a spec (disabled steps skipped).

    The first element converts uint8 0..255 or float 0..1 images to float32 0..1.
    Raises `ValueError` with a message for the user if the spec is invalid.
    """
    problems = validate_spec(spec)
    if problems:
        raise ValueError("invalid augmentation pipeline: " + "; ".join(problems))
    import torch
    from torchvision.transforms import v2

    transforms: list = [v2.ToDtype(torch.float32, scale=True)]
    for step in enabled_steps(spec):
        cls = getattr(v2, step["name"])
        try:
            transforms.append(cls(**_kwargs(step)))
        except (TypeError, ValueError) as exc:  # a rule this module doesn't know yet
            raise ValueError(f"{step['name']}: torchvision refused {step.get('params')}: "
                             f"{exc}") from exc
    return v2.Compose(transforms)


# =========================================================================== JSON

def spec_to_json(spec: dict) -> str:
    return json.dumps(spec, indent=2) + "\n"


def spec_from_json(text: str, where: str = "the text") -> dict:
    """Parse and validate; ValueError with a message naming what is wrong."""
    if len(text) > MAX_SPEC_BYTES:
        raise ValueError(f"{where} is too large for an augmentation pipeline "
                         f"({len(text):,} characters; at most {MAX_SPEC_BYTES:,})")
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                         f"column {exc.colno}") from exc
    except RecursionError as exc:
        raise ValueError(f"{where} is not an augmentation pipeline: its JSON is nested too "
                         "deeply") from exc
    try:
        problems = validate_spec(spec)
    except RecursionError as exc:
        raise ValueError(f"{where} is not an augmentation pipeline: its values are nested "
                         "too deeply") from exc
    if problems:
        raise ValueError(f"{where} is not a usable augmentation pipeline: "
                         + "; ".join(problems))
    for step in spec["steps"]:
        step.setdefault("enabled", True)
        step.setdefault("params", {})
    return spec


def load_spec(path: str | Path) -> dict:
    """Read a pipeline saved by `save_spec` (or written by hand)."""
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path.name} is not a regular file")
        if info.st_size > MAX_SPEC_BYTES:
            raise ValueError(f"{path.name} is too large for an augmentation pipeline "
                             f"({info.st_size:,} bytes; at most {MAX_SPEC_BYTES:,})")
        with open(path, "rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"could not read {path.name}: {exc}") from exc
    return spec_from_json(text, path.name)


def save_spec(spec: dict, path: str | Path) -> None:
    """Write the spec as JSON; ValueError (nothing written) if it is invalid."""
    problems = validate_spec(spec)
    if problems:
        raise ValueError("cannot save an invalid pipeline: " + "; ".join(problems))
    path = Path(path)
    try:
        path.write_text(spec_to_json(spec), encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"could not write {path.name}: {exc}") from exc


# =========================================================================== presets

PRESETS: dict[str, str] = {
    "notes": "Course notes: flip, rotate, resize to a list, random crop, noise",
    "light": "Light: horizontal flip, small rotation, a little brightness/contrast",
    "heavy": "Heavy: resized crop, flips, rotation, colour jitter, blur, noise, erasing",
    "digits-safe": "Digits-safe: small shifts, zoom and tilt — no flips (a flipped 2 "
                   "is not a 2)",
    "normalize": "Feature scaling only: Normalize with this image's mean and std",
}


def preset(name: str, image_shape: tuple[int, int, int] = (3, 256, 256),
           normalize: tuple[list[float], list[float]] | None = None) -> dict:
    """A ready pipeline for an image of this shape (sizes follow the image).

    `normalize`: (mean, std) for the "normalize" preset (default: 0.5 / 0.25).
    """
    channels, height, width = image_shape
    base_h, base_w = _scaled_dims(image_shape, 1.0, cap=256)
    side = min(height, width, 256)
    steps: list[dict]
    if name == "notes":
        steps = [make_step("RandomHorizontalFlip", {"p": 0.5}),
                 make_step("RandomVerticalFlip", {"p": 0.5}),
                 make_step("RandomRotation", {"degrees": [-15, 15],
                                              "interpolation": "bilinear"}),
                 make_step("Resize", {"size": [round(base_h * 1.125), round(base_w * 1.125)]}),
                 make_step("RandomCrop", {"size": [base_h, base_w]}),
                 make_step("GaussianNoise", {"mean": 0.0, "sigma": 0.05, "clip": True})]
    elif name == "light":
        steps = [make_step("RandomHorizontalFlip", {"p": 0.5}),
                 make_step("RandomRotation", {"degrees": [-10, 10],
                                              "interpolation": "bilinear"}),
                 make_step("ColorJitter", {"brightness": [0.9, 1.1], "contrast": [0.9, 1.1]})]
    elif name == "heavy":
        steps = [make_step("RandomResizedCrop", {"size": [side, side], "scale": [0.35, 1.0],
                                                 "ratio": [0.75, 1.3333333333333333]}),
                 make_step("RandomHorizontalFlip", {"p": 0.5}),
                 make_step("RandomVerticalFlip", {"p": 0.2}),
                 make_step("RandomRotation", {"degrees": [-30, 30],
                                              "interpolation": "bilinear"}),
                 make_step("ColorJitter", {"brightness": [0.6, 1.4], "contrast": [0.6, 1.4],
                                           "saturation": [0.6, 1.4], "hue": [-0.1, 0.1]}),
                 make_step("GaussianBlur", {"kernel_size": 5 if side > 5 else 1,
                                            "sigma": [0.1, 1.5]}),
                 make_step("GaussianNoise", {"mean": 0.0, "sigma": 0.05, "clip": True}),
                 make_step("RandomErasing", {"p": 0.5, "scale": [0.02, 0.2],
                                             "ratio": [0.3, 3.3], "value": 0.0})]
    elif name == "digits-safe":
        steps = [make_step("RandomAffine", {"degrees": [-10, 10], "translate": [0.1, 0.1],
                                            "scale": [0.9, 1.1], "interpolation": "bilinear"}),
                 make_step("GaussianNoise", {"mean": 0.0, "sigma": 0.05, "clip": True})]
    elif name == "normalize":
        mean, std = normalize or ([0.5] * channels, [0.25] * channels)
        steps = [make_step("Normalize", {"mean": list(mean), "std": list(std)})]
    else:
        raise ValueError(f"no preset {name!r}; choose one of {', '.join(PRESETS)}")
    return make_spec(steps)


# =========================================================================== statistics

@dataclass(frozen=True)
class ChannelStats:
    """Per-channel mean, (population) std, min and max of some images' values."""

    count: int  # values per channel
    mean: tuple[float, ...]
    std: tuple[float, ...]
    minimum: tuple[float, ...]
    maximum: tuple[float, ...]

    @property
    def channels(self) -> int:
        return len(self.mean)

    def merge(self, other: ChannelStats) -> ChannelStats:
        """Pooled statistics of both sets of values (same channel count)."""
        if other.channels != self.channels:
            raise ValueError(f"cannot pool {self.channels}- and {other.channels}-channel stats")
        total = self.count + other.count
        means, stds = [], []
        for m1, s1, m2, s2 in zip(self.mean, self.std, other.mean, other.std, strict=True):
            mean = (self.count * m1 + other.count * m2) / total
            second = (self.count * (s1 * s1 + m1 * m1) + other.count * (s2 * s2 + m2 * m2)) / total
            means.append(mean)
            stds.append(math.sqrt(max(second - mean * mean, 0.0)))
        return ChannelStats(total, tuple(means), tuple(stds),
                            tuple(map(min, self.minimum, other.minimum)),
                            tuple(map(max, self.maximum, other.maximum)))


def channel_stats(tensor: torch.Tensor) -> ChannelStats:
    """Per-channel statistics of a (C, H, W) or (N, C, H, W) tensor (uint8 is scaled to
    [0, 1], as the pipeline sees it)."""

    x = tensor.detach()
    if not x.is_floating_point():
        x = x.float().div_(255.0)
    # (C, values): a view for one image; float32 sums are cascaded, accurate to ~1e-6
    flat = x.reshape(x.shape[0], -1) if x.ndim == 3 else \
        x.transpose(0, 1).reshape(x.shape[1], -1)
    flat = flat.float()
    # sums rather than torch.std_mean: 10x faster, and this runs once per draw
    mean = flat.mean(dim=1)
    second = (flat * flat).mean(dim=1)
    std = (second - mean * mean).clamp_(min=0).sqrt_()
    return ChannelStats(int(flat.shape[1]), tuple(mean.tolist()), tuple(std.tolist()),
                        tuple(flat.amin(dim=1).tolist()), tuple(flat.amax(dim=1).tolist()))


def rounded_stats(stats: ChannelStats, decimals: int = 4) -> tuple[list[float], list[float]]:
    """(mean, std) lists rounded for a Normalize step (std at least 10^-decimals)."""
    floor = 10.0 ** -decimals
    return ([round(m, decimals) for m in stats.mean],
            [max(round(s, decimals), floor) for s in stats.std])


DATASETS: dict[str, str] = {
    "digits": "scikit-learn digits — 1,797 handwritten 8×8 digits (gray)",
    "photos": "scikit-learn sample photos — china.jpg and flower.jpg (RGB)",
    "imagenet": "ImageNet — the standard values every torchvision model expects (RGB)",
}


@cache
def dataset_stats(name: str) -> ChannelStats:
    """Per-channel statistics of a data set the lab can reach without the internet."""
    import torch

    if name == "digits":
        from sklearn.datasets import load_digits

        images = torch.from_numpy(load_digits().images / 16.0)[:, None]
        return channel_stats(images)
    if name == "photos":
        from sklearn.datasets import load_sample_images

        stats = None
        for photo in load_sample_images().images:
            one = channel_stats(torch.from_numpy(np.array(photo)).permute(2, 0, 1))
            stats = one if stats is None else stats.merge(one)
        return stats
    if name == "imagenet":  # published values; min/max of [0, 1] images
        return ChannelStats(1_281_167 * 224 * 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225),
                            (0.0,) * 3, (1.0,) * 3)
    raise ValueError(f"no data set {name!r}; choose one of {', '.join(DATASETS)}")


# =========================================================================== images

def image_tensor(pixels: np.ndarray, dtype: str = "uint8") -> torch.Tensor:
    """The (C, H, W) tensor the pipeline is fed: uint8 0..255, or "float32" 0..1.

    Built exactly like the exported code builds it, so both give the same draws.
    """
    import torch

    array = torch.from_numpy(np.array(pixels, dtype=np.uint8))
    tensor = array[None] if array.ndim == 2 else array.permute(2, 0, 1)
    if dtype == "float32":
        return tensor.float() / 255
    if dtype != "uint8":
        raise ValueError(f"dtype must be 'uint8' or 'float32', not {dtype!r}")
    return tensor


# =========================================================================== code

def _py(value: Any) -> str:
    """A JSON value as Python source that evaluates to the same value."""
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    return repr(value)


def _call_args(step: dict) -> str:
    return ", ".join(f"{key}={_py(value)}" for key, value in (step.get("params") or {}).items())


def step_call(step: dict) -> str:
    """`transforms.v2.Name(kwargs)` for one step."""
    return f"transforms.v2.{step['name']}({_call_args(step)})"


def pipeline_code(spec: dict) -> str:
    """`pipeline = transforms.v2.Compose([...])`, switched-off steps as comments."""
    lines = ["pipeline = transforms.v2.Compose([",
             "    transforms.v2.ToDtype(torch.float32, scale=True),"
             "  # uint8 0..255 or float 0..1 -> float32 0..1"]
    for step in spec.get("steps", []):
        if step.get("enabled", True):
            lines.append(f"    {step_call(step)},")
        else:
            lines.append(f"    # {step_call(step)},  # switched off")
    lines.append("])")
    return "\n".join(lines)


def image_code(source: str, gray: bool, shape: tuple[int, int, int]) -> list[str]:
    """Lines that load the image as the same uint8 (C, H, W) tensor the panel uses."""
    channels, height, width = shape
    layout = "[None]" if gray else ".permute(2, 0, 1)"
    if source.startswith("sample:") and source.removeprefix("sample:") in ("china", "flower"):
        name = source.removeprefix("sample:")
        return ["from sklearn.datasets import load_sample_image",
                f"image = torch.from_numpy(load_sample_image({name + '.jpg'!r})){layout}"]
    if source and not source.startswith("sample:"):
        mode = "L" if gray else "RGB"
        return ["import numpy as np",
                "from PIL import Image",
                f"image = torch.from_numpy(np.array(Image.open({source!r}).convert({mode!r})))"
                f"{layout}"]
    return ["# the lab's built-in sample image; a random stand-in of the same shape here:",
            f"image = torch.randint(0, 256, ({channels}, {height}, {width}), dtype=torch.uint8)"]


def export_code(spec: dict, *, seed: int = 0, count: int = 16, source: str = "",
                gray: bool = False, shape: tuple[int, int, int] = (3, 256, 256),
                input_dtype: str = "uint8", working: WorkingCopy | None = None) -> str:
    """Python that rebuilds the pipeline and makes the same draws as the panel.

    Draw i is `pipeline(image)` right after `torch.manual_seed(seed + i)`. With a working
    copy the code offers both: the working copy and its converted pipeline (what the panel
    drew), or the original at its exact size, one switch apart.
    """
    lines = ["import torch",
             "import torchvision.transforms.v2  # loads transforms.v2",
             "from torchvision import transforms",
             "",
             pipeline_code(spec),
             "",
             f"# the image as a (C, H, W) tensor, uint8 0..255 ({shape[1]}×{shape[2]}, "
             f"{'gray' if gray else 'RGB'})",
             *image_code(source, gray, shape)]
    if working is not None:
        height, width = working.size
        converted = pipeline_code(working.spec).replace("pipeline = ", "working_pipeline = ", 1)
        lines += ["",
                  f"# {working.explained()}",
                  converted,
                  "USE_WORKING_COPY = True  # False: draw the original at its exact size "
                  "(slower)",
                  "if USE_WORKING_COPY:",
                  f"    image = transforms.v2.functional.resize(image, [{height}, {width}], "
                  "antialias=True)",
                  "    pipeline = working_pipeline"]
    if input_dtype == "float32":
        lines.append("image = image.float() / 255  # fed as float32 0..1")
    lines += ["",
              "# the grid: draw i is seeded with seed + i, so a seed always gives the same "
              "draws",
              f"seed, count = {seed}, {count}",
              "draws = []",
              "for i in range(count):",
              "    torch.manual_seed(seed + i)",
              "    draws.append(pipeline(image))",
              ""]
    return "\n".join(lines)


def step_summary(step: dict) -> str:
    """A one-line summary for the steps list: `RandomRotation  degrees [−15, 15]`."""
    info = STEP_TYPES.get(step.get("name"))
    params = step.get("params") or {}
    if info is None:
        return str(step.get("name"))
    shown = []
    for param in info.params:
        if param.name not in params or param.kind in ("bool", "choice"):
            continue
        value = params[param.name]
        if value is None:
            continue
        shown.append(f"{param.name} {_fmt(value)}")
    return f"{step['name']}  " + ", ".join(shown[:3]) if shown else step["name"]
