"""The working copy: a big photo's grid drawn on a smaller copy with converted pixel
parameters, shown and exported; "exact size" draws the original."""

from __future__ import annotations

import torch

from lab import augment
from lab.augment import draws as augment_draws
from lab.augment import working


def photo(height: int, width: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(3)
    return torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=gen)


def pixel_spec() -> dict:
    return augment.make_spec([
        augment.make_step("RandomResizedCrop", {"size": [3000, 4000], "scale": [0.25, 1.0]}),
        augment.make_step("RandomCrop", {"size": 2048, "padding": 16}),
        augment.make_step("GaussianBlur", {"kernel_size": 31, "sigma": [1.0, 8.0]}),
        augment.make_step("RandomErasing", {"p": 1.0, "scale": [0.02, 0.1]}),
        augment.make_step("RandomRotation", {"degrees": [-15, 15]}),
    ])


def test_the_working_side_is_twice_the_tile_and_never_enlarges():
    assert working.working_size(3000, 4000) == (384, 512)
    assert working.working_size(4096, 4096) == (512, 512)
    assert working.working_size(300, 200) == (300, 200)
    assert working.working_copy(pixel_spec(), 300, 200) is None  # small: drawn as it is
    assert working.working_copy(pixel_spec(), 3000, 4000, side=None) is None  # exact size


def test_pixel_parameters_are_converted_and_the_conversion_is_said():
    copy = working.working_copy(pixel_spec(), 3000, 4000)
    assert copy.note == "working copy: 4000×3000 → 512×384, for speed"
    steps = {s["name"]: s["params"] for s in copy.spec["steps"]}
    assert steps["RandomResizedCrop"]["size"] == [384, 512]
    assert steps["RandomCrop"] == {"size": 262, "padding": 2}  # 2048 · 0.128 = 262.1
    assert steps["GaussianBlur"]["kernel_size"] == 5  # 31 · 0.128 = 3.97 → 4 → odd 5
    assert steps["GaussianBlur"]["sigma"] == [0.128, 1.024]
    # fractions and angles are no pixels: unchanged
    assert steps["RandomErasing"]["scale"] == [0.02, 0.1]
    assert steps["RandomRotation"]["degrees"] == [-15, 15]
    assert "RandomCrop size 2048 → 262" in copy.explained()
    assert "pixel parameters converted: RandomResizedCrop size" in copy.explained()
    assert pixel_spec()["steps"][1]["params"]["size"] == 2048  # the user's spec untouched
    assert not augment.validate_spec(copy.spec, (3, 384, 512))


def test_the_exported_code_draws_the_working_copy_and_offers_the_exact_size():
    image = photo(90, 120)
    spec = augment.make_spec([
        augment.make_step("RandomCrop", {"size": [60, 80]}),
        augment.make_step("GaussianBlur", {"kernel_size": 9, "sigma": [0.5, 3.0]}),
        augment.make_step("RandomHorizontalFlip", {"p": 0.5})])
    copy = working.working_copy(spec, 90, 120, side=40)
    small = working.shrink(image, copy.size)
    ours = list(augment_draws.generate_draws(copy.spec, small, count=3, seed=5))
    code = augment.export_code(spec, seed=5, count=3, shape=(3, 90, 120), working=copy)
    assert "USE_WORKING_COPY = True" in code and copy.note in code
    namespace = {"image": image}
    exec(compile(code.replace("image = torch.randint", "_unused = torch.randint"),  # noqa: S102
                 "<export>", "exec"), namespace)
    assert len(namespace["draws"]) == 3
    for theirs, draw in zip(namespace["draws"], ours, strict=True):
        assert theirs.shape == (3, 20, 27)  # the crop 60×80 · 1/3
        assert torch.equal(theirs, draw.tensor)
    exact = {"image": image}
    exec(compile(code.replace("image = torch.randint", "_unused = torch.randint")  # noqa: S102
                 .replace("USE_WORKING_COPY = True", "USE_WORKING_COPY = False"),
                 "<export>", "exec"), exact)
    originals = list(augment_draws.generate_draws(spec, image, count=3, seed=5))
    for theirs, draw in zip(exact["draws"], originals, strict=True):
        assert torch.equal(theirs, draw.tensor)


def test_a_resize_to_a_small_size_is_kept_and_later_pixels_follow_it():
    spec = augment.make_spec([
        augment.make_step("RandomCrop", {"size": 3000}),
        augment.make_step("Resize", {"size": [288, 288]}),  # the notes preset's way
        augment.make_step("RandomCrop", {"size": [256, 256]}),
        augment.make_step("Resize", {"size": 1024}),  # larger than the working side
        augment.make_step("CenterCrop", {"size": 800})])
    copy = working.working_copy(spec, 4096, 4096)
    sizes = [s["params"]["size"] for s in copy.spec["steps"]]
    # 3000 · 1/8; 288 and 256 stay (the resize makes 288² from any input); 1024 → the working
    # side 512, and what follows it halves
    assert sizes == [375, [288, 288], [256, 256], 512, 400]
    assert "Resize size [288, 288]" not in copy.explained()
