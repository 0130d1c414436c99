"""Bad inputs (issue 18, items 7–11 and 13): every image the loader accepts opens in every
panel; high bit-depth images keep their contrast; pipelines, checkpoints and seeds that
cannot work are refused with a message before anything is built."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from lab import augment
from lab.data import DataConfig
from lab.images import LabImage, load_file
from lab.pooling import most_detailed_center
from lab.training import TrainConfig, with_change
from lab.training.checkpoints import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from widgets.kit.controls import ErrorBanner
from widgets.kit.panel import AppState

# -------------------------------------------------------------------- 7. tiny and thin images

ODD_IMAGES = [
    LabImage("1x1.png", np.full((1, 1, 3), 200, np.uint8)),
    LabImage("1x37.png", np.arange(37, dtype=np.uint8)[None, :] * 6),
    LabImage("41x1.png", np.full((41, 1, 3), 90, np.uint8)),
    LabImage("2x3.png", np.arange(18, dtype=np.uint8).reshape(2, 3, 3) * 10),
    LabImage("480x320.png", np.random.default_rng(0).integers(0, 255, (320, 480, 3),
                                                              dtype=np.uint8)),
]


def test_one_pixel_high_or_wide_images_have_a_detail_centre():
    for shape in ((3, 1, 40), (1, 40, 1), (3, 1, 1)):
        assert most_detailed_center(torch.rand(shape), 16) == (0.5, 0.5)


def _image_panel_ids():
    """The panels that work on the current image (they listen to AppState.imageChanged)."""
    import importlib
    import inspect

    from widgets.app import PANELS

    ids = []
    for spec in PANELS:
        try:
            source = inspect.getsource(importlib.import_module(f"widgets.{spec.id}.panel"))
        except ImportError:
            continue
        if "imageChanged" in source:
            ids.append(spec.id)
    return ids


@pytest.mark.parametrize("panel_id", _image_panel_ids())
def test_every_panel_takes_every_image_the_loader_accepts(qtbot, panel_id):
    """Tiny, thin and large images one after the other, then a normal one: no exception
    reaches Qt (pytest-qt fails the test on one), and the panel draws the normal one."""
    from widgets.app import PANELS

    spec = next(s for s in PANELS if s.id == panel_id)
    state = AppState()
    normal = state.image
    panel = spec.factory(state)
    qtbot.addWidget(panel)
    panel.resize(1280, 740)
    panel.show()
    try:
        qtbot.waitUntil(panel.has_drawn, timeout=60_000)
        for image in [*ODD_IMAGES, normal]:
            state.set_image(image)
            panel.flush()
            qtbot.wait(1)
        qtbot.waitUntil(lambda: panel.is_idle(), timeout=60_000)
        problems = panel.problems() if callable(panel.problems) else panel.problems
        assert not any("refused" in p or "Error" in p for p in problems)
    finally:
        panel.shutdown()


# -------------------------------------------------------------------- 8. high bit-depth images

@pytest.mark.parametrize("values, suffix, kind", [
    ((np.arange(64 * 64).reshape(64, 64) * 9).astype(np.uint16), ".png", "16-bit"),
    ((np.arange(100).reshape(10, 10) * 1000 - 30_000).astype(np.int32), ".tif",
     "32-bit integer"),
    (np.linspace(-0.5, 0.25, 100).reshape(10, 10).astype(np.float32), ".tif",
     "floating-point"),
])
def test_high_bit_depth_and_float_images_keep_their_contrast(tmp_path, values, suffix, kind):
    path = tmp_path / f"deep{suffix}"
    Image.fromarray(values).save(path)
    image = load_file(path)
    assert image.pixels.min() == 0 and image.pixels.max() == 255  # not all white / black
    expected = np.round((values - values.min()) / float(np.ptp(values)) * 255)
    assert np.abs(image.pixels.astype(int) - expected).max() <= 1
    assert image.meta["conversion"].startswith(f"{kind} image shown as 8 bits")


def test_opening_a_16_bit_image_says_so_in_the_status_bar(qtbot, tmp_path):
    from widgets.app import MainWindow

    path = tmp_path / "deep.png"
    Image.fromarray((np.arange(32 * 32).reshape(32, 32) * 50).astype(np.uint16)).save(path)
    window = MainWindow(save_settings=False)
    qtbot.addWidget(window)
    try:
        assert window.open_source(str(path))
        assert "16-bit image shown as 8 bits" in window.statusBar().currentMessage()
    finally:
        window.close()


# -------------------------------------------------------------------- 9. pipeline JSON

def _pipeline(steps):
    return {"format": augment.FORMAT, "version": 1, "steps": steps}


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (json.dumps(_pipeline([{"name": "RandomHorizontalFlip"}] * 10_000)), "at most 100 steps"),
    (" " * (augment.MAX_SPEC_BYTES + 1), "too large"),
    (json.dumps(_pipeline([{"name": "ColorJitter", "params": {"brightness": 1e308}}])),
     "must be finite"),
    (json.dumps(_pipeline([{"name": "ColorJitter", "params": {"brightness": [0, 1e39]}}])),
     "32-bit float"),
])
def test_hostile_pipelines_are_refused_with_a_message(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        augment.spec_from_json(text)
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        augment.load_spec(path)


def test_a_pipeline_file_that_is_a_pipe_is_never_opened(tmp_path):
    import os

    fifo = tmp_path / "p.json"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        augment.load_spec(fifo)


# -------------------------------------------------------------------- 10. checkpoint settings

CFG = TrainConfig(data=DataConfig("moons", samples=60), epochs=1, width=4)


def _tamper(path, **changes):
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    torch.save(payload, path)


@pytest.fixture
def saved(tmp_path):
    from lab.training import build_model

    model = build_model(CFG, (2,), 2)
    path = tmp_path / "good.pt"
    save_checkpoint(path, CFG, model.state_dict(), (2,), ["a", "b"])
    return path


@pytest.mark.parametrize("change, message", [
    ({"config": {**CFG.to_json(), "width": "8"}}, "width must be int"),
    ({"config": {**CFG.to_json(), "width": 10**9}}, "width must be between"),
    ({"config": {**CFG.to_json(), "seed": 2**70}}, "seed must be between"),
    ({"input_shape": [3, 100_000, 100_000]}, "values per sample"),
    ({"input_shape": ["2"]}, "list of whole numbers"),
    ({"version": "1"}, "format version is '1', not a whole number"),
])
def test_checkpoints_with_wrong_settings_are_refused_before_a_model_is_built(
        saved, change, message):
    _tamper(saved, **change)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(saved)


def test_a_checkpoint_whose_model_needs_terabytes_is_refused(tmp_path, saved):
    big = replace(CFG, data=DataConfig("digits"), width=1024, depth=32)
    _tamper(saved, config=big.to_json(), input_shape=[1, 1024, 1024], format=CHECKPOINT_FORMAT)
    with pytest.raises(CheckpointError, match="parameters"):
        load_checkpoint(saved)


# -------------------------------------------------------------------- 11. seeds

@pytest.mark.parametrize("path, value", [("seed", 2**70), ("seed", -1), ("data.seed", 2**70),
                                         ("data.seed", -1)])
def test_seeds_out_of_range_are_refused_with_the_rule(path, value):
    config = with_change(CFG, path, value)
    assert any("seed must be between 0 and 4,294,967,295" in p for p in config.validate())


def test_a_loaded_config_with_a_huge_seed_is_refused(qtbot):
    from widgets.training.panel import TrainingPanel

    panel = TrainingPanel(AppState(), demo=False)
    qtbot.addWidget(panel)
    try:
        assert not panel.start_config(replace(CFG, seed=2**70))
        assert "seed must be between" in panel.banner.message()
        assert panel.running is None
    finally:
        panel.shutdown()


# -------------------------------------------------------------------- 13. plain text

def test_banners_show_file_names_as_plain_text(qtbot):
    banner = ErrorBanner()
    qtbot.addWidget(banner)
    banner.show_message("Could not open image: <b>x</b>.png is not an image")
    assert "<b>x</b>.png" in banner.text.text()
    assert banner.text.textFormat() == banner.text.textFormat().PlainText


# -------------------------------------------------------------------- 12. image folders

def _png_claiming(path, width, height):
    """A real 1×1 PNG whose header claims width × height (what a decompression bomb
    looks like to Image.open, without the memory)."""
    import struct
    import zlib

    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    header = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    path.write_bytes(bytes(data))


def test_image_folders_skip_count_and_list_what_cannot_be_read_safely(tmp_path):
    import os

    from lab.data import prepare

    root = tmp_path / "pets"
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (10, 10), (i * 40, 0, 0)).save(root / name / f"{i}.png")
    os.mkfifo(root / "cats" / "x.png")  # reading it would block forever
    _png_claiming(root / "dogs" / "bomb.png", 20000, 20000)
    (root / "dogs" / "broken.png").write_bytes(b"not a png")
    steps = prepare(DataConfig("folder", folder=str(root), image_size=12))
    with pytest.raises(StopIteration) as done:
        while True:
            next(steps)
    dataset = done.value.value
    assert len(dataset.y) == 6
    note = " ".join(dataset.notes)
    assert "3 file(s) skipped that could not be read safely" in note
    assert "x.png (not a regular file)" in note and "bomb.png (too large" in note
    assert "broken.png" in note
