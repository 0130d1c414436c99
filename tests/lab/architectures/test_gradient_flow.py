"""Gradient flow: one backward pass, per-layer gradient norms, plain vs ResNet vs DenseNet."""

import contextlib
import io
import math

import pytest

from lab.architectures import gradient_flow as gf


def test_plain_net_gradients_vanish_towards_the_input_and_with_depth():
    params = gf.GradientParams()
    firsts = []
    for depth in (4, 16, 32):
        profile = gf.gradient_profile(params, "plain", depth)
        assert len(profile.norms) == depth
        assert all(math.isfinite(n) and n >= 0 for n in profile.norms)
        firsts.append(profile.first)
    assert firsts[0] > firsts[1] > firsts[2] > 0  # deeper: less reaches the first layer
    deep = gf.gradient_profile(params, "plain", 32).norms
    assert deep[0] < 1e-6 * deep[-1]  # vanishing, by orders of magnitude
    assert sum(deep[:8]) < sum(deep[-8:])


def test_shortcuts_and_dense_connections_carry_the_gradient():
    params = gf.GradientParams(depth=32)
    for pattern in ("resnet", "densenet"):
        norms = gf.gradient_profile(params, pattern).norms
        assert all(math.isfinite(n) for n in norms)
        assert norms[0] > 1e-2 * norms[-1], pattern
    plain = gf.gradient_profile(params, "plain").first
    assert gf.gradient_profile(params, "resnet").first > 1e6 * plain


def test_batchnorm_stops_the_vanishing_at_initialisation():
    profile = gf.gradient_profile(gf.GradientParams(batchnorm=True), "plain", 32)
    assert profile.first > 1e-2 * profile.norms[-1]


def test_same_settings_same_numbers_and_global_rng_untouched():
    import torch

    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = gf.gradient_profile(gf.GradientParams(), "densenet", 8)
    after = torch.rand(1)
    b = gf.gradient_profile(gf.GradientParams(), "densenet", 8)
    assert a == b and torch.equal(before, after)


def test_sweep_yields_the_profile_first_then_every_depth_and_stops():
    params = gf.GradientParams(depth=6, width=4, growth_rate=2)
    seen = [(p.pattern, p.depth) for p in gf.gradient_sweep(params, depths=(4, 6))]
    assert seen == [("plain", 6), ("resnet", 6), ("densenet", 6),
                    ("plain", 4), ("resnet", 4), ("densenet", 4)]
    calls = iter(range(100))
    stopped = list(gf.gradient_sweep(params, lambda: next(calls) >= 2))
    assert len(stopped) == 2


def test_validation_and_log_floor():
    assert gf.GradientParams(depth=2).validate() == ["depth must be between 4 and 64 (got 2)"]
    assert "unknown init" in gf.GradientParams(init="xavier").validate()[0]
    assert gf.log_floor([0.0, 1e-3, float("nan")]) == [1e-30, 1e-3, 1e-30]
    with pytest.raises(ValueError, match="unknown pattern"):
        gf.gradient_profile(gf.GradientParams(), "vgg")


@pytest.mark.parametrize("init", ["default", "kaiming"])
def test_exported_code_reproduces_the_numbers(init):
    params = gf.GradientParams(depth=6, width=6, growth_rate=3, init=init)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(gf.gradient_code(params), {})  # noqa: S102 - our own generated code
    printed = dict(line.split(" ", 1) for line in out.getvalue().splitlines())
    for pattern in ("plain", "resnet", "densenet"):
        norms = gf.gradient_profile(params, pattern).norms
        assert printed[pattern] == " ".join(f"{n:.1e}" for n in norms)


def test_caption_reads_the_trend_off_the_numbers():
    params = gf.GradientParams(batchnorm=True)
    profiles = {"plain": gf.GradientProfile("plain", 3, (4.0, 1.0, 0.2), 2.3),
                "resnet": gf.GradientProfile("resnet", 3, (1e-4, 1e-2, 1.0), 2.3),
                "densenet": gf.GradientProfile("densenet", 3, (0.5, 0.6, 0.7), 2.3)}
    assert [gf.trend(p) for p in profiles.values()] == ["grows", "vanishes", "stays"]
    text = gf.gradient_caption(params, profiles)
    assert "with BatchNorm" in text
    assert "Plain net: the gradient grows towards the input (layer 3 2.0e-01 → layer 1" in text
    assert "ResNet: the gradient vanishes" in text and "DenseNet: the gradient keeps" in text
