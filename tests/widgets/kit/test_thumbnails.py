import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from widgets.kit.controls import RangeSlider
from widgets.kit.thumbnails import ThumbnailGrid, qimage_from_array


@pytest.fixture
def grid(qtbot):
    widget = ThumbnailGrid(caption_lines=2)
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    return widget


def test_tiles_fill_in_any_order_and_stale_ones_are_marked(grid):
    grid.set_count(6)
    assert grid.tile_count() == 6 and grid.filled_count() == 0
    red = np.zeros((10, 20, 3), np.uint8)
    red[..., 0] = 255
    grid.set_tile(4, red, "↔ flip", "details")
    assert grid.filled_count() == 1 and grid.caption(4) == "↔ flip"
    assert grid.image(4) is red and grid.image(0) is None
    grid.mark_stale()
    assert grid.filled_count() == 0 and grid.is_stale(4)
    grid.set_tile(4, red, "again")
    assert not grid.is_stale(4)
    with pytest.raises(IndexError):
        grid.set_tile(6, red)
    grid.set_count(2)
    assert grid.tile_count() == 2


def test_paint_shows_images_and_captions(grid, qtbot):
    grid.set_count(4)
    for i in range(4):
        grid.set_tile(i, np.full((8, 8), 60 * i, np.uint8), f"draw {i} caption")
    image = grid.grab().toImage()
    colors = {image.pixel(x, y) for x in range(0, image.width(), 7)
              for y in range(0, image.height(), 7)}
    assert len(colors) > 4
    assert grid.columns() * ((4 + grid.columns() - 1) // grid.columns()) >= 4


def test_click_and_arrow_keys_select(grid, qtbot):
    grid.set_count(4)
    for i in range(4):
        grid.set_tile(i, np.zeros((5, 5), np.uint8), str(i))
    seen = []
    grid.tileSelected.connect(seen.append)
    rect = grid.cell_rect(2)
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=rect.center())
    assert grid.selected() == 2 and seen == [2]
    qtbot.keyClick(grid, Qt.Key.Key_Left)
    assert grid.selected() == 1
    qtbot.keyClick(grid, Qt.Key.Key_Down)
    assert grid.selected() == min(3, 1 + grid.columns())
    assert grid.index_at(-5, -5) == -1 and grid.index_at(*QPoint(1, 1).toTuple()) == 0


def test_qimage_copies_gray_and_rgb():
    gray = qimage_from_array(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert (gray.width(), gray.height()) == (4, 3)
    rgb = qimage_from_array(np.zeros((2, 5, 3), np.uint8))
    assert rgb.width() == 5
    with pytest.raises(ValueError):
        qimage_from_array(np.zeros((2, 2, 4), np.uint8))


def test_range_slider_keeps_order_range_and_emits_once(qtbot):
    slider = RangeSlider("Degrees", -180, 180, (-15, 15), decimals=1, tooltip="angle range")
    qtbot.addWidget(slider)
    seen = []
    slider.valueChanged.connect(seen.append)
    slider.slider.setValue((-30.0, 40.0))  # what dragging a handle does
    assert slider.value() == (-30.0, 40.0) and seen == [(-30.0, 40.0)]
    slider.setValue((50, -500))  # sorted and clamped
    assert slider.value() == (-180.0, 50.0) and len(seen) == 2
    slider.setValue((-180, 50))  # no change, no signal
    assert len(seen) == 2
    assert slider.slider.toolTip() == "angle range" and slider.minimum() == -180


def test_a_long_caption_wraps_onto_every_line_it_needs_instead_of_being_cut(grid, qtbot):
    from PySide6.QtGui import QFontMetrics

    caption = ("⟲ −12.3° · scale ×1.25 · shear 4.0° · brightness +0.20 · contrast ×0.85 · "
               "hue +0.05 · blur σ=1.3 · crop 180×172 at (12, 30)")
    grid.resize(900, 700)  # the augmentation panel's grid at 1280×740, about
    grid.set_count(16)
    for i in range(16):
        grid.set_tile(i, np.full((8, 8), 10 * i, np.uint8), caption if i == 3 else "flip")
    grid.grab()  # painted
    assert grid.columns() >= 3
    lines = grid.caption_lines_shown(3)
    assert len(lines) > 2  # more than the two lines reserved at first
    assert not any("…" in line for line in lines)
    words = [w for w in " ".join(lines).split() if w != "·"]
    assert words == [w for w in caption.split() if w != "·"]  # every value, in order
    metrics = QFontMetrics(grid._caption_font)
    cell = grid.cell_rect(3)
    assert all(metrics.horizontalAdvance(line) <= cell.width() - 6 for line in lines)
    # the reserved caption strip holds every line, below the image
    assert grid._caption_height() >= len(lines) * metrics.lineSpacing()
    assert grid._tiles[3].image_rect.bottom() <= cell.height() - grid._caption_height()
