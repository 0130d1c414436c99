import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lab import normalization as norm
from lab.normalization import running, scaling, tensors
from lab.normalization.view import NormView, divisors
from lab.params import from_data, to_data


def torch_module(method, shape, groups, gamma, beta, eps):
    """torch's own module, built here independently of lab.normalization.build_module."""
    n, c, h, w = shape
    g, b = torch.tensor(gamma, dtype=torch.float32), torch.tensor(beta, dtype=torch.float32)
    if method == "batch":
        module = nn.BatchNorm2d(c, eps=eps)
    elif method == "layer":
        module = nn.LayerNorm((c, h, w), eps=eps)
        g, b = g[:, None, None].expand(c, h, w), b[:, None, None].expand(c, h, w)
    elif method == "instance":
        module = nn.InstanceNorm2d(c, eps=eps, affine=True)
    else:
        module = nn.GroupNorm(groups, c, eps=eps)
    with torch.no_grad():
        module.weight.copy_(g)
        module.bias.copy_(b)
    return module.train()


@st.composite
def cases(draw):
    n, c, side = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(2, 5))
    method = draw(st.sampled_from(list(norm.METHODS)))
    groups = draw(st.sampled_from(divisors(c)))
    values = st.floats(-2.5, 2.5, allow_nan=False).map(lambda v: round(v, 2))
    gamma = tuple(draw(st.lists(values, min_size=c, max_size=c)))
    beta = tuple(draw(st.lists(values, min_size=c, max_size=c)))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    seed = draw(st.integers(0, 1000))
    x = torch.from_numpy(np.random.default_rng(seed).normal(0.3, 1.5, (n, c, side, side))
                         .astype(np.float32))
    view = NormView(batch=n, channels=c, side=side, method=method, groups=groups,
                    gamma=gamma, beta=beta, eps=eps)
    return view, x


@settings(max_examples=30)
@given(case=cases(), data=st.data())
def test_numbers_equal_torch_modules_and_numpy(case, data):
    view, x = case
    result = norm.normalize(x, view)
    with torch.no_grad():
        expected = torch_module(view.method, view.shape, view.groups, *view.affine(),
                                view.eps)(x).numpy()
    np.testing.assert_allclose(result.y, expected, atol=1e-5)
    reference = norm.reference(x.numpy(), view.method, view.groups, *view.affine(), view.eps)
    np.testing.assert_allclose(reference, expected, atol=1e-5)
    # a clicked cell's written-out formula gives torch's number; its set has m members
    cell = tuple(data.draw(st.integers(0, s - 1)) for s in view.shape)
    explained = norm.explain_cell(result, view, cell)
    assert explained.members.sum() == explained.count == result.count
    assert explained.normalized * explained.gamma + explained.beta == pytest.approx(
        explained.output, abs=1e-5)
    n, c, h, w = view.shape
    assert result.count == {"batch": n * h * w, "layer": c * h * w, "instance": h * w,
                            "group": c // view.groups * h * w}[view.method]
    assert f"= {result.count}" in norm.reduction_size_text(view)


def test_groupnorm_extremes_have_layer_and_instance_statistics():
    x = torch.randn(3, 6, 4, 4, generator=torch.Generator().manual_seed(1))
    shape = tuple(x.shape)
    for groups, other in ((1, "layer"), (6, "instance")):
        ids_group = norm.group_index(shape, "group", groups)
        ids_other = norm.group_index(shape, other)
        assert (ids_group == ids_other).all()
        stats = norm.group_statistics(x.numpy(), ids_group)
        np.testing.assert_allclose(stats[0], norm.group_statistics(x.numpy(), ids_other)[0])
        with torch.no_grad():
            grouped = nn.GroupNorm(groups, 6, affine=False)(x)
            plain = (nn.LayerNorm((6, 4, 4), elementwise_affine=False)(x) if other == "layer"
                     else nn.InstanceNorm2d(6)(x))
        np.testing.assert_allclose(grouped.numpy(), plain.numpy(), atol=1e-5)


def test_groups_must_divide_channels():
    problems = NormView(method="group", channels=6, groups=4).validate()
    assert problems and "G ∈ {1, 2, 3, 6}" in problems[0]
    assert NormView(method="group", channels=6, groups=3).validate() == []
    assert NormView(method="batch", channels=6, groups=4).validate() == []


@pytest.mark.parametrize("momentum", [0.1, None])
def test_running_statistics_after_k_batches_match_torch(momentum):
    view = NormView(batch=3, channels=3, side=4, steps=6, momentum=momentum or 0.1,
                    cumulative=momentum is None)
    batches = tensors.batch_stream(view, 6)
    bn, hist = running.history(view)
    own = nn.BatchNorm2d(3, momentum=momentum, affine=False).train()
    with torch.no_grad():
        for batch in batches:
            own(batch)
    np.testing.assert_allclose(hist.means[-1], own.running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(hist.variances[-1], own.running_var.numpy(), atol=1e-6)
    mean, var = running.reference_history([b.numpy() for b in batches], momentum)
    np.testing.assert_allclose(hist.means[-1], mean, atol=1e-5)
    np.testing.assert_allclose(hist.variances[-1], var, atol=1e-5)
    assert hist.means.shape == (7, 3) and int(bn.num_batches_tracked) == 6
    text = running.update_text(view, hist, 0)
    assert f"{hist.means[-1, 0]:.4f}" in text and "·48/47" in text  # m = 3·4·4 = 48


def test_eval_uses_running_statistics_and_train_the_batch():
    view = NormView(batch=4, channels=2, side=3, steps=3)
    bn, hist = running.history(view)
    x = tensors.view_tensor(view)
    compared = running.compare_modes(bn, x)
    a = x.double().numpy()
    rm, rv = hist.means[-1][None, :, None, None], hist.variances[-1][None, :, None, None]
    np.testing.assert_allclose(compared.eval_out, (a - rm) / np.sqrt(rv + view.eps), atol=1e-5)
    mean, var = a.mean(axis=(0, 2, 3), keepdims=True), a.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(compared.train_out, (a - mean) / np.sqrt(var + view.eps),
                               atol=1e-5)
    assert compared.max_difference > 0.01
    np.testing.assert_allclose(bn.running_mean.numpy(), hist.means[-1])  # not changed
    untracked = NormView(batch=4, channels=2, side=3, steps=3, track_running_stats=False)
    bn, hist = running.history(untracked)
    assert len(hist.means) == 0
    assert running.compare_modes(bn, x).max_difference == 0


def test_batch_of_one_value_per_channel_is_torchs_message():
    message = running.single_value_message(5)
    assert message.startswith("Expected more than 1 value per channel when training")
    assert "[1, 5, 1, 1]" in message


def test_view_round_trips_through_json():
    view = NormView(source="photos", stage="pixels", method="group", groups=3,
                    gamma=(1.5, -0.5, 2.0), beta=(0.25,), cell=(1, 2, 0, 3), cumulative=True,
                    steps=7, experiment_sizes=(2, 16), tab="running")
    data = json.loads(json.dumps(to_data(view)))
    assert from_data(NormView, data) == view
    assert view.shape == (4, 3, 6, 6) and view.affine() == ([1.5, -0.5, 2.0],
                                                            [0.25, 0.0, 0.0])


def test_tensor_is_real_conv_output_rounded_to_three_decimals():
    view = NormView(batch=2, channels=3, side=5, seed=4)
    x = tensors.view_tensor(view)
    pixels = tensors._pool("digits", 5)[:2]
    with torch.no_grad():
        conv = tensors.conv_layer(1, 3, 4)(pixels)
    np.testing.assert_allclose(x.numpy(), conv.numpy(), atol=5e-4 + 1e-6)
    assert np.allclose(x.double().numpy() * 1000, np.round(x.double().numpy() * 1000),
                       atol=1e-3)


def test_feature_scaling_statistics_and_normalize():
    images = torch.rand(5, 3, 7, 9, generator=torch.Generator().manual_seed(0))
    stats = scaling.statistics(images, "random")
    a = images.double().numpy()
    np.testing.assert_allclose(stats.mean, a.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(stats.std, a.std(axis=(0, 2, 3)))
    assert stats.count == 5 * 7 * 9 and stats.names == ("R", "G", "B")
    after = scaling.apply(images.transpose(0, 1).reshape(3, -1)[:, :, None], stats)
    np.testing.assert_allclose(after.mean(dim=(1, 2)).numpy(), 0, atol=1e-3)
    np.testing.assert_allclose(after.std(dim=(1, 2), correction=0).numpy(), 1, atol=1e-3)
    digits = scaling.statistics(scaling.dataset_images("digits"), "digits")
    assert digits.names == ("gray",) and 0.25 < digits.mean[0] < 0.35


@pytest.mark.parametrize("shape", [(37, 53, 3), (20, 31)])
def test_an_images_statistics_from_its_pixel_counts_are_the_float_tensors(shape):
    """A photo's mean and std from counts of its 256 levels: the numbers the float tensor
    (ToTensor's) gives, without the float copy."""
    pixels = np.random.default_rng(4).integers(0, 256, shape, dtype=np.uint8)
    pixels[0, :5] = 255  # the extremes are there
    fast = scaling.pixel_statistics(pixels, "photo")
    slow = scaling.statistics(scaling.image_tensor(pixels), "photo")
    np.testing.assert_allclose(fast.mean, slow.mean, rtol=1e-12)
    np.testing.assert_allclose(fast.std, slow.std, rtol=1e-12)
    assert fast.count == slow.count == shape[0] * shape[1] and fast.names == slow.names
    sample = scaling.pixel_sample(pixels, 100)
    assert sample.shape[:2] == (1, -(-shape[0] * shape[1] // -(-shape[0] * shape[1] // 100)))
    assert np.array_equal(sample[0, 0], pixels[0, 0])


def test_group_histograms_equal_numpys_histogram_of_each_shown_group():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(4, 6, 3, 3))
    ids = norm.group_index(values.shape, "group", 3)
    shown = [5, 0, 7]
    edges, counts = norm.group_histograms(values, ids, shown, 12)
    assert np.allclose(edges, np.linspace(values.min(), values.max(), 13))
    for row, group in zip(counts, shown, strict=True):
        assert np.array_equal(row, np.histogram(values[ids == group], bins=edges)[0])
