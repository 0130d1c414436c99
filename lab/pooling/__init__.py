"""Pooling (down-sampling) and up-sampling, with their geometry spelled out.

`PoolParams` and `UpsampleParams` are the panel's state as data: they validate
themselves, run through `torch.nn.functional`, explain any output cell of a small
numeric grid ("max(3, 7, 1, 5) = 7"), and write the PyTorch code that reproduces the
view. Nothing here knows about Qt.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lab.display_resolution import (
    Sampling,
    conv_transpose_region,
    interpolate_region,
    pool_gathered,
    pool_sampled,
)
from lab.geometry import (  # re-exported: callers read them here too
    adaptive_window,
    pooled_length,
    transposed_length,
)

if TYPE_CHECKING:
    import torch

POOL_KINDS: dict[str, str] = {
    "max": "Max pool — the largest value in each window",
    "avg": "Average pool — the mean of each window",
    "lp": "LP pool — (Σ xᵖ)^(1/p) over each window (p=1: sum, p→∞: max)",
    "adaptive_max": "Adaptive max — you choose the output size; torch picks the windows",
    "adaptive_avg": "Adaptive average — you choose the output size; torch picks the windows",
}
UPSAMPLE_MODES = ("nearest", "bilinear", "bicubic")
TRANSPOSED_INITS: dict[str, str] = {
    "bilinear": "bilinear kernel (what FCN starts from)",
    "nearest": "ones, kernel = stride (copies each pixel: nearest)",
    "random": "random weights (an untrained layer: checkerboard artefacts)",
}


@dataclass(frozen=True)
class PoolParams:
    kind: str = "max"
    kernel_size: int = 2
    stride: int = 2
    padding: int = 0
    dilation: int = 1
    ceil_mode: bool = False
    count_include_pad: bool = True
    norm_type: float = 2.0
    output_size: int = 4

    # Which controls mean something for this kind (the panel greys out the others).
    @property
    def is_adaptive(self) -> bool:
        return self.kind.startswith("adaptive")

    @property
    def uses_padding(self) -> bool:
        return self.kind in ("max", "avg")

    @property
    def uses_dilation(self) -> bool:
        return self.kind == "max"

    @property
    def unpool_kernel_size(self) -> int:
        """MaxUnpool2d has no dilation: it needs the dilated window's span as its kernel."""
        return self.effective_dilation * (self.kernel_size - 1) + 1

    @property
    def effective_padding(self) -> int:
        return self.padding if self.uses_padding else 0

    @property
    def effective_dilation(self) -> int:
        return self.dilation if self.uses_dilation else 1

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        if self.is_adaptive:
            return self.output_size, self.output_size
        return tuple(  # type: ignore[return-value]
            pooled_length(n, self.kernel_size, self.stride, self.effective_padding,
                          self.effective_dilation, self.ceil_mode) for n in (height, width))

    def validate(self, height: int, width: int) -> list[str]:
        """Human-readable problems that would make torch refuse these settings."""
        problems: list[str] = []
        if self.kind not in POOL_KINDS:
            return [f"unknown pooling kind {self.kind!r}"]
        if self.is_adaptive:
            if self.output_size < 1:
                problems.append(f"output size must be at least 1 (got {self.output_size})")
            return problems
        for name, value, low in (("kernel size", self.kernel_size, 1),
                                 ("stride", self.stride, 1), ("padding", self.padding, 0),
                                 ("dilation", self.dilation, 1)):
            if value < low:
                problems.append(f"{name} must be at least {low} (got {value})")
        if problems:
            return problems
        if self.kind == "lp" and self.norm_type <= 0:
            problems.append(f"LP pool needs p > 0 (got p = {self.norm_type:g})")
        if self.uses_padding and self.padding > self.kernel_size // 2:
            problems.append(
                f"padding must be at most half the kernel size: p ≤ ⌊k/2⌋ = "
                f"⌊{self.kernel_size}/2⌋ = {self.kernel_size // 2}, but p = {self.padding}")
        out_h, out_w = self.output_shape(height, width)
        if out_h < 1 or out_w < 1:
            size, out = (height, out_h) if out_h < 1 else (width, out_w)
            span = self.effective_dilation * (self.kernel_size - 1) + 1
            problems.append(
                f"output size must be at least 1, but {self.formula_for(size, 'H')} = {out}: "
                f"the window spans {span} cells and the padded input has only "
                f"{size + 2 * self.effective_padding}")
        return problems

    def formula_for(self, size: int, axis: str = "H") -> str:
        """The output-size formula for one axis with the live numbers filled in."""
        if self.is_adaptive:
            return f"{axis}_out = output_size = {self.output_size}"
        k, s = self.kernel_size, self.stride
        p, d = self.effective_padding, self.effective_dilation
        bracket = "⌈" if self.ceil_mode else "⌊"
        close = "⌉" if self.ceil_mode else "⌋"
        return (f"{axis}_out = {bracket}({size} + 2·{p} − {d}·({k}−1) − 1) / {s}{close} + 1")

    def formula_text(self, height: int, width: int, grid: int | None = None) -> str:
        """The image's H and W formulas with the live numbers; then, with `grid`, the
        numeric grid's (the learner looks at both), else the general formula."""
        out_h, out_w = self.output_shape(height, width)
        if self.is_adaptive:
            return (f"H_out = W_out = {self.output_size} (adaptive: window i covers "
                    f"[⌊i·H/out⌋, ⌈(i+1)·H/out⌉))")
        lines = [f"{self.formula_for(height, 'H')} = {out_h}",
                 f"{self.formula_for(width, 'W')} = {out_w}"]
        general = ("general: ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1" if not self.ceil_mode else
                   "general: ⌈(H + 2p − d(k−1) − 1)/s⌉ + 1, dropping a last window "
                   "that would start in the right padding")
        if grid is not None and not self.validate(grid, grid):
            out_grid = self.output_shape(grid, grid)[0]
            general = (f"numeric grid: {self.formula_for(grid, 'H')} = {out_grid}"
                       .replace("H_out", f"{grid}×{grid} → out"))
        return "\n".join(lines + [general])

    def module_line(self) -> str:
        """The torch.nn constructor that does this pooling."""
        k, s = self.kernel_size, self.stride
        if self.kind == "max":
            return (f"nn.MaxPool2d(kernel_size={k}, stride={s}, padding={self.padding}, "
                    f"dilation={self.dilation}, ceil_mode={self.ceil_mode})")
        if self.kind == "avg":
            return (f"nn.AvgPool2d(kernel_size={k}, stride={s}, padding={self.padding}, "
                    f"ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad})")
        if self.kind == "lp":
            return (f"nn.LPPool2d(norm_type={self.norm_type:g}, kernel_size={k}, stride={s}, "
                    f"ceil_mode={self.ceil_mode})")
        name = "AdaptiveMaxPool2d" if self.kind == "adaptive_max" else "AdaptiveAvgPool2d"
        return f"nn.{name}(output_size={self.output_size})"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> PoolParams:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def output_rect(params: PoolParams, height: int, width: int) -> tuple[float, float, float, float]:
    """Where to draw the pooled image over the input (x, y, w, h in input pixels), so each
    output pixel sits centred on the window it summarises: the same display scale."""
    if params.is_adaptive:
        return (0.0, 0.0, float(width), float(height))
    out_h, out_w = params.output_shape(height, width)
    span = params.effective_dilation * (params.kernel_size - 1) + 1
    offset = -params.effective_padding + (span - params.stride) / 2
    return (offset, offset, float(out_w * params.stride), float(out_h * params.stride))


# --------------------------------------------------------------------------- computing

def pool(x: torch.Tensor, params: PoolParams) -> torch.Tensor:
    """Pool a (N, C, H, W) or (C, H, W) float tensor with torch.nn.functional."""
    import torch.nn.functional as F

    k, s = params.kernel_size, params.stride
    if params.kind == "max":
        return F.max_pool2d(x, k, s, params.padding, params.dilation, params.ceil_mode)
    if params.kind == "avg":
        return F.avg_pool2d(x, k, s, params.padding, params.ceil_mode,
                            params.count_include_pad)
    if params.kind == "lp":
        return F.lp_pool2d(x, params.norm_type, k, s, params.ceil_mode)
    if params.kind == "adaptive_max":
        return F.adaptive_max_pool2d(x, params.output_size)
    return F.adaptive_avg_pool2d(x, params.output_size)


def pool_call(params: PoolParams):
    """pool(x, stride, padding) with this layer's kernel and options: the call whose stride
    `lab.display_resolution` multiplies to compute only the pixels a view shows."""
    import torch.nn.functional as F

    k = params.kernel_size
    if params.kind == "max":
        return lambda x, stride, padding: F.max_pool2d(x, k, stride, padding, params.dilation,
                                                       params.ceil_mode)
    if params.kind == "avg":
        return lambda x, stride, padding: F.avg_pool2d(x, k, stride, padding, params.ceil_mode,
                                                       params.count_include_pad)
    if params.kind == "lp":
        return lambda x, stride, _padding: F.lp_pool2d(x, params.norm_type, k, stride,
                                                       params.ceil_mode)
    raise ValueError(f"{params.kind} pooling has no stride to multiply")


def pool_shown(x: torch.Tensor, params: PoolParams, rows: Sampling, cols: Sampling
               ) -> torch.Tensor:
    """The output pixels rows × cols of `pool(x, params)` alone — exactly its numbers.

    Adaptive pooling's output is its output size (at most 32²), all of it shown: it is
    computed whole and sliced.
    """
    import torch

    with torch.no_grad():
        if params.is_adaptive:
            return pool(x, params)[..., rows.start:rows.stop:rows.step,
                                   cols.start:cols.stop:cols.step]
        if params.kind == "lp":  # lp_pool2d raises every input value to p first
            return pool_gathered(x, pool_call(params), params.kernel_size, params.stride,
                                 rows, cols)
        return pool_sampled(x, pool_call(params), params.kernel_size, params.stride,
                            params.effective_padding, params.effective_dilation, rows, cols)


def pool_display_range(params: PoolParams) -> tuple[float, float]:
    """A fixed display range for pooled [0, 1] images, so dragging a slider doesn't flicker.

    LP pooling sums k² values raised to p, so its largest output is k^(2/p).
    """
    if params.kind == "lp" and params.norm_type > 0:
        return 0.0, float(params.kernel_size ** (2.0 / params.norm_type))
    return 0.0, 1.0


@dataclass(frozen=True)
class GridResult:
    """Pooling of a small numeric grid, with what max-pooling remembers."""

    values: np.ndarray            # (H, W) input
    output: np.ndarray            # (H_out, W_out)
    indices: np.ndarray | None    # max kinds: flat index into the H×W input of each max
    unpooled: np.ndarray | None   # max kinds: MaxUnpool2d(output, indices) back to H×W


def pool_grid(values: np.ndarray, params: PoolParams) -> GridResult:
    """Pool one (H, W) grid of numbers; for max pooling also indices and MaxUnpool2d."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(np.asarray(values, dtype=np.float64))[None, None]
    indices = unpooled = None
    if params.kind == "max":
        out, idx = F.max_pool2d(x, params.kernel_size, params.stride, params.padding,
                                params.dilation, params.ceil_mode, return_indices=True)
        # F.max_unpool2d(out, idx, params.unpool_kernel_size, params.stride, params.padding,
        # output_size=values.shape), minus its Python-side size check: that check imports
        # torch.fx.experimental.symbolic_shapes and with it sympy (~1 s before the panel's
        # first result). The same kernel; the size is the grid's own, which F accepts for
        # every valid pooling (tests compare the two).
        unpool = torch.ops.aten.max_unpool2d(out, idx, list(values.shape))
        indices, unpooled = idx[0, 0].numpy(), unpool[0, 0].numpy()
    elif params.kind == "adaptive_max":
        out, idx = F.adaptive_max_pool2d(x, params.output_size, return_indices=True)
        # Adaptive windows have no single kernel/stride; scatter the maxima back by index.
        flat = torch.zeros(values.size, dtype=x.dtype)
        flat[idx.flatten()] = out.flatten()
        indices, unpooled = idx[0, 0].numpy(), flat.reshape(values.shape).numpy()
    else:
        out = pool(x, params)
    return GridResult(np.asarray(values, dtype=np.float64), out[0, 0].numpy(), indices,
                      unpooled)


def random_grid(size: int, seed: int, low: int = 0, high: int = 9) -> np.ndarray:
    """A size×size grid of small integers, easy to add up by eye."""
    rng = np.random.default_rng(seed)
    return rng.integers(low, high + 1, size=(size, size)).astype(np.float64)


# --------------------------------------------------------------------------- explaining

@dataclass(frozen=True)
class CellExplanation:
    """How one output cell of pooling was made."""

    out_row: int
    out_col: int
    #: every position the window visits, in input coordinates (padding lies outside 0..H-1)
    window: list[tuple[int, int]]
    #: the window's positions that hold real input values
    inside: list[tuple[int, int]]
    #: the position the value came from (max kinds), else None
    chosen: tuple[int, int] | None
    value: float
    text: str


def _fmt(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.3g}"


def explain_cell(values: np.ndarray, params: PoolParams, out_row: int,
                 out_col: int) -> CellExplanation:
    """The window of output cell (out_row, out_col) and the arithmetic that made it.

    Follows torch's own definitions (including avg-pool's divisor with padding and
    ceil_mode, and LP-pool's scaling of partial windows) so the numbers agree exactly.
    """
    height, width = values.shape
    if params.is_adaptive:
        r0, r1 = adaptive_window(out_row, height, params.output_size)
        c0, c1 = adaptive_window(out_col, width, params.output_size)
        window = [(r, c) for r in range(r0, r1) for c in range(c0, c1)]
        return _combine(values, params, out_row, out_col, window, window, len(window))
    k, s = params.kernel_size, params.stride
    p, d = params.effective_padding, params.effective_dilation
    row0, col0 = out_row * s - p, out_col * s - p
    if params.kind == "max":
        window = [(row0 + i * d, col0 + j * d) for i in range(k) for j in range(k)]
        inside = [(r, c) for r, c in window if 0 <= r < height and 0 <= c < width]
        return _combine(values, params, out_row, out_col, window, inside, len(inside))
    # avg and LP: torch clips the window at the far padding edge, then at the input.
    row_end, col_end = min(row0 + k, height + p), min(col0 + k, width + p)
    window = [(r, c) for r in range(row0, row_end) for c in range(col0, col_end)]
    inside = [(r, c) for r, c in window if 0 <= r < height and 0 <= c < width]
    padded_count = len(window)
    divisor = padded_count if params.count_include_pad or params.kind == "lp" else len(inside)
    return _combine(values, params, out_row, out_col, window, inside, divisor)


def _combine(values: np.ndarray, params: PoolParams, out_row: int, out_col: int,
             window: list[tuple[int, int]], inside: list[tuple[int, int]],
             divisor: int) -> CellExplanation:
    numbers = [float(values[r, c]) for r, c in inside]
    listed = ", ".join(_fmt(v) for v in numbers)
    if params.kind in ("max", "adaptive_max"):
        best = max(range(len(numbers)), key=lambda i: (numbers[i], -i))  # first max wins
        chosen = inside[best]
        value = numbers[best]
        skipped = len(window) - len(inside)
        note = f" ({skipped} padding cells count as −∞)" if skipped else ""
        text = f"max({listed}) = {_fmt(value)} at input row {chosen[0]}, column {chosen[1]}{note}"
        return CellExplanation(out_row, out_col, window, inside, chosen, value, text)
    total = sum(numbers)
    summed = " + ".join(_fmt(v) for v in numbers)
    if params.kind in ("avg", "adaptive_avg"):
        value = total / divisor
        padding_note = ""
        if divisor != len(numbers):
            padding_note = f" (divisor counts {divisor - len(numbers)} padding zeros)"
        text = f"({summed}) / {divisor} = {_fmt(total)} / {divisor} = {_fmt(value)}{padding_note}"
        return CellExplanation(out_row, out_col, window, inside, None, value, text)
    # LP: torch computes avg_pool(x^p) * k² and takes the p-th root.
    p = params.norm_type
    powered = sum(v ** p for v in numbers)
    full = params.kernel_size ** 2
    scaled = powered * full / divisor
    value = math.copysign(abs(scaled) ** (1.0 / p), scaled) if scaled else 0.0
    value = max(value, 0.0) if scaled >= 0 else 0.0
    powers = " + ".join(f"{_fmt(v)}^{_fmt(p)}" for v in numbers)
    partial = ""
    if divisor != full:
        partial = (f"; partial window: torch scales the sum by k²/cells = "
                   f"{full}/{divisor}")
    text = f"({powers})^(1/{_fmt(p)}) = {_fmt(value)}{partial}"
    return CellExplanation(out_row, out_col, window, inside, None, value, text)


# --------------------------------------------------------------------------- upsampling

@dataclass(frozen=True)
class UpsampleParams:
    scale_factor: int = 4
    #: when set, F.interpolate resizes to this side length instead of using scale_factor
    target_size: int | None = None
    align_corners: bool = False
    patch_size: int = 32
    transposed_init: str = "bilinear"
    seed: int = 0
    #: centre of the patch, as fractions (y, x) of the image's height and width
    center: tuple[float, float] = (0.5, 0.5)

    def integer_factor(self) -> int:
        """The whole-number factor ConvTranspose2d and PixelShuffle use."""
        if self.target_size is None:
            return self.scale_factor
        return max(1, round(self.target_size / self.patch_size))

    def output_side(self) -> int:
        if self.target_size is not None:
            return self.target_size
        return self.patch_size * self.scale_factor

    def transposed_geometry(self) -> tuple[int, int, int]:
        """(kernel, stride, padding) of the ConvTranspose2d that enlarges by the factor."""
        r = self.integer_factor()
        if self.transposed_init == "nearest":
            return r, r, 0
        kernel = 2 * r - r % 2
        return kernel, r, (kernel - r) // 2

    def validate(self, height: int, width: int) -> list[str]:
        problems = []
        if not 1 <= self.scale_factor <= 8:
            problems.append(f"scale factor must be between 1 and 8 (got {self.scale_factor})")
        if self.target_size is not None and self.target_size < 1:
            problems.append(f"target size must be at least 1 (got {self.target_size})")
        if self.patch_size < 2:
            problems.append(f"patch size must be at least 2 (got {self.patch_size})")
        if self.transposed_init not in TRANSPOSED_INITS:
            problems.append(f"unknown ConvTranspose2d weights {self.transposed_init!r}")
        if self.output_side() * max(1, self.integer_factor()) > 8192:
            problems.append("the enlarged patch would be wider than 8192 pixels; "
                            "use a smaller patch or factor")
        return problems

    def transposed_formula(self) -> str:
        k, s, p = self.transposed_geometry()
        n = self.patch_size
        out = (n - 1) * s - 2 * p + k
        return (f"ConvTranspose2d: H_out = (H − 1)·s − 2p + d(k−1) + output_padding + 1 = "
                f"({n} − 1)·{s} − 2·{p} + 1·({k}−1) + 0 + 1 = {out}")

    def interpolate_formula(self) -> str:
        if self.target_size is not None:
            return f"interpolate: H_out = size = {self.target_size}"
        return (f"interpolate: H_out = ⌊H · scale⌋ = ⌊{self.patch_size} · {self.scale_factor}⌋ = "
                f"{self.patch_size * self.scale_factor}")


def patch_box(height: int, width: int, patch_size: int,
              center: tuple[float, float] = (0.5, 0.5)) -> tuple[int, int, int, int]:
    """(top, left, side_h, side_w) of the patch centred at fractional `center`, kept inside."""
    side_h, side_w = min(patch_size, height), min(patch_size, width)
    top = round(center[0] * height - side_h / 2)
    left = round(center[1] * width - side_w / 2)
    return (min(max(top, 0), height - side_h), min(max(left, 0), width - side_w),
            side_h, side_w)


def center_patch(x: torch.Tensor, patch_size: int,
                 center: tuple[float, float] = (0.5, 0.5)) -> torch.Tensor:
    """The patch_size × patch_size crop of a (C, H, W) tensor around `center`."""
    top, left, side_h, side_w = patch_box(x.shape[-2], x.shape[-1], patch_size, center)
    return x[:, top:top + side_h, left:left + side_w]


def most_detailed_center(x: torch.Tensor, patch_size: int) -> tuple[float, float]:
    """The (y, x) fractions where a patch of this size holds the most edges, so the
    first view of up-sampling shows something other than a flat area."""
    import torch.nn.functional as F

    gray = x.float().mean(dim=0, keepdim=True)[None]
    edges = (gray[..., 1:, :-1] - gray[..., :-1, :-1]).abs() + \
            (gray[..., :-1, 1:] - gray[..., :-1, :-1]).abs()
    height, width = edges.shape[-2:]
    if height == 0 or width == 0:  # a 1-pixel-high or -wide image has no 2-D edges
        return (0.5, 0.5)
    side = max(1, min(patch_size, height, width))
    energy = F.avg_pool2d(edges, side, stride=max(1, side // 4))
    row, col = divmod(int(energy.flatten().argmax()), energy.shape[-1])
    step = max(1, side // 4)
    return ((row * step + side / 2) / x.shape[-2], (col * step + side / 2) / x.shape[-1])


def bilinear_kernel(size: int) -> np.ndarray:
    """The 2-D kernel that makes a ConvTranspose2d do bilinear interpolation (FCN)."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    grid = np.ogrid[:size, :size]
    return ((1 - abs(grid[0] - center) / factor) *
            (1 - abs(grid[1] - center) / factor)).astype(np.float32)


def transposed_weight(params: UpsampleParams, channels: int) -> torch.Tensor:
    """Depthwise ConvTranspose2d weight, shape (C, 1, k, k), for the chosen init."""
    import torch

    kernel, _, _ = params.transposed_geometry()
    if params.transposed_init == "nearest":
        base = torch.ones(kernel, kernel)
    elif params.transposed_init == "bilinear":
        base = torch.from_numpy(bilinear_kernel(kernel))
    else:
        # Weights around 1/taps (taps: kernel cells landing on one output pixel), so the
        # brightness stays about right while the noise shows an untrained layer's artefacts.
        taps = (kernel / params.integer_factor()) ** 2
        gen = torch.Generator().manual_seed(params.seed)
        return torch.randn(channels, 1, kernel, kernel, generator=gen) * 0.5 / taps + 1 / taps
    return base.expand(channels, 1, kernel, kernel).clone()


def subpixel_weight(factor: int, channels: int) -> torch.Tensor:
    """A 3×3 conv weight making factor² channels per input channel for PixelShuffle.

    Channel (i, j) samples the image at sub-pixel offset ((i + ½)/r − ½, (j + ½)/r − ½)
    by bilinear interpolation, so PixelShuffle(r) of the result equals bilinear
    up-sampling (align_corners=False): the "sub-pixel convolution" idea (ESPCN) with
    hand-set rather than learned weights. Shape (C·r², 1, 3, 3), grouped by channel.
    """
    import torch

    def taps(offset: float) -> list[float]:
        return [-offset, 1 + offset, 0.0] if offset < 0 else [0.0, 1 - offset, offset]

    kernels = []
    for i in range(factor):
        for j in range(factor):
            row = taps((i + 0.5) / factor - 0.5)
            col = taps((j + 0.5) / factor - 0.5)
            kernels.append(np.outer(row, col))
    one = torch.tensor(np.stack(kernels), dtype=torch.float32)[:, None]
    return one.repeat(channels, 1, 1, 1)


@dataclass(frozen=True)
class UpsampleResult:
    patch: torch.Tensor            # (C, n, n) the input
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)  # title -> (C, H', W')
    #: title -> ((row start, stop), (column start, stop)): the output cells it holds
    spans: dict[str, tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=dict)
    #: title -> (H', W') of the whole output
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


def _output_span(low: float, high: float, side: int, out: int) -> tuple[int, int]:
    """Output cells [start, stop) of an axis of `out` cells drawn over `side` patch pixels
    that the patch interval [low, high) covers (at least one)."""
    start = min(out - 1, max(0, math.floor(low * out / side)))
    return start, max(start + 1, min(out, math.ceil(high * out / side)))


def upsample_all(image: torch.Tensor, params: UpsampleParams,
                 region: tuple[float, float, float, float] | None = None) -> UpsampleResult:
    """Enlarge the image's central patch every way the panel compares.

    `image` is (C, H, W) float. Returns the patch and, in display order: nearest,
    bilinear, bicubic (F.interpolate), ConvTranspose2d, PixelShuffle.

    `region` = (top, left, bottom, right) in patch pixels: only the output cells over it
    are computed, at full resolution, each method from the input cells it reads
    (lab.display_resolution) — the same numbers as the whole output there. `spans` then
    says which cells each output holds.
    """
    import torch
    import torch.nn.functional as F

    patch = center_patch(image, params.patch_size, params.center)
    x = patch[None]
    channels, side_h, side_w = patch.shape
    target = (params.target_size, params.target_size) if params.target_size is not None \
        else None
    factor = None if target is not None else params.scale_factor
    out_h, out_w = target if target is not None else (side_h * factor, side_w * factor)
    outputs: dict[str, torch.Tensor] = {}
    spans: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    top, left, bottom, right = region if region is not None else (0, 0, side_h, side_w)

    def cells(height: int, width: int) -> tuple[tuple[int, int], tuple[int, int]]:
        return _output_span(top, bottom, side_h, height), _output_span(left, right, side_w, width)

    with torch.no_grad():
        rows, cols = cells(out_h, out_w)
        for mode in ("nearest", "bilinear", "bicubic"):
            outputs[mode] = interpolate_region(x, mode, target, factor, params.align_corners,
                                               rows, cols)[0]
            spans[mode], sizes[mode] = (rows, cols), (out_h, out_w)
        kernel, stride, padding = params.transposed_geometry()
        weight = transposed_weight(params, channels)
        t_h, t_w = (transposed_length(n, kernel, stride, padding, 0, 1) for n in (side_h, side_w))
        rows, cols = cells(t_h, t_w)
        outputs["ConvTranspose2d"] = conv_transpose_region(x, weight, stride, padding,
                                                           channels, rows, cols)[0]
        spans["ConvTranspose2d"], sizes["ConvTranspose2d"] = (rows, cols), (t_h, t_w)
        r = params.integer_factor()
        rows, cols = cells(side_h * r, side_w * r)
        # subpixel rows a … b−1 read padded rows a … b+1 (replicate padding of 1)
        first_r, first_c = rows[0] // r, cols[0] // r
        last_r, last_c = -(-rows[1] // r), -(-cols[1] // r)
        padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
        subpixels = F.conv2d(padded[..., first_r:last_r + 2, first_c:last_c + 2],
                             subpixel_weight(r, channels), groups=channels)
        shuffled = F.pixel_shuffle(subpixels, r)[0]
        outputs["PixelShuffle"] = shuffled[:, rows[0] - first_r * r:rows[1] - first_r * r,
                                           cols[0] - first_c * r:cols[1] - first_c * r]
        spans["PixelShuffle"] = (rows, cols)
        sizes["PixelShuffle"] = (side_h * r, side_w * r)
    return UpsampleResult(patch, outputs, spans, sizes)


def pooling_code(params: PoolParams, image_shape: tuple[int, int, int],
                 grid: np.ndarray | None = None) -> str:
    """Python that reproduces the pooling view: the image and the numeric grid."""
    c, h, w = image_shape
    out_h, out_w = params.output_shape(h, w)
    lines = [
        "import torch",
        "from torch import nn",
        "",
        f"x = torch.rand(1, {c}, {h}, {w})  # your image as (N, C, H, W) floats in [0, 1]",
        f"pool = {params.module_line()}",
        f"y = pool(x)  # -> (1, {c}, {out_h}, {out_w})",
    ]
    if grid is not None:
        rows = ",\n    ".join("[" + ", ".join(_fmt(v) for v in row) + "]" for row in grid)
        gh, gw = params.output_shape(*grid.shape)
        lines += ["", "grid = torch.tensor([", f"    {rows}", "], dtype=torch.float32).reshape("
                  f"1, 1, {grid.shape[0]}, {grid.shape[1]})"]
        if params.kind == "max":
            lines += [
                f"pool = {params.module_line()[:-1]}, return_indices=True)",
                f"out, indices = pool(grid)  # -> (1, 1, {gh}, {gw}); indices are flat "
                "positions in the input",
                f"unpool = nn.MaxUnpool2d(kernel_size={params.unpool_kernel_size}, "
                f"stride={params.stride}, padding={params.padding})",
                "restored = unpool(out, indices, output_size=grid.shape)"
                "  # zeros except the maxima",
            ]
        else:
            lines += [f"out = pool(grid)  # -> (1, 1, {gh}, {gw})"]
    return "\n".join(lines) + "\n"


def upsample_code(params: UpsampleParams, image_shape: tuple[int, int, int]) -> str:
    """Python that reproduces the up-sampling view."""
    channels, height, width = image_shape
    top, left, side_h, side_w = patch_box(height, width, params.patch_size, params.center)
    size_arg = (f"size=({params.target_size}, {params.target_size})"
                if params.target_size is not None else f"scale_factor={params.scale_factor}")
    kernel, stride, padding = params.transposed_geometry()
    r = params.integer_factor()
    weight_lines = {
        "bilinear": [f"weight = bilinear_kernel(k).expand({channels}, 1, k, k)"],
        "nearest": [f"weight = torch.ones({channels}, 1, k, k)  # kernel = stride: copies"],
        "random": [f"g = torch.Generator().manual_seed({params.seed})",
                   f"taps = (k / {stride}) ** 2",
                   f"weight = torch.randn({channels}, 1, k, k, generator=g) * 0.5 / taps "
                   "+ 1 / taps  # untrained"],
    }[params.transposed_init]
    return "\n".join([
        "import numpy as np",
        "import torch",
        "from torch import nn",
        "import torch.nn.functional as F",
        "",
        f"image = torch.rand(1, {channels}, {height}, {width})  # your image, floats in [0, 1]",
        f"x = image[:, :, {top}:{top + side_h}, {left}:{left + side_w}]"
        f"  # the {side_h}×{side_w} patch",
        f"nearest = nn.Upsample({size_arg}, mode='nearest')(x)",
        f"bilinear = nn.Upsample({size_arg}, mode='bilinear', "
        f"align_corners={params.align_corners})(x)",
        f"bicubic = nn.Upsample({size_arg}, mode='bicubic', "
        f"align_corners={params.align_corners})(x)  # may overshoot [0, 1]",
        "",
        "def bilinear_kernel(size):",
        "    factor = (size + 1) // 2",
        "    center = factor - 1 if size % 2 == 1 else factor - 0.5",
        "    og = np.ogrid[:size, :size]",
        "    k = (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)",
        "    return torch.tensor(k, dtype=torch.float32)",
        "",
        f"k = {kernel}",
        f"up = nn.ConvTranspose2d({channels}, {channels}, kernel_size=k, stride={stride}, "
        f"padding={padding}, groups={channels}, bias=False)",
        *weight_lines,
        "with torch.no_grad():",
        "    up.weight.copy_(weight)",
        "transposed = up(x)",
        "",
        f"# PixelShuffle({r}): a 3×3 conv makes {r}² sub-pixel channels per channel,",
        "# then PixelShuffle moves channel (i, j) to position (i, j) of each r×r block.",
        "# Channel (i, j) samples the image at sub-pixel offset ((i+½)/r − ½, (j+½)/r − ½);",
        "# a trained super-resolution model (ESPCN) learns these weights instead.",
        "def subpixel_weight(r):",
        "    def taps(o):",
        "        return [-o, 1 + o, 0.0] if o < 0 else [0.0, 1 - o, o]",
        "    kernels = [np.outer(taps((i + 0.5) / r - 0.5), taps((j + 0.5) / r - 0.5))",
        "               for i in range(r) for j in range(r)]",
        "    return torch.tensor(np.stack(kernels), dtype=torch.float32)[:, None]",
        "",
        f"conv = nn.Conv2d({channels}, {channels * r * r}, kernel_size=3, padding=1, "
        f"padding_mode='replicate', groups={channels}, bias=False)",
        "with torch.no_grad():",
        f"    conv.weight.copy_(subpixel_weight({r}).repeat({channels}, 1, 1, 1))",
        f"shuffled = nn.PixelShuffle({r})(conv(x))",
        "",
    ])


def grid_csv(result: GridResult) -> str:
    """The numeric grid's input, output and (max pooling) indices and unpooled grid as CSV
    blocks separated by a titled blank line, ready for a spreadsheet."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    blocks = [("input", result.values), ("output", result.output)]
    if result.indices is not None:
        blocks += [("argmax indices", result.indices), ("MaxUnpool2d", result.unpooled)]
    for number, (title, block) in enumerate(blocks):
        if number:
            writer.writerow([])
        writer.writerow([title])
        for row in np.asarray(block):
            writer.writerow([_fmt(v) for v in row])
    return buffer.getvalue()
