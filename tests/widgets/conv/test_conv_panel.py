import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QApplication
from torch import nn

from lab import conv
from lab.conv import ConvParams
from lab.images import LabImage, load_sample, to_tensor
from widgets.conv.panel import ConvPanel
from widgets.kit.panel import AppState
from widgets.kit.views import ImageGrid, MatrixView


@pytest.fixture
def panel(qtbot):
    widget = ConvPanel(AppState())
    qtbot.addWidget(widget)
    widget.resize(1300, 900)
    widget.show()
    qtbot.waitUntil(widget.has_drawn)
    return widget


def torch_maps(image: torch.Tensor, params: ConvParams) -> torch.Tensor:
    """What nn.Conv2d (+ ReLU) makes of the image with the panel's weights."""
    layer = nn.Conv2d(params.in_channels, params.out_channels,
                      (params.kernel_h, params.kernel_w), params.stride, params.padding,
                      params.dilation, params.groups, params.bias, params.padding_mode)
    weight = conv.build_weight(params)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 'same' with an even kernel
        layer.weight.copy_(weight.flip(-2, -1) if params.flip else weight)
        if params.bias:
            layer.bias.copy_(conv.bias_tensor(params))
        out = layer(image)
    return (F.relu(out) if params.relu else out)[0]


def shown_indices(panel: ConvPanel, index: int) -> np.ndarray:
    return panel.maps_grid.image_item(index).image


def test_first_view_shows_edge_kernels_on_the_rgb_image(panel):
    params = panel.conv_params()
    assert (params.in_channels, params.out_channels, params.kernel_h) == (3, 4, 3)
    assert params.presets == ("sobel_x", "sobel_y", "laplacian", "emboss")
    image = to_tensor(panel.state.image)[None]
    expected = torch_maps(image, params)
    assert torch.equal(panel.maps, expected)
    # what is drawn: each map's colour indices, 0 at the centre of the diverging map
    colours = conv.diverging_indices(expected, shared=False, percentile=99.0)
    step = panel.display_step
    for o in range(4):
        assert np.array_equal(shown_indices(panel, o), colours.indices[o][::step, ::step])
    assert panel.maps_grid.image_item(0).levels.tolist() == [0, 255]
    low, high = float(expected[0].min()), float(expected[0].max())
    assert panel.maps_grid.titles()[0] == (f"0 Sobel x<br>{conv.format_number(low)} … "
                                           f"{conv.format_number(high)}")
    assert panel.input_grid.titles() == ["in 0: R 256×256", "in 1: G", "in 2: B"]
    assert "H_out = ⌊(256 + 2·1 − 1·(3−1) − 1) / 1⌋ + 1 = 256" in panel.formula.text()
    assert "feature maps: (1, 4, 256, 256)" in panel.stats.text()
    assert "nn.Conv2d(3, 4, kernel_size=3" in panel.code.code()
    assert "[4, 3, 3, 3]" in panel.weight_view.shape_text()
    assert panel.kernel_editor.values().tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]


def test_the_first_view_shows_edges_boldly(panel):
    """Each map ±its own max left the edges pale (a few pixels set the scale): by default
    the scale is the 99th percentile of |value|, and a user sees strong colour."""
    assert panel.scale_mode.value() == "bold"
    strong = []
    for o in range(4):
        distance = np.abs(shown_indices(panel, o).astype(float) - 127.5)
        strong.append((distance > 64).mean())  # over half the colour scale: clearly coloured
    # ±max: the Laplacian's few checkerboard corners left 0.5 % of its pixels coloured
    assert min(strong) > 0.015, strong  # edges are thin: a few % of the pixels
    assert "99th-percentile |value|" in panel.stats.text()
    assert "99th-percentile" in panel.maps_grid.toolTip()


def test_maps_follow_every_control(panel):
    panel.out_channels.setValue(6)
    panel.kernel_h.setValue(5)
    assert panel.kernel_w.value() == 5  # linked
    panel.link_kernel.setChecked(False)
    panel.kernel_w.setValue(2)
    panel.stride.setValue(2)
    panel.padding.setValue(3)
    panel.padding_mode.setValue("reflect")
    panel.dilation.setValue(2)
    panel.groups.setValue(3)
    panel.bias.setChecked(True)
    panel.kernel_channel.setValue(1)
    panel.bias_value.setValue(-0.5)
    panel.relu.setChecked(True)
    panel.flip.setChecked(True)
    panel.scale_mode.setValue("shared")
    panel.flush()
    params = panel.conv_params()
    assert params.weight_shape() == (6, 1, 5, 2) and params.biases[1] == -0.5
    image = to_tensor(panel.state.image)[None]
    expected = torch_maps(image, params)
    assert panel.maps.shape == (6, 127, 130) and torch.allclose(panel.maps, expected)
    assert panel.banner.isHidden()
    assert panel.maps_grid.tile_count() == 6
    assert "H_out = ⌊(256 + 2·3 − 2·(5−1) − 1) / 2⌋ + 1 = 127" in panel.formula.text()
    assert "W_out = ⌊(256 + 2·3 − 2·(2−1) − 1) / 2⌋ + 1 = 130" in panel.formula.text()
    assert "depthwise" in panel.weight_view.groups_text()
    panel.flush_code()
    assert "padding_mode='reflect'" in panel.code.code() and "flip(-2, -1)" in panel.code.code()
    # shared scale: one ±bound on the colour bar for every map
    bound = float(panel.maps.abs().max())
    assert panel.maps_grid._colorbar.levels() == pytest.approx((-bound, bound))


def test_exported_code_reproduces_the_maps(panel):
    panel.out_channels.setValue(3)
    panel.padding.setValue(2)
    panel.same_padding.setChecked(True)
    panel.kernel_h.setValue(4)
    panel.preset.setValue("random")
    panel.bias.setChecked(True)
    panel.bias_value.setValue(0.25)
    panel.flush()
    panel.flush_code()
    scope: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 'same' with an even kernel
        exec(compile(panel.code.code(), "<export>", "exec"), scope)
        with torch.no_grad():
            reproduced = scope["model"](to_tensor(panel.state.image)[None])[0]
    assert torch.allclose(reproduced, panel.maps, atol=1e-6)
    assert panel.maps.shape[-2:] == (256, 256)


def test_editing_a_kernel_cell_changes_the_weights_and_the_maps(panel, qtbot):
    editor = panel.kernel_editor
    line = editor.start_editing(1, 1)
    line.setText("−7")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    panel.flush()
    weight = conv.build_weight(panel.conv_params())
    assert weight[0, :, 1, 1].tolist() == [-7, -7, -7]  # every input channel at once
    assert editor.values()[1, 1] == -7
    assert torch.equal(panel.maps, torch_maps(to_tensor(panel.state.image)[None],
                                               panel.conv_params()))
    assert "Sobel x*" in panel.weight_view._row_titles[0]
    # one input channel only
    panel.edit_all.setChecked(False)
    panel.in_index.setValue(2)
    panel.flush()
    line = editor.start_editing(0, 0)
    line.setText("3")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    panel.flush()
    weight = conv.build_weight(panel.conv_params())
    assert weight[0, :, 0, 0].tolist() == [-1, -1, 3]
    panel.flush_code()
    assert "[[3, 0, 1], [-2, -7, 2], [-1, 0, 1]]" in panel.code.code()
    qtbot.mouseClick(panel.reset_edits, Qt.MouseButton.LeftButton)
    panel.flush()
    assert conv.build_weight(panel.conv_params())[0, 2].tolist() == [[-1, 0, 1], [-2, 0, 2],
                                                                    [-1, 0, 1]]


def test_presets_per_channel_and_the_weight_diagram(panel, qtbot):
    panel.kernel_channel.setValue(2)
    panel.preset.setValue("gaussian")
    panel.flush()
    assert panel.conv_params().presets[2] == "gaussian"
    assert panel.maps_grid.titles()[2].startswith("2 Gaussian blur")
    qtbot.mouseClick(panel.preset_all, Qt.MouseButton.LeftButton)
    panel.out_channels.setValue(5)
    panel.flush()
    assert set(panel.conv_params().presets) == {"gaussian"}
    # clicking a small kernel in the diagram picks it for editing
    rect = panel.weight_view.kernel_rect(4, 1)
    qtbot.mouseClick(panel.weight_view, Qt.MouseButton.LeftButton,
                     pos=rect.center().toPoint())
    assert (panel.kernel_channel.value(), panel.in_index.value()) == (4, 1)
    panel.flush()
    assert "kernel 4 · input G" in panel.kernel_editor.title
    panel.preset.setValue("random")
    panel.flush()
    before = conv.build_weight(panel.conv_params())[4].clone()
    qtbot.mouseClick(panel.new_random, Qt.MouseButton.LeftButton)
    panel.flush()
    assert not torch.equal(before, conv.build_weight(panel.conv_params())[4])


def test_true_convolution_flips_sobel_and_explains_why(panel):
    before = panel.maps[0].clone()
    panel.flip.setChecked(True)
    panel.flush()
    assert torch.allclose(panel.maps[0], -before, atol=1e-5)  # Sobel x is antisymmetric
    assert "cross-correlation" in panel.flip.toolTip()
    assert "kernels flipped: a true convolution" in panel.stats.text()


def test_invalid_settings_name_the_rule_and_keep_the_last_result(panel):
    last = panel.maps
    last_indices = shown_indices(panel, 0)
    panel.groups.setValue(3)  # 4 kernels in 3 groups
    panel.flush()
    assert not panel.banner.isHidden()
    assert "groups must divide out_channels: 4 kernels cannot be split into 3" in \
        panel.banner.message()
    assert panel.maps is last and shown_indices(panel, 0) is last_indices
    panel.groups.setValue(1)
    panel.same_padding.setChecked(True)
    panel.stride.setValue(2)
    panel.flush()
    assert "padding 'same' needs stride 1" in panel.banner.message()
    assert not panel.padding.isEnabled()
    panel.same_padding.setChecked(False)
    panel.stride.setValue(1)
    panel.flush()
    assert panel.banner.isHidden()
    panel.state.set_image(LabImage("tiny", np.zeros((6, 9), np.uint8)))
    panel.kernel_h.setValue(11)
    panel.padding.setValue(0)
    panel.flush()
    assert "kernel larger than the padded input" in panel.banner.message()
    assert "6 + 0 = 6" in panel.banner.message()
    panel.padding.setValue(3)
    panel.flush()
    assert panel.banner.isHidden() and panel.maps.shape == (4, 2, 5)


def test_gray_input_has_one_channel_and_only_one_group(panel):
    panel.input_mode.setValue("gray")
    panel.flush()
    assert panel.groups.values() == [1]
    assert panel.conv_params().in_channels == 1
    assert panel.input_grid.titles() == ["in 0: gray 256×256"]
    image = to_tensor(panel.state.image, "gray")[None]
    assert torch.equal(panel.maps, torch_maps(image, panel.conv_params()))
    assert not panel.in_index.isEnabled()
    panel.input_mode.setValue("rgb")
    assert panel.groups.values() == [1, 3]


def test_a_new_image_and_a_huge_one(panel, qtbot):
    panel.state.set_image(load_sample("digits"))
    panel.flush()
    assert panel.maps.shape == (4, 80, 200)
    rng = np.random.default_rng(2)
    big = LabImage("big", rng.integers(0, 255, (1500, 2100, 3), dtype=np.uint8))
    panel.state.set_image(big)
    panel.flush()
    # the user's full resolution, never shrunk: the shown pixels of the full maps, exactly
    assert "1500×2100" in panel.input_grid.titles()[0]
    assert "(1, 4, 1500, 2100)" in panel.stats.text()
    drawn = panel.maps_shown
    assert drawn.step > 1 and f"1 row and column in {drawn.step}" in panel.stats.text()
    full = torch_maps(to_tensor(big)[None], panel.conv_params())
    sliced = full[:, drawn.rows.start:drawn.rows.stop:drawn.step,
                  drawn.cols.start:drawn.cols.stop:drawn.step]
    torch.testing.assert_close(panel.maps, sliced, rtol=1e-5, atol=1e-5)
    # statistics of the shown pixels are marked, then every pixel's arrive off the GUI thread
    assert "≈" in panel.stats.text() and "≈" in panel.maps_grid.titles()[0]
    panel.request_full_result()
    qtbot.waitUntil(lambda: panel.full_result_ready() and "≈" not in panel.stats.text())
    low, high = float(full[0].min()), float(full[0].max())
    assert panel.maps_grid.titles()[0].endswith(
        f"{conv.format_number(low)} … {conv.format_number(high)}")
    panel.shutdown()


def test_a_drag_of_fifty_changes_computes_once_and_shows_the_last(panel, qtbot):
    before = panel.compute_counts["image"]
    for i in range(50):
        panel.padding.setValue(i % 7)
        panel.stride.setValue(1 + i % 3)
    panel.padding.setValue(0)
    panel.stride.setValue(4)
    qtbot.waitUntil(lambda: panel.compute_counts["image"] > before)
    qtbot.wait(50)
    assert panel.compute_counts["image"] - before <= 2
    assert panel.maps.shape[-2:] == (64, 64)
    assert "(1, 4, 64, 64)" in panel.stats.text()


def test_maps_are_computed_at_screen_resolution_and_refined_on_zoom(qtbot):
    image = LabImage("big", np.random.default_rng(1).integers(0, 255, (1000, 900, 3),
                                                              dtype=np.uint8))
    panel = ConvPanel(AppState(image))
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    qtbot.waitUntil(lambda: panel.has_drawn() and panel.display_step > 1)
    panel.flush()
    step = panel.display_step
    full_maps = torch_maps(to_tensor(image)[None], panel.conv_params())
    assert panel.maps.shape[-2:] == full_maps[:, ::step, ::step].shape[-2:]
    torch.testing.assert_close(panel.maps, full_maps[:, ::step, ::step])
    shown_colours = conv.diverging_indices(panel.maps, shared=False, percentile=99.0).indices
    assert np.array_equal(shown_indices(panel, 1), shown_colours[1])
    before = panel.compute_counts["image"]
    view = panel.maps_grid.view(0)
    view.setRange(QRectF(100, 100, 60, 40), padding=0)
    panel.zoom._zoomed(view, None)
    qtbot.waitUntil(lambda: panel.display_step == 1)
    panel.flush()
    drawn = panel.maps_shown
    region = full_maps[:, drawn.rows.start:drawn.rows.stop, drawn.cols.start:drawn.cols.stop]
    assert drawn.rows.count < 100 and drawn.cols.count < 100  # the visible pixels only
    torch.testing.assert_close(panel.maps, region)
    assert panel.compute_counts["image"] == before  # the view's pixels, not the layer again
    panel.scale_mode.setValue("shared")
    panel.flush()
    assert panel.compute_counts["image"] == before
    shared = conv.diverging_indices(panel.maps, shared=True).indices
    assert np.array_equal(shown_indices(panel, 1), shared[1])
    panel.shutdown()


def test_zoom_is_shared_and_parameters_never_move_it(panel, qtbot):
    region = QRectF(20, 30, 40, 40)
    panel.maps_grid.view(1).setRange(region, padding=0)
    panel.zoom._zoomed(panel.maps_grid.view(1), None)
    panel.stride.setValue(2)
    panel.flush()
    shown = panel.input_grid.view(0).viewRect()
    assert shown.contains(region.center()) and shown.width() < 100
    panel.zoom.fit()
    assert panel.maps_grid.view(0).viewRect().width() >= 256


# ------------------------------------------------------------------ the numeric grid

@pytest.fixture
def grid(panel):
    panel.tabs.setCurrentIndex(1)
    panel.flush()
    return panel


def test_grid_numbers_match_conv2d(grid):
    grid.grid_size.setValue(7)
    grid.grid_kernel_size.setValue(3)
    grid.grid_stride.setValue(2)
    grid.grid_padding.setValue(2)
    grid.grid_dilation.setValue(2)
    grid.grid_padding_mode.setValue("circular")
    grid.flush()
    x = torch.tensor(grid._grid_values)[None, None]
    w = torch.tensor(grid._grid_kernel)[None, None]
    expected = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="circular"), w, stride=2, dilation=2)
    assert np.array_equal(grid.grid_output_view.values(), expected[0, 0].numpy())
    assert grid.grid_input.padding() == 2
    padded = F.pad(x, (2, 2, 2, 2), mode="circular")[0, 0]
    assert grid.grid_input.pad_label(-1, -2) == f"{int(padded[1, 0])}"
    assert "H_out = ⌊(7 + 2·2 − 2·(3−1) − 1) / 2⌋ + 1 = 4" in grid.grid_formula.text()


def test_clicking_an_output_cell_highlights_its_window_and_writes_the_sum(grid, qtbot):
    grid.grid_dilation.setValue(2)
    grid.grid_padding.setValue(1)
    grid.flush()
    view = grid.grid_output_view
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton,
                     pos=view.cell_rect(1, 2).center().toPoint())
    window = {(r, c) for r in (0, 2, 4) for c in (1, 3, 5)}  # gaps of the dilation
    assert set(grid.grid_input.highlights()) == window
    text = grid.explained_cell()
    assert text.startswith("out[1, 2] = Σ input·kernel over the 3×3 window")
    value = view.values()[1, 2]
    assert text.splitlines()[-1] == f"  = {conv.format_number(value)}"
    # hover another cell: its window; leave: back to the clicked one
    qtbot.mouseMove(view, view.cell_rect(0, 0).center().toPoint())
    assert grid.explained_cell().startswith("out[0, 0]")
    assert (-1, -1) in grid.grid_input.highlights()  # a padding cell of the window
    view.leaveEvent(None)
    assert grid.explained_cell().startswith("out[1, 2]")


def test_step_and_play_move_the_window_over_every_position(grid, qtbot):
    grid.grid_size.setValue(4)
    grid.grid_padding.setValue(0)
    grid.flush()
    assert grid.grid_output_view.shape() == (2, 2)
    qtbot.mouseClick(grid.step, Qt.MouseButton.LeftButton)
    assert grid.grid_output_view.selected() == (0, 1)
    grid.speed.setValue(10)
    grid.play.setChecked(True)
    assert grid.play.text() == "⏸ Pause"
    qtbot.waitUntil(lambda: not grid.play.isChecked(), timeout=5000)
    assert grid.grid_output_view.selected() == (1, 1) and grid.at_last_position()
    assert grid.explained_cell().startswith("out[1, 1]")
    grid.play.setChecked(True)  # from the end, playing starts over
    assert grid.grid_output_view.selected() == (0, 0)
    grid.play.setChecked(False)


def test_transposed_mode_shows_where_each_input_cell_lands(grid, qtbot):
    grid.grid_mode.setValue("transposed")
    grid.grid_size.setValue(3)
    grid.grid_stride.setValue(2)
    grid.grid_padding.setValue(1)
    grid.grid_output_padding.setValue(1)
    grid.flush()
    assert not grid.grid_padding_mode.isEnabled() and grid.grid_output_padding.isEnabled()
    x = torch.tensor(grid._grid_values)[None, None]
    w = torch.tensor(grid._grid_kernel)[None, None]
    expected = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    assert np.array_equal(grid.grid_output_view.values(), expected[0, 0].numpy())
    qtbot.mouseClick(grid.grid_input, Qt.MouseButton.LeftButton,
                     pos=grid.grid_input.cell_rect(1, 1).center().toPoint())
    landed = {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)}
    assert set(grid.grid_output_view.highlights()) == landed
    assert grid.grid_input.highlights() == {(1, 1): "chosen"}
    assert grid.explained_cell().startswith("x[1, 1] = ")
    view = grid.grid_output_view
    qtbot.mouseMove(view, view.cell_rect(2, 2).center().toPoint())
    e = conv.explain_transposed_cell(grid._grid_values, w.numpy(), grid.grid_params(), 0, 2, 2)
    assert set(grid.grid_input.highlights()) == {(1, 1)} == {(t.in_row, t.in_col)
                                                            for t in e.terms}
    assert grid.explained_cell() == e.text
    # the step goes over input cells in this mode
    grid.pin("input", 0, 0)
    grid.step_window()
    assert grid.grid_input.selected() == (0, 1)
    assert "ConvTranspose2d(1, 1, kernel_size=3, stride=2, padding=1, output_padding=1" in \
        grid.grid_code.code()


def test_grid_cells_are_editable_and_bad_grids_are_named(grid, qtbot):
    line = grid.grid_input.start_editing(0, 0)
    line.setText("100")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    grid.flush()
    assert grid._grid_values[0, 0] == 100
    x = torch.tensor(grid._grid_values)[None, None]
    w = torch.tensor(grid._grid_kernel)[None, None]
    assert np.array_equal(grid.grid_output_view.values(),
                          F.conv2d(x, w, padding=1)[0, 0].numpy())
    line = grid.grid_kernel_view.start_editing(2, 2)
    line.setText("5")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    grid.flush()
    assert grid._grid_kernel[2, 2] == 5
    grid.grid_size.setValue(3)
    grid.grid_kernel_size.setValue(7)
    grid.grid_padding.setValue(0)
    grid.flush()
    assert grid.banner.message().startswith("numeric grid (3×3): kernel larger than the padded")
    grid.tabs.setCurrentIndex(0)
    assert grid.banner.isHidden()  # the image view is fine
    grid.tabs.setCurrentIndex(1)
    grid.grid_padding.setValue(2)
    grid.flush()
    assert grid.banner.isHidden()


def test_grid_exports(grid, tmp_path):
    path = tmp_path / "grid.csv"
    grid.export_grid_csv(path)
    lines = path.read_text().replace("\r", "").splitlines()
    assert [line for line in lines if line and not line[0].isdigit() and line[0] != "-"] == [
        "input", "kernel", "output"]
    scope: dict = {}
    exec(compile(grid.grid_code.code(), "<export>", "exec"), scope)
    assert np.array_equal(scope["out"][0, 0].numpy(), grid.grid_output_view.values())


# ------------------------------------------------------------------ shared view extensions

def test_matrix_view_shows_padding_values(qtbot):
    view = MatrixView()
    qtbot.addWidget(view)
    values = np.arange(4.0).reshape(2, 2)
    view.set_matrix(values, padding=1, pad_values=np.pad(values, 1, mode="edge"))
    assert view.pad_label(-1, -1) == "0" and view.pad_label(2, 1) == "3"
    view.set_matrix(values, padding=1, pad_text="−∞")
    assert view.pad_label(-1, -1) == "−∞"


def test_image_grid_colorbar_levels_leave_tile_levels_alone(qtbot):
    grid = ImageGrid(colormap="CET-D1", colorbar=True)
    qtbot.addWidget(grid)
    grid.show()
    ramp = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    grid.set_images([("a", ramp), ("b", ramp[::-1].copy())], levels=(0, 255),
                    colorbar_levels=(-3.0, 3.0))
    assert [grid.image_item(i).levels.tolist() for i in range(2)] == [[0, 255], [0, 255]]
    assert grid._colorbar.levels() == (-3.0, 3.0)
    same = grid.image_item(0).image
    grid.set_images([("a", ramp), ("b", ramp[::-1].copy())], levels=(0, 255),
                    colorbar_levels=(-3.0, 3.0))
    assert grid.image_item(0).image is same  # the same array is not set (or drawn) again


# ------------------------------------------------------------------ every control

def test_any_control_values_never_raise(qtbot):
    panel = ConvPanel(AppState(LabImage("small", np.random.default_rng(0).integers(
        0, 255, (24, 30, 3), dtype=np.uint8))))
    qtbot.addWidget(panel)
    panel.show()
    app = QApplication.instance()

    @given(tab=st.integers(0, 1), mode=st.sampled_from(["rgb", "gray"]),
           out=st.integers(-3, 20), kh=st.integers(-3, 14), kw=st.integers(-3, 14),
           link=st.booleans(), stride=st.integers(-3, 10), padding=st.integers(-3, 12),
           same=st.booleans(), padding_mode=st.sampled_from(list(conv.PADDING_MODES)),
           dilation=st.integers(-3, 6), groups=st.sampled_from([1, 3]), bias=st.booleans(),
           relu=st.booleans(), flip=st.booleans(), shared=st.booleans(),
           channel=st.integers(-2, 20), preset=st.sampled_from(list(conv.PRESETS)),
           bias_value=st.floats(-5, 5), in_index=st.integers(-1, 4), edit_all=st.booleans(),
           edit=st.tuples(st.integers(0, 12), st.integers(0, 12), st.floats(-1e6, 1e6)),
           grid_mode=st.sampled_from(["conv", "transposed"]), size=st.integers(0, 20),
           k=st.integers(0, 9), gs=st.integers(0, 6), gp=st.integers(-1, 7),
           op=st.integers(-1, 4), gd=st.integers(0, 4),
           gpm=st.sampled_from(list(conv.PADDING_MODES)),
           kernel=st.sampled_from(list(conv.GRID_KERNELS)),
           hover=st.tuples(st.integers(-3, 20), st.integers(-3, 20)), steps=st.integers(0, 3))
    def drive(tab, mode, out, kh, kw, link, stride, padding, same, padding_mode, dilation,
              groups, bias, relu, flip, shared, channel, preset, bias_value, in_index,
              edit_all, edit, grid_mode, size, k, gs, gp, op, gd, gpm, kernel, hover, steps):
        panel.tabs.setCurrentIndex(tab)
        panel.input_mode.setValue(mode)
        panel.link_kernel.setChecked(link)
        for slider, value in ((panel.out_channels, out), (panel.kernel_h, kh),
                              (panel.kernel_w, kw), (panel.stride, stride),
                              (panel.padding, padding), (panel.dilation, dilation),
                              (panel.kernel_channel, channel), (panel.bias_value, bias_value),
                              (panel.in_index, in_index), (panel.grid_size, size),
                              (panel.grid_kernel_size, k), (panel.grid_stride, gs),
                              (panel.grid_padding, gp), (panel.grid_output_padding, op),
                              (panel.grid_dilation, gd)):
            slider.setValue(value)
            assert slider.minimum() <= slider.value() <= slider.maximum()
        panel.same_padding.setChecked(same)
        panel.padding_mode.setValue(padding_mode)
        if groups in panel.groups.values():
            panel.groups.setValue(groups)
        for box, value in ((panel.bias, bias), (panel.relu, relu), (panel.flip, flip),
                           (panel.edit_all, edit_all)):
            box.setChecked(value)
        panel.scale_mode.setValue("shared" if shared else "each")
        panel.preset.setValue(preset)
        rows, cols = panel.kernel_editor.shape()
        if edit[0] < rows and edit[1] < cols:
            panel.kernel_editor.cellEdited.emit(edit[0], edit[1], edit[2])
        panel.grid_mode.setValue(grid_mode)
        panel.grid_padding_mode.setValue(gpm)
        panel.grid_kernel_choice.setValue(kernel)
        panel.flush()
        panel._output_hovered(*hover)
        panel._input_hovered(*hover)
        panel._input_clicked(*hover)
        panel.grid_output_view.cellClicked.emit(*hover)
        for _ in range(steps):
            panel.step_window()
        panel.weight_view.mousePressEvent  # noqa: B018 - the diagram stays clickable
        app.processEvents()
        # the banner names a rule exactly when torch would refuse the image settings
        if tab == 0:
            params = panel.conv_params()
            x = panel._input_tensor()
            image_ok = not params.validate(*x.shape[-2:])
            assert image_ok == panel.banner.isHidden(), panel.banner.message()
            if image_ok:
                drawn = panel.maps_shown  # the pixels the view shows, of the full maps
                full = torch_maps(x, params)[:, drawn.rows.start:drawn.rows.stop:drawn.step,
                                             drawn.cols.start:drawn.cols.stop:drawn.step]
                # float32 sums in another order: an element near 0 of a map reaching 7e4
                # (an 11×11 kernel) differs by a few of the map's ulps, so atol scales with it
                scale = float(full.abs().max())
                assert torch.allclose(panel.maps, full, atol=1e-3 + 1e-6 * scale, rtol=1e-4)
                assert panel.maps_grid.tile_count() == params.out_channels

    drive()
    panel.shutdown()


def test_weight_diagram_reports_clicks(qtbot):
    from widgets.conv.weight_layout import WeightLayoutView

    view = WeightLayoutView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    assert view.set_weight(np.ones((2, 3, 3, 3)), in_channels=3, groups=1,
                           channel_names=["R", "G", "B"], row_titles=["a", "b"], bias=True,
                           selected=(0, 0))
    assert not view.set_weight(np.ones((2, 3, 3, 3)), in_channels=3, groups=1,
                               channel_names=["R", "G", "B"], row_titles=["a", "b"], bias=True,
                               selected=(0, 0))  # nothing changed: nothing to repaint
    view.repaint()
    assert "54 numbers + 2 biases" in view.shape_text()
    with qtbot.waitSignal(view.kernelClicked) as blocker:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton,
                         pos=view.kernel_rect(1, 2).center().toPoint())
    assert blocker.args == [1, 2]
    assert view.kernel_at(QPointF(1, 1)) is None
    assert view.kernel_tooltip(1, 2).startswith("weight[1, 2]: kernel 1 (b) on input B")


def test_weight_diagram_header_wraps_and_the_kernels_start_below_it(qtbot):
    from widgets.conv.weight_layout import WeightLayoutView

    view = WeightLayoutView()
    qtbot.addWidget(view)
    view.set_weight(np.ones((4, 3, 3, 3)), in_channels=3, groups=1,
                    channel_names=["R", "G", "B"], row_titles=["a", "b", "c", "d"], bias=False,
                    selected=None)
    view.resize(700, 300)
    wide = sum(view._header_heights())
    view.resize(230, 300)  # the groups sentence needs three lines here, not two
    narrow = sum(view._header_heights())
    line = view.fontMetrics().lineSpacing()
    assert narrow >= wide + 2 * line and narrow >= 5 * line
    assert view.kernel_rect(0, 0).top() >= narrow


def test_a_drag_storm_on_a_photo_leaves_only_the_newest_statistics_running(qtbot):
    from widgets.kit.workers import running_threads

    rng = np.random.default_rng(5)
    photo = LabImage("photo", rng.integers(0, 255, (1200, 1600, 3), dtype=np.uint8))
    panel = ConvPanel(AppState(photo))
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    qtbot.waitUntil(panel.has_drawn)
    most = 0
    for i in range(12):  # each change asks for every pixel's statistics at once
        panel.padding.setValue(i % 3)
        panel.flush()
        panel.request_full_result()
        QApplication.processEvents()
        most = max(most, len(running_threads()))
    assert most <= 2  # the newest, and at most one stale run finishing its chunk
    qtbot.waitUntil(lambda: panel.full_result_ready() and "≈" not in panel.stats.text(),
                    timeout=60_000)
    full = torch_maps(to_tensor(photo)[None], panel.conv_params())
    expected = [value for m in full for value in (float(m.min()), float(m.max()))]
    got = [value for pair in panel.full_ranges() for value in pair]
    assert got == pytest.approx(expected, abs=1e-5)
    panel.shutdown()


def test_an_export_of_a_map_shown_subsampled_is_every_pixel(qtbot, tmp_path):
    """The view shows every step-th pixel of a photo's maps; the exported CSV is the whole
    map of nn.Conv2d, computed off the GUI thread; the PNG has the map's full size."""
    from PIL import Image

    from lab.map_export import read_csv_blocks

    rng = np.random.default_rng(7)
    photo = LabImage("photo", rng.integers(0, 255, (900, 1000, 3), dtype=np.uint8))
    panel = ConvPanel(AppState(photo))
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    qtbot.waitUntil(panel.has_drawn)
    panel.out_channels.setValue(3)
    panel.groups.setValue(3)  # kernel 1's group reads the green channel only
    panel.bias.setChecked(True)
    panel.flush()
    assert not panel.problems() and panel.display_step > 1
    assert panel.export_map_file(tmp_path / "map.csv", kernel=1)
    assert panel.export_map_file(tmp_path / "map.png", kernel=1)  # newest wins: the PNG
    qtbot.waitUntil(lambda: panel.last_export == tmp_path / "map.png", timeout=30_000)
    assert Image.open(tmp_path / "map.png").size == (1000, 900)
    assert panel.export_map_file(tmp_path / "map.csv", kernel=1)
    qtbot.waitUntil(lambda: panel.last_export == tmp_path / "map.csv", timeout=30_000)
    expected = torch_maps(to_tensor(photo)[None], panel.conv_params())[1].numpy()
    (exported,) = read_csv_blocks(tmp_path / "map.csv")
    assert exported.shape == expected.shape == (900, 1000)
    np.testing.assert_allclose(exported, expected, rtol=1e-6, atol=1e-6)
    assert panel.export_progress.label.text() == "saved map.csv"
    panel.shutdown()


def test_kernels_are_legible_in_a_1280_by_740_window(qtbot):
    """The weight tensor's 3×3 kernels were ~19 px at 1280×740: now at least 40 px, with
    their numbers printed (Sobel's −1 0 1 / −2 0 2 readable); the feature maps sit in the
    rows and columns that draw them largest."""
    from widgets.app import MainWindow

    window = MainWindow(save_settings=False)
    qtbot.addWidget(window)
    window.show()
    window.resize(1280, 740)
    panel = window.show_panel("conv")
    qtbot.waitUntil(panel.has_drawn, timeout=60_000)
    qtbot.wait(20)
    assert (window.width(), window.height()) == (1280, 740)
    rect = panel.weight_view.kernel_rect(0, 0)
    assert min(rect.width(), rect.height()) >= 40
    assert panel.weight_view.shows_numbers(0, 0)
    assert panel.maps_grid.columns() == 2  # four maps in a squarish area: 2 × 2
    window.close()
