import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from PySide6.QtCore import QModelIndex, Qt

from lab import augment
from lab.augment import draws as augment_draws
from lab.images import LabImage, load_file, load_sample
from widgets.augment.panel import AugmentPanel
from widgets.kit.panel import AppState


def small_image(height=48, width=64, gray=False, seed=0):
    rng = np.random.default_rng(seed)
    shape = (height, width) if gray else (height, width, 3)
    return LabImage("noise", rng.integers(0, 256, shape, dtype=np.uint8), "test")


def make_panel(qtbot, image=None):
    panel = AugmentPanel(AppState(image))
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    qtbot.waitUntil(panel.grid_done, timeout=30_000)
    return panel


def settle(qtbot, panel):
    panel.flush()
    qtbot.waitUntil(panel.grid_done, timeout=30_000)


def tiles(panel):
    return [panel.grid.image(i) for i in range(panel.grid.tile_count())]


def select(panel, name):
    row = panel.step_names().index(name)
    panel.steps_list.setCurrentRow(row)
    return panel.editor()


@pytest.fixture
def panel(qtbot):
    widget = make_panel(qtbot)
    yield widget
    widget.shutdown()


def test_first_view_is_the_notes_pipeline_with_a_full_grid(panel):
    assert panel.has_drawn()
    assert panel.step_names() == ["RandomHorizontalFlip", "RandomVerticalFlip",
                                  "RandomRotation", "Resize", "RandomCrop", "GaussianNoise"]
    assert panel.grid.tile_count() == 16 == panel.grid.filled_count()
    assert all("⟲" in panel.grid.caption(i) for i in range(16))
    assert any("↔ flip" in panel.grid.caption(i) for i in range(16))
    assert panel.original.caption(0) == "original 256×256 RGB"
    assert panel.original.caption(1).startswith("draw 1: ")
    code = panel.code.code()
    assert "transforms.v2.Compose([" in code and "transforms.v2.Resize(size=[288, 288])" in code
    assert '"format": "visual-lab-augment"' in panel.json_view.toPlainText()
    assert panel.banner.isHidden()
    assert "R</b>" in panel.stats_label.text() and "±" in panel.stats_label.text()


def test_add_remove_reorder_and_toggle_through_the_ui(panel, qtbot):
    panel.steps_list.setCurrentRow(2)
    blur = next(a for a in panel.add_menu.actions() if "(GaussianBlur)" in a.text())
    blur.trigger()
    assert panel.step_names()[3] == "GaussianBlur" and panel.steps_list.currentRow() == 3
    assert panel.editor().info.name == "GaussianBlur"
    assert set(panel.editor().controls) == {"kernel_size", "sigma"}
    settle(qtbot, panel)
    assert any("blur σ" in panel.grid.caption(i) for i in range(16))
    assert "transforms.v2.GaussianBlur(kernel_size=5, sigma=[0.1, 2.0])" in panel.code.code()

    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert "GaussianBlur" not in panel.step_names() and len(panel.step_names()) == 6

    panel.steps_list.setCurrentRow(0)
    qtbot.mouseClick(panel.down_button, Qt.MouseButton.LeftButton)
    assert panel.step_names()[:2] == ["RandomVerticalFlip", "RandomHorizontalFlip"]
    assert panel.steps_list.currentRow() == 1
    qtbot.mouseClick(panel.up_button, Qt.MouseButton.LeftButton)
    assert panel.step_names()[0] == "RandomHorizontalFlip" and not panel.up_button.isEnabled()

    panel.steps_list.setFocus()
    panel.steps_list.setCurrentRow(5)
    qtbot.keyClick(panel.steps_list, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert panel.step_names()[4] == "GaussianNoise"
    qtbot.keyClick(panel.steps_list, Qt.Key.Key_Delete)
    assert "GaussianNoise" not in panel.step_names()

    # drag and drop ends in a row move of the list's model
    model = panel.steps_list.model()
    panel.steps_list.setCurrentRow(0)
    assert model.moveRow(QModelIndex(), 0, QModelIndex(), 3)
    # the dragged step is now third: both ↑ and ↓ apply to it (they were stale: ↑ disabled)
    qtbot.waitUntil(lambda: panel.up_button.isEnabled())
    assert panel.steps_list.currentRow() == 2 and panel.down_button.isEnabled()
    assert panel.step_names()[:3] == ["RandomVerticalFlip", "RandomRotation",
                                      "RandomHorizontalFlip"]
    settle(qtbot, panel)
    assert [s["name"] for s in panel.last_good_spec()["steps"]][:3] == panel.step_names()[:3]

    rotation_row = panel.step_names().index("RandomRotation")
    panel.steps_list.item(rotation_row).setCheckState(Qt.CheckState.Unchecked)
    settle(qtbot, panel)
    assert not any("⟲" in panel.grid.caption(i) for i in range(16))
    assert "    # transforms.v2.RandomRotation(" in panel.code.code()


def test_editor_controls_change_the_real_transform(panel, qtbot):
    editor = select(panel, "RandomRotation")
    editor.controls["degrees"].slider.setValue((40, 45))
    assert panel.spec()["steps"][2]["params"]["degrees"] == [40.0, 45.0]
    settle(qtbot, panel)
    angles = [d.events[2].drawn["angle"] for d in panel.draws()]
    assert len(angles) == 16 and all(40 <= a <= 45 for a in angles)
    assert "degrees=[40.0, 45.0]" in panel.code.code()
    assert "degrees [40, 45]" in panel.steps_list.item(2).text()

    editor = select(panel, "Resize")
    editor.controls["size"].as_list.setChecked(False)
    editor.controls["size"].first.setValue(128)
    settle(qtbot, panel)
    assert panel.spec()["steps"][3]["params"]["size"] == 128
    assert "the crop 256×256 is larger than the image reaching it, 128×128" in \
        panel.banner.message()


def test_seed_lock_gives_the_same_grid_and_unlocking_rerolls(panel, qtbot):
    assert panel.lock.isChecked()
    first = tiles(panel)
    settle(qtbot, panel)
    assert all(np.array_equal(a, b) for a, b in zip(first, tiles(panel), strict=True))
    # a parameter change and back, with the seed locked: the very same draws
    editor = select(panel, "GaussianNoise")
    editor.controls["sigma"].slider.setValue(0.2)
    settle(qtbot, panel)
    editor.controls["sigma"].slider.setValue(0.05)
    settle(qtbot, panel)
    assert all(np.array_equal(a, b) for a, b in zip(first, tiles(panel), strict=True))
    # typing a seed changes the grid; typing the old one back restores it
    panel.seed.setValue(99)
    settle(qtbot, panel)
    assert not np.array_equal(first[0], tiles(panel)[0])
    panel.seed.setValue(0)
    settle(qtbot, panel)
    assert np.array_equal(first[0], tiles(panel)[0])
    # unlocked: every change draws a new seed
    panel.lock.setChecked(False)
    seeds = set()
    for _ in range(3):
        panel.request_update()
        settle(qtbot, panel)
        seeds.add(panel.seed.value())
    assert len(seeds) >= 2
    qtbot.mouseClick(panel.reroll, Qt.MouseButton.LeftButton)
    settle(qtbot, panel)
    assert "seed " + str(panel.seed.value()) in panel.grid_status.text()


def test_draw_count_and_selection(panel, qtbot):
    panel.count.setValue(3)
    settle(qtbot, panel)
    assert panel.grid.tile_count() == 3 and len(panel.draws()) == 3
    panel.grid.setFocus()
    panel.grid.set_selected(0)
    qtbot.keyClick(panel.grid, Qt.Key.Key_Right)
    assert panel.grid.selected() == 1
    assert panel.original.caption(1).startswith("draw 2: ")
    assert "torch.manual_seed(1)" in panel.original.tile_tooltip(1)
    panel.count.setValue(64)
    settle(qtbot, panel)
    assert panel.grid.filled_count() == 64


def test_json_round_trip_through_the_panel(panel, qtbot, tmp_path):
    select(panel, "RandomRotation").controls["degrees"].slider.setValue((-33, 21))
    panel.set_step_enabled(1, False)
    path = tmp_path / "pipe.json"
    assert panel.save_pipeline(path)
    saved = augment.load_spec(path)
    assert saved == panel.spec()
    other = make_panel(qtbot, load_sample("pattern"))
    assert other.load_pipeline(path)
    assert other.spec() == saved
    settle(qtbot, other)
    assert other.code.code() == panel.code.code() or "degrees=[-33.0, 21.0]" in other.code.code()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "visual-lab-augment", "version": 1, "steps": [{"name": "Nope"}]}')
    assert not other.load_pipeline(bad)
    assert "unknown transform 'Nope'" in other.banner.message()
    assert other.spec() == saved
    other.shutdown()


def test_exported_code_executed_gives_the_panels_tensors(qtbot, tmp_path):
    pixels = small_image(40, 56).pixels
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    panel = make_panel(qtbot, load_file(path))
    panel.preset.setValue("heavy")
    panel.apply_selected_preset()
    panel.count.setValue(6)
    panel.seed.setValue(1234)
    settle(qtbot, panel)
    namespace = {}
    exec(compile(panel.code.code(), "<panel code>", "exec"), namespace)  # noqa: S102
    ours = panel.draws()
    assert len(namespace["draws"]) == len(ours) == 6
    for theirs, draw in zip(namespace["draws"], ours, strict=True):
        assert torch.equal(theirs, draw.tensor)
    # fed as float32 the code says so, and still matches
    panel.input_dtype.setValue("float32")
    settle(qtbot, panel)
    namespace = {}
    exec(compile(panel.code.code(), "<panel code>", "exec"), namespace)  # noqa: S102
    assert "image = image.float() / 255" in panel.code.code()
    for theirs, draw in zip(namespace["draws"], panel.draws(), strict=True):
        assert torch.equal(theirs, draw.tensor)
    panel.shutdown()


def test_invalid_parameters_show_the_rule_and_keep_the_last_grid(panel, qtbot):
    before = tiles(panel)
    code = panel.code.code()
    panel.steps_list.setCurrentRow(5)
    blur = next(a for a in panel.add_menu.actions() if "(GaussianBlur)" in a.text())
    blur.trigger()
    settle(qtbot, panel)
    good = tiles(panel)
    editor = panel.editor()
    editor.controls["kernel_size"].first.setValue(4)
    panel.flush()
    assert not panel.banner.isHidden()
    assert "step 7 (GaussianBlur): kernel_size must be odd" in panel.banner.message()
    assert all(a is b for a, b in zip(good, tiles(panel), strict=True))
    assert "kernel_size=5" in panel.code.code()
    editor.controls["kernel_size"].first.setValue(5)
    editor.controls["sigma"].slider.setValue((0.0, 1.0))
    panel.flush()
    assert "sigma must be > 0" in panel.banner.message()
    editor.controls["sigma"].slider.setValue((0.5, 1.0))
    settle(qtbot, panel)
    assert panel.banner.isHidden()
    select(panel, "RandomCrop").controls["size"].first.setValue(400)
    panel.flush()
    assert "the crop 400×256 is larger than the image reaching it, 288×288" in \
        panel.banner.message()
    assert code != panel.code.code() and before is not None


def test_normalize_is_shown_in_its_range_with_stats_before_and_after(panel, qtbot):
    panel.preset.setValue("normalize")
    panel.apply_selected_preset()
    settle(qtbot, panel)
    stats = panel.output_stats()
    assert np.allclose(stats.mean, 0, atol=2e-3) and np.allclose(stats.std, 1, atol=2e-3)
    assert "0.000 ± 1.000" in panel.stats_label.text().replace("-0.000", "0.000")
    assert panel.range_label.isVisible() and "the range Normalize maps" in panel.range_label.text()
    image_mean = panel.input_stats().mean
    assert f"{image_mean[0]:.3f}" in panel.stats_label.text()
    editor = select(panel, "Normalize")
    panel.normalize_from_dataset("imagenet")
    assert editor.controls["mean"].edit.text() == "0.485, 0.456, 0.406"
    editor.controls["std"].edit.setText("0.2, 0, 0.2")
    editor.controls["std"].edit.editingFinished.emit()
    panel.flush()
    assert "std must be positive for every channel" in panel.banner.message()
    editor.controls["std"].edit.setText("0.25")
    editor.controls["std"].edit.editingFinished.emit()
    settle(qtbot, panel)
    assert panel.banner.isHidden()
    panel.normalize_from_image()
    settle(qtbot, panel)
    assert np.allclose(panel.output_stats().mean, 0, atol=2e-3)


def test_gray_image_float_input_and_preset_follow_the_image(panel, qtbot):
    panel.state.set_image(load_sample("digits"))
    settle(qtbot, panel)
    assert panel.banner.isHidden()
    assert "RandomCrop  size [80, 200]" in panel.steps_list.item(4).text()
    assert panel.draws()[0].display.ndim == 2 and panel.draws()[0].shape[0] == 1
    uint8_draws = [d.tensor for d in panel.draws()]
    panel.input_dtype.setValue("float32")
    settle(qtbot, panel)
    for a, b in zip(uint8_draws, panel.draws(), strict=True):
        assert torch.allclose(a, b.tensor, atol=1e-5)
    # an edited pipeline stays put when the image changes: the banner says what broke
    select(panel, "RandomCrop").controls["size"].first.setValue(70)
    panel.state.set_image(load_sample("pattern"))
    settle(qtbot, panel)
    assert "RandomCrop  size [70, 200]" in panel.steps_list.item(4).text()


def test_a_4096_image_is_transformed_at_full_size_and_shown_small(qtbot):
    big = LabImage("big", np.full((4096, 4096), 77, np.uint8), "test")
    panel = AugmentPanel(AppState(big))
    qtbot.addWidget(panel)
    panel._update_timer.stop()
    panel.set_spec(augment.make_spec([augment.make_step("RandomHorizontalFlip", {"p": 0.5}),
                                      augment.make_step("CenterCrop", {"size": 4000})]))
    panel.count.setValue(2)
    settle(qtbot, panel)
    assert panel.draws()[0].shape == (1, 500, 500)  # on the 512² working copy: 4000 · 1/8
    panel.exact_size.setChecked(True)
    settle(qtbot, panel)
    draw = panel.draws()[0]
    assert draw.shape == (1, 4000, 4000) and max(draw.display.shape) == 256
    assert draw.tensor is None  # too big to keep; the display and stats are kept
    assert draw.stats.mean[0] == pytest.approx(77 / 255, abs=1e-6)
    panel.shutdown()


def test_a_new_change_cancels_the_stale_grid(qtbot):
    panel = make_panel(qtbot)
    panel.count.setValue(64)
    panel.flush()
    job = panel.jobs["grid_draws"]
    first_worker = job.current_worker()
    editor = select(panel, "RandomRotation")
    editor.controls["degrees"].slider.setValue((80, 90))
    panel.flush()
    # the new grid starts at once; the stale one is not waited for
    assert first_worker is not None and job.current_worker() not in (None, first_worker)
    qtbot.waitUntil(panel.grid_done, timeout=30_000)
    qtbot.waitUntil(lambda: job.winding_down() == 0, timeout=30_000)
    angles = [d.events[2].drawn["angle"] for d in panel.draws()]
    assert len(angles) == 64 and all(80 <= a <= 90 for a in angles)
    assert panel.grid.filled_count() == 64
    panel.shutdown()


def test_shutdown_stops_a_running_grid(qtbot):
    panel = make_panel(qtbot)
    panel.count.setValue(64)
    panel.flush()
    assert panel.is_drawing()
    panel.shutdown()
    assert not panel.is_drawing()


def test_any_pipeline_edits_never_raise(qtbot):
    panel = make_panel(qtbot, small_image(32, 40))
    names = list(augment.STEP_TYPES)

    def random_value(control, data):
        kind = control.info.kind
        if kind in ("range", "jitter"):
            low, high = control.slider.minimum(), control.slider.maximum()
            a = data.draw(st.floats(low, high, allow_nan=False))
            b = data.draw(st.floats(low, high, allow_nan=False))
            if control.enabled_box is not None:
                control.enabled_box.setChecked(data.draw(st.booleans()))
            control.slider.setValue((a, b))
        elif kind == "pair":
            if control.enabled_box is not None:
                control.enabled_box.setChecked(data.draw(st.booleans()))
            control.first.setValue(data.draw(st.floats(-1, 2, allow_nan=False)))
        elif kind in ("size", "kernel"):
            control.as_list.setChecked(data.draw(st.booleans()))
            control.first.setValue(data.draw(st.integers(-5, 80)))
            control.second.setValue(data.draw(st.integers(-5, 80)))
        elif kind == "bool":
            control.check.setChecked(data.draw(st.booleans()))
        elif kind == "choice":
            control.box.setValue(data.draw(st.sampled_from(control.box.values())))
        elif kind == "erase_value":
            control.mode.setValue(data.draw(st.sampled_from(["constant", "random"])))
            control.slider.setValue(data.draw(st.floats(-1, 2, allow_nan=False)))
        elif kind == "channels":
            text = data.draw(st.sampled_from(["0.5", "0.2, 0.3, 0.4", "0", "-1, 2", "x",
                                              "", "0.1;0.2"]))
            control.edit.setText(text)
            control.edit.editingFinished.emit()
        else:
            control.slider.setValue(data.draw(st.floats(-2, 300, allow_nan=False)))

    start_image = panel.state.image

    @given(data=st.data())
    def drive(data):
        # the same start for every example, so hypothesis can replay and shrink
        panel.state.set_image(start_image)
        panel.set_spec(augment.preset("light", panel.image_shape()))
        panel.flush()
        qtbot.waitUntil(panel.grid_done, timeout=30_000)
        for _ in range(data.draw(st.integers(1, 4))):
            action = data.draw(st.sampled_from(["add", "remove", "up", "down", "toggle",
                                                "edit", "edit", "preset"]))
            if action == "add":
                panel.add_step(data.draw(st.sampled_from(names)))
            elif action == "remove":
                panel.remove_step()
            elif action in ("up", "down"):
                if panel.steps_list.count():
                    panel.steps_list.setCurrentRow(
                        data.draw(st.integers(0, panel.steps_list.count() - 1)))
                panel.move_step(-1 if action == "up" else 1)
            elif action == "toggle" and panel.steps_list.count():
                row = data.draw(st.integers(0, panel.steps_list.count() - 1))
                panel.set_step_enabled(row, data.draw(st.booleans()))
            elif action == "edit" and panel.editor() is not None:
                for control in panel.editor().controls.values():
                    if data.draw(st.booleans()):
                        random_value(control, data)
            elif action == "preset":
                panel.preset.setValue(data.draw(st.sampled_from(list(augment.PRESETS))))
                panel.apply_selected_preset()
        panel.count.setValue(data.draw(st.integers(-3, 5)))
        panel.lock.setChecked(data.draw(st.booleans()))
        panel.input_dtype.setValue(data.draw(st.sampled_from(["uint8", "float32"])))
        if data.draw(st.booleans()):
            panel.state.set_image(small_image(data.draw(st.integers(1, 40)),
                                              data.draw(st.integers(1, 40)),
                                              gray=data.draw(st.booleans())))
        panel.flush()
        qtbot.waitUntil(panel.grid_done, timeout=30_000)
        spec = panel.spec()
        problems = augment.validate_spec(spec, panel.image_shape())
        assert panel.problems() == problems
        if problems:
            assert not panel.banner.isHidden() and panel.banner.message().startswith("step")
        else:
            assert "torch refused" not in panel.banner.message()
            assert panel.last_good_spec() == spec
            assert len(panel.draws()) == panel.count.value() == panel.grid.filled_count()

    drive()
    panel.shutdown()


def test_a_refusal_inside_the_worker_is_shown_not_raised(panel, qtbot, monkeypatch):
    real = augment_draws.generate_draws

    def refuse_after_one(*args, **kwargs):
        for draw in real(*args, **kwargs):
            yield draw
            raise RuntimeError("out of memory (pretend)")

    monkeypatch.setattr(augment_draws, "generate_draws", refuse_after_one)
    panel.seed.setValue(5)
    settle(qtbot, panel)
    assert "torch refused this pipeline on this image: RuntimeError: out of memory" in \
        panel.banner.message()
    assert len(panel.draws()) == 1 and panel.grid.filled_count() == 1


def test_a_photo_is_drawn_on_a_working_copy_with_converted_pixels_and_exact_on_request(qtbot):
    rng = np.random.default_rng(4)
    photo = LabImage("photo", rng.integers(0, 256, (600, 1024, 3), dtype=np.uint8), "test")
    panel = make_panel(qtbot, photo)
    spec = augment.make_spec([augment.make_step("RandomCrop", {"size": [400, 800]}),
                              augment.make_step("RandomHorizontalFlip", {"p": 0.5})])
    panel.set_spec(spec)
    panel.count.setValue(3)
    settle(qtbot, panel)
    copy = panel.working_copy()
    assert copy.size == (300, 512)
    note = panel.working_note.text()
    assert panel.working_note.isVisibleTo(panel)
    assert "working copy: 1024×600 → 512×300, for speed" in note
    assert "RandomCrop size [400, 800] → [200, 400]" in note
    # the draws are the pipeline's on the shrunk copy, exactly as the exported code makes them
    small = augment.image_tensor(photo.pixels)
    from lab.augment import working

    small = working.shrink(small, copy.size)
    expected = list(augment_draws.generate_draws(copy.spec, small, count=3,
                                                 seed=int(panel.seed.value())))
    for draw, want in zip(panel.draws(), expected, strict=True):
        assert draw.shape == (3, 200, 400) and torch.equal(draw.tensor, want.tensor)
    assert "USE_WORKING_COPY = True" in panel.code.code()
    panel.exact_size.setChecked(True)
    settle(qtbot, panel)
    assert panel.working_copy() is None and not panel.working_note.isVisibleTo(panel)
    assert all(draw.shape == (3, 400, 800) for draw in panel.draws())
    assert "USE_WORKING_COPY" not in panel.code.code()
    panel.shutdown()
