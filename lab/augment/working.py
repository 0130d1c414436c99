"""The working copy: a photo's augmentation grid drawn on a smaller copy, for speed.

A 4000×3000 photo shown in a 256-pixel tile needs no more than about twice that: the
panel first resizes the image so its longer side is the working side (a step it shows:
"working copy: 4000×3000 → 512×384, for speed"), and converts every parameter measured in
pixels (crop and resize sizes, padding, blur kernel and σ) by the same factor, so a draw
on the working copy looks like the same draw on the original, shrunk. Parameters that are
fractions (erasing and crop areas, translations, aspect ratios) and angles stay as they
are. "Exact size" draws the original. Nothing here knows about Qt.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lab.augment.steps import MAX_KERNEL

if TYPE_CHECKING:
    import torch

#: the grid's tiles are 256 pixels: twice that keeps a zoomed tile sharp
DEFAULT_WORKING_SIDE = 512


@dataclass(frozen=True)
class WorkingCopy:
    """The resize applied before the pipeline, and the parameters it converted."""

    original: tuple[int, int]       # (H, W) of the image
    size: tuple[int, int]           # (H, W) of the working copy
    spec: dict                      # the pipeline with its pixel parameters converted
    conversions: tuple[str, ...] = field(default=())  # "RandomCrop size 3000 → 384", ...

    @property
    def factor(self) -> float:
        return max(self.size) / max(self.original)

    @property
    def note(self) -> str:
        (h, w), (hw, ww) = self.original, self.size
        return f"working copy: {w}×{h} → {ww}×{hw}, for speed"

    def explained(self) -> str:
        """The note, then each converted parameter (or that none needed converting)."""
        if not self.conversions:
            return f"{self.note} (no pixel parameter needs converting)"
        return f"{self.note}; pixel parameters converted: " + "; ".join(self.conversions)


def working_size(height: int, width: int, side: int = DEFAULT_WORKING_SIDE) -> tuple[int, int]:
    """(H, W) with the longer side at most `side`, aspect kept; never enlarged."""
    longer = max(height, width)
    if longer <= side:
        return height, width
    factor = side / longer
    return max(1, round(height * factor)), max(1, round(width * factor))


def _pixels(value: int | float, factor: float) -> int:
    return max(1, round(value * factor))


def _odd(value: int, factor: float) -> int:
    scaled = max(1, round(value * factor))
    return min(MAX_KERNEL, scaled if scaled % 2 else scaled + 1)


def _convert(kind: str, value: Any, factor: float) -> Any:
    if value is None:
        return None
    if kind == "kernel":
        return [_odd(v, factor) for v in value] if isinstance(value, list) \
            else _odd(value, factor)
    if kind == "sigma":
        return [v * factor for v in value] if isinstance(value, list) else value * factor
    if kind == "padding":
        return [round(v * factor) for v in value] if isinstance(value, list) \
            else round(value * factor)
    return [_pixels(v, factor) for v in value] if isinstance(value, list) \
        else _pixels(value, factor)


#: (step, parameter) -> how its pixels convert
PIXEL_PARAMS: dict[tuple[str, str], str] = {
    ("Resize", "size"): "size", ("CenterCrop", "size"): "size",
    ("RandomCrop", "size"): "size", ("RandomCrop", "padding"): "padding",
    ("RandomResizedCrop", "size"): "size",
    ("GaussianBlur", "kernel_size"): "kernel", ("GaussianBlur", "sigma"): "sigma",
}


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


#: steps whose size is the size they resize to, whatever came in
RESIZING_STEPS = ("Resize", "RandomResizedCrop")


def working_spec(spec: dict, factor: float, side: int = DEFAULT_WORKING_SIDE
                 ) -> tuple[dict, tuple[str, ...]]:
    """The spec with its pixel parameters converted, and what changed.

    Until a step resizes, the image is `factor` times the original: crop sizes, padding
    and blur scale with it. A resizing step (Resize, RandomResizedCrop) makes its size
    whatever came in, so its size is kept — shrunk only as far as needed to keep its
    longer side at `side` — and later parameters scale with that shrink instead.
    """
    converted = copy.deepcopy(spec)
    notes = []
    for step in converted.get("steps", []):
        if not step.get("enabled", True):
            continue
        params = step.get("params") or {}
        name = step.get("name")
        if name in RESIZING_STEPS and params.get("size") is not None:
            size = params["size"]
            longest = max(size) if isinstance(size, list) else size
            factor = min(1.0, side / max(1, longest))
        for param, value in list(params.items()):
            kind = PIXEL_PARAMS.get((name, param))
            if kind is None:
                continue
            new = _convert(kind, value, factor)
            if new != value:
                params[param] = new
                notes.append(f"{name} {param} {_shown(value)} → {_shown(new)}")
    return converted, tuple(notes)


def working_copy(spec: dict, height: int, width: int,
                 side: int | None = DEFAULT_WORKING_SIDE) -> WorkingCopy | None:
    """The working copy for an image of this size, or None when the image is drawn as it
    is (`side` None: "exact size"; or the image is no larger than the working side)."""
    if side is None:
        return None
    size = working_size(height, width, side)
    if size == (height, width):
        return None
    factor = max(size) / max(height, width)
    converted, notes = working_spec(spec, factor, side)
    return WorkingCopy((height, width), size, converted, notes)


def shrink(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The working copy of a (C, H, W) image: torchvision's antialiased resize (what the
    exported code calls too)."""
    from torchvision.transforms.v2 import functional as TF

    return TF.resize(image, list(size), antialias=True).contiguous()


