import gzip
import hashlib
import struct
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

from lab import data
from lab.data import DataConfig, DataError, holdout_split, kfold_splits, load_dataset


@pytest.mark.parametrize("source", list(data.TOY_SOURCES))
def test_toy_sets_are_seeded_2d_and_labelled(source):
    cfg = DataConfig(source, samples=120, noise=0.1, classes=3, seed=4)
    first, again = load_dataset(cfg), load_dataset(cfg)
    assert first.x.shape == (120, 2) and first.x.dtype == torch.float32
    assert first.kind == "points" and first.num_classes == len(first.class_names) >= 2
    assert set(first.y.tolist()) == set(range(first.num_classes))
    assert torch.equal(first.x, again.x) and torch.equal(first.y, again.y)
    other = load_dataset(DataConfig(source, samples=120, noise=0.1, classes=3, seed=5))
    assert not torch.equal(first.x, other.x)
    x0, x1, y0, y1 = first.extent()
    assert x0 < first.x[:, 0].min() and x1 > first.x[:, 0].max() and y0 < y1


def test_noise_spreads_the_moons():
    def spread(noise):
        d = load_dataset(DataConfig("moons", samples=400, noise=noise))
        return float(d.x[d.y == 0].std(0).sum())

    assert spread(0.4) > spread(0.0) + 0.1


def test_xor_labels_follow_the_quadrants_without_noise():
    d = load_dataset(DataConfig("xor", samples=200, noise=0.0))
    opposite = (d.x[:, 0] > 0) ^ (d.x[:, 1] > 0)
    assert torch.equal(opposite.long(), d.y)


def test_digits_native_and_upscaled():
    small = load_dataset(DataConfig("digits"))
    assert small.x.shape == (1797, 1, 8, 8) and small.x.min() >= 0 and small.x.max() <= 1
    assert small.class_names == [str(d) for d in range(10)]
    big = load_dataset(DataConfig("digits", image_size=16))
    assert big.x.shape == (1797, 1, 16, 16) and "upscaled" in big.notes[0]
    assert torch.equal(big.y, small.y)


def test_shapes_are_drawn_at_random_size_position_and_rotation():
    d = load_dataset(DataConfig("shapes", samples=90, image_size=24, noise=0.0, seed=1))
    assert d.x.shape == (90, 1, 24, 24) and d.class_names == ["circle", "square", "triangle"]
    assert set(d.y.tolist()) == {0, 1, 2}
    lit = (d.x > 0.5).float().flatten(1)
    assert (lit.sum(1) > 10).all()  # every image has a shape on it
    area = lit.sum(1)
    assert area.std() > 5  # sizes vary
    centres = torch.stack([(lit.view(-1, 24, 24).sum(1) * torch.arange(24)).sum(1) / area,
                           (lit.view(-1, 24, 24).sum(2) * torch.arange(24)).sum(1) / area], 1)
    assert centres.std(0).min() > 1.5  # positions vary
    assert torch.equal(d.x, load_dataset(DataConfig("shapes", samples=90, image_size=24,
                                                    noise=0.0, seed=1)).x)
    noisy = load_dataset(DataConfig("shapes", samples=90, image_size=24, noise=0.3, seed=1))
    assert noisy.x.min() >= 0 and noisy.x.max() <= 1 and not torch.equal(noisy.x, d.x)


def test_validate_names_the_broken_rule():
    assert "samples must be between 20" in DataConfig(samples=5).validate()[0]
    assert "needs a folder" in DataConfig("mnist").validate()[0]
    assert "validation fraction" in DataConfig(val_fraction=0.95).validate()[0]
    assert "image size" in DataConfig("shapes", image_size=4).validate()[0]
    assert "unknown data set" in DataConfig("imagenet").validate()[0]
    assert DataConfig("moons").validate() == []
    with pytest.raises(DataError, match="samples"):
        load_dataset(DataConfig(samples=5))


# --------------------------------------------------------------------------- torchvision

def _idx(array: np.ndarray) -> bytes:
    """The IDX format MNIST ships in (big-endian dims after a type/ndim magic number)."""
    header = struct.pack(">I", 0x0800 | array.ndim) + b"".join(
        struct.pack(">I", s) for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _fake_mnist_files(count=30, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    return images, labels, {
        "train-images-idx3-ubyte": _idx(images), "train-labels-idx1-ubyte": _idx(labels),
        "t10k-images-idx3-ubyte": _idx(images[:5]), "t10k-labels-idx1-ubyte": _idx(labels[:5])}


@pytest.mark.parametrize("source, folder_name", [("mnist", "MNIST"),
                                                 ("fashion_mnist", "FashionMNIST")])
def test_torchvision_set_read_from_its_own_folder_layout(tmp_path, source, folder_name):
    images, labels, files = _fake_mnist_files()
    raw = tmp_path / folder_name / "raw"
    raw.mkdir(parents=True)
    for name, content in files.items():
        (raw / name).write_bytes(content)
    d = load_dataset(DataConfig(source, folder=str(tmp_path)))
    assert d.x.shape == (30, 1, 28, 28) and d.x.dtype == torch.uint8
    assert np.array_equal(d.x[:, 0].numpy(), images)
    assert np.array_equal(d.y.numpy(), labels) and d.num_classes == 10
    assert data.as_float(d.x[:2]).max() <= 1.0


def test_missing_torchvision_set_says_where_and_how(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig("cifar10", folder=str(tmp_path)))
    text = str(info.value)
    assert "CIFAR-10 is not in" in text and "cifar-10-batches-py" in text
    assert "Download if missing" in text


def test_offline_download_gives_a_clear_message(tmp_path, monkeypatch):
    def offline(*_args, **_kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig("mnist", folder=str(tmp_path / "sets"), download=True))
    text = str(info.value)
    assert text.startswith("Could not download MNIST: this computer seems to be offline")
    assert "name resolution" in text and str(tmp_path / "sets" / "MNIST" / "raw") in text


def serve_fake_mnist(tmp_path, monkeypatch, count, seed=0):
    """Point torchvision's MNIST download at a local file:// mirror of `count` random
    images (with the right md5 sums); returns (mirror folder, images, labels)."""
    import torchvision.datasets as tvd

    images, labels, files = _fake_mnist_files(count, seed=seed)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    resources = []
    for name, content in files.items():
        packed = gzip.compress(content)
        (mirror / f"{name}.gz").write_bytes(packed)
        resources.append((f"{name}.gz", hashlib.md5(packed).hexdigest()))
    monkeypatch.setattr(tvd.MNIST, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    return mirror, images, labels


def test_download_reports_progress_checks_md5_and_unpacks(tmp_path, monkeypatch):
    """torchvision's own download recipe, fed from a local mirror (file:// URLs)."""
    mirror, images, _labels = serve_fake_mnist(tmp_path, monkeypatch, 40, seed=3)
    steps = data.prepare(DataConfig("mnist", folder=str(tmp_path / "sets"), download=True))
    progress = []
    while True:
        try:
            progress.append(next(steps))
        except StopIteration as done:
            dataset = done.value
            break
    downloads = [p for p in progress if p.message.startswith("Downloading MNIST")]
    assert downloads and downloads[-1].done == downloads[-1].total > 0
    assert np.array_equal(dataset.x[:, 0].numpy(), images)
    # a damaged file on the mirror is refused by its checksum
    (mirror / "train-images-idx3-ubyte.gz").write_bytes(b"not the real file")
    for leftover in (tmp_path / "sets").rglob("*"):
        if leftover.is_file():
            leftover.unlink()
    with pytest.raises(DataError, match="checksum is wrong"):
        load_dataset(DataConfig("mnist", folder=str(tmp_path / "sets"), download=True))


# --------------------------------------------------------------------------- image folder

def test_image_folder_reads_classes_resizes_and_skips_unreadable(tmp_path):
    for label, colour in (("cats", 40), ("dogs", 200)):
        folder = tmp_path / "pets" / label
        folder.mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((20 + i, 30, 3), colour, np.uint8)).save(folder / f"{i}.png")
    (tmp_path / "pets" / "dogs" / "broken.png").write_bytes(b"nope")
    d = load_dataset(DataConfig("folder", folder=str(tmp_path / "pets"), image_size=16))
    assert d.x.shape == (8, 3, 16, 16) and d.class_names == ["cats", "dogs"]
    assert d.x[d.y == 0].float().mean() == pytest.approx(40, abs=1)
    assert any("could not be read safely" in note for note in d.notes)
    grey = load_dataset(DataConfig("folder", folder=str(tmp_path / "pets"), image_size=12,
                                   grayscale=True))
    assert grey.x.shape == (8, 1, 12, 12)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(DataConfig("folder", folder=str(tmp_path / "nothing")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not an image folder"):
        load_dataset(DataConfig("folder", folder=str(tmp_path / "empty")))
    one = tmp_path / "one" / "only"
    one.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(one / "a.png")
    with pytest.raises(DataError, match="only one class"):
        load_dataset(DataConfig("folder", folder=str(tmp_path / "one")))


# --------------------------------------------------------------------------- splits

def test_holdout_split_is_seeded_disjoint_and_stratified():
    labels = np.repeat([0, 1, 2], 50)
    a = holdout_split(labels, 0.2, seed=1)
    assert np.array_equal(a.val, holdout_split(labels, 0.2, seed=1).val)
    assert not np.array_equal(a.val, holdout_split(labels, 0.2, seed=2).val)
    assert len(a.val) == 30 and len(a.train) == 120
    assert not set(a.train) & set(a.val)
    assert np.bincount(labels[a.val]).tolist() == [10, 10, 10]


def test_training_size_caps_training_but_keeps_validation():
    labels = np.repeat([0, 1], 100)
    full = holdout_split(labels, 0.25, seed=0)
    small = holdout_split(labels, 0.25, train_size=30, seed=0)
    assert len(small.train) == 30 and set(small.train) <= set(full.train)
    assert np.array_equal(small.val, full.val)
    none = holdout_split(labels, 0.0, seed=0)
    assert len(none.val) == 0 and len(none.train) == 200


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_kfold_validation_sets_are_distinct_and_cover_the_data_once(k):
    labels = np.repeat(np.arange(4), 25)
    splits = kfold_splits(labels, k, seed=3)
    assert len(splits) == k
    all_val = np.concatenate([s.val for s in splits])
    assert sorted(all_val.tolist()) == list(range(100))  # each sample validated exactly once
    assert len({tuple(s.val) for s in splits}) == k
    for s in splits:
        assert not set(s.train) & set(s.val)
        assert len(s.train) + len(s.val) == 100


def test_kfold_falls_back_to_plain_folds_and_rejects_bad_k():
    labels = np.array([0] * 20 + [1] * 2)
    splits = kfold_splits(labels, 4)
    assert "not stratified" in splits[0].notes[0]
    assert sorted(np.concatenate([s.val for s in splits]).tolist()) == list(range(22))
    with pytest.raises(ValueError, match="between 2 and 10"):
        kfold_splits(labels, 11)
    with pytest.raises(ValueError, match="between 2 and 10"):
        kfold_splits(labels, 1)
