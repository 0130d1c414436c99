"""The augmentation steps the lab offers: each a `torchvision.transforms.v2` class with
its keyword arguments described for validation and for the panel's editors (kind, range,
default, what a single number means) and a teaching summary.

`lab.augment` re-exports everything here; nothing here knows about Qt.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: the largest side a size parameter may ask for, in pixels
MAX_SIDE = 4096
#: the largest kernel side GaussianBlur may use
MAX_KERNEL = 101


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: marks a parameter torchvision has no default for
REQUIRED: Any = _Required()


@dataclass(frozen=True)
class ParamInfo:
    """One keyword argument of a transform, with what the panel needs to edit it.

    kind: "probability", "float", "int", "bool", "choice", "range" (two numbers, low <=
    high, or one number as torchvision allows), "jitter" (ColorJitter's number-or-range),
    "pair" (two independent numbers), "size" (int or [h, w]), "kernel" (odd int or
    [kx, ky]), "padding" (None or int), "fill" (number), "erase_value" (number or
    "random"), "channels" (a number per channel).
    `default` is torchvision's own default (REQUIRED where it has none); `low`/`high` is
    the range the panel's control offers (validation applies the real rules).
    """

    name: str
    kind: str
    label: str
    tooltip: str
    default: Any = REQUIRED
    low: float = 0.0
    high: float = 1.0
    decimals: int = 2
    choices: tuple[tuple[Any, str], ...] = ()
    #: None is a valid value ("off"), e.g. RandomAffine's translate
    optional: bool = False
    #: for "range"/"jitter": what a single number n means: "symmetric" ([-n, n]),
    #: "around_one" ([max(0, 1 - n), 1 + n]), "same" ([n, n])
    number_means: str = "symmetric"


@dataclass(frozen=True)
class StepInfo:
    """A transform the lab offers: its torchvision name, a teaching summary, its params."""

    name: str
    title: str
    summary: str
    params: tuple[ParamInfo, ...]
    #: draws something new on every call
    random: bool
    #: suggested parameters for a new step, given the image shape (C, H, W)
    start: Callable[[tuple[int, int, int]], dict] = field(default=lambda shape: {})

    def param(self, name: str) -> ParamInfo:
        for info in self.params:
            if info.name == name:
                return info
        raise KeyError(name)

    def defaults(self) -> dict:
        return {p.name: copy.deepcopy(p.default) for p in self.params
                if p.default is not REQUIRED}


_INTERPOLATION_AFFINE = (("nearest", "nearest"), ("bilinear", "bilinear"))
_INTERPOLATION_RESIZE = (("nearest", "nearest"), ("nearest-exact", "nearest-exact"),
                         ("bilinear", "bilinear"), ("bicubic", "bicubic"))
_FILL_TIP = ("Value for pixels that come from outside the image (0 = black, 1 = white; "
             "the pipeline works on floats in [0, 1]).")


def _p(tip: str = "Probability that this step is applied to a draw.") -> ParamInfo:
    return ParamInfo("p", "probability", "Probability p", tip, 0.5)


def _scaled_dims(shape: tuple[int, int, int], fraction: float, cap: int = 512) -> list[int]:
    """[h, w] of the image scaled by `fraction`, the longer side at most `cap`."""
    _, height, width = shape
    factor = min(fraction, cap / max(height, width))
    return [max(1, round(height * factor)), max(1, round(width * factor))]


def _size_param(tip: str) -> ParamInfo:
    return ParamInfo("size", "size", "Size", tip, REQUIRED, 1, MAX_SIDE, 0)


STEP_LIST: tuple[StepInfo, ...] = (
    StepInfo(
        "RandomHorizontalFlip", "Random horizontal flip",
        "Mirrors the image left↔right with probability p. Half the draws flip at p = 0.5: "
        "a cat facing left is still a cat.",
        (_p("Probability of a left↔right mirror for each draw (0.5: half of them)."),),
        True, lambda shape: {"p": 0.5}),
    StepInfo(
        "RandomVerticalFlip", "Random vertical flip",
        "Mirrors the image top↕bottom with probability p. Fine for satellite or cell images; "
        "wrong for digits and most photos (a 6 becomes a 9, the sky goes down).",
        (_p("Probability of a top↕bottom mirror for each draw."),), True,
        lambda shape: {"p": 0.5}),
    StepInfo(
        "RandomRotation", "Random rotation",
        "Rotates by an angle drawn uniformly from the degree range (anticlockwise is "
        "positive). Corners that come from outside the image get the fill value; expand "
        "grows the canvas so nothing is cut off.",
        (ParamInfo("degrees", "range", "Degrees",
                   "The angle is drawn uniformly from [min, max] degrees for every draw.",
                   REQUIRED, -180, 180, 1),
         ParamInfo("interpolation", "choice", "Interpolation",
                   "How new pixel values are computed: nearest copies one source pixel "
                   "(jagged edges); bilinear blends four (smooth).", "nearest",
                   choices=_INTERPOLATION_AFFINE),
         ParamInfo("expand", "bool", "expand — grow the canvas to fit",
                   "True: the output is large enough to hold the whole rotated image "
                   "(its size changes with the angle). False: same size, corners cut.", False),
         ParamInfo("fill", "fill", "Fill", _FILL_TIP, 0)),
        True, lambda shape: {"degrees": [-15, 15], "interpolation": "bilinear",
                             "expand": False, "fill": 0}),
    StepInfo(
        "Resize", "Resize",
        "Scales the image about its centre. A list [h, w] gives the exact output size; a "
        "single number sets the shorter side and keeps the aspect ratio.",
        (_size_param("[h, w]: exact output size. One number: the shorter side becomes this "
                     "long and the other keeps the aspect ratio."),
         ParamInfo("interpolation", "choice", "Interpolation",
                   "nearest copies pixels (blocky), bilinear/bicubic blend them (smooth).",
                   "bilinear", choices=_INTERPOLATION_RESIZE),
         ParamInfo("antialias", "bool", "antialias — smooth before shrinking",
                   "Low-pass filter before down-scaling (bilinear/bicubic), so fine "
                   "patterns don't turn into moiré.", True)),
        False, lambda shape: {"size": _scaled_dims(shape, 0.75), "interpolation": "bilinear",
                              "antialias": True}),
    StepInfo(
        "CenterCrop", "Centre crop",
        "Keeps the central h×w part (pads with zeros if the image is smaller). Deterministic: "
        "every draw gets the same crop.",
        (_size_param("Output size: one number for a square, or [h, w]."),),
        False, lambda shape: {"size": _scaled_dims(shape, 0.75)}),
    StepInfo(
        "RandomCrop", "Random crop",
        "Cuts an h×w window at a random position (after optional padding), so the network "
        "sees the object shifted a little each time.",
        (_size_param("Output size: one number for a square, or [h, w]. Must fit inside the "
                     "(padded) image unless pad_if_needed is on."),
         ParamInfo("padding", "padding", "Padding",
                   "Pixels added on every border before cropping (None/0: no padding).",
                   None, 0, 256, 0, optional=True),
         ParamInfo("pad_if_needed", "bool", "pad_if_needed — pad small images",
                   "Pad images smaller than the crop instead of refusing them.", False),
         ParamInfo("fill", "fill", "Fill", "Value of the padding for padding_mode "
                   "'constant' (0 = black, 1 = white).", 0),
         ParamInfo("padding_mode", "choice", "Padding mode",
                   "constant: fill value; edge: repeat the border pixel; reflect: mirror "
                   "without the border pixel; symmetric: mirror including it.", "constant",
                   choices=(("constant", "constant"), ("edge", "edge"), ("reflect", "reflect"),
                            ("symmetric", "symmetric")))),
        True, lambda shape: {"size": _scaled_dims(shape, 0.75), "padding": None,
                             "pad_if_needed": False, "fill": 0, "padding_mode": "constant"}),
    StepInfo(
        "RandomResizedCrop", "Random resized crop",
        "Picks a random box covering a random fraction (scale) of the area with a random "
        "aspect ratio, then resizes it to the output size: zoom and crop in one step "
        "(the standard ImageNet augmentation).",
        (_size_param("Output size after resizing the box: one number for a square, or [h, w]."),
         ParamInfo("scale", "range", "Scale (area)",
                   "Fraction of the image's area the box covers, drawn from [min, max].",
                   [0.08, 1.0], 0.01, 1, 2),
         ParamInfo("ratio", "range", "Ratio (w / h)",
                   "Aspect ratio of the box, drawn log-uniformly from [min, max].",
                   [0.75, 1.3333333333333333], 0.1, 5, 2),
         ParamInfo("interpolation", "choice", "Interpolation", "How the box is resized.",
                   "bilinear", choices=_INTERPOLATION_RESIZE),
         ParamInfo("antialias", "bool", "antialias — smooth before shrinking",
                   "Low-pass filter before down-scaling.", True)),
        True, lambda shape: {"size": _scaled_dims(shape, 1.0), "scale": [0.25, 1.0],
                             "ratio": [0.75, 1.3333333333333333], "interpolation": "bilinear",
                             "antialias": True}),
    StepInfo(
        "RandomAffine", "Random affine",
        "Rotation, shift, zoom and shear in one warp, each drawn at random from its range. "
        "Untick a part to switch it off.",
        (ParamInfo("degrees", "range", "Degrees", "Rotation angle range in degrees.",
                   REQUIRED, -180, 180, 1),
         ParamInfo("translate", "pair", "Translate (max)",
                   "Largest shift as a fraction of the width (x) and height (y): the shift "
                   "is drawn from [−x·W, x·W] and [−y·H, y·H].", None, 0, 1, 2, optional=True),
         ParamInfo("scale", "range", "Scale", "Zoom factor drawn from [min, max] (1 = same).",
                   None, 0.1, 3, 2, optional=True),
         ParamInfo("shear", "range", "Shear", "Shear angle (degrees, parallel to x) drawn "
                   "from [min, max].", None, -60, 60, 1, optional=True),
         ParamInfo("interpolation", "choice", "Interpolation",
                   "nearest: jagged edges; bilinear: smooth.", "nearest",
                   choices=_INTERPOLATION_AFFINE),
         ParamInfo("fill", "fill", "Fill", _FILL_TIP, 0)),
        True, lambda shape: {"degrees": [-10, 10], "translate": [0.1, 0.1],
                             "scale": [0.9, 1.1], "shear": [-10, 10],
                             "interpolation": "bilinear", "fill": 0}),
    StepInfo(
        "ColorJitter", "Colour jitter",
        "Multiplies brightness, contrast and saturation by factors drawn from their ranges "
        "(1 = unchanged) and shifts the hue, in a random order. Untick a part to leave it "
        "alone. Saturation and hue do nothing to gray images.",
        (ParamInfo("brightness", "jitter", "Brightness", "Brightness factor range "
                   "(0 = black, 1 = unchanged, 2 = twice as bright).", None, 0, 3, 2,
                   optional=True, number_means="around_one"),
         ParamInfo("contrast", "jitter", "Contrast", "Contrast factor range "
                   "(0 = flat gray, 1 = unchanged).", None, 0, 3, 2, optional=True,
                   number_means="around_one"),
         ParamInfo("saturation", "jitter", "Saturation", "Saturation factor range "
                   "(0 = gray, 1 = unchanged).", None, 0, 3, 2, optional=True,
                   number_means="around_one"),
         ParamInfo("hue", "jitter", "Hue", "Hue shift range, as a fraction of the colour "
                   "wheel (−0.5 … 0.5; 0 = unchanged).", None, -0.5, 0.5, 2, optional=True)),
        True, lambda shape: {"brightness": [0.7, 1.3], "contrast": [0.7, 1.3],
                             "saturation": [0.7, 1.3], "hue": [-0.05, 0.05]}),
    StepInfo(
        "Grayscale", "Grayscale",
        "Converts RGB to gray with the luma weights 0.299 R + 0.587 G + 0.114 B; keep 3 "
        "output channels for a network that expects RGB.",
        (ParamInfo("num_output_channels", "choice", "Output channels",
                   "1: a single gray channel; 3: gray copied to R, G and B.", 1,
                   choices=((1, "1 (gray)"), (3, "3 (gray as RGB)"))),),
        False, lambda shape: {"num_output_channels": 1}),
    StepInfo(
        "GaussianBlur", "Gaussian blur",
        "Blurs with a Gaussian kernel whose σ is drawn from the range for each draw: the "
        "network learns not to depend on fine detail.",
        (ParamInfo("kernel_size", "kernel", "Kernel size",
                   "Side of the blur kernel: odd and positive (3, 5, 7, …).", REQUIRED, 1,
                   MAX_KERNEL, 0),
         ParamInfo("sigma", "range", "Sigma σ", "Standard deviation of the Gaussian, drawn "
                   "from [min, max]; must be positive.", [0.1, 2.0], 0, 10, 2,
                   number_means="same")),
        True, lambda shape: {"kernel_size": 5, "sigma": [0.1, 2.0]}),
    StepInfo(
        "GaussianNoise", "Gaussian noise",
        "Adds fresh noise drawn from N(mean, σ²) to every pixel of every draw (the notes: "
        "“used less”). clip keeps the values in [0, 1].",
        (ParamInfo("mean", "float", "Mean", "Mean of the noise (shifts the brightness).",
                   0.0, -1, 1, 2),
         ParamInfo("sigma", "float", "Sigma σ", "Standard deviation of the noise.", 0.1,
                   0, 1, 3),
         ParamInfo("clip", "bool", "clip — keep values in [0, 1]",
                   "Clamp the result to [0, 1] after adding the noise.", True)),
        True, lambda shape: {"mean": 0.0, "sigma": 0.05, "clip": True}),
    StepInfo(
        "RandomErasing", "Random erasing",
        "With probability p, blanks out a random box covering a random fraction (scale) of "
        "the area: the network must use the whole object, not one part (“cutout”).",
        (_p("Probability that a box is erased in a draw."),
         ParamInfo("scale", "range", "Scale (area)", "Fraction of the area the box covers, "
                   "drawn from [min, max].", [0.02, 0.33], 0, 1, 2),
         ParamInfo("ratio", "range", "Ratio (h / w)", "Aspect ratio of the box, drawn "
                   "log-uniformly from [min, max].", [0.3, 3.3], 0.05, 10, 2),
         ParamInfo("value", "erase_value", "Value",
                   "What goes in the box: a constant (0 = black) or 'random' noise.", 0.0,
                   0, 1, 2)),
        True, lambda shape: {"p": 0.5, "scale": [0.02, 0.2], "ratio": [0.3, 3.3],
                             "value": 0.0}),
    StepInfo(
        "Normalize", "Normalize (feature scaling)",
        "Per channel: x′ = (x − mean_c) / std_c. With the data's own mean and std every "
        "channel comes out centred on 0 with spread 1, so no input dominates the gradients.",
        (ParamInfo("mean", "channels", "Mean", "One value for all channels, or one per "
                   "channel (R, G, B).", REQUIRED, -10, 10, 4),
         ParamInfo("std", "channels", "Std", "One positive value for all channels, or one "
                   "per channel.", REQUIRED, 0.0001, 10, 4)),
        False, lambda shape: {"mean": [0.5] * shape[0], "std": [0.25] * shape[0]}),
)
STEP_TYPES: dict[str, StepInfo] = {info.name: info for info in STEP_LIST}
