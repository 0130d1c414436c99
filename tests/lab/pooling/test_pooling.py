import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lab import pooling
from lab.pooling import PoolParams, UpsampleParams

pool_params = st.builds(
    PoolParams,
    kind=st.sampled_from(list(pooling.POOL_KINDS)),
    kernel_size=st.integers(1, 6), stride=st.integers(1, 5), padding=st.integers(0, 3),
    dilation=st.integers(1, 3), ceil_mode=st.booleans(), count_include_pad=st.booleans(),
    norm_type=st.sampled_from([1.0, 1.5, 2.0, 3.0]), output_size=st.integers(1, 12))


def torch_accepts(values: np.ndarray, params: PoolParams) -> bool:
    try:
        pooling.pool_grid(values, params)
    except RuntimeError:
        return False
    return True


@given(params=pool_params, size=st.integers(4, 16), seed=st.integers(0, 10_000))
def test_validate_agrees_with_torch_and_cells_are_explained_exactly(params, size, seed):
    values = pooling.random_grid(size, seed)
    problems = params.validate(size, size)
    assert (not problems) == torch_accepts(values, params), problems
    if problems:
        return
    result = pooling.pool_grid(values, params)
    assert result.output.shape == params.output_shape(size, size)
    for r in range(result.output.shape[0]):
        for c in range(result.output.shape[1]):
            explanation = pooling.explain_cell(values, params, r, c)
            assert explanation.value == pytest.approx(result.output[r, c], rel=1e-9, abs=1e-12)
            if result.indices is not None:
                row, col = explanation.chosen
                assert row * size + col == result.indices[r, c]
                assert values[row, col] == result.output[r, c]


def test_explanations_read_like_arithmetic():
    values = np.array([[1, 7], [3, 5.0]])
    e = pooling.explain_cell(values, PoolParams("max", 2, 2), 0, 0)
    assert e.text.startswith("max(1, 7, 3, 5) = 7 at input row 0, column 1")
    assert e.window == [(0, 0), (0, 1), (1, 0), (1, 1)] and e.chosen == (0, 1)
    e = pooling.explain_cell(values, PoolParams("avg", 2, 2), 0, 0)
    assert e.text == "(1 + 7 + 3 + 5) / 4 = 16 / 4 = 4"
    e = pooling.explain_cell(values, PoolParams("avg", 2, 2, padding=1), 0, 0)
    assert e.window == [(-1, -1), (-1, 0), (0, -1), (0, 0)] and e.inside == [(0, 0)]
    assert e.value == 0.25 and "3 padding zeros" in e.text


def test_dilated_window_skips_cells():
    values = pooling.random_grid(9, 1)
    e = pooling.explain_cell(values, PoolParams("max", 3, 1, dilation=2), 0, 0)
    assert e.window == [(r, c) for r in (0, 2, 4) for c in (0, 2, 4)]


@pytest.mark.parametrize("size,k,s,p,d,ceil", [(7, 3, 2, 1, 1, True), (8, 2, 2, 0, 1, False),
                                               (9, 3, 2, 0, 2, True), (5, 2, 3, 1, 1, True)])
def test_pooled_length_matches_torch(size, k, s, p, d, ceil):
    out = F.max_pool2d(torch.zeros(1, 1, size, size), k, s, p, d, ceil)
    assert pooling.pooled_length(size, k, s, p, d, ceil) == out.shape[-1]


def test_formula_shows_live_numbers():
    params = PoolParams("max", kernel_size=3, stride=2, padding=1)
    text = params.formula_text(256, 128)
    assert "H_out = ⌊(256 + 2·1 − 1·(3−1) − 1) / 2⌋ + 1 = 128" in text
    assert "W_out = ⌊(128 + 2·1 − 1·(3−1) − 1) / 2⌋ + 1 = 64" in text
    assert "⌈" in PoolParams("max", 3, 2, ceil_mode=True).formula_text(9, 9)
    # the numeric grid's formula too: the learner looks at an 8×8 grid, not at 256 (issue 19)
    assert "numeric grid: 8×8 → out = ⌊(8 + 2·1 − 1·(3−1) − 1) / 2⌋ + 1 = 4" in \
        params.formula_text(256, 128, grid=8)


def test_invalid_combinations_name_the_rule():
    (msg,) = PoolParams("max", kernel_size=2, stride=1, padding=2).validate(8, 8)
    assert "padding must be at most half the kernel size" in msg and "p = 2" in msg
    (msg,) = PoolParams("avg", kernel_size=7, stride=1).validate(5, 5)
    assert "output size must be at least 1" in msg and "= -1" in msg
    assert PoolParams("lp", norm_type=0).validate(8, 8) == ["LP pool needs p > 0 (got p = 0)"]
    assert PoolParams("max", kernel_size=0).validate(8, 8)[0].startswith("kernel size must")


def test_max_unpool_restores_maxima_in_place():
    values = pooling.random_grid(8, 3)
    for params in (PoolParams("max", 2, 2), PoolParams("max", 3, 2, 1, 2, True),
                   PoolParams("adaptive_max", output_size=3)):
        result = pooling.pool_grid(values, params)
        nonzero = result.unpooled != 0
        assert np.array_equal(result.unpooled[nonzero], values[nonzero])
        assert sorted(result.unpooled[nonzero]) == sorted(
            values.flatten()[np.unique(result.indices)][values.flatten()[
                np.unique(result.indices)] != 0])


@settings(max_examples=25)
@given(params=pool_params, size=st.integers(4, 12), seed=st.integers(0, 1000))
def test_unpooled_grid_is_max_unpool2d(params, size, seed):
    values = pooling.random_grid(size, seed)
    params = PoolParams("max", params.kernel_size, params.stride, params.padding,
                        params.dilation, params.ceil_mode)
    assume(not params.validate(size, size))
    result = pooling.pool_grid(values, params)
    x = torch.as_tensor(values)[None, None]
    out, idx = F.max_pool2d(x, params.kernel_size, params.stride, params.padding,
                            params.dilation, params.ceil_mode, return_indices=True)
    expected = F.max_unpool2d(out, idx, params.unpool_kernel_size, params.stride,
                              params.padding, output_size=values.shape)
    assert np.array_equal(result.unpooled, expected[0, 0].numpy())


@pytest.mark.slow
def test_the_numeric_grid_imports_no_sympy():
    """F.max_unpool2d's size check imports sympy (through torch.fx): ~1 s of the Pooling
    panel's first result. pool_grid calls the same kernel without it."""
    import subprocess
    import sys

    script = ("import sys\nfrom lab import pooling\n"
              "pooling.pool_grid(pooling.random_grid(8, 0), pooling.PoolParams('max', 2, 2))\n"
              "print('sympy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "False"


def test_image_pooling_is_torchs():
    x = torch.rand(1, 3, 40, 50)
    params = PoolParams("lp", kernel_size=3, stride=2, norm_type=2.0, ceil_mode=True)
    assert torch.equal(pooling.pool(x, params), F.lp_pool2d(x, 2.0, 3, 2, ceil_mode=True))
    params = PoolParams("adaptive_avg", output_size=7)
    assert torch.equal(pooling.pool(x, params), F.adaptive_avg_pool2d(x, 7))


def test_output_rect_centres_each_output_on_its_window():
    params = PoolParams("max", kernel_size=3, stride=2, padding=1)
    x, y, w, h = pooling.output_rect(params, 10, 10)
    # output cell 0 covers input rows -1..1 (centre 0.5 in pixel-edge coordinates)
    assert x + params.stride / 2 == pytest.approx(0.5) and w == 5 * 2


def test_exported_pooling_code_reproduces_the_grid():
    values = pooling.random_grid(7, 5)
    for params in (PoolParams("max", 3, 2, 1, 1, True), PoolParams("avg", 2, 1, 1),
                   PoolParams("lp", 2, 2, norm_type=3.0), PoolParams("adaptive_max",
                                                                     output_size=3)):
        code = pooling.pooling_code(params, (3, 32, 32), values)
        scope: dict = {}
        exec(compile(code, "<export>", "exec"), scope)
        assert scope["y"].shape[-2:] == params.output_shape(32, 32)
        expected = pooling.pool_grid(values, params)
        assert np.allclose(scope["out"][0, 0].double().numpy(), expected.output, atol=1e-5)
        if params.kind == "max":
            assert np.allclose(scope["restored"][0, 0].numpy(), expected.unpooled)


def test_grid_csv_has_every_block():
    result = pooling.pool_grid(pooling.random_grid(4, 0), PoolParams("max", 2, 2))
    text = pooling.grid_csv(result)
    assert [line for line in text.splitlines() if line and not line[0].isdigit()] == [
        "input", "output", "argmax indices", "MaxUnpool2d"]


# ------------------------------------------------------------------ upsampling

def test_pixelshuffle_of_subpixel_channels_is_bilinear():
    image = torch.rand(3, 40, 40)
    for factor in (2, 3, 4):
        result = pooling.upsample_all(image, UpsampleParams(scale_factor=factor, patch_size=16))
        assert torch.allclose(result.outputs["PixelShuffle"], result.outputs["bilinear"],
                              atol=1e-5)


def test_transposed_conv_with_ones_is_nearest_and_bilinear_kernel_sizes_match():
    image = torch.rand(1, 30, 30)
    result = pooling.upsample_all(image, UpsampleParams(3, patch_size=10,
                                                        transposed_init="nearest"))
    assert torch.allclose(result.outputs["ConvTranspose2d"], result.outputs["nearest"])
    for factor in range(1, 9):
        params = UpsampleParams(factor, patch_size=6)
        out = pooling.upsample_all(image, params).outputs["ConvTranspose2d"]
        assert out.shape[-1] == 6 * factor
        assert str(6 * factor) in params.transposed_formula()


def test_interpolate_modes_and_target_size():
    image = torch.rand(3, 50, 60)
    params = UpsampleParams(target_size=45, patch_size=20, align_corners=True)
    result = pooling.upsample_all(image, params)
    patch = result.patch[None]
    assert torch.equal(result.outputs["bicubic"],
                       F.interpolate(patch, size=(45, 45), mode="bicubic", align_corners=True)[0])
    assert result.outputs["nearest"].shape[-1] == 45
    assert params.integer_factor() == 2 and result.outputs["PixelShuffle"].shape[-1] == 40


def test_patch_box_stays_inside_and_finds_detail():
    assert pooling.patch_box(100, 80, 32, (0.0, 1.0)) == (0, 48, 32, 32)
    assert pooling.patch_box(10, 10, 32, (0.5, 0.5)) == (0, 0, 10, 10)
    image = torch.zeros(1, 100, 100)
    image[0, 70:80, 10:20] = torch.rand(10, 10)
    y, x = pooling.most_detailed_center(image, 16)
    assert 0.6 < y < 0.9 and 0.0 < x < 0.3


def test_upsample_validation_and_code():
    assert UpsampleParams(scale_factor=9).validate(10, 10)
    assert UpsampleParams(patch_size=1).validate(10, 10)
    params = UpsampleParams(2, patch_size=8, transposed_init="random", center=(0.3, 0.6))
    code = pooling.upsample_code(params, (3, 20, 20))
    scope: dict = {}
    exec(compile(code, "<export>", "exec"), scope)
    result = pooling.upsample_all(scope["image"][0], params)
    assert torch.allclose(scope["transposed"][0], result.outputs["ConvTranspose2d"], atol=1e-5)
    assert torch.allclose(scope["bilinear"][0], result.outputs["bilinear"])
    assert torch.allclose(scope["shuffled"][0], result.outputs["PixelShuffle"], atol=1e-5)


@settings(max_examples=25)
@given(params=pool_params, height=st.integers(3, 30), width=st.integers(3, 30),
       step=st.integers(1, 5), data=st.data())
def test_the_shown_pixels_are_the_layers_own(params, height, width, step, data):
    """What a zoomed-out or zoomed-in view computes equals the whole layer's output there."""
    from lab.display_resolution import Sampling

    assume(not params.validate(height, width))
    x = torch.rand(1, 3, height, width)
    full = pooling.pool(x, params)
    out_h, out_w = full.shape[-2:]
    row0 = data.draw(st.integers(0, out_h - 1))
    col0 = data.draw(st.integers(0, out_w - 1))
    rows = Sampling(row0 - row0 % step, out_h, step)
    cols = Sampling(col0, data.draw(st.integers(col0 + 1, out_w)), step)
    shown = pooling.pool_shown(x, params, rows, cols)
    torch.testing.assert_close(shown, full[..., rows.start::step, cols.start:cols.stop:step],
                               rtol=1e-6, atol=1e-7)


@settings(max_examples=20)
@given(factor=st.integers(1, 8), target=st.one_of(st.none(), st.integers(2, 60)),
       align=st.booleans(), init=st.sampled_from(sorted(pooling.TRANSPOSED_INITS)),
       patch=st.integers(2, 20), box=st.tuples(st.floats(0, 1), st.floats(0, 1),
                                               st.floats(0.01, 1), st.floats(0.01, 1)))
def test_a_zoomed_view_of_the_enlarged_patch_is_that_region_of_every_method(
        factor, target, align, init, patch, box):
    """Zoomed into the upsampled tiles: each method computes only the cells over the
    region shown, and they are the whole output's cells there."""
    image = torch.rand(3, 30, 40, generator=torch.Generator().manual_seed(patch))
    params = UpsampleParams(factor, target, align, patch, init)
    whole = pooling.upsample_all(image, params)
    top, left = box[0] * patch, box[1] * patch
    region = (top, left, min(patch, top + box[2] * patch), min(patch, left + box[3] * patch))
    part = pooling.upsample_all(image, params, region)
    for title, full in whole.outputs.items():
        (r0, r1), (c0, c1) = part.spans[title]
        assert whole.spans[title] == ((0, full.shape[-2]), (0, full.shape[-1]))
        assert r0 <= region[0] * full.shape[-2] / patch < r1 or r1 == full.shape[-2]
        torch.testing.assert_close(part.outputs[title], full[:, r0:r1, c0:c1],
                                   rtol=1e-5, atol=1e-5)
