import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from lab import pooling
from lab.images import load_sample, to_display, to_tensor
from widgets.kit.panel import AppState
from widgets.pooling.panel import PoolingPanel


@pytest.fixture
def panel(qtbot):
    widget = PoolingPanel(AppState())
    qtbot.addWidget(widget)
    widget.resize(1200, 850)
    widget.show()
    qtbot.waitUntil(widget.has_drawn)
    return widget


def shown(grid, index):
    return grid.image_item(index).image


def test_first_view_shows_max_pool_of_the_image_and_grid(panel):
    x = to_tensor(panel.state.image)[None]
    expected = to_display(F.max_pool2d(x, 2, 2)[0])
    assert np.array_equal(shown(panel.image_grid, 1), expected)
    grid = panel._grid_values
    torch_out = F.max_pool2d(torch.tensor(grid)[None, None], 2, 2)[0, 0].numpy()
    assert np.array_equal(panel.output_matrix.values(), torch_out)
    assert "128" in panel.formula.text() and "nn.MaxPool2d(kernel_size=2" in panel.code.code()
    assert panel.explained_cell().startswith("output[0, 0] = max(")


def test_numbers_follow_the_controls(panel):
    panel.kind.setValue("avg")
    panel.kernel.setValue(3)
    panel.stride.setValue(2)
    panel.padding.setValue(1)
    panel.count_include_pad.setChecked(False)
    panel.ceil_mode.setChecked(True)
    panel.flush()
    grid = torch.tensor(panel._grid_values)[None, None]
    expected = F.avg_pool2d(grid, 3, 2, 1, True, False)[0, 0].numpy()
    assert np.allclose(panel.output_matrix.values(), expected)
    x = to_tensor(panel.state.image)[None]
    image_out = to_display(F.avg_pool2d(x, 3, 2, 1, True, False)[0])
    assert np.array_equal(shown(panel.image_grid, 1), image_out)
    assert panel.input_matrix.padding() == 1
    assert panel.index_matrix.isHidden() and not panel.dilation.isEnabled()


def test_clicking_an_output_cell_highlights_its_window(panel, qtbot):
    view = panel.output_matrix
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton,
                     pos=view.cell_rect(1, 2).center().toPoint())
    highlights = panel.input_matrix.highlights()
    window = {(r, c) for r in (2, 3) for c in (4, 5)}
    assert set(highlights) == window
    chosen = [cell for cell, role in highlights.items() if role == "chosen"]
    assert len(chosen) == 1
    value = panel.output_matrix.values()[1, 2]
    assert panel._grid_values[chosen[0]] == value
    assert panel.explained_cell().startswith("output[1, 2] = max(")
    assert panel.unpool_matrix.highlights() == {chosen[0]: "chosen"}
    # hovering another cell explains it; leaving returns to the clicked one
    qtbot.mouseMove(view, view.cell_rect(0, 0).center().toPoint())
    assert panel.explained_cell().startswith("output[0, 0]")
    view.leaveEvent(None)
    assert panel.explained_cell().startswith("output[1, 2]")


def test_a_burst_of_slider_changes_computes_once_and_shows_the_last(panel, qtbot):
    before = panel.compute_counts["pool_image"]
    for i in range(50):
        panel.kernel.setValue(1 + i % 6)
    panel.kernel.setValue(4)
    panel.stride.setValue(4)
    qtbot.waitUntil(lambda: panel.compute_counts["pool_image"] > before)
    qtbot.wait(50)
    assert panel.compute_counts["pool_image"] - before <= 2
    assert shown(panel.image_grid, 1).shape[:2] == (64, 64)
    assert "→ 64×64" in panel.image_grid.titles()[1]


def test_invalid_settings_name_the_rule_and_keep_the_last_result(panel):
    last = shown(panel.image_grid, 1)
    panel.kernel.setValue(2)
    panel.padding.setValue(3)
    panel.flush()
    assert not panel.banner.isHidden()
    assert "padding must be at most half the kernel size" in panel.banner.message()
    assert shown(panel.image_grid, 1) is last
    panel.padding.setValue(0)
    panel.kernel.setValue(8)
    panel.grid_size.setValue(4)
    panel.stride.setValue(1)
    panel.flush()
    assert "numeric grid (4×4): output size must be at least 1" in panel.banner.message()
    panel.kernel.setValue(2)
    panel.flush()
    assert panel.banner.isHidden()


def test_adaptive_and_lp_pooling(panel):
    panel.kind.setValue("adaptive_avg")
    panel.output_size.setValue(3)
    panel.flush()
    grid = torch.tensor(panel._grid_values)[None, None]
    assert np.allclose(panel.output_matrix.values(), F.adaptive_avg_pool2d(grid, 3)[0, 0])
    assert not panel.kernel.isEnabled() and panel.output_size.isEnabled()
    panel.kind.setValue("lp")
    panel.norm_type.setValue(3.0)
    panel.flush()
    assert np.allclose(panel.output_matrix.values(), F.lp_pool2d(grid, 3.0, 2, 2)[0, 0])
    panel.flush_code()
    assert "nn.LPPool2d(norm_type=3" in panel.code.code()


def test_code_follows_once_the_controls_rest(panel, qtbot):
    panel.kernel.setValue(3)
    panel.flush()
    assert "kernel_size=2" in panel.code.code()  # mid-drag: the frames go to the pixels
    qtbot.waitUntil(lambda: "nn.MaxPool2d(kernel_size=3" in panel.code.code(), timeout=2000)


def test_max_indices_and_unpool_match_torch(panel):
    panel.kernel.setValue(3)
    panel.stride.setValue(2)
    panel.padding.setValue(1)
    panel.flush()
    grid = torch.tensor(panel._grid_values)[None, None]
    out, idx = F.max_pool2d(grid, 3, 2, 1, return_indices=True)
    assert np.array_equal(panel.index_matrix.values(), idx[0, 0].numpy())
    unpooled = F.max_unpool2d(out, idx, 3, 2, 1, output_size=grid.shape[-2:])
    assert np.array_equal(panel.unpool_matrix.values(), unpooled[0, 0].numpy())


def test_new_image_and_new_numbers(panel, qtbot):
    panel.state.set_image(load_sample("digits"))
    panel.flush()
    assert shown(panel.image_grid, 0).shape == (80, 200)
    old = panel._grid_values.copy()
    qtbot.mouseClick(panel.new_numbers, Qt.MouseButton.LeftButton)
    panel.flush()
    assert not np.array_equal(old, panel._grid_values)
    panel.grid_size.setValue(5)
    panel.flush()
    assert panel.input_matrix.shape() == (5, 5)


def test_csv_export(panel, tmp_path):
    path = tmp_path / "grid.csv"
    panel.export_grid_csv(path)
    text = path.read_text()
    assert text.startswith("input\n") and "argmax indices" in text


def test_upsampling_tab(panel):
    panel.tabs.setCurrentIndex(1)
    panel.scale.setValue(3)
    panel.patch.setValue(16)
    panel.flush()
    titles = panel.up_grid.titles()
    assert titles[0] == "input patch 16×16"
    assert [t.split(" ")[0] for t in titles[1:]] == ["nearest", "bilinear", "bicubic",
                                                     "ConvTranspose2d", "PixelShuffle"]
    assert all("48×48" in t for t in titles[1:])
    params = panel.upsample_params()
    patch = pooling.center_patch(to_tensor(panel.state.image), 16, params.center)[None]
    nearest = to_display(F.interpolate(patch, scale_factor=3, mode="nearest")[0])
    assert np.array_equal(shown(panel.up_grid, 1), nearest)
    panel.use_target.setChecked(True)
    panel.target.setValue(40)
    panel.flush()
    assert "nearest → 40×40" in panel.up_grid.titles()[1]
    assert "size=(40, 40)" in panel.up_code.code()
    assert not panel.scale.isEnabled()


def test_any_control_values_never_raise(qtbot):
    panel = PoolingPanel(AppState())
    qtbot.addWidget(panel)
    panel.show()

    @given(kind=st.sampled_from(list(pooling.POOL_KINDS)), kernel=st.integers(-5, 20),
           stride=st.integers(-5, 20), padding=st.integers(-5, 20),
           dilation=st.integers(-5, 20), ceil=st.booleans(), include=st.booleans(),
           power=st.floats(-10, 20), out=st.integers(-5, 50), grid=st.integers(-5, 40),
           scale=st.integers(-5, 20), patch=st.integers(-5, 300),
           target=st.one_of(st.none(), st.integers(-5, 900)), corners=st.booleans(),
           init=st.sampled_from(list(pooling.TRANSPOSED_INITS)), tab=st.integers(0, 1),
           hover=st.tuples(st.integers(-3, 20), st.integers(-3, 20)))
    def drive(kind, kernel, stride, padding, dilation, ceil, include, power, out, grid, scale,
              patch, target, corners, init, tab, hover):
        panel.tabs.setCurrentIndex(tab)
        panel.kind.setValue(kind)
        for slider, value in ((panel.kernel, kernel), (panel.stride, stride),
                              (panel.padding, padding), (panel.dilation, dilation),
                              (panel.norm_type, power), (panel.output_size, out),
                              (panel.grid_size, grid), (panel.scale, scale),
                              (panel.patch, patch)):
            slider.setValue(value)
            assert slider.minimum() <= slider.value() <= slider.maximum()
        panel.ceil_mode.setChecked(ceil)
        panel.count_include_pad.setChecked(include)
        panel.use_target.setChecked(target is not None)
        if target is not None:
            panel.target.setValue(target)
        panel.align_corners.setChecked(corners)
        panel.transposed_init.setValue(init)
        panel.flush()
        panel._hovered(*hover)
        panel._pin(*hover)
        if tab == 0:  # the banner names a rule exactly when torch would refuse the image
            params = panel.pool_params()
            image_ok = not params.validate(panel.state.image.height, panel.state.image.width)
            image_problems = [p for p in panel.banner.problems()
                              if not p.startswith("numeric grid")]
            assert image_ok == (not image_problems)

    drive()


def test_zoom_is_shared_kept_across_changes_and_never_drifts(panel, qtbot):
    grid = panel.image_grid

    def ranges():  # x0, x1, y0, y1 of both views
        return [v for i in range(2) for axis in grid.view(i).viewRange() for v in axis]

    panel.fit_output.setChecked(True)  # both views show the same input pixels
    panel.flush()
    start = ranges()
    for width in (1100, 1200, 1000, 1200):  # resizing the window must not shrink the images
        panel.resize(width, 850)
        qtbot.wait(20)
    assert ranges() == pytest.approx(start)
    grid.view(0).scaleBy((0.5, 0.5))
    grid.view(0).sigRangeChangedManually.emit([True, True])  # what a wheel turn emits
    zoomed = ranges()
    assert zoomed[4:] == pytest.approx(zoomed[:4])  # the pooled image follows
    assert zoomed[1] - zoomed[0] < start[1] - start[0]
    panel.kernel.setValue(3)
    panel.flush()
    assert ranges() == pytest.approx(zoomed)  # a new kernel keeps the user's zoom
    qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton,
                      pos=grid.viewport().rect().center())
    assert ranges() == pytest.approx(start)


def _photo(side: int):
    from PIL import Image

    from lab.images import LabImage

    pixels = Image.fromarray(load_sample("china").pixels).resize((side, side))
    return LabImage(f"china {side}", np.asarray(pixels, dtype=np.uint8).copy(), "test")


def test_a_big_photo_computes_the_shown_pixels_exactly_and_zooming_refines(qtbot):
    from PySide6.QtCore import QRectF

    widget = PoolingPanel(AppState(_photo(1024)))
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    qtbot.waitUntil(widget.has_drawn)
    widget.kind.setValue("avg")
    widget.kernel.setValue(3)
    widget.stride.setValue(1)
    widget.padding.setValue(1)
    widget.flush()
    x = to_tensor(widget.state.image)[None]
    full = to_display(F.avg_pool2d(x, 3, 1, 1)[0])
    _, drawn = widget._pool_shown
    assert drawn.step >= 2  # a 1024² map in a few hundred screen pixels
    assert np.array_equal(shown(widget.image_grid, 1), full[::drawn.step, ::drawn.step])
    assert f"1 row and column in {drawn.step}" in widget.image_grid.titles()[1]
    # zoom in to 1:1 on the right edge: its pixels computed alone, one by one
    view = widget.image_grid.view(1)
    view.setRange(QRectF(900, 300, 124, 80), padding=0)
    widget.image_zoom._zoomed(view, None)
    qtbot.waitUntil(lambda: widget._pool_shown[1].step == 1)
    widget.flush()
    _, zoomed = widget._pool_shown
    expected = full[zoomed.rows.start:zoomed.rows.stop, zoomed.cols.start:zoomed.cols.stop]
    assert zoomed.cols.stop == 1024 and np.array_equal(shown(widget.image_grid, 1), expected)
    assert "row and column in" not in widget.image_grid.titles()[1]
    # every pixel, off the GUI thread, on request
    widget.request_full_result()
    qtbot.waitUntil(widget.full_result_ready)
    assert torch.equal(widget.full_result(), F.avg_pool2d(x, 3, 1, 1))
    widget.shutdown()


def test_formula_covers_the_numeric_grid_in_view(panel, qtbot):
    """The learner looks at the 8×8 grid: its formula is shown beside the image's."""
    qtbot.waitUntil(lambda: "numeric grid: 8×8" in panel.formula.text())
    panel.grid_size.setValue(10)
    qtbot.waitUntil(lambda: "numeric grid: 10×10" in panel.formula.text())
    assert "H_out = ⌊(256" in panel.formula.text()


def test_upsampling_code_shows_more_than_a_few_lines(panel, qtbot):
    panel.tabs.setCurrentIndex(1)  # Upsampling
    editor = panel.up_code.editor
    qtbot.waitUntil(lambda: editor.isVisible())
    assert editor.viewport().height() >= 9 * editor.fontMetrics().lineSpacing()


def test_an_export_of_the_pooled_photo_is_every_output_pixel(qtbot, tmp_path):
    """Shown at screen resolution, exported whole: the CSV is F.avg_pool2d's output, a
    block per channel, and the PNG has its full size."""
    from PIL import Image

    from lab.images import LabImage
    from lab.map_export import read_csv_blocks

    rng = np.random.default_rng(3)
    photo = LabImage("photo", rng.integers(0, 255, (900, 1000, 3), dtype=np.uint8))
    panel = PoolingPanel(AppState(photo))
    qtbot.addWidget(panel)
    panel.resize(1200, 850)
    panel.show()
    panel.kind.setValue("avg")
    panel.kernel.setValue(3)
    panel.stride.setValue(1)
    panel.padding.setValue(1)
    panel.flush()
    assert panel._pool_shown[1].step > 1  # the view shows some of the pixels
    assert panel.export_image_file(tmp_path / "pooled.png")
    qtbot.waitUntil(lambda: panel.last_export == tmp_path / "pooled.png", timeout=30_000)
    assert Image.open(tmp_path / "pooled.png").size == (1000, 900)
    assert panel.export_image_file(tmp_path / "pooled.csv")
    qtbot.waitUntil(lambda: panel.last_export == tmp_path / "pooled.csv", timeout=30_000)
    expected = F.avg_pool2d(to_tensor(photo)[None], 3, 1, 1)[0].numpy()
    blocks = read_csv_blocks(tmp_path / "pooled.csv")
    np.testing.assert_array_equal(np.stack(blocks), expected)
    panel.shutdown()


def _on_screen_width(grid, index):
    """The tile's image width in screen pixels (once the views' new ranges are applied)."""
    QApplication.processEvents()
    item = grid.image_item(index)
    return item.mapRectToDevice(item.boundingRect()).width()


def test_pooled_image_is_drawn_at_its_true_size_or_fitted(panel, qtbot):
    """Pooling by 2 halves the image: at true size (the default) its 128² pixels are as
    large on screen as the input's, so it is half as wide; 'Fit' fills the view."""
    grid = panel.image_grid
    qtbot.waitUntil(lambda: _on_screen_width(grid, 0) > 100)
    assert not panel.fit_output.isChecked() and panel.params().fit_output is False
    assert _on_screen_width(grid, 1) == pytest.approx(_on_screen_width(grid, 0) / 2, rel=0.03)
    # zoomed in, the pooled view stays centred on the same place, at the same pixel size
    grid.view(0).scaleBy((0.5, 0.5))
    grid.view(0).sigRangeChangedManually.emit([True, True])
    (x0, x1), _ = grid.view(0).viewRange()
    (u0, u1), _ = grid.view(1).viewRange()
    assert (u1 - u0) == pytest.approx(2 * (x1 - x0)) and (u0 + u1) == pytest.approx(x0 + x1)
    panel.stride.setValue(4)
    panel.kernel.setValue(4)
    panel.flush()
    qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton,
                      pos=grid.viewport().rect().center())  # fit the input again
    assert _on_screen_width(grid, 1) == pytest.approx(_on_screen_width(grid, 0) / 4, rel=0.03)
    panel.fit_output.setChecked(True)
    panel.flush()
    assert _on_screen_width(grid, 1) == pytest.approx(_on_screen_width(grid, 0), rel=0.03)
    assert panel.params().fit_output is True


def test_most_detailed_patch_is_shown_and_the_button_moves_there(panel, qtbot):
    """The first view's patch is already the most detailed: the button had no visible
    effect. The whole image shows where the patch is; the button is off while the patch is
    there, and brings it back after the learner moved it."""
    panel.tabs.setCurrentIndex(1)
    panel.flush()
    start = (panel.patch_x.value(), panel.patch_y.value())
    assert panel.at_most_detailed() and not panel.find_detail.isEnabled()
    assert "most detailed 24×24 square" in panel.detail_note.text()
    height, width = panel.state.image.pixels.shape[:2]

    def outlined():
        rect = panel.patch_outline.rect()
        return (round(rect.top()), round(rect.left()), round(rect.height()),
                round(rect.width()))

    assert outlined() == pooling.patch_box(height, width, 24, panel.upsample_params().center)
    assert panel.where.view(0).state["mouseEnabled"] == [False, False]  # wheel: scrolls
    panel.patch_x.setValue(10)
    panel.flush()
    assert panel.find_detail.isEnabled() and not panel.at_most_detailed()
    assert "moves it where a 24-pixel square has the most edges" in panel.detail_note.text()
    assert outlined()[1] == pooling.patch_box(height, width, 24, (0.8, 0.1))[1]
    qtbot.mouseClick(panel.find_detail, Qt.MouseButton.LeftButton)
    panel.flush()
    assert (panel.patch_x.value(), panel.patch_y.value()) == start
    assert not panel.find_detail.isEnabled() and panel.at_most_detailed()
    panel.patch.setValue(48)  # another size: another search is needed
    panel.flush()
    assert panel.find_detail.isEnabled()
    qtbot.mouseClick(panel.find_detail, Qt.MouseButton.LeftButton)
    panel.flush()
    expected = pooling.most_detailed_center(to_tensor(panel.state.image), 48)
    assert panel.patch_x.value() == round(expected[1] * 100)
    assert "most detailed 48×48 square" in panel.detail_note.text()


def test_upsampling_tab_fits_a_1280_pixel_window(panel, qtbot):
    """The ConvTranspose2d formula on one line made the window 1303 px wide at 1280."""
    panel.tabs.setCurrentIndex(1)
    panel.flush()
    qtbot.wait(10)
    assert panel.minimumSizeHint().width() <= 1280 - 240  # beside the navigation list


def test_a_zoomed_upsampling_view_computes_the_region_it_shows(panel, qtbot):
    """Zoomed into the enlarged patch, each method computes the cells over the region shown
    (and a margin) at full resolution — the whole torch call's cells there — and a
    double-click brings back every cell."""
    from PySide6.QtCore import QRectF

    panel.tabs.setCurrentIndex(1)
    panel.scale.setValue(8)
    panel.patch.setValue(64)
    panel.flush()
    params = panel.upsample_params()
    patch = pooling.center_patch(to_tensor(panel.state.image), 64, params.center)[None]
    whole = to_display(F.interpolate(patch, scale_factor=8, mode="bicubic",
                                     align_corners=True)[0])
    assert shown(panel.up_grid, 3).shape[:2] == (512, 512)
    before = panel.compute_counts["upsample"]
    view = panel.up_grid.view(3)
    view.setRange(QRectF(40, 8, 8, 6), padding=0)  # patch pixels: a small corner region
    panel.up_zoom._zoomed(view, None)
    panel.flush()
    assert panel.compute_counts["upsample"] == before  # every cell is drawn already
    panel.align_corners.setChecked(True)  # a change while zoomed: the region alone
    panel.flush()
    assert panel._up_region is not None
    drawn = shown(panel.up_grid, 3)
    assert drawn.shape[0] * drawn.shape[1] < 512 * 512 / 8  # only the region, and a margin
    rect = panel.up_grid.image_item(3).mapRectToParent(panel.up_grid.image_item(3).boundingRect())
    r0, c0 = round(rect.top() * 8), round(rect.left() * 8)
    assert r0 <= 8 * 8 and c0 <= 40 * 8 and r0 + drawn.shape[0] >= 14 * 8
    assert np.array_equal(drawn, whole[r0:r0 + drawn.shape[0], c0:c0 + drawn.shape[1]])
    assert "(the region shown)" in panel.up_grid.titles()[3]
    panel.up_zoom.fit()
    qtbot.waitUntil(lambda: panel._up_region is None)
    assert shown(panel.up_grid, 3).shape[:2] == (512, 512)
