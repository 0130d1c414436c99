"""The shown pixels are the full-resolution torch result's pixels: `pool_sampled` and
`conv_sampled` against the bare torch calls on the whole tensor, sliced."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lab.display_resolution import (
    Sampling,
    conv_rows,
    conv_sampled,
    conv_transpose_region,
    display_step,
    interpolate_region,
    pool_gathered,
    pool_sampled,
    visible_sampling,
)
from lab.geometry import conv_length, pooled_length


@st.composite
def samplings(draw, length: int) -> Sampling:
    step = draw(st.integers(1, 6))
    start = draw(st.integers(0, length - 1))
    if draw(st.booleans()):
        start -= start % step  # the aligned grid the panels use; unaligned must work too
    stop = draw(st.integers(start + 1, length))
    return Sampling(start, stop, step)


def _sliced(full: torch.Tensor, rows: Sampling, cols: Sampling) -> torch.Tensor:
    return full[..., rows.start:rows.stop:rows.step, cols.start:cols.stop:cols.step]


@given(data=st.data(), kind=st.sampled_from(["max", "avg", "lp"]), kernel=st.integers(1, 5),
       stride=st.integers(1, 4), dilation=st.integers(1, 3), ceil_mode=st.booleans(),
       count_include_pad=st.booleans(), norm_type=st.sampled_from([1.0, 2.0, 3.0]),
       height=st.integers(1, 40), width=st.integers(1, 40))
def test_pooled_pixels_equal_the_full_pooling(data, kind, kernel, stride, dilation, ceil_mode,
                                              count_include_pad, norm_type, height, width):
    padding = data.draw(st.integers(0, kernel // 2)) if kind != "lp" else 0
    dilation = dilation if kind == "max" else 1
    out_h, out_w = (pooled_length(n, kernel, stride, padding, dilation, ceil_mode)
                    for n in (height, width))
    assume(out_h >= 1 and out_w >= 1)
    x = torch.rand(1, 2, height, width)

    def call(tensor, strides, paddings):
        if kind == "max":
            return F.max_pool2d(tensor, kernel, strides, paddings, dilation, ceil_mode)
        if kind == "avg":
            return F.avg_pool2d(tensor, kernel, strides, paddings, ceil_mode, count_include_pad)
        return F.lp_pool2d(tensor, norm_type, kernel, strides, ceil_mode)

    full = call(x, (stride, stride), (padding, padding))
    assert full.shape[-2:] == (out_h, out_w)
    rows, cols = data.draw(samplings(out_h)), data.draw(samplings(out_w))
    shown = pool_sampled(x, call, kernel, stride, padding, dilation, rows, cols)
    torch.testing.assert_close(shown, _sliced(full, rows, cols), rtol=1e-6, atol=1e-7)


@given(data=st.data(), kernel=st.integers(1, 5), stride=st.integers(1, 4),
       ceil_mode=st.booleans(), norm_type=st.sampled_from([1.0, 2.0, 3.0]),
       height=st.integers(1, 30), width=st.integers(1, 30))
def test_gathered_lp_pooling_equals_the_full_pooling(data, kernel, stride, ceil_mode,
                                                     norm_type, height, width):
    out_h, out_w = (pooled_length(n, kernel, stride, 0, 1, ceil_mode) for n in (height, width))
    assume(out_h >= 1 and out_w >= 1)
    x = torch.rand(1, 2, height, width)

    def call(tensor, strides, _paddings):
        return F.lp_pool2d(tensor, norm_type, kernel, strides, ceil_mode)

    full = call(x, (stride, stride), None)
    rows, cols = data.draw(samplings(out_h)), data.draw(samplings(out_w))
    shown = pool_gathered(x, call, kernel, stride, rows, cols)
    torch.testing.assert_close(shown, _sliced(full, rows, cols), rtol=1e-6, atol=1e-7)


def _reference_conv(x, weight, stride, padding, dilation, groups, mode):
    (top, bottom), (left, right) = padding
    if mode == "zeros" and top == bottom and left == right:
        return F.conv2d(x, weight, None, stride, (top, left), dilation, groups)
    padded = F.pad(x, (left, right, top, bottom),
                   mode="constant" if mode == "zeros" else mode)
    return F.conv2d(padded, weight, None, stride, 0, dilation, groups)


@given(data=st.data(), mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
       kernel_h=st.integers(1, 5), kernel_w=st.integers(1, 5), stride=st.integers(1, 4),
       dilation=st.integers(1, 3), groups=st.sampled_from([1, 2]), same=st.booleans(),
       height=st.integers(1, 30), width=st.integers(1, 30))
def test_convolved_pixels_equal_the_full_convolution(data, mode, kernel_h, kernel_w, stride,
                                                     dilation, groups, same, height, width):
    if same:  # 'same': d·(k−1) in all, the odd cell after, as torch
        stride = 1
        padding = tuple((dilation * (k - 1) // 2, dilation * (k - 1) - dilation * (k - 1) // 2)
                        for k in (kernel_h, kernel_w))
    else:
        p = data.draw(st.integers(0, 3))
        padding = ((p, p), (p, p))
    (top, bottom), (left, right) = padding
    if mode == "reflect":
        assume(max(top, bottom) < height and max(left, right) < width)
    if mode == "circular":
        assume(max(top, bottom) <= height and max(left, right) <= width)
    out_h = conv_length(height, kernel_h, stride, top + bottom, dilation)
    out_w = conv_length(width, kernel_w, stride, left + right, dilation)
    assume(out_h >= 1 and out_w >= 1)
    x = torch.randn(1, 2, height, width)
    weight = torch.randn(4, 2 // groups, kernel_h, kernel_w)
    full = _reference_conv(x, weight, stride, padding, dilation, groups, mode)
    assert full.shape[-2:] == (out_h, out_w)
    rows, cols = data.draw(samplings(out_h)), data.draw(samplings(out_w))
    shown = conv_sampled(x, weight, None, stride, padding, dilation, groups, mode, rows, cols)
    torch.testing.assert_close(shown, _sliced(full, rows, cols), rtol=1e-5, atol=1e-5)


@settings(max_examples=25)
@given(data=st.data(), mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
       kernel=st.integers(1, 5), stride=st.integers(1, 3), dilation=st.integers(1, 3),
       same=st.booleans(), height=st.integers(1, 24), width=st.integers(1, 24))
def test_a_band_of_rows_equals_those_rows_of_the_full_convolution(data, mode, kernel, stride,
                                                                   dilation, same, height,
                                                                   width):
    if same:
        stride = 1
        total = dilation * (kernel - 1)
        padding = ((total // 2, total - total // 2),) * 2
    else:
        p = data.draw(st.integers(0, 3))
        padding = ((p, p), (p, p))
    (top, bottom), (left, right) = padding
    if mode == "reflect":
        assume(max(top, bottom) < height and max(left, right) < width)
    if mode == "circular":
        assume(max(top, bottom) <= height and max(left, right) <= width)
    out_h = conv_length(height, kernel, stride, top + bottom, dilation)
    assume(out_h >= 1 and conv_length(width, kernel, stride, left + right, dilation) >= 1)
    x = torch.randn(1, 2, height, width)
    weight, bias = torch.randn(3, 2, kernel, kernel), torch.randn(3)
    full = _reference_conv(x, weight, stride, padding, dilation, 1, mode) + bias[:, None, None]
    start = data.draw(st.integers(0, out_h - 1))
    stop = data.draw(st.integers(start + 1, out_h))
    band = conv_rows(x, weight, bias, stride, padding, dilation, 1, mode, start, stop)
    torch.testing.assert_close(band, full[..., start:stop, :], rtol=1e-5, atol=1e-5)


def test_a_bias_is_added_once_per_output():
    x = torch.randn(1, 3, 12, 10)
    weight, bias = torch.randn(2, 3, 3, 3), torch.tensor([0.5, -2.0])
    rows, cols = Sampling(1, 10, 3), Sampling(0, 8, 2)
    shown = conv_sampled(x, weight, bias, 1, ((1, 1), (1, 1)), 1, 1, "zeros", rows, cols)
    torch.testing.assert_close(shown, _sliced(F.conv2d(x, weight, bias, 1, 1), rows, cols))


def test_a_big_image_fitted_in_a_tile_computes_a_small_map():
    x = torch.rand(1, 3, 1024, 1024)
    rows = cols = Sampling.whole(1024, display_step(1024 / 300, 1))
    shown = pool_sampled(x, lambda t, s, p: F.max_pool2d(t, 3, s, p), 3, 1, 1, 1, rows, cols)
    assert shown.shape[-2:] == (rows.count, cols.count) == (342, 342)
    torch.testing.assert_close(shown, _sliced(F.max_pool2d(x, 3, 1, 1), rows, cols))


def test_an_unknown_padding_mode_is_refused():
    with pytest.raises(ValueError, match="padding mode"):
        conv_sampled(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 3, 3), None, 1, ((1, 1), (1, 1)),
                     1, 1, "mirror", Sampling(0, 4), Sampling(0, 4))


def test_the_visible_outputs_follow_the_view_on_the_steps_grid():
    # outputs of stride 2 drawn from x = -0.5: output i covers [-0.5 + 2i, 1.5 + 2i)
    shown = visible_sampling(100, -0.5, 2, 31.0, 61.0, step=4)
    assert (shown.start, shown.step) == (12, 4)  # output 15 starts the view; 12 is on grid
    assert shown.stop == 31
    assert visible_sampling(100, 0, 1, -50, 500, 1) == Sampling(0, 100, 1)
    off = visible_sampling(10, 0, 1, 200, 300, 3)  # panned away: still one pixel to draw
    assert off.count == 1 and off.start % 3 == 0


def test_the_display_step_is_the_output_pixels_per_screen_pixel():
    assert display_step(13.9, 1) == 13
    assert display_step(13.9, 2) == 6
    assert display_step(0.5, 1) == 1
    assert Sampling(0, 10, 3).count == 4 and Sampling(0, 10, 3).last == 9
    assert Sampling.whole(5).covers(5) and not Sampling.whole(5, 2).covers(5)


@st.composite
def regions(draw, length: int) -> tuple[int, int]:
    start = draw(st.integers(0, length - 1))
    return start, draw(st.integers(start + 1, length))


@settings(max_examples=30)
@given(data=st.data(), mode=st.sampled_from(["nearest", "bilinear", "bicubic"]),
       align_corners=st.booleans(), by_size=st.booleans(), factor=st.integers(1, 8),
       height=st.integers(1, 24), width=st.integers(1, 24))
def test_an_upsampled_region_equals_that_region_of_the_whole_call(data, mode, align_corners,
                                                                  by_size, factor, height,
                                                                  width):
    """A zoomed-in view of an enlarged image computes only the region it shows, at full
    resolution: the same pixels as F.interpolate on the whole input (scale factor or
    target size, either corner convention)."""
    x = torch.randn(1, 2, height, width)
    size = (data.draw(st.integers(1, 70)), data.draw(st.integers(1, 70))) if by_size else None
    kwargs = {} if mode == "nearest" else {"align_corners": align_corners}
    if size is None:
        full = F.interpolate(x, scale_factor=factor, mode=mode, **kwargs)
    else:
        full = F.interpolate(x, size=size, mode=mode, **kwargs)
    rows, cols = data.draw(regions(full.shape[-2])), data.draw(regions(full.shape[-1]))
    shown = interpolate_region(x, mode, size, None if by_size else factor, align_corners,
                               rows, cols)
    expected = full[..., rows[0]:rows[1], cols[0]:cols[1]]
    if mode == "nearest":
        assert torch.equal(shown, expected)
    else:
        torch.testing.assert_close(shown, expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=30)
@given(data=st.data(), kernel=st.integers(1, 6), stride=st.integers(1, 4),
       dilation=st.integers(1, 2), groups=st.sampled_from([1, 2]), height=st.integers(1, 16),
       width=st.integers(1, 16))
def test_a_transposed_convolution_region_equals_that_region_of_the_whole_call(
        data, kernel, stride, dilation, groups, height, width):
    padding = data.draw(st.integers(0, dilation * (kernel - 1)))
    x = torch.randn(1, 2, height, width)
    weight = torch.randn(2, 3 // groups if groups == 1 else 1, kernel, kernel)
    assume(all((n - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1 >= 1
               for n in (height, width)))
    full = F.conv_transpose2d(x, weight, stride=stride, padding=padding, groups=groups,
                              dilation=dilation)
    rows, cols = data.draw(regions(full.shape[-2])), data.draw(regions(full.shape[-1]))
    shown = conv_transpose_region(x, weight, stride, padding, groups, rows, cols, dilation)
    torch.testing.assert_close(shown, full[..., rows[0]:rows[1], cols[0]:cols[1]],
                               rtol=1e-5, atol=1e-5)
