import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication

from widgets.kit.views import CodeView, ImageGrid, ImageTile, MatrixView, ZoomTogether


def test_image_grid_reuses_items_and_sets_levels(qtbot):
    grid = ImageGrid(columns=2)
    qtbot.addWidget(grid)
    a = np.zeros((4, 5), dtype=np.float32)
    b = np.full((4, 5), 3.0, dtype=np.float32)
    grid.set_images([("a", a), ("b", b)])
    items = [grid.image_item(0), grid.image_item(1)]
    assert grid.titles() == ["a", "b"] and grid.current_levels() == (0.0, 3.0)
    grid.set_images([ImageTile("A", a - 2), ImageTile("B", b)], levels="symmetric")
    assert [grid.image_item(0), grid.image_item(1)] == items  # updated, not rebuilt
    assert grid.current_levels() == (-3.0, 3.0) and grid.titles() == ["A", "B"]
    grid.set_images([("u8", np.full((3, 3, 3), 200, np.uint8))])
    assert grid.tile_count() == 1 and tuple(grid.image_item(0).levels) == (0, 255)
    grid.set_images([("x", a), ("y", b)], levels="each")
    assert tuple(grid.image_item(1).levels) == (3.0, 4.0)


def test_image_grid_rect_and_zoom_together(qtbot):
    grid = ImageGrid(columns=2)
    qtbot.addWidget(grid)
    zoom = ZoomTogether(grid)
    small = np.zeros((4, 4), np.uint8)
    big = np.zeros((16, 16), np.uint8)
    grid.set_images([ImageTile("in", small, (0, 0, 4, 4)), ImageTile("out", big, (0, 0, 4, 4))],
                    fit=False)
    zoom.follow(QRectF(0, 0, 4, 4))
    rect = grid.image_item(1).mapRectToParent(grid.image_item(1).boundingRect())
    assert (rect.width(), rect.height()) == (4, 4)
    grid.view(0).setRange(xRange=(0, 2), yRange=(0, 2), padding=0)
    grid.view(0).sigRangeChangedManually.emit([True, True])  # what a wheel turn emits
    assert grid.view(1).viewRange()[0] == pytest.approx(grid.view(0).viewRange()[0])


def test_image_grid_double_click_fits_a_zoomed_view(qtbot):
    grid = ImageGrid(columns=1)
    qtbot.addWidget(grid)
    grid.resize(300, 300)
    grid.show()
    grid.set_images([("img", np.zeros((40, 40), np.uint8))])
    grid.view(0).setRange(xRange=(10, 12), yRange=(10, 12), padding=0)
    assert grid.view(0).viewRange()[0][1] - grid.view(0).viewRange()[0][0] < 3
    qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton,
                      pos=grid.viewport().rect().center())
    (x0, x1), (y0, y1) = grid.view(0).viewRange()
    assert x0 <= 0 and x1 >= 40 and y0 <= 0 and y1 >= 40


def test_image_grid_titles_never_move_the_images(qtbot):
    grid = ImageGrid(columns=2)
    qtbot.addWidget(grid)
    grid.resize(400, 250)
    grid.show()
    image = np.zeros((8, 8), np.uint8)
    grid.set_images([("a", image), ("b", image)])
    qtbot.wait(20)
    before = [grid.view(i).sceneBoundingRect() for i in range(2)]
    grid.set_images([("a → 1×1×3, min −9.4125 … max 11.6634 and more words", image),
                     ("b", image)])
    qtbot.wait(20)
    assert [grid.view(i).sceneBoundingRect() for i in range(2)] == before


def test_image_grid_colormap_with_colorbar(qtbot):
    grid = ImageGrid(colormap="CET-D1", colorbar=True)
    qtbot.addWidget(grid)
    grid.set_images([("m", np.linspace(-1, 1, 16, dtype=np.float32).reshape(4, 4))],
                    levels="symmetric")
    assert grid._colorbar is not None and grid._colorbar.levels() == (-1.0, 1.0)


def _click(qtbot, view, row, col, button=Qt.MouseButton.LeftButton):
    center = view.cell_rect(row, col).center().toPoint()
    qtbot.mouseClick(view, button, pos=center)


def test_matrix_view_click_hover_keys_and_padding(qtbot):
    view = MatrixView("input")
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    view.set_matrix(np.arange(16).reshape(4, 4), padding=1, pad_text="−∞")
    with qtbot.waitSignal(view.cellClicked) as clicked:
        _click(qtbot, view, 2, 3)
    assert clicked.args == [2, 3] and view.selected() == (2, 3)
    assert view.cell_at(view.cell_rect(-1, -1).center()) == (-1, -1)  # a padding cell
    with qtbot.waitSignal(view.cellHovered) as hovered:
        qtbot.mouseMove(view, view.cell_rect(1, 0).center().toPoint())
    assert hovered.args == [1, 0]
    with qtbot.waitSignal(view.cellClicked) as moved:
        qtbot.keyClick(view, Qt.Key.Key_Left)
    assert moved.args == [2, 2]
    view.set_highlight({(0, 0): "window", (-1, 0): "window", (1, 1): "chosen"})
    assert view.highlights()[(1, 1)] == "chosen"
    image = view.grab().toImage()
    window_cell = image.pixelColor(view.cell_rect(0, 0).center().toPoint())
    plain_cell = image.pixelColor(view.cell_rect(3, 0).adjusted(2, 2, -2, -2).topLeft().toPoint())
    assert window_cell != plain_cell


def test_image_grid_keeps_a_tile_in_its_rect_when_the_image_size_changes(qtbot):
    """A coarser preview of the same maps (half the pixels, same rect) covers the same
    region: it was drawn at half the size, in the corner of its view."""
    grid = ImageGrid()
    qtbot.addWidget(grid)
    full = np.zeros((256, 256), dtype=np.uint8)
    grid.set_images([ImageTile("map", full, (0, 0, 256, 256))])
    half = np.zeros((128, 128), dtype=np.uint8)
    grid.set_images([ImageTile("map", half, (0, 0, 256, 256))])
    item = grid.image_item(0)
    shown = item.mapRectToView(item.boundingRect())
    assert (shown.width(), shown.height()) == (256, 256)


def test_matrix_view_title_wraps_instead_of_being_cut(qtbot):
    view = MatrixView("MaxUnpool2d(output, indices)")
    qtbot.addWidget(view)
    view.set_matrix(np.zeros((4, 4)))
    view.resize(400, 300)
    one_line = view._title_height()
    view.resize(100, 300)  # narrower than the title: a second line, and the cells move down
    assert view._title_height() > one_line
    assert view.cell_rect(0, 0).top() >= view._title_height()
    # the second line is drawn: dark pixels below the first line's height
    image = view.grab().toImage()
    rows = range(one_line, view._title_height())
    assert any(image.pixelColor(x, y).lightness() < 128 for y in rows for x in range(100))


def test_matrix_view_editing(qtbot):
    view = MatrixView(editable=True)
    qtbot.addWidget(view)
    view.resize(200, 200)
    view.show()
    view.set_matrix(np.zeros((3, 3)))
    editor = view.start_editing(1, 2)
    editor.setText("-2.5")
    with qtbot.waitSignal(view.cellEdited) as edited:
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert edited.args == [1, 2, -2.5] and view.values()[1, 2] == -2.5
    editor = view.start_editing(0, 0)
    editor.setText("not a number")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert view.values()[0, 0] == 0


def test_matrix_view_refuses_3d():
    with pytest.raises(ValueError):
        MatrixView().set_matrix(np.zeros((2, 2, 2)))


def test_code_view_copy_and_save(qtbot, tmp_path):
    view = CodeView()
    qtbot.addWidget(view)
    view.set_code("import torch\nx = torch.zeros(3)\n")
    qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == view.code()
    view.save(tmp_path / "code.py")
    assert (tmp_path / "code.py").read_text() == view.code()
    assert view.editor.isReadOnly()


def test_matrix_view_numbers_fit_their_cells(qtbot):
    """LP pooling's outputs such as 12.35 spilled into the neighbouring cells."""
    from PySide6.QtGui import QFontMetricsF

    values = np.random.default_rng(0).uniform(-99, 99, (7, 7))  # e.g. LP pool outputs
    view = MatrixView("LP pool output")
    qtbot.addWidget(view)
    view.resize(220, 240)
    view.set_matrix(values)
    view.show()
    view.grab()
    size = view.cell_size()
    font, labels = view.fitted_labels()
    metrics = QFontMetricsF(font)
    assert font.pixelSize() >= 7  # still readable
    for row, value_row in zip(labels, values, strict=True):
        for text, value in zip(row, value_row, strict=True):
            assert metrics.horizontalAdvance(text) <= size  # inside its cell
            assert abs(float(text.replace("−", "-")) - value) <= 0.06 * abs(value) + 0.01
    roomy = MatrixView()
    qtbot.addWidget(roomy)
    roomy.resize(700, 700)
    roomy.set_matrix(values)
    assert roomy.fitted_labels()[1][0][0] == f"{values[0, 0]:.2f}"  # room: 2 decimals


def test_image_grid_without_columns_lays_tiles_out_largest_and_keeps_them(qtbot):
    """Four maps in a wide strip sit in one row, in a tall area in two columns; moving them
    keeps their images, zoom and titles (the views are the same objects)."""
    grid = ImageGrid()
    qtbot.addWidget(grid)
    grid.resize(800, 220)
    grid.show()
    images = [np.full((32, 32), i, np.float32) for i in range(4)]
    grid.set_images([(f"map {i}", a) for i, a in enumerate(images)])
    qtbot.wait(10)
    assert grid.columns() == 4
    views = [grid.view(i) for i in range(4)]
    views[1].setRange(xRange=(0, 8), yRange=(0, 8), padding=0)
    grid.resize(300, 420)
    qtbot.wait(10)
    assert grid.columns() == 2 and [grid.view(i) for i in range(4)] == views
    assert all(v.height() > 100 and v.width() > 100 for v in views)  # none squeezed to 0
    assert grid.titles() == [f"map {i}" for i in range(4)]
    assert grid.view(1).viewRange()[0] == pytest.approx([0, 8])
    assert grid.image_item(3).image is not None
    fixed = ImageGrid(columns=3)
    qtbot.addWidget(fixed)
    fixed.resize(800, 220)
    fixed.set_images([(f"{i}", a) for i, a in enumerate(images)])
    assert fixed.columns() == 3  # given columns are kept
