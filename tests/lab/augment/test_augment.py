import json
import math

import numpy as np
import pytest
import torch
import torchvision.transforms.v2 as v2
import torchvision.transforms.v2.functional as TF
from hypothesis import assume, example, given
from hypothesis import strategies as st

from lab import augment
from lab.augment import STEP_TYPES, make_spec, make_step
from lab.augment import draws as augment_draws


def image(channels=3, height=40, width=48, seed=0, dtype="uint8"):
    gen = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (channels, height, width), generator=gen, dtype=torch.uint8)
    return pixels if dtype == "uint8" else pixels.float() / 255


def one(name, **params):
    return make_spec([make_step(name, params)])


# --------------------------------------------------------------------------- JSON shape

def test_spec_json_shape_is_the_documented_interface(tmp_path):
    spec = augment.preset("light")
    assert spec["format"] == "visual-lab-augment" and spec["version"] == 1
    first = spec["steps"][0]
    assert first == {"name": "RandomHorizontalFlip", "enabled": True, "params": {"p": 0.5}}
    path = tmp_path / "aug.json"
    augment.save_spec(spec, path)
    text = path.read_text()
    assert json.loads(text) == spec
    assert augment.load_spec(path) == spec


def test_round_trip_keeps_every_step_and_switch(tmp_path):
    spec = augment.preset("heavy", (3, 64, 64))
    spec["steps"][2]["enabled"] = False
    path = tmp_path / "heavy.json"
    augment.save_spec(spec, path)
    loaded = augment.load_spec(path)
    assert loaded == spec
    a = augment.build_transform(spec)
    b = augment.build_transform(loaded)
    x = image(3, 64, 64)
    torch.manual_seed(5)
    first = a(x)
    torch.manual_seed(5)
    assert torch.equal(first, b(x))
    assert len(a.transforms) == 1 + len(spec["steps"]) - 1  # ToDtype, minus the disabled one


@pytest.mark.parametrize("text,needle", [
    ("{not json", "not valid JSON: Expecting property name"),
    ('{"format": "other", "version": 1, "steps": []}', "format must be 'visual-lab-augment'"),
    ('{"format": "visual-lab-augment", "version": 7, "steps": []}', "format version 7"),
    ('{"format": "visual-lab-augment", "version": 1, "steps": {}}', "steps must be a list"),
    ('{"format": "visual-lab-augment", "version": 1, "steps": [{"name": "Blur"}]}',
     "unknown transform 'Blur'"),
    ('{"format": "visual-lab-augment", "version": 1, "steps": '
     '[{"name": "RandomRotation", "params": {"angle": 3, "degrees": 3}}]}',
     "no parameter 'angle'"),
    ('[1, 2]', "must be a JSON object"),
])
def test_load_explains_what_is_wrong(tmp_path, text, needle):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match="bad.json") as info:
        augment.load_spec(path)
    assert needle in str(info.value)


def test_load_missing_file_and_save_invalid(tmp_path):
    with pytest.raises(ValueError, match="could not read nothing.json"):
        augment.load_spec(tmp_path / "nothing.json")
    bad = one("GaussianBlur", kernel_size=4)
    with pytest.raises(ValueError, match="cannot save an invalid pipeline.*must be odd"):
        augment.save_spec(bad, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_missing_enabled_and_params_take_defaults(tmp_path):
    path = tmp_path / "short.json"
    path.write_text('{"format": "visual-lab-augment", "version": 1, '
                    '"steps": [{"name": "RandomVerticalFlip"}]}')
    spec = augment.load_spec(path)
    assert spec["steps"][0] == {"name": "RandomVerticalFlip", "enabled": True, "params": {}}
    assert isinstance(augment.build_transform(spec).transforms[1], v2.RandomVerticalFlip)


# --------------------------------------------------------------------------- building

def test_build_transform_uses_real_torchvision_and_skips_disabled_steps():
    spec = make_spec([make_step("RandomHorizontalFlip", {"p": 1.0}),
                      make_step("RandomVerticalFlip", {"p": 1.0}, enabled=False),
                      make_step("Normalize", {"mean": [0.5], "std": [0.5]})])
    compose = augment.build_transform(spec)
    assert isinstance(compose, v2.Compose)
    kinds = [type(t) for t in compose.transforms]
    assert kinds == [v2.ToDtype, v2.RandomHorizontalFlip, v2.Normalize]
    x = image(3, 10, 12)
    out = compose(x)
    expected = (x.float() / 255).flip(-1).sub(0.5).div(0.5)  # up to float rounding
    assert out.dtype == torch.float32 and torch.allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_uint8_and_float_inputs_give_the_same_draws(channels):
    spec = augment.preset("heavy", (channels, 48, 48))
    pipeline = augment.build_transform(spec)
    as_uint8, as_float = image(channels, 48, 48), image(channels, 48, 48, dtype="float32")
    torch.manual_seed(3)
    a = pipeline(as_uint8)
    torch.manual_seed(3)
    b = pipeline(as_float)
    assert a.shape == b.shape == (channels, 48, 48) and a.dtype == b.dtype == torch.float32
    assert torch.allclose(a, b, atol=1e-5)


def test_build_transform_refuses_an_invalid_spec_with_a_message():
    with pytest.raises(ValueError, match="sigma must be > 0"):
        augment.build_transform(one("GaussianBlur", kernel_size=3, sigma=[0.0, 1.0]))
    with pytest.raises(ValueError, match="invalid augmentation pipeline"):
        augment.build_transform({"steps": []})


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("spec,needle", [
    (one("RandomHorizontalFlip", p=1.5), "p is a probability: it must be between 0 and 1, got 1.5"),
    (one("RandomRotation", degrees=[30, -30]), "min ≤ max, got [30, −30]"),
    (one("RandomRotation", degrees=-5), "must be ≥ 0, got −5"),
    (one("RandomRotation"), "degrees is required"),
    (one("RandomRotation", degrees=5, interpolation="bicubic"), "interpolation must be one of"),
    (one("GaussianBlur", kernel_size=4), "kernel_size must be odd"),
    (one("GaussianBlur", kernel_size=3, sigma=[0, 2]), "σ = 0 would be no blur"),
    (one("GaussianBlur", kernel_size=3, sigma=-1.0), "sigma must be > 0"),
    (one("GaussianNoise", sigma=-0.1), "must be ≥ 0, got −0.1"),
    (one("Resize", size=0), "size must be at least 1, got 0"),
    (one("Resize", size=[10, 99999]), "at most 4096"),
    (one("Resize", size=[1.5, 3]), "whole number"),
    (one("RandomResizedCrop", size=8, scale=[0.5, 1.5]), "must be ≤ 1, got [0.5, 1.5] (it is a "
                                                          "fraction of the image's area)"),
    (one("RandomResizedCrop", size=8, ratio=[2.0, 1.0]), "min ≤ max"),
    (one("RandomAffine", degrees=0, translate=[0.2, 1.5]), "between 0 and 1"),
    (one("RandomAffine", degrees=0, scale=[0, 1]), "scale must be > 0"),
    (one("ColorJitter", brightness=[-0.5, 1.0]), "brightness must be ≥ 0"),
    (one("ColorJitter", hue=[-0.7, 0.1]), "hue must be ≥ −0.5"),
    (one("ColorJitter", hue=0.8), "n must be ≤ 0.5"),
    (one("RandomErasing", scale=[0.5, 0.1]), "min ≤ max"),
    (one("RandomErasing", value="noise"), "'random'"),
    (one("Normalize", mean=[0.5], std=[0.0]), "std must be positive for every channel"),
    (one("Normalize", mean="0.5, x", std=[1.0]), "mean must be a list of numbers"),
    (one("RandomCrop", size=8, padding=-2), "between 0 and 4096"),
    (one("RandomCrop", size=8, padding_mode="wrap"), "padding_mode must be one of"),
    (one("Grayscale", num_output_channels=2), "num_output_channels must be one of"),
    (one("RandomRotation", degrees=5, expand="yes"), "expand must be true or false"),
])
def test_invalid_parameters_name_the_rule_and_the_numbers(spec, needle):
    problems = augment.validate_spec(spec)
    assert problems, "accepted"
    assert any(needle in p for p in problems), problems
    assert problems[0].startswith("step 1 (")


def test_a_disabled_step_is_not_checked():
    spec = one("GaussianBlur", kernel_size=4)
    spec["steps"][0]["enabled"] = False
    assert augment.validate_spec(spec) == []


@pytest.mark.parametrize("spec,shape,needle", [
    (one("RandomCrop", size=[300, 300]), (3, 256, 256),
     "the crop 300×300 is larger than the image reaching it, 256×256"),
    (make_spec([make_step("Resize", {"size": [64, 64]}),
                make_step("RandomCrop", {"size": 100})]), (3, 256, 256),
     "step 2 (RandomCrop): the crop 100×100 is larger than the image reaching it, 64×64"),
    (one("RandomCrop", size=20, padding=30, padding_mode="reflect"), (1, 16, 16),
     "must be less than the image's side: 30 pixels of padding on a 16×16 image"),
    (one("GaussianBlur", kernel_size=9), (3, 4, 40), "⌊9/2⌋ = 4 ≥ 4"),
    (one("Normalize", mean=[0.5, 0.5, 0.5], std=[0.2, 0.2, 0.2]), (1, 8, 8),
     "3 mean values for an image with 1 channel"),
    (make_spec([make_step("Grayscale", {"num_output_channels": 1}),
                make_step("Normalize", {"mean": [0.1, 0.2, 0.3], "std": [1.0]})]),
     (3, 8, 8), "step 2 (Normalize): 3 mean values for an image with 1 channel"),
    (one("Resize", size=4096), (3, 20, 400), "more than the lab handles"),
    (one("RandomResizedCrop", size=8, ratio=[3.0, 3.0]), (3, 1, 1),
     "too narrow for ratios ≥ 3: the fallback box would be round(1 / 3) = 0 pixels high"),
    (one("RandomResizedCrop", size=8, ratio=[0.2, 0.3]), (3, 1, 2),
     "too flat for ratios ≤ 0.3"),
])
def test_shape_problems_follow_the_image_through_the_steps(spec, shape, needle):
    assert augment.validate_spec(spec) == []
    problems = augment.validate_spec(spec, shape)
    assert any(needle in p for p in problems), problems


def test_pad_if_needed_makes_a_large_crop_fine():
    spec = one("RandomCrop", size=[300, 300], pad_if_needed=True)
    assert augment.validate_spec(spec, (3, 256, 256)) == []
    out = augment.build_transform(spec)(image(3, 256, 256))
    assert out.shape == (3, 300, 300)


def test_trace_shapes_follows_resize_rotation_and_grayscale():
    spec = make_spec([make_step("Resize", {"size": 32}),
                      make_step("RandomRotation", {"degrees": [0, 90], "expand": True}),
                      make_step("Grayscale", {"num_output_channels": 1})])
    trace = augment.trace_shapes(spec, (3, 64, 128))
    assert trace.after[0] == (3, (32, 32), (64, 64))
    channels, (min_h, max_h), (min_w, max_w) = trace.output
    assert channels == 1 and min_h <= 32 and max_h >= 64 and min_w <= 32 and max_w >= 64
    torch.manual_seed(0)
    out = augment.build_transform(spec)(image(3, 64, 128))
    assert out.shape[0] == 1 and min_h <= out.shape[1] <= max_h and min_w <= out.shape[2] <= max_w


@pytest.mark.parametrize("height, width", [(12, 31), (31, 12), (7, 7), (5, 40)])
@pytest.mark.parametrize("degrees", [(0, 37), (-100, 100), (50, 130)])
def test_traced_rotation_sizes_hold_every_angle_torchvision_draws(height, width, degrees):
    spec = make_spec([make_step("RandomRotation", {"degrees": list(degrees), "expand": True})])
    _, (min_h, max_h), (min_w, max_w) = augment.trace_shapes(spec, (1, height, width)).output
    picture = torch.zeros(1, height, width)
    for angle in np.arange(degrees[0], degrees[1] + 0.25, 0.5):
        _, h, w = TF.rotate(picture, float(angle), expand=True).shape
        assert min_h <= h <= max_h and min_w <= w <= max_w, angle


def test_display_range_after_normalize_is_what_0_to_1_maps_to():
    spec = one("Normalize", mean=[0.5, 0.4, 0.3], std=[0.25, 0.2, 0.1])
    low, high = augment.trace_shapes(spec, (3, 8, 8)).value_range
    assert low == pytest.approx(min(-0.5 / 0.25, -0.4 / 0.2, -0.3 / 0.1))
    assert high == pytest.approx(max(0.5 / 0.25, 0.6 / 0.2, 0.7 / 0.1))
    assert augment.trace_shapes(augment.preset("light"), (3, 8, 8)).value_range == (0.0, 1.0)


def test_notes_advise_normalize_last():
    spec = make_spec([make_step("Normalize", {"mean": [0.5], "std": [0.5]}),
                      make_step("ColorJitter", {"brightness": [0.8, 1.2]})])
    assert augment.validate_spec(spec) == []
    (note,) = augment.pipeline_notes(spec)
    assert "step 2 (ColorJitter) comes after Normalize" in note


# --------------------------------------------------------------------------- presets

@pytest.mark.parametrize("shape", [(3, 256, 256), (1, 80, 200), (1, 8, 8), (3, 427, 640)])
@pytest.mark.parametrize("name", list(augment.PRESETS))
def test_every_preset_is_valid_for_every_image(name, shape):
    spec = augment.preset(name, shape)
    assert augment.validate_spec(spec, shape) == []
    torch.manual_seed(1)
    out = augment.build_transform(spec)(image(*shape))
    assert out.ndim == 3 and out.shape[0] == shape[0]


def test_digits_safe_avoids_flips_and_notes_resizes_with_a_list():
    names = [s["name"] for s in augment.preset("digits-safe")["steps"]]
    assert not any("Flip" in n for n in names)
    notes = augment.preset("notes", (3, 256, 256))["steps"]
    resize = next(s for s in notes if s["name"] == "Resize")
    assert resize["params"]["size"] == [288, 288]
    assert len(notes) == 6
    with pytest.raises(ValueError, match="no preset 'wild'"):
        augment.preset("wild")


def test_new_steps_are_valid_for_the_image():
    for name in STEP_TYPES:
        for shape in ((3, 256, 256), (1, 80, 200)):
            spec = make_spec([augment.new_step(name, shape)])
            assert augment.validate_spec(spec, shape) == [], name


# --------------------------------------------------------------------------- draws

def test_draws_are_reproducible_and_leave_the_global_random_state_alone():
    spec = augment.preset("heavy", (3, 48, 48))
    x = image(3, 48, 48)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = list(augment_draws.generate_draws(spec, x, count=4, seed=7))
    assert torch.equal(torch.get_rng_state(), before)
    again = list(augment_draws.generate_draws(spec, x, count=4, seed=7))
    other = list(augment_draws.generate_draws(spec, x, count=4, seed=8))
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.tensor, b.tensor) and a.caption == b.caption
    assert torch.equal(first[1].tensor, other[0].tensor)  # draw i uses seed + i
    assert not torch.equal(first[0].tensor, other[0].tensor)


def test_flip_events_say_exactly_which_draws_flipped():
    spec = one("RandomHorizontalFlip", p=0.5)
    x = image(3, 6, 9)
    draws = list(augment_draws.generate_draws(spec, x, count=24, seed=0))
    flipped = [d.events[0].fired for d in draws]
    assert 0 < sum(flipped) < 24
    for draw, fired in zip(draws, flipped, strict=True):
        base = TF.to_dtype(x, torch.float32, scale=True)  # what the pipeline starts with
        expected = base.flip(-1) if fired else base
        assert torch.equal(draw.tensor, expected)
        assert ("↔ flip" in draw.caption) == fired


def test_recorded_angle_and_boxes_reproduce_the_output():
    x = image(3, 40, 50)
    xf = TF.to_dtype(x, torch.float32, scale=True)
    rotation = one("RandomRotation", degrees=[-40, 40], interpolation="bilinear")
    for draw in augment_draws.generate_draws(rotation, x, count=3, seed=2):
        angle = draw.events[0].drawn["angle"]
        assert -40 <= angle <= 40 and f"{angle:+.1f}".replace("-", "−") in draw.caption
        rotated = TF.rotate(xf, angle, interpolation=v2.InterpolationMode.BILINEAR, fill=[0.0])
        assert torch.equal(draw.tensor, rotated)
    crop = one("RandomCrop", size=[20, 30])
    for draw in augment_draws.generate_draws(crop, x, count=3, seed=2):
        box = draw.events[0].drawn
        assert torch.equal(draw.tensor, xf[:, box["top"]:box["top"] + 20,
                                           box["left"]:box["left"] + 30])
    resized = one("RandomResizedCrop", size=[16, 16], scale=[0.2, 0.6])
    for draw in augment_draws.generate_draws(resized, x, count=3, seed=2):
        box = draw.events[0].drawn
        assert 0.15 <= box["height"] * box["width"] / (40 * 50) <= 0.65
        assert torch.equal(draw.tensor, TF.resized_crop(xf, box["top"], box["left"],
                                                        box["height"], box["width"], [16, 16]))
    erase = one("RandomErasing", p=1.0, value=0.0)
    for draw in augment_draws.generate_draws(erase, x, count=3, seed=2):
        box = draw.events[0].drawn
        region = draw.tensor[:, box["top"]:box["top"] + box["height"],
                             box["left"]:box["left"] + box["width"]]
        assert box["height"] * box["width"] > 0 and torch.all(region == 0)


def test_jitter_records_factors_and_order():
    spec = one("ColorJitter", brightness=[0.5, 1.5], hue=[-0.1, 0.1])
    (draw,) = augment_draws.generate_draws(spec, image(3, 8, 8), count=1, seed=4)
    drawn = draw.events[0].drawn
    assert 0.5 <= drawn["brightness"] <= 1.5 and -0.1 <= drawn["hue"] <= 0.1
    assert set(drawn["order"]) == {"brightness", "hue"}
    assert draw.caption.startswith("jitter b")


def test_a_gray_image_and_a_large_image_work():
    strip = image(1, 16, 4096)
    draws = list(augment_draws.generate_draws(augment.preset("light", (1, 16, 4096)), strip,
                                        count=2, seed=0, display_side=256))
    assert draws[0].display.shape == (1, 256) or draws[0].display.shape[1] == 256
    assert draws[0].display.dtype == np.uint8 and draws[0].shape == (1, 16, 4096)


def test_deterministic_steps_are_described_and_unfired_ones_are_not_captioned():
    spec = make_spec([make_step("RandomVerticalFlip", {"p": 0.0}),
                      make_step("CenterCrop", {"size": 4})])
    (draw,) = augment_draws.generate_draws(spec, image(3, 8, 8), count=1, seed=0)
    assert draw.caption == "no random change"
    assert "RandomVerticalFlip: not flipped (p = 0)" in draw.details
    assert "CenterCrop: size=4" in draw.details


# --------------------------------------------------------------------------- statistics

def test_channel_stats_match_numpy_and_pool_exactly():
    x = image(3, 20, 30)
    stats = augment.channel_stats(x)
    values = x.float().numpy().reshape(3, -1) / 255
    assert np.allclose(stats.mean, values.mean(axis=1), atol=1e-6)
    assert np.allclose(stats.std, values.std(axis=1), atol=1e-5)
    y = image(3, 10, 30, seed=1)
    pooled = stats.merge(augment.channel_stats(y))
    both = np.concatenate([values, y.float().numpy().reshape(3, -1) / 255], axis=1)
    assert pooled.count == both.shape[1]
    assert np.allclose(pooled.mean, both.mean(axis=1), atol=1e-6)
    assert np.allclose(pooled.std, both.std(axis=1), atol=1e-5)


def test_normalize_with_the_images_own_stats_gives_zero_mean_unit_std():
    x = image(3, 32, 32)
    mean, std = augment.rounded_stats(augment.channel_stats(x))
    spec = one("Normalize", mean=mean, std=std)
    (draw,) = augment_draws.generate_draws(spec, x, count=1, seed=0)
    assert np.allclose(draw.stats.mean, 0, atol=1e-3)
    assert np.allclose(draw.stats.std, 1, atol=1e-3)


def test_dataset_stats():
    from sklearn.datasets import load_digits

    digits = augment.dataset_stats("digits")
    values = load_digits().images / 16.0
    assert digits.channels == 1
    assert digits.mean[0] == pytest.approx(values.mean(), abs=1e-6)
    assert digits.std[0] == pytest.approx(values.std(), abs=1e-5)
    assert augment.dataset_stats("imagenet").mean == (0.485, 0.456, 0.406)
    assert augment.dataset_stats("photos").channels == 3
    with pytest.raises(ValueError, match="no data set"):
        augment.dataset_stats("cifar")


def test_display_array_maps_the_range_and_shrinks():
    x = torch.linspace(-2, 2, 5).reshape(1, 1, 5).expand(3, 2, 5)
    out = augment_draws.to_display_array(x, (-2.0, 2.0))
    assert out.shape == (2, 5, 3) and list(out[0, :, 0]) == [0, 64, 128, 191, 255]
    big = augment_draws.to_display_array(torch.rand(1, 1000, 600), max_side=100)
    assert big.shape == (100, 60)


# --------------------------------------------------------------------------- code export

def run_code(code, replace_image=None):
    namespace = {}
    if replace_image is not None:
        code = code.replace("image = torch.randint", "_unused = torch.randint")
        namespace["image"] = replace_image
    exec(compile(code, "<export>", "exec"), namespace)  # noqa: S102 - the code under test
    return namespace


def test_exported_code_for_a_file_makes_the_same_draws(tmp_path):
    from PIL import Image

    pixels = image(3, 30, 40).permute(1, 2, 0).numpy()
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    spec = augment.preset("heavy", (3, 30, 40))
    code = augment.export_code(spec, seed=11, count=5, source=str(path), shape=(3, 30, 40))
    assert "transforms.v2.Compose([" in code and "torch.manual_seed(seed + i)" in code
    namespace = run_code(code)
    x = augment.image_tensor(pixels)
    ours = list(augment_draws.generate_draws(spec, x, count=5, seed=11))
    assert len(namespace["draws"]) == 5
    for theirs, draw in zip(namespace["draws"], ours, strict=True):
        assert torch.equal(theirs, draw.tensor)


def test_exported_code_comments_out_disabled_steps_and_loads_sklearn_photos():
    spec = augment.preset("light")
    spec["steps"][1]["enabled"] = False
    code = augment.export_code(spec, source="sample:china", shape=(3, 427, 640))
    assert "    # transforms.v2.RandomRotation(" in code and "switched off" in code
    assert "load_sample_image('china.jpg')" in code
    gray = augment.export_code(spec, source="/data/x.png", gray=True, shape=(1, 5, 5),
                               input_dtype="float32")
    assert ".convert('L')))[None]" in gray and "image = image.float() / 255" in gray


# --------------------------------------------------------------------------- hypothesis

def param_value(info, draw):
    """Values for one parameter: mostly sensible, sometimes breaking a rule."""
    if info.optional and draw(st.integers(0, 4)) == 0:
        return None
    kind = info.kind
    if kind == "probability":
        return draw(st.floats(-0.1, 1.1, allow_nan=False))
    if kind == "float":
        return draw(st.floats(-0.2, 0.5, allow_nan=False))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "choice":
        return draw(st.sampled_from([c[0] for c in info.choices]))
    if kind in ("range", "jitter"):
        span = (info.high - info.low) * 0.1
        values = draw(st.lists(st.floats(info.low - span, info.high + span, allow_nan=False),
                               min_size=2, max_size=2))
        if draw(st.integers(0, 5)):
            values.sort()
        return [round(v, 3) for v in values]
    if kind == "pair":
        return draw(st.lists(st.floats(0, 1.05, allow_nan=False), min_size=2, max_size=2))
    if kind in ("size", "kernel"):
        side = st.integers(0, 50) if kind == "size" else st.integers(1, 12)
        return draw(side) if draw(st.booleans()) else draw(st.lists(side, min_size=2,
                                                                    max_size=2))
    if kind == "padding":
        return draw(st.one_of(st.none(), st.integers(0, 20)))
    if kind == "fill":
        return draw(st.floats(0, 1))
    if kind == "erase_value":
        return draw(st.one_of(st.just("random"), st.floats(0, 1)))
    if kind == "channels":
        size = draw(st.sampled_from([1, 3]))
        low = 0.0 if info.name == "std" else -1.0
        return draw(st.lists(st.floats(low, 1.5, allow_nan=False), min_size=size,
                             max_size=size))
    raise AssertionError(kind)


@st.composite
def steps(draw):
    name = draw(st.sampled_from(list(STEP_TYPES)))
    info = STEP_TYPES[name]
    params = {}
    for param in info.params:
        if param.default is not augment.REQUIRED and draw(st.integers(0, 3)) == 0:
            continue  # left out: torchvision's default
        params[param.name] = param_value(param, draw)
    return make_step(name, params, enabled=draw(st.integers(0, 5)) > 0)


pipelines = st.lists(steps(), min_size=0, max_size=5).map(make_spec)
side = st.one_of(st.integers(1, 4), st.integers(1, 40))  # tiny images find edge cases
shapes = st.tuples(st.sampled_from([1, 3]), side, side)


@given(spec=pipelines, shape=shapes, seed=st.integers(0, 2**20),
       dtype=st.sampled_from(["uint8", "float32"]))
# a 12×31 image is widest rotated by atan(12/31) = 21°: the trace once checked 45° only
@example(spec=make_spec([make_step("Resize", {"size": [12, 31]}),
                         make_step("RandomRotation", {"degrees": [0.0, 37.0], "expand": True})]),
         shape=(1, 1, 1), seed=0, dtype="uint8")
def test_validation_agrees_with_torchvision(spec, shape, seed, dtype):
    """No problems reported => the real pipeline runs on that image, with the traced
    output shape; a problem without an image => build_transform refuses."""
    problems = augment.validate_spec(spec, shape)
    if augment.validate_spec(spec):
        with pytest.raises(ValueError):
            augment.build_transform(spec)
        return
    if problems:
        return
    trace = augment.trace_shapes(spec, shape)
    x = image(*shape, seed=seed % 97, dtype=dtype)
    draws = list(augment_draws.generate_draws(spec, x, count=2, seed=seed))
    for draw in draws:
        assert draw.display.dtype == np.uint8
        if trace.output is not None:
            channels, (min_h, max_h), (min_w, max_w) = trace.output
            assert draw.shape[0] == channels
            assert min_h <= draw.shape[1] <= max_h and min_w <= draw.shape[2] <= max_w


@given(spec=pipelines, shape=shapes, seed=st.integers(0, 2**20), count=st.integers(1, 3))
def test_exported_code_reproduces_random_pipelines(spec, shape, seed, count):
    assume(not augment.validate_spec(spec, shape))
    x = image(*shape, seed=3)
    code = augment.export_code(spec, seed=seed, count=count, shape=shape)
    namespace = run_code(code, replace_image=x)
    ours = list(augment_draws.generate_draws(spec, x, count=count, seed=seed))
    assert len(namespace["draws"]) == count
    for theirs, draw in zip(namespace["draws"], ours, strict=True):
        assert theirs.shape == draw.shape
        both_nan = torch.isnan(theirs) & torch.isnan(draw.tensor)
        assert torch.equal(torch.where(both_nan, 0, theirs), torch.where(both_nan, 0, draw.tensor))


def test_step_summary_and_call_text():
    step = make_step("RandomRotation", {"degrees": [-15, 15], "interpolation": "bilinear"})
    assert augment.step_summary(step) == "RandomRotation  degrees [−15, 15]"
    assert augment.step_call(step) == ("transforms.v2.RandomRotation(degrees=[-15, 15], "
                                       "interpolation='bilinear')")
    assert math.isclose(augment.as_range(STEP_TYPES["ColorJitter"].param("brightness"), 0.3)[1],
                        1.3)


def test_the_built_transform_pickles_for_dataloader_workers():
    import pickle

    spec = augment.preset("heavy", (3, 32, 32))
    restored = pickle.loads(pickle.dumps(augment.build_transform(spec)))
    x = image(3, 32, 32)
    torch.manual_seed(9)
    a = restored(x)
    torch.manual_seed(9)
    assert torch.equal(a, augment.build_transform(spec)(x))
