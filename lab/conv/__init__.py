"""Convolution and transposed convolution, with their geometry and arithmetic spelled out.

`ConvParams` is the Convolution panel's state as data: it validates itself (messages name
the broken rule with the numbers), builds its weight tensor [out, in/groups, kH, kW] from
per-output-channel presets and cell edits, runs through `torch.nn.functional.conv2d`
exactly as `nn.Conv2d` does (non-zero padding modes via `F.pad`), explains any output
cell as a multiply-and-add, and writes the PyTorch code that reproduces the view.
`ConvTransposeParams` does the same for `ConvTranspose2d`: which input cells land on which
output cells, and with which kernel cell. Nothing here knows about Qt.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from lab.display_resolution import Sampling, conv_rows, conv_sampled
from lab.geometry import conv_length, transposed_length  # re-exported: callers read them here too

if TYPE_CHECKING:
    import torch

PRESETS: dict[str, str] = {
    "identity": "Identity — one 1 at the centre: copies the channel",
    "box": "Box blur — every cell 1/(kH·kW): the local mean",
    "gaussian": "Gaussian blur — weights fall off from the centre (σ grows with the size)",
    "sharpen": "Sharpen — identity minus the Laplacian: boosts differences from neighbours",
    "sobel_x": "Sobel x — right minus left, smoothed vertically: finds vertical edges",
    "sobel_y": "Sobel y — below minus above, smoothed sideways: finds horizontal edges",
    "laplacian": "Laplacian — neighbours minus the centre: blobs and edges in every direction",
    "emboss": "Emboss — bottom-right minus top-left, plus the centre: a relief look",
    "random": "Random — what an untrained layer starts with (normal numbers, 2 decimals)",
}
PRESET_TITLES: dict[str, str] = {name: text.split(" — ")[0] for name, text in PRESETS.items()}
#: Presets of the first output channels: edges first, so the idea shows at first glance.
DEFAULT_PRESETS: tuple[str, ...] = ("sobel_x", "sobel_y", "laplacian", "emboss", "gaussian",
                                    "sharpen", "box", "identity", "random")
PADDING_MODES: dict[str, str] = {
    "zeros": "zeros — the border is 0 (the default)",
    "reflect": "reflect — mirror the image without repeating the edge: 3 2 | 1 2 3 | 2 1",
    "replicate": "replicate — repeat the edge pixel: 1 1 | 1 2 3 | 3 3",
    "circular": "circular — wrap around: the right edge continues on the left: 2 3 | 1 2 3 | 1 2",
}


# --------------------------------------------------------------------------- presets

def _binomial(order: int) -> np.ndarray:
    row = np.array([1.0])
    for _ in range(order):
        row = np.convolve(row, [1.0, 1.0])
    return row


def _smoothing(size: int) -> np.ndarray:
    return _binomial(size - 1)


def _derivative(size: int) -> np.ndarray:
    """Right-minus-left along one axis, as cross-correlation taps (Sobel's [-1, 0, 1])."""
    if size == 1:
        return np.zeros(1)  # one tap cannot measure a difference
    if size == 2:
        return np.array([-1.0, 1.0])
    return np.convolve(_binomial(size - 3), [-1.0, 0.0, 1.0])


def _gaussian_1d(size: int) -> np.ndarray:
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8  # OpenCV's default σ for a size
    offsets = np.arange(size) - (size - 1) / 2
    taps = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    return taps / taps.sum()


def preset_kernel(name: str, height: int, width: int, seed: int = 0) -> np.ndarray:
    """A height × width float32 kernel. Sizes other than 3×3 generalise the classic ones
    (Sobel from binomial rows, the Laplacian as a cross, Gaussian σ from the size)."""
    if name not in PRESETS:
        raise ValueError(f"unknown kernel preset {name!r}; choose one of {', '.join(PRESETS)}")
    center = ((height - 1) // 2, (width - 1) // 2)  # the cell 'same' padding keeps in place
    if name == "identity":
        kernel = np.zeros((height, width))
        kernel[center] = 1.0
    elif name == "box":
        kernel = np.full((height, width), 1.0 / (height * width))
    elif name == "gaussian":
        kernel = np.outer(_gaussian_1d(height), _gaussian_1d(width))
    elif name in ("laplacian", "sharpen"):
        laplacian = np.zeros((height, width))
        laplacian[center[0], :] = 1.0
        laplacian[:, center[1]] = 1.0
        laplacian[center] = 0.0
        laplacian[center] = -laplacian.sum()
        if name == "laplacian":
            kernel = laplacian
        else:
            kernel = -laplacian
            kernel[center] += 1.0
    elif name == "sobel_x":
        kernel = np.outer(_smoothing(height), _derivative(width))
    elif name == "sobel_y":
        kernel = np.outer(_derivative(height), _smoothing(width))
    elif name == "emboss":
        rows = np.arange(height)[:, None] - (height - 1) / 2
        cols = np.arange(width)[None, :] - (width - 1) / 2
        kernel = rows + cols
        kernel[center] += 1.0
    else:  # random
        rng = np.random.default_rng(seed)
        kernel = np.round(rng.normal(0.0, 0.5, size=(height, width)), 2)
    return np.asarray(kernel, dtype=np.float32) + np.float32(0.0)  # no negative zeros


def _sign_term(value: float) -> str:
    text = format_number(value)
    return f"({text})" if text.startswith("−") else text


def format_number(value: float) -> str:
    """Short, readable: 3, −2, 0.25, 0.0751 (a true minus sign, for display)."""
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if value == 0:
        return "0"
    text = f"{value:g}" if value.is_integer() and abs(value) < 1e9 else f"{value:.4g}"
    return text.replace("-", "−")


def code_number(value: float) -> str:
    """The shortest decimal that reads back as the same float32 (so exported code is exact)."""
    text = np.format_float_positional(np.float32(value), trim="-")
    return "0" if text in ("-0", "0") else text


def code_number64(value: float) -> str:
    """The shortest decimal that reads back as the same float64."""
    text = repr(float(value))
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0] if n >= 1 else [1]


@dataclass(frozen=True)
class ConvParams:
    in_channels: int = 3
    out_channels: int = 4
    kernel_h: int = 3
    kernel_w: int = 3
    stride: int = 1
    #: cells added on every side, or "same" (output as large as the input; needs stride 1)
    padding: int | str = 1
    padding_mode: str = "zeros"
    dilation: int = 1
    groups: int = 1
    bias: bool = False
    relu: bool = False
    #: true convolution: flip each kernel before conv2d (which is cross-correlation)
    flip: bool = False
    #: preset of each output channel (missing ones cycle through DEFAULT_PRESETS)
    presets: tuple[str, ...] = DEFAULT_PRESETS[:4]
    #: bias of each output channel (missing ones are 0), used when `bias`
    biases: tuple[float, ...] = ()
    #: cell edits applied over the presets: (out, in_in_group, row, col, value)
    edits: tuple[tuple[int, int, int, int, float], ...] = ()
    seed: int = 0

    # -- derived -------------------------------------------------------------------
    @property
    def same(self) -> bool:
        return self.padding == "same"

    @property
    def in_per_group(self) -> int:
        return self.in_channels // self.groups if self.groups >= 1 else self.in_channels

    @property
    def out_per_group(self) -> int:
        return self.out_channels // self.groups if self.groups >= 1 else self.out_channels

    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_per_group, self.kernel_h, self.kernel_w)

    def preset_for(self, out_channel: int) -> str:
        if out_channel < len(self.presets):
            return self.presets[out_channel]
        return DEFAULT_PRESETS[out_channel % len(DEFAULT_PRESETS)]

    def bias_for(self, out_channel: int) -> float:
        return float(self.biases[out_channel]) if out_channel < len(self.biases) else 0.0

    def span(self, kernel: int) -> int:
        """Cells a dilated kernel covers along one axis: d·(k−1)+1."""
        return self.dilation * (kernel - 1) + 1

    def padding_amounts(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)); 'same' puts an odd extra cell after, as torch."""
        if self.same:
            amounts = []
            for kernel in (self.kernel_h, self.kernel_w):
                total = self.dilation * (kernel - 1)
                amounts.append((total // 2, total - total // 2))
            return amounts[0], amounts[1]
        p = int(self.padding)
        return (p, p), (p, p)

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        (top, bottom), (left, right) = self.padding_amounts()
        return (conv_length(height, self.kernel_h, self.stride, top + bottom, self.dilation),
                conv_length(width, self.kernel_w, self.stride, left + right, self.dilation))

    # -- checking --------------------------------------------------------------------
    def validate(self, height: int, width: int) -> list[str]:
        """Human-readable problems that would make torch refuse these settings."""
        problems: list[str] = []
        if self.padding_mode not in PADDING_MODES:
            problems.append(f"unknown padding mode {self.padding_mode!r}; choose one of "
                            f"{', '.join(PADDING_MODES)}")
        unknown = [p for p in self.presets if p not in PRESETS]
        if unknown:
            problems.append(f"unknown kernel preset {unknown[0]!r}")
        if not self.same and not isinstance(self.padding, int):
            problems.append(f"padding must be a whole number or 'same' (got {self.padding!r})")
            return problems
        for name, value, low in (("input channels", self.in_channels, 1),
                                 ("output channels", self.out_channels, 1),
                                 ("kernel height", self.kernel_h, 1),
                                 ("kernel width", self.kernel_w, 1), ("stride", self.stride, 1),
                                 ("dilation", self.dilation, 1), ("groups", self.groups, 1),
                                 ("padding", 0 if self.same else self.padding, 0)):
            if value < low:
                problems.append(f"{name} must be at least {low} (got {value})")
        if problems:
            return problems
        g = self.groups
        if self.in_channels % g:
            problems.append(
                f"groups must divide in_channels: {self.in_channels} input channels cannot be "
                f"split into {g} equal groups ({self.in_channels} / {g} = "
                f"{self.in_channels / g:.3g}); choose one of {divisors(self.in_channels)}")
        if self.out_channels % g:
            problems.append(
                f"groups must divide out_channels: {self.out_channels} kernels cannot be "
                f"split into {g} equal groups ({self.out_channels} / {g} = "
                f"{self.out_channels / g:.3g}); use a multiple of {g} kernels")
        if self.same and self.stride > 1:
            problems.append(f"padding 'same' needs stride 1 (torch does not support 'same' "
                            f"for strided convolutions), but stride = {self.stride}")
            return problems
        (top, bottom), (left, right) = self.padding_amounts()
        if self.padding_mode in ("reflect", "circular"):
            for axis, size, pads in (("H", height, (top, bottom)), ("W", width, (left, right))):
                largest = max(pads)
                if self.padding_mode == "reflect" and largest >= size:
                    problems.append(f"reflect padding must be smaller than the input: "
                                    f"{largest} ≥ {axis} = {size} (there is nothing left to "
                                    f"mirror)")
                elif self.padding_mode == "circular" and largest > size:
                    problems.append(f"circular padding cannot wrap around more than once: "
                                    f"{largest} > {axis} = {size}")
        out_h, out_w = self.output_shape(height, width)
        for axis, size, kernel, out, pads in (("H", height, self.kernel_h, out_h, top + bottom),
                                              ("W", width, self.kernel_w, out_w, left + right)):
            if out < 1:
                side = "height" if axis == "H" else "width"
                problems.append(
                    f"kernel larger than the padded input: along the {side} the "
                    f"kernel spans d·(k−1)+1 = {self.dilation}·({kernel}−1)+1 = "
                    f"{self.span(kernel)} cells but the padded input has {size} + {pads} = "
                    f"{size + pads}, so the output size {self.formula_for(size, axis)} = {out} "
                    f"≤ 0")
        return problems

    # -- explaining --------------------------------------------------------------------
    def formula_for(self, size: int, axis: str = "H") -> str:
        kernel = self.kernel_h if axis == "H" else self.kernel_w
        (top, bottom), (left, right) = self.padding_amounts()
        pad = (top + bottom) if axis == "H" else (left + right)
        pad_text = f"2·{self.padding}" if not self.same else f"{pad}"
        return (f"{axis}_out = ⌊({size} + {pad_text} − {self.dilation}·({kernel}−1) − 1) / "
                f"{self.stride}⌋ + 1")

    def formula_text(self, height: int, width: int) -> str:
        """The output-size formula for H and W with the live numbers, then the general one."""
        out_h, out_w = self.output_shape(height, width)
        lines = [f"{self.formula_for(height, 'H')} = {out_h}",
                 f"{self.formula_for(width, 'W')} = {out_w}"]
        if self.same:
            (top, bottom), (left, right) = self.padding_amounts()
            lines.append(f"padding='same': torch pads d·(k−1) cells in all — top {top}, "
                         f"bottom {bottom}, left {left}, right {right} — so the output keeps "
                         f"the input's size")
        elif self.dilation > 1:  # the dilated kernel's reach, said explicitly
            d, k = self.dilation, self.kernel_h
            lines.append(f"dilated kernel: k′ = k + (k−1)(d−1) = {k} + {k - 1}·{d - 1} = "
                         f"{self.span(k)} (H); H_out = ⌊(H + 2p − k′) / s⌋ + 1")
        else:
            lines.append("general: H_out = ⌊(H + 2p − d·(k−1) − 1) / s⌋ + 1")
        return "\n".join(lines)

    def output_rect(self, height: int, width: int) -> tuple[float, float, float, float]:
        """Where to draw the output over the input (x, y, w, h in input pixels), so each
        output pixel sits centred on its window: feature maps line up with the image."""
        out_h, out_w = self.output_shape(height, width)
        (top, _), (left, _) = self.padding_amounts()
        s = self.stride
        return (-left + (self.span(self.kernel_w) - s) / 2,
                -top + (self.span(self.kernel_h) - s) / 2, float(out_w * s), float(out_h * s))

    def module_line(self) -> str:
        padding = "'same'" if self.same else str(self.padding)
        kernel = (str(self.kernel_h) if self.kernel_h == self.kernel_w
                  else f"({self.kernel_h}, {self.kernel_w})")
        return (f"nn.Conv2d({self.in_channels}, {self.out_channels}, kernel_size={kernel}, "
                f"stride={self.stride}, padding={padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias}, padding_mode='{self.padding_mode}')")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ConvParams:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        for name in ("presets", "biases"):
            if name in values:
                values[name] = tuple(values[name])
        if "edits" in values:
            values["edits"] = tuple(tuple(e) for e in values["edits"])
        return cls(**values)


# --------------------------------------------------------------------------- weights

def build_weight(params: ConvParams) -> torch.Tensor:
    """The kernels as the user sees them (before any flip): [out, in/groups, kH, kW].

    Output channel o gets its preset on each of its input channels (random presets differ
    per input channel), then the cell edits are applied.
    """
    import torch

    out, per_group, kh, kw = params.weight_shape()
    weight = np.empty((out, per_group, kh, kw), dtype=np.float32)
    for o in range(out):
        name = params.preset_for(o)
        if name == "random":
            for j in range(per_group):
                weight[o, j] = preset_kernel(name, kh, kw, seed=_random_seed(params.seed, o, j))
        else:
            weight[o, :] = preset_kernel(name, kh, kw)
    for o, j, r, c, value in params.edits:
        if 0 <= o < out and 0 <= j < per_group and 0 <= r < kh and 0 <= c < kw:
            weight[o, j, r, c] = value
    return torch.from_numpy(weight)


def _random_seed(seed: int, out_channel: int, in_channel: int) -> int:
    return (seed * 1_000_003 + out_channel * 1009 + in_channel) & 0x7FFFFFFF


def effective_weight(params: ConvParams, weight: torch.Tensor) -> torch.Tensor:
    """What conv2d is given: the kernels flipped in both axes for a true convolution."""
    return weight.flip(-2, -1) if params.flip else weight


def bias_tensor(params: ConvParams) -> torch.Tensor | None:
    import torch

    if not params.bias:
        return None
    return torch.tensor([params.bias_for(o) for o in range(params.out_channels)],
                        dtype=torch.float32)


# --------------------------------------------------------------------------- computing

def pad_input(x: torch.Tensor, params: ConvParams) -> tuple[torch.Tensor, bool]:
    """Pad like nn.Conv2d would, when conv2d's own zero padding cannot: non-zero modes,
    and 'same' with an odd total (torch would pad it the same way, with a warning).
    Returns (x, padded_here)."""
    import torch.nn.functional as F

    (top, bottom), (left, right) = params.padding_amounts()
    if params.padding_mode == "zeros" and top == bottom and left == right:
        return x, False
    mode = "constant" if params.padding_mode == "zeros" else params.padding_mode
    return F.pad(x, (left, right, top, bottom), mode=mode), True


def convolve(x: torch.Tensor, params: ConvParams, weight: torch.Tensor | None = None,
             bias: torch.Tensor | None = None) -> torch.Tensor:
    """Conv2d (+ ReLU if asked) of an (N, C, H, W) or (C, H, W) tensor, as nn.Conv2d does.

    `weight` is the user's kernels (default `build_weight(params)`); the flip for a true
    convolution is applied here. `bias` defaults to `bias_tensor(params)`.
    """
    import torch
    import torch.nn.functional as F

    if weight is None:
        weight = build_weight(params)
    if bias is None:
        bias = bias_tensor(params)
    weight = effective_weight(params, weight).to(x.dtype)
    if bias is not None:
        bias = bias.to(x.dtype)
    with torch.no_grad():
        padded, padded_here = pad_input(x, params)
        (top, _), (left, _) = params.padding_amounts()
        padding = (0, 0) if padded_here else (top, left)
        out = F.conv2d(padded, weight, bias, params.stride, padding, params.dilation,
                       params.groups)
        if params.relu:
            out = F.relu(out)
    return out


def convolve_shown(x: torch.Tensor, params: ConvParams, weight: torch.Tensor | None,
                   rows: Sampling, cols: Sampling) -> torch.Tensor:
    """The output pixels rows × cols of `convolve(x, params, weight)` alone — the same
    products summed, whatever the padding mode (`lab.display_resolution.conv_sampled`).

    Falls back to the whole convolution when every pixel is wanted: torch's own call is
    the fastest way to all of them.
    """
    import torch
    import torch.nn.functional as F

    height, width = x.shape[-2:]
    out_h, out_w = params.output_shape(height, width)
    if rows.covers(out_h) and cols.covers(out_w):
        return convolve(x, params, weight)
    if weight is None:
        weight = build_weight(params)
    out = conv_sampled(x, effective_weight(params, weight), bias_tensor(params), params.stride,
                       params.padding_amounts(), params.dilation, params.groups,
                       params.padding_mode, rows, cols)
    if params.relu:
        with torch.no_grad():
            out = F.relu(out)
    return out


#: values of maps per band when every pixel is computed (`convolve_bands`): 1M floats
#: (4 MB) stay in the cache for their statistics, and their memory is reused band to band
#: (the whole maps of a 4096² photo with 16 kernels, 1 GB, spent three quarters of the
#: bare call's time in page faults: 524k of them, 1.4 s of system time beside 0.4 s of
#: arithmetic; 1M-value bands on one thread: 0 faults, 0.45 s in all)
BAND_VALUES = 1_000_000


def band_rows(params: ConvParams, height: int, width: int, kernels: int | None = None,
              band_values: int = BAND_VALUES) -> int:
    """Output rows per band: about `band_values` values of `kernels` maps (≥ 1 row)."""
    _, out_w = params.output_shape(height, width)
    kernels = params.out_channels if kernels is None else kernels
    return max(1, band_values // max(1, kernels * out_w))


def convolve_bands(x: torch.Tensor, params: ConvParams, weight: torch.Tensor | None = None,
                   bias: torch.Tensor | None = None, band_values: int = BAND_VALUES):
    """Every output pixel of `convolve(x, params, weight, bias)`, a band of rows at a time:
    yields (first row, band (N, K, rows, W_out)) — the same numbers, without the whole maps
    ever existing at once (`lab.display_resolution.conv_rows`)."""
    import torch
    import torch.nn.functional as F

    if weight is None:
        weight = build_weight(params)
    if bias is None:
        bias = bias_tensor(params)
    weight = effective_weight(params, weight)
    height, width = x.shape[-2:]
    out_h, _ = params.output_shape(height, width)
    rows = band_rows(params, height, width, weight.shape[0], band_values)
    for start in range(0, out_h, rows):
        band = conv_rows(x, weight, bias, params.stride, params.padding_amounts(),
                         params.dilation, params.groups, params.padding_mode, start,
                         min(out_h, start + rows))
        if params.relu:
            with torch.no_grad():
                band = F.relu(band, inplace=True)
        yield start, band


def map_ranges(x: torch.Tensor, params: ConvParams, weight: torch.Tensor | None = None,
               should_stop=lambda: False, band_values: int = BAND_VALUES
               ) -> list[tuple[float, float]] | None:
    """Each feature map's (min, max) over every pixel, without keeping the maps: a band
    of rows at a time (`convolve_bands`), each band's min and max taken while it is in the
    cache. None when `should_stop()` says so between bands."""
    import torch

    low = high = None
    for _start, band in convolve_bands(x, params, weight, band_values=band_values):
        if should_stop():
            return None
        with torch.no_grad():
            flat = band.transpose(0, 1).reshape(band.shape[1], -1)
            band_low, band_high = flat.amin(dim=1), flat.amax(dim=1)
            low = band_low if low is None else torch.minimum(low, band_low)
            high = band_high if high is None else torch.maximum(high, band_high)
    if low is None:
        return []
    return list(zip(low.tolist(), high.tolist(), strict=True))


def full_map(x: torch.Tensor, params: ConvParams, weight: torch.Tensor, kernel: int,
             should_stop=lambda: False):
    """Every pixel of kernel `kernel`'s feature map (what an export writes), a band at a
    time: yields `Progress`, then the (H_out, W_out) float32 array — the numbers of
    `convolve(x, params, weight)[0, kernel]`. Only this kernel's input channels (its
    group) are read. Yields nothing more once `should_stop()`."""
    from dataclasses import replace

    from lab.progress import Progress

    per_group = params.in_per_group
    group = kernel // params.out_per_group
    one = replace(params, in_channels=per_group, out_channels=1, groups=1)
    bias = bias_tensor(params)
    out_h, out_w = params.output_shape(*x.shape[-2:])
    values = np.empty((out_h, out_w), dtype=np.float32)
    inputs = x[:, group * per_group:(group + 1) * per_group]
    for start, band in convolve_bands(inputs, one, weight[kernel:kernel + 1],
                                      None if bias is None else bias[kernel:kernel + 1]):
        if should_stop():
            return
        values[start:start + band.shape[-2]] = band[0, 0].numpy()
        yield Progress("computing every pixel", (start + band.shape[-2]) / out_h)
    yield values


def map_pixels(values: np.ndarray, bound: float, lookup: np.ndarray) -> np.ndarray:
    """A feature map's numbers in the view's colours: ±`bound` spans the diverging
    `lookup` table ((256, 3) uint8), 0 at its middle, values beyond it saturate."""
    scale = 127.5 / max(float(bound), 1e-12)
    indices = np.clip(values * np.float32(scale) + np.float32(128.0), 0.5, 255.5)
    return lookup[indices.astype(np.uint8)]


# --------------------------------------------------------------------------- display

@dataclass(frozen=True)
class MapColours:
    """Feature maps ready to draw: uint8 indices into a 256-entry diverging colour map."""

    indices: np.ndarray                   # (N, H, W) uint8; 0 sits at 127.5 (128 and up ≥ 0)
    bounds: list[float]                   # ±bound of each map's colour scale
    ranges: list[tuple[float, float]]     # (min, max) of each map


#: "bold" colours: each map's scale is this percentile of its |value|, not its max, so the
#: few strongest pixels no longer leave the edges pale (those beyond it saturate)
BOLD_PERCENTILE = 99.0
_PERCENTILE_SAMPLE = 1 << 22  # values per quantile at most (torch.quantile's limit is 2**24)


def diverging_indices(maps: torch.Tensor, shared: bool = True, step: int = 1,
                      ranges: list[tuple[float, float]] | None = None,
                      percentile: float | None = None) -> MapColours:
    """Feature maps (N, H, W) -> colour-map indices centred on 0, in one vectorised pass
    (so colouring costs a fraction of the convolution), with each map's min and max.

    `shared`: one ±max|x| scale for all maps (compare strengths); else each map its own.
    `step`: colour only every step-th row and column (for a screen that shows no more);
    the scale and the ranges still come from every value.
    `ranges`: each map's (min, max) when known from more than these values (every pixel
    of maps of which only some are given, `map_ranges`): the scale comes from them.
    `percentile`: each map's scale is this percentile of its |value| (of the values given;
    its max when that is 0); values beyond it get the end colours.
    """
    import torch

    maps = maps.detach()
    if ranges is not None:
        low = torch.tensor([r[0] for r in ranges], dtype=maps.dtype)
        high = torch.tensor([r[1] for r in ranges], dtype=maps.dtype)
    else:
        flat = maps.reshape(maps.shape[0], -1)
        low, high = flat.amin(dim=1), flat.amax(dim=1)  # (faster here than one aminmax)
    bounds = torch.maximum(high.abs(), low.abs()).clamp_min_(1e-12)
    if shared:
        bounds = bounds.max().expand_as(bounds)
    elif percentile is not None and maps.numel():
        magnitude = maps.reshape(maps.shape[0], -1).abs().float()
        every = -(-magnitude.shape[1] * maps.shape[0] // _PERCENTILE_SAMPLE)
        cut = torch.quantile(magnitude[:, ::every], percentile / 100.0, dim=1).to(bounds.dtype)
        bounds = torch.where(cut > 0, torch.minimum(cut, bounds), bounds)
    if not bool(torch.isfinite(bounds).all()):
        raise ValueError("the feature maps overflowed float32 (a kernel value is too large)")
    scale = (127.5 / bounds).to(maps.dtype).reshape(-1, 1, 1)
    # |x|·scale ≤ 127.5, so x·scale + 128 lies in [0.5, 255.5]: truncating to uint8 rounds
    # x·scale + 127.5 half-up without a clamp (NumPy's cast is the fast one here)
    shown = maps[:, ::step, ::step] if step > 1 else maps
    shifted = (shown * scale).add_(128.0)
    if percentile is not None and not shared:  # values beyond the percentile saturate
        shifted.clamp_(0.5, 255.5)
    indices = shifted.numpy().astype(np.uint8)
    return MapColours(indices, bounds.tolist(),
                      list(zip(low.tolist(), high.tolist(), strict=True)))


# --------------------------------------------------------------------------- explaining

@dataclass(frozen=True)
class Term:
    """One product x·w of a multiply-and-add."""

    in_channel: int
    in_row: int          # input coordinates; padding cells lie outside 0..H-1
    in_col: int
    kernel_row: int
    kernel_col: int
    x: float
    w: float
    padding: bool = False
    out_row: int = 0     # transposed convolution: where the product lands
    out_col: int = 0


@dataclass(frozen=True)
class CellExplanation:
    out_channel: int
    out_row: int
    out_col: int
    terms: list[Term]
    bias: float | None
    value: float          # what torch computes (after ReLU, if any)
    before_relu: float
    text: str

    @property
    def window(self) -> list[tuple[int, int]]:
        """Input cells (padding included) the kernel lies on, in kernel order, one channel."""
        first = self.terms[0].in_channel if self.terms else 0
        return [(t.in_row, t.in_col) for t in self.terms if t.in_channel == first]


def receptive_window(params: ConvParams, out_row: int, out_col: int
                     ) -> list[tuple[int, int, int, int]]:
    """(kernel_row, kernel_col, input_row, input_col) for every kernel cell of one output
    cell; dilation leaves gaps, and rows/columns < 0 or ≥ H, W are padding cells."""
    (top, _), (left, _) = params.padding_amounts()
    row0, col0 = out_row * params.stride - top, out_col * params.stride - left
    d = params.dilation
    return [(a, b, row0 + a * d, col0 + b * d)
            for a in range(params.kernel_h) for b in range(params.kernel_w)]


def padded_index(index: int, size: int, mode: str) -> int | None:
    """Where a padding cell takes its value from along one axis (None: a zero)."""
    if 0 <= index < size:
        return index
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(index, 0), size - 1)
    if mode == "circular":
        return index % size
    # reflect: mirror about the edge cell, which is not repeated
    return -index if index < 0 else 2 * (size - 1) - index


def _values(array) -> np.ndarray:
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def explain_conv_cell(x, weight, params: ConvParams, out_channel: int, out_row: int,
                      out_col: int, bias=None) -> CellExplanation:
    """The multiply-and-add that makes output cell (out_channel, out_row, out_col).

    `x` is (C, H, W) (or (H, W) for one channel); `weight` is what conv2d is given
    (flipped already for a true convolution); `bias` (out,) or None. Padding cells take
    their value as `padding_mode` says. The value equals F.conv2d's (tests check).
    """
    values = _values(x)
    if values.ndim == 2:
        values = values[None]
    kernels = _values(weight)
    _, height, width = values.shape
    group = out_channel // params.out_per_group
    terms: list[Term] = []
    for j in range(params.in_per_group):
        channel = group * params.in_per_group + j
        for a, b, r, c in receptive_window(params, out_row, out_col):
            source_r = padded_index(r, height, params.padding_mode)
            source_c = padded_index(c, width, params.padding_mode)
            inside = 0 <= r < height and 0 <= c < width
            value = (0.0 if source_r is None or source_c is None
                     else float(values[channel, source_r, source_c]))
            terms.append(Term(channel, r, c, a, b, value, float(kernels[out_channel, j, a, b]),
                              not inside))
    bias_value = None if bias is None else float(_values(bias)[out_channel])
    total = math.fsum(t.x * t.w for t in terms) + (bias_value or 0.0)
    value = max(total, 0.0) if params.relu else total
    text = _conv_text(params, terms, bias_value, total, value, out_channel, out_row, out_col)
    return CellExplanation(out_channel, out_row, out_col, terms, bias_value, value, total, text)


def _products(terms: list[Term], per_line: int, mark_padding: bool) -> list[str]:
    pieces = []
    for t in terms:
        x_text = _sign_term(t.x)
        if mark_padding and t.padding:
            x_text = f"[{format_number(t.x)}]"
        pieces.append(f"{x_text}·{_sign_term(t.w)}")
    return [" + ".join(pieces[i:i + per_line]) for i in range(0, len(pieces), per_line)]


def _conv_text(params: ConvParams, terms: list[Term], bias: float | None, total: float,
               value: float, out_channel: int, out_row: int, out_col: int) -> str:
    channels = sorted({t.in_channel for t in terms})
    where = f"out[{out_row}, {out_col}]" if params.out_channels == 1 and len(channels) == 1 \
        else f"out[{out_channel}, {out_row}, {out_col}]"
    window = [t for t in terms if t.in_channel == channels[0]]
    rows = (window[0].in_row, window[-1].in_row)
    cols = (window[0].in_col, window[-1].in_col)
    d = params.dilation
    ordinal = {2: "2nd", 3: "3rd"}.get(d, f"{d}th")
    step = f" (dilation {d}: every {ordinal} cell)" if d > 1 else ""
    lines = [f"{where} = Σ input·kernel over the {params.kernel_h}×{params.kernel_w} window",
             f"  at input rows {format_number(rows[0])}…{format_number(rows[1])}, columns "
             f"{format_number(cols[0])}…{format_number(cols[1])}{step}"]
    has_padding = any(t.padding for t in terms)
    first = True
    for channel in channels:
        products = _products([t for t in terms if t.in_channel == channel], params.kernel_w,
                             has_padding)
        label = f"channel {channel}: " if len(channels) > 1 else ""
        for i, line in enumerate(products):
            lead = "  = " if first else "  + "  # the first product line opens the sum
            first = False
            lines.append(f"{lead}{label if i == 0 else ' ' * len(label)}{line}")
    if bias is not None:
        lines.append(f"  + bias {_sign_term(bias)}")
    lines.append(f"  = {format_number(total)}")
    if params.relu:
        lines.append(f"ReLU: max(0, {format_number(total)}) = {format_number(value)}")
    if has_padding:
        lines.append(f"[ ] = a padding cell ({params.padding_mode})")
    if params.flip:
        lines.append("true convolution: the kernel was flipped before sliding")
    return "\n".join(lines)


# --------------------------------------------------------------------------- transposed

@dataclass(frozen=True)
class ConvTransposeParams:
    in_channels: int = 1
    out_channels: int = 1
    kernel_h: int = 3
    kernel_w: int = 3
    stride: int = 2
    padding: int = 0
    output_padding: int = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = False

    @property
    def in_per_group(self) -> int:
        return self.in_channels // self.groups if self.groups >= 1 else self.in_channels

    @property
    def out_per_group(self) -> int:
        return self.out_channels // self.groups if self.groups >= 1 else self.out_channels

    def weight_shape(self) -> tuple[int, int, int, int]:
        """ConvTranspose2d's weight is [in, out/groups, kH, kW] — in and out swapped."""
        return (self.in_channels, self.out_per_group, self.kernel_h, self.kernel_w)

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        return tuple(  # type: ignore[return-value]
            transposed_length(n, k, self.stride, self.padding, self.output_padding,
                              self.dilation)
            for n, k in ((height, self.kernel_h), (width, self.kernel_w)))

    def validate(self, height: int, width: int) -> list[str]:
        problems: list[str] = []
        for name, value, low in (("input channels", self.in_channels, 1),
                                 ("output channels", self.out_channels, 1),
                                 ("kernel height", self.kernel_h, 1),
                                 ("kernel width", self.kernel_w, 1), ("stride", self.stride, 1),
                                 ("dilation", self.dilation, 1), ("groups", self.groups, 1),
                                 ("padding", self.padding, 0),
                                 ("output_padding", self.output_padding, 0)):
            if value < low:
                problems.append(f"{name} must be at least {low} (got {value})")
        if problems:
            return problems
        g = self.groups
        for name, count in (("in_channels", self.in_channels),
                            ("out_channels", self.out_channels)):
            if count % g:
                problems.append(f"groups must divide {name}: {count} cannot be split into {g} "
                                f"equal groups ({count} / {g} = {count / g:.3g})")
        if self.output_padding >= self.stride and self.output_padding >= self.dilation:
            problems.append(
                f"output_padding must be smaller than the stride or the dilation: "
                f"output_padding = {self.output_padding}, stride = {self.stride}, "
                f"dilation = {self.dilation} (it only picks among the sizes a stride rounds "
                f"together)")
        out_h, out_w = self.output_shape(height, width)
        for axis, size, out in (("H", height, out_h), ("W", width, out_w)):
            if out < 1:
                problems.append(f"output size must be at least 1, but "
                                f"{self.formula_for(size, axis)} = {out}: padding crops "
                                f"{2 * self.padding} cells from a result only "
                                f"{out + 2 * self.padding} wide")
        return problems

    def formula_for(self, size: int, axis: str = "H") -> str:
        kernel = self.kernel_h if axis == "H" else self.kernel_w
        return (f"{axis}_out = ({size} − 1)·{self.stride} − 2·{self.padding} + "
                f"{self.dilation}·({kernel} − 1) + {self.output_padding} + 1")

    def formula_text(self, height: int, width: int) -> str:
        out_h, out_w = self.output_shape(height, width)
        return "\n".join([
            f"{self.formula_for(height, 'H')} = {out_h}",
            f"{self.formula_for(width, 'W')} = {out_w}",
            "general: H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1"])

    def module_line(self) -> str:
        kernel = (str(self.kernel_h) if self.kernel_h == self.kernel_w
                  else f"({self.kernel_h}, {self.kernel_w})")
        return (f"nn.ConvTranspose2d({self.in_channels}, {self.out_channels}, "
                f"kernel_size={kernel}, stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}, groups={self.groups}, "
                f"bias={self.bias}, dilation={self.dilation})")

    def to_json(self) -> dict:
        return asdict(self)


def conv_transpose(x: torch.Tensor, weight: torch.Tensor, params: ConvTransposeParams,
                   bias: torch.Tensor | None = None) -> torch.Tensor:
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        return F.conv_transpose2d(x, weight.to(x.dtype),
                                  None if bias is None else bias.to(x.dtype), params.stride,
                                  params.padding, params.output_padding, params.groups,
                                  params.dilation)


def scatter_targets(params: ConvTransposeParams, in_row: int, in_col: int, out_h: int,
                    out_w: int) -> list[tuple[int, int, int, int]]:
    """(kernel_row, kernel_col, out_row, out_col): where input cell (in_row, in_col),
    times each kernel cell, is added. Cells cropped by padding are left out."""
    s, p, d = params.stride, params.padding, params.dilation
    targets = []
    for a in range(params.kernel_h):
        r = in_row * s - p + a * d
        if not 0 <= r < out_h:
            continue
        for b in range(params.kernel_w):
            c = in_col * s - p + b * d
            if 0 <= c < out_w:
                targets.append((a, b, r, c))
    return targets


def _sources(index: int, size: int, kernel: int, stride: int, padding: int,
             dilation: int) -> list[tuple[int, int]]:
    """(kernel cell, input cell) pairs along one axis that land on output `index`."""
    pairs = []
    for a in range(kernel):
        shifted = index + padding - a * dilation
        if shifted % stride == 0 and 0 <= shifted // stride < size:
            pairs.append((a, shifted // stride))
    return pairs


def explain_transposed_cell(x, weight, params: ConvTransposeParams, out_channel: int,
                            out_row: int, out_col: int, bias=None) -> CellExplanation:
    """Which input cells, times which kernel cells, add up to one output cell of
    ConvTranspose2d: output[r, c] = Σ x[i, j]·w[a, b] over i·s − p + a·d = r (and columns)."""
    values = _values(x)
    if values.ndim == 2:
        values = values[None]
    kernels = _values(weight)
    _, height, width = values.shape
    group = out_channel // params.out_per_group
    local = out_channel - group * params.out_per_group
    rows = _sources(out_row, height, params.kernel_h, params.stride, params.padding,
                    params.dilation)
    cols = _sources(out_col, width, params.kernel_w, params.stride, params.padding,
                    params.dilation)
    terms = []
    for j in range(params.in_per_group):
        channel = group * params.in_per_group + j
        for a, i in rows:
            for b, k in cols:
                terms.append(Term(channel, i, k, a, b, float(values[channel, i, k]),
                                  float(kernels[channel, local, a, b]), False, out_row, out_col))
    bias_value = None if bias is None else float(_values(bias)[out_channel])
    total = math.fsum(t.x * t.w for t in terms) + (bias_value or 0.0)
    where = (f"out[{out_row}, {out_col}]" if params.out_channels == 1
             else f"out[{out_channel}, {out_row}, {out_col}]")
    if terms:
        pieces = [f"x[{t.in_row}, {t.in_col}]·w[{t.kernel_row}, {t.kernel_col}]" for t in terms]
        numbers = [f"{_sign_term(t.x)}·{_sign_term(t.w)}" for t in terms]
        lines = [f"{where} = " + " + ".join(pieces), "  = " + " + ".join(numbers)]
    else:
        lines = [f"{where}: no input cell lands here (stride gaps or output_padding), so "
                 "only the bias"]
    if bias_value is not None:
        lines.append(f"  + bias {_sign_term(bias_value)}")
    lines.append(f"  = {format_number(total)}")
    text = "\n".join(lines)
    return CellExplanation(out_channel, out_row, out_col, terms, bias_value, total, total, text)


def explain_transposed_input(x, weight, params: ConvTransposeParams, in_row: int,
                             in_col: int, in_channel: int = 0) -> tuple[list[Term], str]:
    """The scatter view: input cell (in_row, in_col) of `in_channel`, times the kernel it
    uses for the first output channel of its group, added onto the output cells it reaches
    (cells cropped by padding are left out)."""
    values = _values(x)
    if values.ndim == 2:
        values = values[None]
    kernels = _values(weight)
    _, height, width = values.shape
    out_h, out_w = params.output_shape(height, width)
    value = float(values[in_channel, in_row, in_col])
    terms = [Term(in_channel, in_row, in_col, a, b, value, float(kernels[in_channel, 0, a, b]),
                  False, r, c)
             for a, b, r, c in scatter_targets(params, in_row, in_col, out_h, out_w)]
    head = (f"x[{in_row}, {in_col}] = {format_number(value)} times every kernel cell is "
            f"added into the output\n(one input step = {params.stride} output cells)")
    if terms:
        head += (f"; it reaches output rows {min(t.out_row for t in terms)}…"
                 f"{max(t.out_row for t in terms)}, columns {min(t.out_col for t in terms)}…"
                 f"{max(t.out_col for t in terms)}")
    lines = [head]
    adds = [f"out[{t.out_row}, {t.out_col}] += {_sign_term(t.x)}·{_sign_term(t.w)} = "
            f"{format_number(t.x * t.w)}" for t in terms]
    per_line = max(1, min(params.kernel_w, 4))
    lines += ["  " + ";  ".join(adds[i:i + per_line]) for i in range(0, len(adds), per_line)]
    cropped = params.kernel_h * params.kernel_w - len(terms)
    if cropped:
        lines.append(f"  ({cropped} kernel cell{'s' if cropped > 1 else ''} land outside the "
                     f"output: cropped by padding p = {params.padding})")
    return terms, "\n".join(lines)


# --------------------------------------------------------------------------- grids

def random_grid(height: int, width: int, seed: int, low: int = 0, high: int = 9) -> np.ndarray:
    """Small integers, easy to multiply and add by eye."""
    rng = np.random.default_rng(seed)
    return rng.integers(low, high + 1, size=(height, width)).astype(np.float64)


#: Kernels of the numeric grid: integer ones, so every sum can be checked by hand.
GRID_KERNELS: dict[str, str] = {
    "random": "Random integers −2…2",
    "ones": "Ones — the window sum",
    "identity": "Identity",
    "sobel_x": "Sobel x",
    "sobel_y": "Sobel y",
    "laplacian": "Laplacian",
}


def grid_kernel(name: str, size: int, seed: int = 0) -> np.ndarray:
    if name == "random":
        return random_grid(size, size, seed + 7919, -2, 2)
    if name == "ones":
        return np.ones((size, size))
    return preset_kernel(name, size, size).astype(np.float64)


def padded_grid(values: np.ndarray, params: ConvParams) -> np.ndarray:
    """The input with its padding ring filled as `padding_mode` says (for drawing)."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(np.asarray(values, dtype=np.float64))[None, None]
    (top, bottom), (left, right) = params.padding_amounts()
    mode = "constant" if params.padding_mode == "zeros" else params.padding_mode
    return F.pad(x, (left, right, top, bottom), mode=mode)[0, 0].numpy()


def conv_grid(values: np.ndarray, kernel: np.ndarray, params: ConvParams) -> np.ndarray:
    """Conv2d of one (H, W) grid of numbers with one kernel, in float64."""
    import torch

    x = torch.as_tensor(np.asarray(values, dtype=np.float64))[None, None]
    weight = torch.as_tensor(np.asarray(kernel, dtype=np.float64))[None, None]
    bias = bias_tensor(params)
    return convolve(x, params, weight, None if bias is None else bias.double())[0, 0].numpy()


def transposed_grid(values: np.ndarray, kernel: np.ndarray,
                    params: ConvTransposeParams) -> np.ndarray:
    import torch

    x = torch.as_tensor(np.asarray(values, dtype=np.float64))[None, None]
    weight = torch.as_tensor(np.asarray(kernel, dtype=np.float64))[None, None]
    return conv_transpose(x, weight, params)[0, 0].numpy()


# --------------------------------------------------------------------------- code

def _tensor_literal(array: np.ndarray, indent: str = "    ",
                    comments: list[str] | None = None, number=code_number) -> str:
    """A nested list literal, one kernel row per line for big kernels."""
    array = np.asarray(array)
    if array.ndim == 1:
        return "[" + ", ".join(number(v) for v in array) + "]"
    if array.ndim == 2:
        rows = [_tensor_literal(row, number=number) for row in array]
        if array.size <= 25:
            return "[" + ", ".join(rows) + "]"
        inner = indent + "    "
        return "[\n" + ",\n".join(inner + r for r in rows) + f",\n{indent}]"
    parts = []
    for i, sub in enumerate(array):
        note = f"  # {comments[i]}" if comments and i < len(comments) else ""
        parts.append(f"{indent}    {_tensor_literal(sub, indent + '    ', number=number)},"
                     f"{note}")
    return "[\n" + "\n".join(parts) + f"\n{indent}]"


def conv_code(params: ConvParams, weight: torch.Tensor, image_shape: tuple[int, int, int]
              ) -> str:
    """Python that reproduces the image view: the layer, its weights, the maps."""
    channels, height, width = image_shape
    out_h, out_w = params.output_shape(height, width)
    w = weight.detach().cpu().numpy()
    names = [f"out {o}: {PRESET_TITLES.get(params.preset_for(o), '?')}"
             + (" (edited)" if any(e[0] == o for e in params.edits) else "")
             for o in range(params.out_channels)]
    lines = [
        "import torch",
        "from torch import nn",
        "",
        f"x = torch.rand(1, {channels}, {height}, {width})  # your image: (N, C, H, W) floats "
        "in [0, 1]",
        f"conv = {params.module_line()}",
        f"# weight: [out_channels, in_channels/groups, kH, kW] = {list(params.weight_shape())}",
        "weight = torch.tensor(" + _tensor_literal(w, "", names) + ", dtype=torch.float32)",
    ]
    lines.append("with torch.no_grad():")
    if params.flip:
        lines.append("    # conv2d is cross-correlation; flipping the kernels makes it a true "
                     "convolution")
        lines.append("    conv.weight.copy_(weight.flip(-2, -1))")
    else:
        lines.append("    conv.weight.copy_(weight)")
    if params.bias:
        biases = [params.bias_for(o) for o in range(params.out_channels)]
        lines.append(f"    conv.bias.copy_(torch.tensor({_tensor_literal(np.array(biases))}, "
                     "dtype=torch.float32))")
    if params.relu:
        lines.append("model = nn.Sequential(conv, nn.ReLU())")
    else:
        lines.append("model = conv")
    lines.append(f"y = model(x)  # -> (1, {params.out_channels}, {out_h}, {out_w}): "
                 "one feature map per kernel")
    return "\n".join(lines) + "\n"


def grid_code(values: np.ndarray, kernel: np.ndarray,
              params: ConvParams | ConvTransposeParams) -> str:
    """Python that reproduces the numeric grid: input, kernel, layer, output."""
    h, w = values.shape
    kh, kw = kernel.shape
    layer = params.module_line()
    out_h, out_w = params.output_shape(h, w)
    lines = [
        "import torch",
        "from torch import nn",
        "",
        f"x = torch.tensor({_tensor_literal(values, number=code_number64)}, "
        f"dtype=torch.float64).reshape(1, 1, {h}, {w})",
        f"kernel = torch.tensor({_tensor_literal(kernel, number=code_number64)}, "
        "dtype=torch.float64)",
        f"layer = {layer}.double()",
        "with torch.no_grad():",
        f"    layer.weight.copy_(kernel.reshape(1, 1, {kh}, {kw}))",
    ]
    if getattr(params, "bias", False) and isinstance(params, ConvParams):
        lines.append(f"    layer.bias.fill_({code_number64(params.bias_for(0))})")
    lines.append(f"    out = layer(x)  # -> (1, 1, {out_h}, {out_w})")
    return "\n".join(lines) + "\n"


def grid_csv(blocks: list[tuple[str, np.ndarray]]) -> str:
    """Titled blocks of numbers (input, kernel, output) as CSV for a spreadsheet."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for number, (title, block) in enumerate(blocks):
        if number:
            writer.writerow([])
        writer.writerow([title])
        for row in np.asarray(block):
            writer.writerow([code_number64(v) for v in row])
    return buffer.getvalue()
