import json
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from lab import conv
from lab.conv import ConvParams, ConvTransposeParams


@st.composite
def conv_params(draw):
    groups = draw(st.integers(1, 3))
    divisible = st.sampled_from([True, True, True, False])  # mostly settings torch accepts
    in_channels = draw(st.integers(1, 2)) * groups if draw(divisible) else draw(st.integers(1, 4))
    out_channels = draw(st.integers(1, 2)) * groups if draw(divisible) else draw(
        st.integers(1, 4))
    return ConvParams(
        in_channels=in_channels, out_channels=out_channels,
        kernel_h=draw(st.integers(1, 5)), kernel_w=draw(st.integers(1, 5)),
        stride=draw(st.integers(1, 3)),
        padding=draw(st.sampled_from([0, 1, 2, 3, "same"])),
        padding_mode=draw(st.sampled_from(list(conv.PADDING_MODES))),
        dilation=draw(st.integers(1, 3)), groups=groups,
        bias=draw(st.booleans()), relu=draw(st.booleans()), flip=draw(st.booleans()),
        presets=tuple(draw(st.lists(st.sampled_from(list(conv.PRESETS)), max_size=4))),
        biases=tuple(draw(st.lists(st.floats(-1, 1), max_size=4))),
        seed=draw(st.integers(0, 50)))


def torch_module(params: ConvParams, weight: torch.Tensor) -> nn.Module | None:
    """nn.Conv2d itself, with the panel's weights; None if torch refuses the settings."""
    try:
        module = nn.Conv2d(params.in_channels, params.out_channels,
                           (params.kernel_h, params.kernel_w), params.stride, params.padding,
                           params.dilation, params.groups, params.bias, params.padding_mode)
    except ValueError:
        return None
    with torch.no_grad():
        module.weight.copy_(weight.flip(-2, -1) if params.flip else weight)
        if params.bias:
            module.bias.copy_(conv.bias_tensor(params))
    return module


def run_torch(module: nn.Module, x: torch.Tensor, relu: bool) -> torch.Tensor | None:
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # 'same' with an even kernel
            out = module(x)
    except RuntimeError:
        return None
    return F.relu(out) if relu else out


@given(params=conv_params(), height=st.integers(1, 9), width=st.integers(1, 9),
       seed=st.integers(0, 1000))
def test_every_number_matches_nn_conv2d(params, height, width, seed):
    """validate() is empty exactly when torch accepts; then the maps, the output size and
    every cell's multiply-and-add agree with nn.Conv2d (padding modes, groups, 'same')."""
    x = torch.rand(1, params.in_channels, height, width,
                   generator=torch.Generator().manual_seed(seed))
    problems = params.validate(height, width)
    weight = conv.build_weight(params) if params.in_channels % params.groups == 0 else None
    module = torch_module(params, weight) if weight is not None else None
    expected = run_torch(module, x, params.relu) if module is not None else None
    assert (not problems) == (expected is not None), problems
    if problems:
        return
    assert weight.shape == params.weight_shape()
    out = conv.convolve(x, params, weight)
    assert out.shape[-2:] == params.output_shape(height, width)
    assert torch.allclose(out, expected, atol=1e-5)
    effective = conv.effective_weight(params, weight)
    bias = conv.bias_tensor(params)
    for o in range(out.shape[1]):
        for r in range(out.shape[2]):
            for c in range(out.shape[3]):
                e = conv.explain_conv_cell(x[0], effective, params, o, r, c, bias)
                # torch sums in float32: its rounding grows with the size of the products
                # (a cell that is exactly 0 here came out 1.1e-5 from 75 products)
                scale = max(1.0, sum(abs(t.x * t.w) for t in e.terms))
                assert e.value == pytest.approx(float(expected[0, o, r, c]), abs=1e-5 * scale)
                assert len(e.terms) == params.in_per_group * params.kernel_h * params.kernel_w
                # the window: dilation gaps, and padding cells exactly outside the input
                rows = sorted({t.in_row for t in e.terms})
                assert all(b - a == params.dilation for a, b in zip(rows, rows[1:],
                                                                    strict=False))
                for t in e.terms:
                    assert t.padding == (not (0 <= t.in_row < height and 0 <= t.in_col < width))


def test_padding_cells_take_their_values_from_the_padding_mode():
    values = conv.random_grid(4, 5, 3)
    for mode in conv.PADDING_MODES:
        params = ConvParams(1, 1, 3, 3, padding=2, padding_mode=mode)
        padded = conv.padded_grid(values, params)
        torch_mode = "constant" if mode == "zeros" else mode
        expected = F.pad(torch.tensor(values)[None, None], (2, 2, 2, 2), mode=torch_mode)
        assert np.array_equal(padded, expected[0, 0].numpy())
        e = conv.explain_conv_cell(values, torch.ones(1, 1, 3, 3), params, 0, 0, 0)
        for t in e.terms:
            assert t.x == padded[t.in_row + 2, t.in_col + 2]


def test_multiply_and_add_reads_like_arithmetic():
    values = np.array([[1, 2, 0], [3, 1, 1], [0, 2, 4.0]])
    kernel = np.array([[1, 0], [-1, 2.0]])
    params = ConvParams(1, 1, 2, 2, padding=0)
    e = conv.explain_conv_cell(values, kernel[None, None], params, 0, 1, 1)
    assert e.text.splitlines()[1:] == ["  at input rows 1…2, columns 1…2", "  = 1·1 + 1·0",
                                       "  + 2·(−1) + 4·2", "  = 7"]
    assert e.window == [(1, 1), (1, 2), (2, 1), (2, 2)] and e.value == 7
    padded = conv.explain_conv_cell(values, kernel[None, None], ConvParams(1, 1, 2, 2, padding=1),
                                    0, 0, 0)
    assert "[0]·1" in padded.text and "[ ] = a padding cell (zeros)" in padded.text
    dilated = conv.receptive_window(ConvParams(1, 1, 3, 3, stride=2, padding=1, dilation=2),
                                    1, 0)
    assert [(r, c) for _, _, r, c in dilated] == [(r, c) for r in (1, 3, 5) for c in (-1, 1, 3)]


def test_formula_shows_live_numbers():
    params = ConvParams(3, 8, 5, 3, stride=2, padding=1, dilation=2)
    text = params.formula_text(256, 128)
    assert "H_out = ⌊(256 + 2·1 − 2·(5−1) − 1) / 2⌋ + 1 = 125" in text
    assert "W_out = ⌊(128 + 2·1 − 2·(3−1) − 1) / 2⌋ + 1 = 63" in text
    # the dilated kernel size appears explicitly (issue 19): k′ = 5 + 4·1 = 9
    assert "k′ = k + (k−1)(d−1) = 5 + 4·1 = 9" in text
    assert params.output_shape(256, 128) == F.conv2d(
        torch.zeros(1, 3, 256, 128), torch.zeros(8, 3, 5, 3), None, 2, 1, 2).shape[-2:]
    same = ConvParams(kernel_h=4, kernel_w=4, padding="same").formula_text(10, 12)
    assert "top 1, bottom 2, left 1, right 2" in same and "= 10" in same


def test_invalid_settings_name_the_rule_with_the_numbers():
    (msg,) = ConvParams(1, 4, 3, 3, padding=0, groups=3).validate(8, 8)[:1]
    assert msg.startswith("groups must divide in_channels: 1 input channels")
    assert ConvParams(3, 4, groups=3).validate(8, 8) == [
        "groups must divide out_channels: 4 kernels cannot be split into 3 equal groups "
        "(4 / 3 = 1.33); use a multiple of 3 kernels"]
    assert "but stride = 2" in ConvParams(padding="same", stride=2).validate(8, 8)[0]
    (msg, _) = ConvParams(kernel_h=11, kernel_w=11, padding=1).validate(6, 6)
    assert msg.startswith("kernel larger than the padded input") and "6 + 2 = 8" in msg
    assert "= -2 ≤ 0" in msg
    assert "5 ≥ H = 5" in ConvParams(padding=5, padding_mode="reflect").validate(5, 9)[0]
    assert "6 > W = 5" in ConvParams(padding=6, padding_mode="circular").validate(9, 5)[0]
    assert ConvParams(stride=0).validate(5, 5) == ["stride must be at least 1 (got 0)"]
    assert ConvParams(presets=("nope",)).validate(5, 5) == ["unknown kernel preset 'nope'"]


def test_classic_presets_and_their_generalisations():
    assert conv.preset_kernel("sobel_x", 3, 3).tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert conv.preset_kernel("laplacian", 3, 3).tolist() == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    assert conv.preset_kernel("sharpen", 3, 3).tolist() == [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    assert conv.preset_kernel("emboss", 3, 3).tolist() == [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]
    for h, w in ((1, 1), (2, 5), (4, 4), (7, 3), (11, 11)):
        assert conv.preset_kernel("gaussian", h, w).sum() == pytest.approx(1, abs=1e-6)
        assert conv.preset_kernel("box", h, w).sum() == pytest.approx(1, abs=1e-6)
        for name in ("sobel_x", "sobel_y", "laplacian"):
            assert conv.preset_kernel(name, h, w).sum() == 0
        assert conv.preset_kernel("random", h, w, 1).shape == (h, w)
        # identity with 'same' padding reproduces the image, even for even sizes
        x = torch.rand(1, 1, 9, 8)
        params = ConvParams(1, 1, h, w, padding="same", presets=("identity",))
        assert torch.equal(conv.convolve(x, params), x)
    assert not np.array_equal(conv.preset_kernel("random", 3, 3, 1),
                              conv.preset_kernel("random", 3, 3, 2))


def test_sobel_x_is_positive_where_it_gets_brighter_to_the_right_unless_flipped():
    ramp = torch.arange(8.0).repeat(8, 1)[None, None]
    params = ConvParams(1, 1, presets=("sobel_x",), padding=0)
    assert (conv.convolve(ramp, params) > 0).all()
    flipped = ConvParams(1, 1, presets=("sobel_x",), padding=0, flip=True)
    assert (conv.convolve(ramp, flipped) < 0).all()


def test_weights_follow_presets_edits_and_groups():
    params = ConvParams(3, 6, 3, 3, groups=3, presets=("identity", "random"),
                        edits=((0, 0, 0, 0, 5.0), (9, 0, 0, 0, 1.0), (0, 2, 0, 0, 1.0)))
    weight = conv.build_weight(params)
    assert weight.shape == (6, 1, 3, 3)
    assert weight[0, 0, 0, 0] == 5 and weight[0, 0, 1, 1] == 1
    assert params.preset_for(2) == conv.DEFAULT_PRESETS[2]
    unrounded = weight[1].numpy() * 100
    assert np.allclose(unrounded, np.round(unrounded), atol=1e-3)  # 2 decimals
    rgb = conv.build_weight(ConvParams(3, 1, presets=("random",)))
    assert not torch.equal(rgb[0, 0], rgb[0, 1])  # each input channel its own kernel


def test_exported_code_reproduces_the_maps():
    x = torch.rand(1, 3, 17, 14)
    for params in (ConvParams(),
                   ConvParams(3, 5, 4, 2, stride=2, padding=3, padding_mode="reflect",
                              dilation=2, bias=True, biases=(0.25, -1), relu=True, flip=True,
                              presets=("random", "gaussian", "sobel_y"),
                              edits=((0, 1, 0, 1, 0.123456789),)),
                   ConvParams(3, 3, 4, 4, padding="same", groups=3, padding_mode="circular"),
                   ConvParams(1, 2, 11, 11, padding=5, padding_mode="replicate")):
        image = x[:, :params.in_channels]
        weight = conv.build_weight(params)
        code = conv.conv_code(params, weight, tuple(image.shape[1:]))
        scope: dict = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # 'same' with an even kernel
            exec(compile(code, "<export>", "exec"), scope)
            assert scope["y"].shape == conv.convolve(image, params, weight).shape
            with torch.no_grad():
                from_code = scope["model"](image)
        assert torch.allclose(from_code, conv.convolve(image, params, weight), atol=1e-6)
        assert params.module_line() in code


def test_a_percentile_scale_saturates_the_few_strongest_values():
    maps = torch.cat([torch.linspace(-1, 1, 99), torch.tensor([100.0])]).reshape(1, 10, 10)
    colours = conv.diverging_indices(maps, shared=False, percentile=99.0)
    bound = float(torch.quantile(maps.abs().flatten(), 0.99))
    assert colours.bounds[0] == pytest.approx(bound) and bound < 3
    expected = np.clip(maps.numpy() * 127.5 / bound + 128, 0.5, 255.5).astype(np.uint8)
    assert np.array_equal(colours.indices, expected)
    assert colours.indices[0, -1, -1] == 255  # the outlier saturates
    assert colours.ranges[0] == (-1.0, 100.0)  # the titles still give the true range
    sparse = torch.zeros(1, 20, 20)  # all but one pixel 0: the 99th percentile is 0
    sparse[0, 0, 0] = 2.0
    zeros = conv.diverging_indices(sparse, shared=False, percentile=99.0)
    assert zeros.bounds[0] == pytest.approx(2.0)  # percentile 0: the max instead


def test_diverging_indices_centre_zero():
    maps = torch.tensor([[[-2.0, 0.0, 1.0]], [[0.5, 0.25, 0.0]]])
    shared = conv.diverging_indices(maps, shared=True)
    assert shared.bounds == [2.0, 2.0]
    assert shared.indices.tolist() == [[[0, 128, 191]], [[159, 143, 128]]]
    each = conv.diverging_indices(maps, shared=False)
    assert each.bounds == [2.0, 0.5] and each.indices[1].tolist() == [[255, 191, 128]]
    assert each.ranges == [(-2.0, 1.0), (0.0, 0.5)]
    flat = conv.diverging_indices(torch.zeros(1, 2, 2))
    assert (flat.indices == 128).all()
    big = torch.randn(3, 9, 10)
    every = conv.diverging_indices(big, shared=False)
    third = conv.diverging_indices(big, shared=False, step=3)
    assert np.array_equal(third.indices, every.indices[:, ::3, ::3])
    assert third.bounds == every.bounds and third.ranges == every.ranges


def test_output_rect_centres_each_output_on_its_window():
    params = ConvParams(kernel_h=3, kernel_w=5, stride=2, padding=1)
    x, y, w, h = params.output_rect(20, 30)
    # output column 0 covers input columns -1..3, centre 1.5 (pixel-edge coordinates)
    assert x + params.stride / 2 == pytest.approx(1.5) and w == 2 * params.output_shape(20, 30)[1]
    assert y + params.stride / 2 == pytest.approx(0.5)


def test_grid_csv():
    text = conv.grid_csv([("input", np.eye(2)), ("kernel", np.array([[0.5]]))])
    assert text.replace("\r", "").splitlines() == ["input", "1,0", "0,1", "", "kernel", "0.5"]


def test_params_round_trip_through_json():
    params = ConvParams(padding="same", presets=("box", "random"), biases=(0.5,),
                        edits=((0, 0, 1, 1, 2.0),))
    assert ConvParams.from_json(json.loads(json.dumps(params.to_json()))) == params


# ------------------------------------------------------------------ transposed

@st.composite
def transposed_params(draw):
    groups = draw(st.integers(1, 3))
    return ConvTransposeParams(
        in_channels=draw(st.integers(1, 3)) * (groups if draw(st.booleans()) else 1),
        out_channels=draw(st.integers(1, 3)) * groups,
        kernel_h=draw(st.integers(1, 4)), kernel_w=draw(st.integers(1, 4)),
        stride=draw(st.integers(1, 3)), padding=draw(st.integers(0, 3)),
        output_padding=draw(st.integers(0, 2)), dilation=draw(st.integers(1, 3)),
        groups=groups, bias=draw(st.booleans()))


@given(params=transposed_params(), height=st.integers(1, 5), width=st.integers(1, 5),
       seed=st.integers(0, 1000))
def test_transposed_numbers_match_conv_transpose2d(params, height, width, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(-3, 4, (1, params.in_channels, height, width), generator=gen).double()
    problems = params.validate(height, width)
    try:
        weight = torch.randint(-2, 3, params.weight_shape(), generator=gen).double()
        bias = torch.randn(params.out_channels, generator=gen).double() if params.bias else None
        expected = F.conv_transpose2d(x, weight, bias, params.stride, params.padding,
                                      params.output_padding, params.groups, params.dilation)
    except RuntimeError:
        expected = None
    assert (not problems) == (expected is not None), problems
    if problems:
        return
    out = conv.conv_transpose(x, weight, params, bias)
    assert out.shape[-2:] == params.output_shape(height, width)
    assert torch.equal(out, expected)
    for o in range(out.shape[1]):
        for r in range(out.shape[2]):
            for c in range(out.shape[3]):
                e = conv.explain_transposed_cell(x[0], weight, params, o, r, c, bias)
                assert e.value == pytest.approx(float(expected[0, o, r, c]), abs=1e-9)
    # the scatter view: every input cell's contributions add up to the output
    if params.groups == 1 and params.out_channels == 1:
        rebuilt = np.zeros(out.shape[-2:])
        for i in range(height):
            for j in range(width):
                for channel in range(params.in_channels):
                    terms, _ = conv.explain_transposed_input(x[0], weight, params, i, j, channel)
                    for t in terms:
                        rebuilt[t.out_row, t.out_col] += t.x * t.w
        if bias is not None:
            rebuilt += float(bias[0])
        assert np.allclose(rebuilt, out[0, 0].numpy())


def test_transposed_explanations_and_rules():
    params = ConvTransposeParams(kernel_h=3, kernel_w=3, stride=2, padding=1, output_padding=1)
    values = np.array([[1, 2], [3, 4.0]])
    kernel = np.arange(9.0).reshape(1, 1, 3, 3)
    assert params.output_shape(2, 2) == (4, 4)
    assert "H_out = (2 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 4" in params.formula_text(2, 2)
    e = conv.explain_transposed_cell(values, kernel, params, 0, 1, 1)
    assert e.text.splitlines()[0] == ("out[1, 1] = x[1, 1]·w[0, 0] + x[1, 0]·w[0, 2] + "
                                      "x[0, 1]·w[2, 0] + x[0, 0]·w[2, 2]")
    assert e.value == 4 * 0 + 3 * 2 + 2 * 6 + 1 * 8
    terms, text = conv.explain_transposed_input(values, kernel, params, 0, 0)
    assert {(t.out_row, t.out_col) for t in terms} == {(r, c) for r in (0, 1) for c in (0, 1)}
    assert "5 kernel cells land outside the output: cropped by padding p = 1" in text
    assert "output_padding must be smaller than the stride or the dilation" in \
        ConvTransposeParams(stride=2, output_padding=2).validate(3, 3)[0]
    assert "output size must be at least 1" in ConvTransposeParams(
        kernel_h=1, kernel_w=1, stride=1, padding=1).validate(1, 1)[0]


def test_grid_code_reproduces_both_grids():
    values = conv.random_grid(5, 5, 1)
    kernel = conv.grid_kernel("random", 3, 2)
    for params in (ConvParams(1, 1, 3, 3, stride=2, padding=2, padding_mode="reflect",
                              dilation=1, bias=True, biases=(1.5,)),
                   ConvTransposeParams(kernel_h=3, kernel_w=3, stride=3, padding=1,
                                       output_padding=2, dilation=1)):
        scope: dict = {}
        exec(compile(conv.grid_code(values, kernel, params), "<export>", "exec"), scope)
        expected = (conv.conv_grid(values, kernel, params) if isinstance(params, ConvParams)
                    else conv.transposed_grid(values, kernel, params))
        assert np.array_equal(scope["out"][0, 0].numpy(), expected)


def test_grid_kernels_are_integers_and_numbers_read_well():
    for name in conv.GRID_KERNELS:
        kernel = conv.grid_kernel(name, 3, 4)
        assert np.array_equal(kernel, np.round(kernel))
    assert [conv.format_number(v) for v in (3.0, -2.0, 0.25, -0.0, math.inf)] == [
        "3", "−2", "0.25", "0", "∞"]
    assert conv.code_number(0.1) == "0.1" and conv.code_number64(2.0) == "2"
    assert conv.divisors(12) == [1, 2, 3, 4, 6, 12]


@settings(max_examples=25)
@given(kernel=st.integers(1, 5), stride=st.integers(1, 3), padding=st.sampled_from([0, 1, 2,
                                                                                    "same"]),
       mode=st.sampled_from(list(conv.PADDING_MODES)), dilation=st.integers(1, 2),
       flags=st.tuples(st.booleans(), st.booleans(), st.booleans()), step=st.integers(1, 5),
       size=st.integers(6, 24), data=st.data())
def test_the_shown_feature_map_pixels_are_the_layers_own(kernel, stride, padding, mode,
                                                         dilation, flags, step, size, data):
    """A view's pixels (every step-th, any region) equal the whole convolution's there,
    with flips, biases, ReLU, 'same' padding and every padding mode."""
    from lab.display_resolution import Sampling

    flip, bias, relu = flags
    params = ConvParams(3, 4, kernel, kernel, stride=1 if padding == "same" else stride,
                        padding=padding, padding_mode=mode, dilation=dilation, bias=bias,
                        relu=relu, flip=flip, presets=("random", "sobel_x", "identity", "box"),
                        biases=(0.5, -0.25, 1.0, 0.0))
    assume(not params.validate(size, size + 3))
    x = torch.rand(1, 3, size, size + 3)
    full = conv.convolve(x, params)
    out_h, out_w = full.shape[-2:]
    row0 = data.draw(st.integers(0, out_h - 1))
    rows = Sampling(row0, data.draw(st.integers(row0 + 1, out_h)), step)
    cols = Sampling.whole(out_w, step)
    shown = conv.convolve_shown(x, params, None, rows, cols)
    torch.testing.assert_close(shown, full[..., rows.start:rows.stop:step, ::step],
                               rtol=1e-5, atol=1e-5)


@settings(max_examples=15)
@given(kernel=st.integers(1, 4), stride=st.integers(1, 3), padding=st.sampled_from([0, 1,
                                                                                   "same"]),
       mode=st.sampled_from(list(conv.PADDING_MODES)),
       flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
       band_values=st.integers(1, 400), size=st.integers(6, 20))
def test_every_pixel_a_band_at_a_time_is_the_whole_convolution(kernel, stride, padding, mode,
                                                               flags, band_values, size):
    """The full result (statistics, export) computed in bands of rows: the same maps and
    the same min and max as the one torch call, whatever the band's height."""
    flip, bias, relu = flags
    params = ConvParams(3, 4, kernel, kernel, stride=1 if padding == "same" else stride,
                        padding=padding, padding_mode=mode, bias=bias, relu=relu, flip=flip,
                        presets=("random", "sobel_x", "identity", "box"),
                        biases=(0.5, -0.25, 1.0, 0.0))
    assume(not params.validate(size, size + 3))
    x = torch.rand(1, 3, size, size + 3)
    full = conv.convolve(x, params)
    bands = list(conv.convolve_bands(x, params, band_values=band_values))
    assert [start for start, _ in bands] == sorted({start for start, _ in bands})
    torch.testing.assert_close(torch.cat([band for _, band in bands], dim=-2), full,
                               rtol=1e-5, atol=1e-5)
    ranges = conv.map_ranges(x, params, band_values=band_values)
    expected = [(float(m.min()), float(m.max())) for m in full[0]]
    assert np.allclose(ranges, expected, rtol=1e-5, atol=1e-5)
