"""Random draws of an augmentation pipeline, each explained.

`generate_draws(spec, image, count=16, seed=0)` runs the real pipeline once per draw,
draw i right after `torch.manual_seed(seed + i)` (what `lab.augment.export_code` writes),
and yields `Draw`s that say what every step did: flipped or not, the angle, the crop box,
the jitter factors. They are captured from the real transforms' `make_params`, never
recomputed. Nothing here knows about Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lab.augment import (
    STEP_TYPES,
    ChannelStats,
    _call_args,
    _fmt,
    _pair,
    as_range,
    build_transform,
    channel_stats,
    complete_params,
    trace_shapes,
)

if TYPE_CHECKING:
    import torch

#: draws whose output has at most this many values keep their tensor (for tests, export)
KEEP_TENSOR_VALUES = 1 << 20


def to_display_array(tensor: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0),
                     max_side: int = 256) -> np.ndarray:
    """(C, H, W) float (or uint8, read as /255) -> (H', W') or (H', W', 3) uint8, shrunk
    (with antialiasing) so the longer side is at most `max_side`, values mapped
    low..high -> 0..255."""
    import torch
    import torch.nn.functional as F

    x = tensor.detach()
    height, width = x.shape[-2:]
    stride = max(height, width) // (4 * max_side)
    if stride >= 2:  # a huge image: skip pixels before the (antialiased) resize, cheaply
        x = x[..., ::stride, ::stride]
    x = x.float() if x.is_floating_point() else x.float() / 255
    height, width = x.shape[-2:]
    if max(height, width) > max_side:
        factor = max_side / max(height, width)
        size = (max(1, round(height * factor)), max(1, round(width * factor)))
        x = F.interpolate(x[None], size=size, mode="bilinear", antialias=True,
                          align_corners=False)[0]
    low, high = value_range
    scale = 255.0 / (high - low) if high > low else 0.0
    # one copy into (H, W[, 3]) order first, then in-place arithmetic: about twice as fast
    # as working on a permuted view and gathering the bytes afterwards
    # (clone, not contiguous(): a channels-last draw is already contiguous once permuted,
    # and the in-place arithmetic below would change the draw itself)
    y = x[0].clone() if x.shape[0] == 1 else \
        x[:3].permute(1, 2, 0).clone(memory_format=torch.contiguous_format)
    if low:
        y.sub_(low)
    out = y.mul_(scale).add_(0.5).clamp_(0, 255).to(torch.uint8)  # + 0.5, truncate: round
    return out.numpy()


@dataclass(frozen=True)
class StepEvent:
    """What one enabled step did in one draw."""

    number: int      # the step's position in the spec, from 1
    name: str
    random: bool
    fired: bool      # False: a random step that was not applied (flip not drawn, ...)
    drawn: dict      # what it drew, as plain numbers (angle, box, factors, ...)
    short: str       # a few characters for the caption under the draw ("" if nothing)
    text: str        # a full sentence for the details / tooltip


class Draw:
    """One random draw of the pipeline, ready to show.

    A small output keeps its tensor, and its screen image and statistics are made on
    first use — in the GUI thread, on the core the worker isn't using. A large output
    (more than `KEEP_TENSOR_VALUES` values) gets them made at once and drops the tensor.
    """

    def __init__(self, index: int, seed: int, output: torch.Tensor, events: list[StepEvent],
                 value_range: tuple[float, float] = (0.0, 1.0), display_side: int = 256,
                 keep: bool | None = None) -> None:
        self.index = index
        self.seed = seed
        self.events = events
        self.shape: tuple[int, int, int] = tuple(output.shape)  # (C, H, W) of the real output
        self.value_range = value_range
        self.display_side = display_side
        keep = output.numel() <= KEEP_TENSOR_VALUES if keep is None else keep
        #: the real output, when it is small enough to keep
        self.tensor: torch.Tensor | None = output if keep else None
        self._display: np.ndarray | None = None
        self._stats: ChannelStats | None = None
        if not keep:
            self._display = to_display_array(output, value_range, display_side)
            self._stats = channel_stats(output)

    @property
    def display(self) -> np.ndarray:
        """uint8 (H, W) or (H, W, 3), the longer side at most `display_side`."""
        if self._display is None:
            self._display = to_display_array(self.tensor, self.value_range, self.display_side)
        return self._display

    @property
    def stats(self) -> ChannelStats:
        """Per-channel statistics of the real output."""
        if self._stats is None:
            self._stats = channel_stats(self.tensor)
        return self._stats

    def __repr__(self) -> str:
        return f"Draw(index={self.index}, seed={self.seed}, shape={self.shape})"

    @property
    def caption(self) -> str:
        parts = [e.short for e in self.events if e.short]
        if parts:
            return " · ".join(parts)
        noise = any(e.name == "GaussianNoise" for e in self.events)
        return "only fresh noise" if noise else "no random change"

    @property
    def details(self) -> str:
        _, height, width = self.shape
        lines = [f"draw {self.index + 1}: torch.manual_seed({self.seed}) → {height}×{width}"]
        lines += [e.text for e in self.events]
        return "\n".join(lines)


def _signed(value: float, digits: int = 1) -> str:
    return f"{value:+.{digits}f}".replace("-", "−")


def _describe(number: int, step: dict, drawn: dict | None,
              before: tuple[int, int, int]) -> StepEvent:
    """Turn the captured make_params of one step into caption text."""
    name = step["name"]
    params = complete_params(step)
    info = STEP_TYPES[name]
    _, height, width = before
    if info.random and drawn is None:  # a _RandomApplyTransform whose coin said no
        what = {"RandomHorizontalFlip": "not flipped", "RandomVerticalFlip": "not flipped",
                "RandomErasing": "nothing erased"}.get(name, "not applied")
        return StepEvent(number, name, True, False, {}, "",
                         f"{name}: {what} (p = {_fmt(params.get('p'))})")
    drawn = drawn or {}
    short, record = "", {}
    if name == "RandomHorizontalFlip":
        short, text = "↔ flip", f"{name}: flipped left↔right (p = {_fmt(params['p'])})"
    elif name == "RandomVerticalFlip":
        short, text = "↕ flip", f"{name}: flipped top↕bottom (p = {_fmt(params['p'])})"
    elif name == "RandomRotation":
        angle = float(drawn["angle"])
        record = {"angle": angle}
        low, high = as_range(info.param("degrees"), params["degrees"])
        short = f"⟲ {_signed(angle)}°"
        text = f"{name}: angle {_signed(angle, 2)}° drawn from [{_fmt(low)}, {_fmt(high)}]"
    elif name == "RandomAffine":
        angle, (tx, ty) = float(drawn["angle"]), drawn["translate"]
        scale, (shear_x, shear_y) = float(drawn["scale"]), drawn["shear"]
        record = {"angle": angle, "translate": [int(tx), int(ty)], "scale": scale,
                  "shear": [float(shear_x), float(shear_y)]}
        bits = [f"{_signed(angle)}°"]
        if params.get("translate") is not None:
            bits.append(f"({_signed(tx, 0)}, {_signed(ty, 0)}) px")
        if params.get("scale") is not None:
            bits.append(f"×{scale:.2f}")
        if params.get("shear") is not None:
            bits.append(f"shear {_signed(shear_x)}°")
        short = "affine " + " ".join(bits)
        text = (f"{name}: rotate {_signed(angle, 2)}°, shift ({int(tx)}, {int(ty)}) px, "
                f"zoom ×{scale:.3f}, shear ({float(shear_x):.2f}°, {float(shear_y):.2f}°)")
    elif name == "RandomCrop":
        top, left = int(drawn["top"]), int(drawn["left"])
        crop_h, crop_w = int(drawn["height"]), int(drawn["width"])
        pad = drawn.get("padding") or [0, 0, 0, 0]
        record = {"top": top, "left": left, "height": crop_h, "width": crop_w,
                  "padding": [int(v) for v in pad]}
        short = f"crop @({left},{top})"
        padded = f" of the image padded to {height + pad[1] + pad[3]}×{width + pad[0] + pad[2]}" \
            if any(pad) else f" of the {height}×{width} image"
        text = f"{name}: {crop_h}×{crop_w} box at x = {left}, y = {top}{padded}"
    elif name == "RandomResizedCrop":
        top, left = int(drawn["top"]), int(drawn["left"])
        box_h, box_w = int(drawn["height"]), int(drawn["width"])
        record = {"top": top, "left": left, "height": box_h, "width": box_w}
        out_h, out_w = _pair(params["size"])
        area = 100.0 * box_h * box_w / max(1, height * width)
        short = f"crop {box_w}×{box_h}"
        text = (f"{name}: box {box_w}×{box_h} (w×h) at x = {left}, y = {top} — {area:.0f}% "
                f"of the area, w/h = {box_w / max(1, box_h):.2f} — resized to {out_h}×{out_w}")
    elif name == "ColorJitter":
        labels = {"brightness_factor": "b", "contrast_factor": "c", "saturation_factor": "s",
                  "hue_factor": "h"}
        order_names = ["brightness", "contrast", "saturation", "hue"]
        factors = {key: float(drawn[key]) for key in labels if drawn.get(key) is not None}
        order = [order_names[int(i)] for i in drawn.get("fn_idx", [])
                 if drawn.get(f"{order_names[int(i)]}_factor") is not None]
        record = {**{k.removesuffix("_factor"): v for k, v in factors.items()},
                  "order": order}
        short = " ".join(f"{labels[k]}{v:+.2f}" if k == "hue_factor" else f"{labels[k]}{v:.2f}"
                         for k, v in factors.items())
        short = f"jitter {short}" if short else ""
        text = (f"{name}: " + (", ".join(f"{k.removesuffix('_factor')} ×{v:.3f}"
                                         if k != "hue_factor" else f"hue {_signed(v, 3)}"
                                         for k, v in factors.items()) or "nothing to change")
                + (f"; applied in the order {' → '.join(order)}" if len(order) > 1 else ""))
    elif name == "GaussianBlur":
        sigma = float(drawn["sigma"][0])
        record = {"sigma": sigma}
        short = f"blur σ{sigma:.2f}"
        text = f"{name}: σ = {sigma:.3f} with a {_fmt(params['kernel_size'])} kernel"
    elif name == "GaussianNoise":
        short = ""  # the same words under every draw would say nothing; details have it
        text = (f"{name}: fresh N({_fmt(params['mean'])}, {_fmt(params['sigma'])}²) noise on "
                f"every pixel" + (", clipped to [0, 1]" if params["clip"] else ""))
    elif name == "RandomErasing":
        if drawn.get("v") is None:
            return StepEvent(number, name, True, True, {}, "",
                             f"{name}: drawn, but no box of that scale and ratio fitted")
        top, left = int(drawn["i"]), int(drawn["j"])
        box_h, box_w = int(drawn["h"]), int(drawn["w"])
        record = {"top": top, "left": left, "height": box_h, "width": box_w}
        short = f"erase {box_w}×{box_h}"
        text = f"{name}: erased a {box_w}×{box_h} (w×h) box at x = {left}, y = {top}"
    else:  # deterministic steps
        return StepEvent(number, name, False, True, {}, "", f"{name}: {_call_args(step)}")
    return StepEvent(number, name, True, True, record, short, text)


class RecordingPipeline:
    """`build_transform(spec)` whose random steps report what they drew.

    Each real torchvision transform keeps working unchanged; only its `make_params` is
    wrapped (on the instance) to remember the parameters it returned for this call.
    Random-apply transforms (flips, erasing) call `make_params` only when their coin
    says yes, so a missing record means "not applied".
    """

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.transform = build_transform(spec)
        self.steps = [(number, step) for number, step in enumerate(spec["steps"], start=1)
                      if step.get("enabled", True)]
        self._drawn: list[dict | None] = [None] * len(self.steps)
        self._shapes: list[tuple[int, int, int]] = [(0, 0, 0)] * len(self.steps)
        for index, module in enumerate(self.transform.transforms[1:]):
            module.make_params = self._recorder(index, module.make_params)

    def _recorder(self, index: int, make_params: Callable) -> Callable:
        def recorded(flat_inputs: list) -> dict:
            params = make_params(flat_inputs)
            self._drawn[index] = params
            self._shapes[index] = tuple(flat_inputs[0].shape[-3:]) if flat_inputs else (0, 0, 0)
            return params

        return recorded

    def __call__(self, image: torch.Tensor, seed: int) -> tuple[torch.Tensor, list[StepEvent]]:
        """Run the pipeline once with `torch.manual_seed(seed)`; the global random state
        is restored afterwards, so other code's random numbers are not disturbed."""
        import torch

        self._drawn = [None] * len(self.steps)
        self._shapes = [(0, 0, 0)] * len(self.steps)
        with torch.random.fork_rng(devices=[]):
            # the CPU generator only: the same numbers as torch.manual_seed for a CPU image,
            # without reseeding (and so disturbing) a GPU's generator that fork_rng(devices=[])
            # does not restore — and 0.7 ms a draw faster (CUDA seeding records a stack)
            torch.default_generator.manual_seed(seed)
            out = self.transform(image)
        events = [_describe(number, step, self._drawn[i], self._shapes[i])
                  for i, (number, step) in enumerate(self.steps)]
        return out, events


def generate_draws(spec: dict, image: torch.Tensor, *, count: int = 16, seed: int = 0,
                   display_side: int = 256, should_stop: Callable[[], bool] = lambda: False,
                   value_range: tuple[float, float] | None = None) -> Iterator[Draw]:
    """Yield `count` draws of the pipeline on `image` ((C, H, W), uint8 or float), draw i
    made with `torch.manual_seed(seed + i)` — what the exported code does.

    Stops early when `should_stop()` says so. Raises ValueError for an invalid spec.
    """
    pipeline = RecordingPipeline(spec)
    if value_range is None:
        value_range = trace_shapes(spec, tuple(image.shape)).value_range
    for index in range(count):
        if should_stop():
            return
        draw_seed = seed + index
        out, events = pipeline(image, draw_seed)
        yield Draw(index, draw_seed, out, events, value_range, display_side)
