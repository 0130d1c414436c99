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
