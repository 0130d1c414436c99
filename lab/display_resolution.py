"""Compute what the screen shows, exactly: chosen output pixels of a pooling or convolution.

A 4096² map drawn in a 300-pixel tile shows about every 14th output pixel. Output pixel i
of a sliding-window operation with stride s reads the window that starts at i·s − p, so
every t-th output pixel is the same operation with stride s·t — the same windows, the same
numbers, not an approximation — and the pixels of a zoomed-in region need only the input
under their windows. Pooling is computed that way, with torch's own padding semantics kept
(`pool_sampled`); a convolution reads exactly the input cells its kernels touch, padding
modes included (`conv_sampled`). `Sampling` names the output pixels: start, stop, step
along one axis; `visible_sampling` finds those a view shows.

Nothing here knows about Qt, or about any one panel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Sampling:
    """Output indices start, start + step, … below stop, along one axis."""

    start: int
    stop: int
    step: int = 1

    @classmethod
    def whole(cls, length: int, step: int = 1) -> Sampling:
        return cls(0, length, step)

    @property
    def count(self) -> int:
        return max(0, -(-(self.stop - self.start) // self.step))

    @property
    def last(self) -> int:
        return self.start + (self.count - 1) * self.step

    def indices(self) -> range:
        return range(self.start, self.stop, self.step)

    def covers(self, length: int) -> bool:
        """Every output pixel of an axis of this length, one by one."""
        return self.step == 1 and self.start <= 0 and self.stop >= length


def display_step(input_per_screen_pixel: float, stride: int) -> int:
    """Output pixels one screen pixel covers (≥ 1): a nearest-neighbour draw shows only
    every step-th of them, so only those need computing."""
    return max(1, int(input_per_screen_pixel / max(1, stride)))


def visible_sampling(out_length: int, origin: float, stride: float, view_low: float,
                     view_high: float, step: int) -> Sampling:
    """The output indices a view shows along one axis, on the global grid of multiples of
    `step` (so panning never changes which pixels are shown).

    Output pixel i is drawn over [origin + i·stride, origin + (i+1)·stride) in input
    coordinates; the view spans [view_low, view_high).
    """
    stride = max(stride, 1e-12)
    low = max(0, math.floor((view_low - origin) / stride))
    high = min(out_length, math.ceil((view_high - origin) / stride))
    low -= low % step
    if high <= low:  # nothing visible: keep one pixel so there is always something to draw
        low = min(low, max(0, out_length - 1))
        low -= low % step
        high = low + 1
    return Sampling(low, high, step)


# --------------------------------------------------------------------------- pooling

#: pool(x, stride=(sh, sw), padding=(ph, pw)) -> the pooled tensor: one torch call whose
#: kernel, dilation, ceil_mode and the like are fixed by the caller
PoolCall = Callable[["torch.Tensor", tuple[int, int], tuple[int, int]], "torch.Tensor"]


@dataclass(frozen=True)
class _AxisPlan:
    """How to get one axis's sampled outputs from one strided torch call."""

    low: int          # crop of the input: [low, high)
    high: int
    padding: int      # the padding given to torch on this axis (p, or 0 for an inner crop)
    step: int         # the step the strided call takes (t, or 1 when it must slice)
    skip: int         # outputs of the call to drop first
    every: int        # then keep every `every`-th


def _pool_axis(size: int, sampling: Sampling, kernel: int, stride: int, padding: int,
               dilation: int) -> _AxisPlan:
    span = dilation * (kernel - 1) + 1
    first = sampling.start * stride - padding
    end = sampling.last * stride - padding + span
    # a crop is a strided view that torch copies whole before pooling: worth it only for a
    # small region (a zoomed-in view), not for most of the axis (a fitted one)
    small = 2 * (end - first) < size
    if first >= 0 and end <= size and (small or sampling.start % sampling.step):
        # the windows lie inside the input: their input alone, no padding
        return _AxisPlan(first, end, 0, sampling.step, 0, 1)
    if padding == 0 and (small or sampling.start % sampling.step):
        # nothing to the left; torch clips a window hanging over the right edge at the
        # input's end (ceil_mode), which this crop keeps
        return _AxisPlan(max(first, 0), size, 0, sampling.step, 0, 1)
    # torch's padding must stay what it is (avg's divisor, max's −∞): the whole axis, from
    # output 0, so the strided call's windows are the full call's
    if sampling.start % sampling.step == 0:
        return _AxisPlan(0, size, padding, sampling.step, sampling.start // sampling.step, 1)
    return _AxisPlan(0, size, padding, 1, sampling.start, sampling.step)


def pool_sampled(x: torch.Tensor, pool: PoolCall, kernel: int, stride: int, padding: int,
                 dilation: int, rows: Sampling, cols: Sampling) -> torch.Tensor:
    """The output pixels `rows` × `cols` of `pool(x, (stride, stride), (padding, padding))`,
    computed alone: the same call with stride s·step on the input under their windows.

    `x` is (N, C, H, W); the result is (N, C, rows.count, cols.count), equal to
    `pool(x, …)[..., rows.start:rows.stop:rows.step, cols.start:cols.stop:cols.step]`.
    """
    height, width = x.shape[-2:]
    plan_r = _pool_axis(height, rows, kernel, stride, padding, dilation)
    plan_c = _pool_axis(width, cols, kernel, stride, padding, dilation)
    crop = x[..., plan_r.low:plan_r.high, plan_c.low:plan_c.high]
    out = pool(crop, (stride * plan_r.step, stride * plan_c.step),
               (plan_r.padding, plan_c.padding))
    return out[..., plan_r.skip::plan_r.every, plan_c.skip::plan_c.every][
        ..., :rows.count, :cols.count]


def _window_cells(size: int, sampling: Sampling, kernel: int, stride: int):
    """The input index of each cell of each sampled window (k per window, in order); a last
    window hanging over the edge (ceil_mode) keeps only its cells inside, as torch clips it.
    """
    import torch

    starts = torch.arange(sampling.start, sampling.stop, sampling.step) * stride
    cells = (starts[:, None] + torch.arange(kernel)).reshape(-1)
    return cells[cells < size]


def pool_gathered(x: torch.Tensor, pool: PoolCall, kernel: int, stride: int, rows: Sampling,
                  cols: Sampling) -> torch.Tensor:
    """Like `pool_sampled`, for windows without padding or dilation whose call would touch
    every input value first (LP pooling raises the whole input to the power p): the cells
    under the shown windows are gathered, k per window, and pooled with stride k — the same
    windows, clipped at the input's edge as before. Returns (N, C, rows.count, cols.count).
    """
    height, width = x.shape[-2:]
    row_cells = _window_cells(height, rows, kernel, stride)
    col_cells = _window_cells(width, cols, kernel, stride)
    gathered = x[..., row_cells[:, None], col_cells[None, :]]
    return pool(gathered, (kernel, kernel), (0, 0))[..., :rows.count, :cols.count]


# --------------------------------------------------------------------------- convolution

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _source_indices(size: int, sampling: Sampling, kernel: int, stride: int,
                    pad_before: int, dilation: int, mode: str):
    """The input index each kernel tap of each sampled output reads (count·k of them, in
    window order), and which of them are zero padding."""
    import torch

    starts = torch.arange(sampling.start, sampling.stop, sampling.step) * stride - pad_before
    taps = (starts[:, None] + torch.arange(kernel) * dilation).reshape(-1)
    outside = (taps < 0) | (taps >= size)
    if mode == "reflect":
        taps = torch.where(taps < 0, -taps, taps)
        taps = torch.where(taps >= size, 2 * (size - 1) - taps, taps)
    elif mode == "circular":
        taps = taps.remainder(size)
    taps = taps.clamp(0, size - 1)  # replicate; zeros are masked below
    return taps, (outside if mode == "zeros" else None)


def conv_sampled(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                 stride: int, padding: tuple[tuple[int, int], tuple[int, int]], dilation: int,
                 groups: int, padding_mode: str, rows: Sampling, cols: Sampling
                 ) -> torch.Tensor:
    """The output pixels `rows` × `cols` of nn.Conv2d (weight as conv2d takes it, padding
    ((top, bottom), (left, right)) in `padding_mode`), computed alone.

    Each sampled output reads its kernel's taps — the cells at start + j·dilation — and
    nothing else: they are gathered (padding as the mode makes it: zeros, a mirror, the
    nearest edge, the far side) into k×k blocks and convolved with stride k, the same
    products summed. Returns (N, out_channels, rows.count, cols.count).
    """
    import torch
    import torch.nn.functional as F

    if padding_mode not in PADDING_MODES:
        raise ValueError(f"unknown padding mode {padding_mode!r}")
    height, width = x.shape[-2:]
    kernel_h, kernel_w = weight.shape[-2:]
    (top, _), (left, _) = padding
    row_taps, row_zero = _source_indices(height, rows, kernel_h, stride, top, dilation,
                                         padding_mode)
    col_taps, col_zero = _source_indices(width, cols, kernel_w, stride, left, dilation,
                                         padding_mode)
    with torch.no_grad():
        gathered = x[..., row_taps[:, None], col_taps[None, :]]
        if row_zero is not None and bool(row_zero.any()):
            gathered[..., row_zero, :] = 0
        if col_zero is not None and bool(col_zero.any()):
            gathered[..., :, col_zero] = 0
        return F.conv2d(gathered, weight.to(x.dtype),
                        None if bias is None else bias.to(x.dtype),
                        (kernel_h, kernel_w), 0, 1, groups)


def _padded_rows(size: int, first: int, stop: int, mode: str):
    """Input rows first … stop−1 of the padded input (first < 0 or stop > size reach into
    the padding): their source rows, and which of them are zeros."""
    import torch

    rows = torch.arange(first, stop)
    outside = (rows < 0) | (rows >= size)
    if mode == "reflect":
        rows = torch.where(rows < 0, -rows, rows)
        rows = torch.where(rows >= size, 2 * (size - 1) - rows, rows)
    elif mode == "circular":
        rows = rows.remainder(size)
    return rows.clamp(0, size - 1), (outside if mode == "zeros" else None)


def conv_rows(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int,
              padding: tuple[tuple[int, int], tuple[int, int]], dilation: int, groups: int,
              padding_mode: str, start: int, stop: int) -> torch.Tensor:
    """Output rows start … stop−1 (every column) of nn.Conv2d, as `conv_sampled` takes its
    arguments: one conv2d over just the input rows their windows read.

    A band of a few rows keeps its maps in the cache (a min/max pass over them is then
    nearly free) and its memory is reused band after band: the whole maps of a photo are a
    GB that the system hands out page by page on every call. Returns
    (N, out_channels, stop − start, W_out).
    """
    import torch
    import torch.nn.functional as F

    if padding_mode not in PADDING_MODES:
        raise ValueError(f"unknown padding mode {padding_mode!r}")
    height, width = x.shape[-2:]
    kernel_h = weight.shape[-2]
    (top, _), (left, right) = padding
    first = start * stride - top
    end = (stop - 1) * stride - top + dilation * (kernel_h - 1) + 1
    with torch.no_grad():
        if first >= 0 and end <= height:
            band = x[..., first:end, :]
        else:
            rows, zero = _padded_rows(height, first, end, padding_mode)
            band = x.index_select(-2, rows)
            if zero is not None:
                band[..., zero, :] = 0
        columns = (0, 0)
        if padding_mode == "zeros" and left == right:
            columns = (0, left)
        elif left or right:
            mode = "constant" if padding_mode == "zeros" else padding_mode
            band = F.pad(band, (left, right, 0, 0), mode=mode)
        return F.conv2d(band, weight.to(x.dtype), None if bias is None else bias.to(x.dtype),
                        stride, columns, dilation, groups)


# --------------------------------------------------------------------------- regions
# Upsampling has no exact shortcut to every step-th pixel that torch computes, so a view
# zoomed into a large output gets the region it shows at full resolution: torch's own call
# on the input under it (plus the halo its taps read), cut where the input and output
# grids line up again, so the crop's pixel positions are the whole call's.

#: input cells beyond the source position each mode reads (+1: a position that rounds to
#: the neighbouring cell in the crop's arithmetic is still inside)
_HALO = {"nearest": 1, "bilinear": 2, "bicubic": 3}


def _interpolation_period(size: int, out: int, align_corners: bool) -> tuple[int, int]:
    """(input cells, output cells) after which an axis's sampling positions repeat shifted
    by whole cells: a crop starting at a multiple of it samples as the whole axis does."""
    if align_corners:
        size, out = size - 1, out - 1
    if size <= 0 or out <= 0:
        return max(size, 1), max(out, 1)
    common = math.gcd(size, out)
    return size // common, out // common


def _interpolation_crop(size: int, out: int, region: tuple[int, int], mode: str,
                        align_corners: bool) -> tuple[int, int, int, int]:
    """(first input cell, input cells, first output cell, output cells) of the crop that
    makes the output cells `region` = [start, stop) of one axis."""
    if align_corners and (size == 1 or out == 1):
        return 0, size, 0, out  # every output reads cell 0: no grid to line up
    start, stop = region
    ratio = ((size - 1) / (out - 1)) if align_corners else size / out
    offset = 0.0 if align_corners or mode == "nearest" else 0.5 * ratio - 0.5
    halo = _HALO[mode]
    low = max(0, math.floor(start * ratio + offset) - halo)
    high = min(size, math.floor((stop - 1) * ratio + offset) + halo + 1)
    period_in, period_out = _interpolation_period(size, out, align_corners)
    corner = 1 if align_corners else 0
    first = low // period_in
    periods = -(-(high - corner) // period_in) - first
    return (first * period_in, periods * period_in + corner, first * period_out,
            periods * period_out + corner)


def interpolate_region(x: torch.Tensor, mode: str, size: tuple[int, int] | None,
                       scale_factor: int | None, align_corners: bool,
                       rows: tuple[int, int], cols: tuple[int, int]) -> torch.Tensor:
    """Output rows × cols ([start, stop) each) of F.interpolate(x, size or scale_factor,
    mode, align_corners) for nearest, bilinear and bicubic, from the input under them.

    Nearest reads its source cells by torch's own index rule (exact); bilinear and bicubic
    run F.interpolate on a crop that starts where the sampling grid repeats, so each output
    sits at the whole call's position (equal up to float rounding of that position).
    """
    import torch
    import torch.nn.functional as F

    height, width = x.shape[-2:]
    if size is None:
        out_h, out_w = int(height * scale_factor), int(width * scale_factor)
    else:
        out_h, out_w = size
    if mode == "nearest":
        def sources(length: int, out: int, region: tuple[int, int]):
            if scale_factor is not None:  # torch: (float)(1.0 / scale), in single precision
                scale = torch.tensor(1.0 / scale_factor, dtype=torch.float32)
            else:
                scale = torch.tensor(length, dtype=torch.float32) / out
            index = torch.arange(region[0], region[1])
            if out == length:
                return index
            if out == 2 * length:
                return index >> 1
            return (index.float() * scale).floor().long().clamp(max=length - 1)

        picked = x.index_select(-2, sources(height, out_h, rows))
        return picked.index_select(-1, sources(width, out_w, cols))
    top, crop_h, out_top, local_h = _interpolation_crop(height, out_h, rows, mode,
                                                        align_corners)
    left, crop_w, out_left, local_w = _interpolation_crop(width, out_w, cols, mode,
                                                          align_corners)
    crop = x[..., top:top + crop_h, left:left + crop_w]
    if scale_factor is not None and not align_corners:
        # the same scale torch derives from scale_factor (not from the sizes)
        out = F.interpolate(crop, scale_factor=scale_factor, mode=mode,
                            align_corners=align_corners)
    else:
        out = F.interpolate(crop, size=(local_h, local_w), mode=mode,
                            align_corners=align_corners)
    return out[..., rows[0] - out_top:rows[1] - out_top, cols[0] - out_left:cols[1] - out_left]


def conv_transpose_region(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int,
                          groups: int, rows: tuple[int, int], cols: tuple[int, int],
                          dilation: int = 1) -> torch.Tensor:
    """Output rows × cols ([start, stop) each) of F.conv_transpose2d(x, weight, stride=s,
    padding=p, groups, dilation=d), from the input cells whose kernels land on them:
    output o takes input i where o = i·s − p + k·d."""
    import torch.nn.functional as F

    height, width = x.shape[-2:]
    reach = dilation * (weight.shape[-1] - 1)

    def crop(length: int, region: tuple[int, int]) -> tuple[int, int]:
        first = max(0, -(-(region[0] + padding - reach) // stride))
        last = min(length, (region[1] - 1 + padding) // stride + 1)
        return first, max(last, first + 1)

    top, bottom = crop(height, rows)
    left, right = crop(width, cols)
    out = F.conv_transpose2d(x[..., top:bottom, left:right], weight, stride=stride,
                             groups=groups, dilation=dilation)
    row0, col0 = top * stride - padding, left * stride - padding
    # outputs in a stride's gap beside the crop's kernels take nothing from any input: 0
    before_h, before_w = max(0, row0 - rows[0]), max(0, col0 - cols[0])
    after_h = max(0, rows[1] - row0 - out.shape[-2])
    after_w = max(0, cols[1] - col0 - out.shape[-1])
    if before_h or before_w or after_h or after_w:
        out = F.pad(out, (before_w, after_w, before_h, after_h))
        row0, col0 = row0 - before_h, col0 - before_w
    return out[..., rows[0] - row0:rows[1] - row0, cols[0] - col0:cols[1] - col0]
