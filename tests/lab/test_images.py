import numpy as np
import pytest
import torch
from PIL import Image

from lab import images
from lab.images import ImageLoadError, LabImage


@pytest.mark.parametrize("sample_id", list(images.SAMPLES))
def test_every_sample_loads_as_uint8(sample_id):
    image = images.load_sample(sample_id)
    assert image.pixels.dtype == np.uint8
    assert image.height >= 64 and image.width >= 64
    assert image.source == f"sample:{sample_id}"


def test_photos_are_scikit_learns_and_digits_are_gray():
    from sklearn.datasets import load_sample_image

    assert np.array_equal(images.load_sample("china").pixels, load_sample_image("china.jpg"))
    digits = images.load_sample("digits")
    assert digits.is_gray and digits.pixels.max() == 255


def test_test_pattern_has_no_symmetry():
    p = images.load_sample("pattern").pixels
    for changed in (p[:, ::-1], p[::-1], np.rot90(p, 1), np.rot90(p, 2), p.transpose(1, 0, 2)):
        assert not np.array_equal(p, changed)
    # a crop of the left half differs from the right half
    assert not np.array_equal(p[:, :128], p[:, 128:])


@pytest.mark.parametrize("suffix,mode", [(".png", "RGB"), (".jpg", "RGB"), (".bmp", "L"),
                                         (".webp", "RGB")])
def test_load_file_formats(tmp_path, suffix, mode):
    rng = np.random.default_rng(0)
    shape = (20, 30, 3) if mode == "RGB" else (20, 30)
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / f"img{suffix}"
    Image.fromarray(pixels, mode).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    loaded = images.load_file(path)
    assert loaded.pixels.shape == shape
    assert loaded.name == path.name and loaded.source == str(path)
    if suffix in (".png", ".bmp", ".webp"):
        assert np.array_equal(loaded.pixels, pixels)


def test_unreadable_file_has_a_clear_message(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    with pytest.raises(ImageLoadError, match="notes.png is not an image"):
        images.load_file(bad)
    with pytest.raises(ImageLoadError, match="no such file"):
        images.load_file(tmp_path / "missing.png")


def test_huge_image_is_refused_with_its_size(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (300, 200)).save(path)
    with pytest.raises(ImageLoadError, match=r"300×200 pixels"):
        images.load_file(path, max_pixels=300 * 199)


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "cut.png"
    Image.new("RGB", (64, 64), "red").save(path)
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(ImageLoadError):
        images.load_file(path)


def test_unknown_sample_is_refused():
    with pytest.raises(ImageLoadError, match="no built-in image"):
        images.load_source("sample:nope")


def test_tensor_round_trip_and_modes():
    image = images.load_sample("pattern")
    t = images.to_tensor(image)
    assert t.shape == (3, 256, 256) and t.dtype == torch.float32
    assert float(t.min()) >= 0 and float(t.max()) <= 1
    assert np.array_equal(images.to_display(t), image.pixels)
    gray = images.to_tensor(image, "gray")
    assert gray.shape == (1, 256, 256)
    assert np.array_equal(images.to_display(gray), images.to_gray(image.pixels))
    rgb = images.to_tensor(images.load_sample("digits"), "rgb")
    assert rgb.shape[0] == 3 and torch.equal(rgb[0], rgb[2])


def test_to_gray_matches_pillow():
    p = images.load_sample("flower").pixels
    ours = images.to_gray(p).astype(int)
    pillow = np.asarray(Image.fromarray(p).convert("L")).astype(int)
    assert np.abs(ours - pillow).max() <= 1


def test_to_display_maps_a_range_and_refuses_many_channels():
    t = torch.tensor([[-1.0, 0.0, 1.0]])
    assert images.to_display(t, -1, 1).tolist() == [[0, 128, 255]]
    with pytest.raises(ValueError, match="1 or 3 channels"):
        images.to_display(torch.zeros(4, 2, 2))


def test_lab_image_is_read_only_and_checked():
    image = images.load_sample("pattern")
    with pytest.raises(ValueError):
        image.pixels[0, 0, 0] = 1
    with pytest.raises(TypeError):
        LabImage("x", np.zeros((2, 2), dtype=np.float32))
