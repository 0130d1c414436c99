"""Views every panel shares.

- `ImageGrid`: images in a grid of pyqtgraph ViewBoxes with titles, shared or
  per-image levels, an optional colour map with a colour bar, optional linked zoom.
  Items are created once and updated with `setImage`, so a slider drag only repaints.
- `MatrixView`: a small grid of numbers with highlighted cells and padding cells drawn
  differently; hover, click, arrow keys and (optionally) editing.
- `CodeView`: monospace Python with a Copy and a Save button.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QGuiApplication,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextOption,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from widgets.kit.controls import WrapLabel
from widgets.kit.files import write_text

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


# =========================================================================== ImageGrid

@dataclass
class ImageTile:
    """One image of an ImageGrid.

    `image`: (H, W) or (H, W, 3); uint8 is drawn as is, floats use the grid's levels.
    `rect`: where the image sits in view coordinates (x, y, width, height); tiles with
    the same rect in a linked grid show the same region at the same display scale.
    """

    title: str
    image: np.ndarray
    rect: tuple[float, float, float, float] | None = None


class _TitleItem(pg.LabelItem):
    """A tile's title. Its text never resizes the grid's columns (pyqtgraph's LabelItem
    makes its text width a minimum width, so every new number re-laid-out the grid and
    painted every image twice); text wider than its column is clipped."""

    def __init__(self, text: str = "", **args) -> None:
        self._height: float | None = None
        super().__init__(text, **args)
        self.setFlag(self.GraphicsItemFlag.ItemClipsChildrenToShape)

    def updateMin(self) -> None:  # noqa: N802 - pyqtgraph's name
        height = self.itemRect().height()
        if height == self._height:
            return
        self._height = height
        self.setMinimumWidth(0)
        self.setMinimumHeight(height)
        self._sizeHint = {
            Qt.SizeHint.MinimumSize: (0, height),
            Qt.SizeHint.PreferredSize: (0, height),
            Qt.SizeHint.MaximumSize: (-1, -1),
            Qt.SizeHint.MinimumDescent: (0, 0),
        }
        self.updateGeometry()


class ImageGrid(pg.GraphicsLayoutWidget):
    """Images side by side; drag to pan, wheel to zoom, double-click to fit."""

    def __init__(self, columns: int | None = None, *,
                 colormap: str | None = None, colorbar: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.ci.layout.setSpacing(4)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self._columns = columns
        self._colormap_name = colormap
        self._want_colorbar = colorbar
        self._views: list[pg.ViewBox] = []
        self._items: list[pg.ImageItem] = []
        self._labels: list[pg.LabelItem] = []
        self._rects: list[tuple | None] = []
        self._tile_levels: list[tuple | None] = []
        self._arrays: list[np.ndarray | None] = []
        self._colorbar: pg.ColorBarItem | None = None
        self._levels: tuple[float, float] | None = None
        self._placed_columns = 0
        self._follow_palette()

    # -- public API ------------------------------------------------------------------
    def set_images(self, tiles: Sequence[ImageTile | tuple[str, np.ndarray]],
                   levels: str | tuple[float, float] = "auto",
                   colorbar_levels: tuple[float, float] | None = None,
                   fit: bool = True) -> None:
        """Show `tiles`. levels: "auto" (uint8 as is, floats shared min..max),
        "each" (every float image its own min..max), "symmetric" (shared ±max|x|,
        for signed maps), or a fixed (low, high). `colorbar_levels`: the range the colour
        bar shows when the tiles are already scaled (e.g. uint8 indices into the colour
        map with levels=(0, 255)); the images keep `levels`. `fit=False`: leave the views'
        ranges alone when a tile is new or moves (the caller manages zoom)."""
        tiles = [t if isinstance(t, ImageTile) else ImageTile(*t) for t in tiles]
        if len(tiles) != len(self._items):
            self._rebuild(len(tiles))
        shared = self._shared_levels(tiles, levels)
        self._levels = shared
        for i, tile in enumerate(tiles):
            image = np.asarray(tile.image)
            item = self._items[i]
            if image.dtype == np.uint8 and shared is None:
                tile_levels = (0, 255)
            elif shared is not None:
                tile_levels = shared
            else:
                low, high = _finite_range(image)
                tile_levels = (low, high if high > low else low + 1)
            first = item.image is None
            old_shape = None if first else item.image.shape[:2]
            # ImageItem keeps a view of the array, so remember the array itself to skip
            # re-rendering one it already shows
            if self._arrays[i] is not tile.image or self._tile_levels[i] != tile_levels:
                item.setImage(image, autoLevels=False, levels=tile_levels)
                self._tile_levels[i] = tile_levels
                self._arrays[i] = tile.image
            # setRect scales by the image's pixel size at the time: an image of another
            # size in the same rect (a coarser preview of the same maps) needs it again
            if tile.rect != self._rects[i] or first or old_shape != image.shape[:2]:
                rect = tile.rect or (0, 0, image.shape[1], image.shape[0])
                item.setRect(QRectF(*rect))
                self._rects[i] = tile.rect
                if fit:
                    self._views[i].autoRange(padding=0.02)
            if self._labels[i].text != tile.title:
                self._labels[i].setText(tile.title)
        if self._colorbar is not None and colorbar_levels is not None:
            # The bar and the images part ways here: pyqtgraph may have queued the bar's
            # levels for an item that had no image yet; the tile levels win.
            for item, tile_levels in zip(self._items, self._tile_levels, strict=True):
                if item.levels is None or tuple(item.levels) != tuple(tile_levels):
                    item.setLevels(tile_levels)
            if tuple(self._colorbar.levels()) != tuple(colorbar_levels):
                self._colorbar.setLevels(colorbar_levels, update_items=False)
        elif self._colorbar is not None and shared is not None:
            self._colorbar.setLevels(shared)

    def tile_count(self) -> int:
        return len(self._items)

    def image_item(self, index: int) -> pg.ImageItem:
        return self._items[index]

    def view(self, index: int) -> pg.ViewBox:
        return self._views[index]

    def titles(self) -> list[str]:
        return [label.text for label in self._labels]

    def current_levels(self) -> tuple[float, float] | None:
        return self._levels

    def set_colormap(self, name: str | None) -> None:
        self._colormap_name = name
        for item in self._items:
            self._apply_colormap(item)
        if self._colorbar is not None and name:
            self._colorbar.setColorMap(pg.colormap.get(name))

    def fit_all(self) -> None:
        for view in self._views:
            view.autoRange(padding=0.02)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt name
        """Double-click anywhere: every image fitted again (after zooming or panning)."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.fit_all()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # -- internals -------------------------------------------------------------------
    def _rebuild(self, count: int) -> None:
        self.ci.clear()
        self._views, self._items, self._labels, self._rects = [], [], [], []
        self._tile_levels = []
        self._arrays = []
        self._colorbar = None
        for _ in range(count):
            label = _TitleItem("", size="9pt")
            view = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
            view.setDefaultPadding(0.02)
            item = pg.ImageItem()
            self._apply_colormap(item)
            view.addItem(item)
            self._views.append(view)
            self._items.append(item)
            self._labels.append(label)
            self._rects.append(None)
            self._tile_levels.append(None)
            self._arrays.append(None)
        if self._want_colorbar and count and self._colormap_name:
            self._colorbar = pg.ColorBarItem(colorMap=pg.colormap.get(self._colormap_name),
                                             interactive=False, width=12)
            self._colorbar.setImageItem(self._items)
        self._placed_columns = 0
        self._place(self._best_columns(count))

    def columns(self) -> int:
        """How many tiles a row holds now."""
        return self._placed_columns

    def _best_columns(self, count: int) -> int:
        """The given column count, or (columns=None) the one that draws the tiles largest
        in this widget's size: four maps in a wide strip sit in one row, in a square in
        two (before the widget has a size: about 1.6 times as many columns as rows)."""
        if self._columns:
            return min(self._columns, max(count, 1))
        width = self.width() - (60 if self._colorbar is not None else 0)
        height = self.height()
        if count <= 1 or width < 50 or height < 50:
            return min(max(1, math.ceil(math.sqrt(count * 1.6))), max(count, 1))
        image = self._arrays[0] if self._arrays and self._arrays[0] is not None else None
        aspect = image.shape[1] / max(1, image.shape[0]) if image is not None else 1.0
        title = 22  # a one-line title row above each image row

        def side(columns: int) -> float:  # the drawn image's width in a tile
            rows = math.ceil(count / columns)
            return min(width / columns, max(1.0, height / rows - title) * aspect)

        return max(range(1, count + 1), key=lambda c: (round(side(c)), -c))

    def _place(self, columns: int) -> None:
        """Put titles, views (and the colour bar) in `columns` columns; the items, their
        images and zoom are kept."""
        if columns == self._placed_columns:
            return
        for item in (*self._labels, *self._views, self._colorbar):
            if item is not None and item in self.ci.items:
                self.ci.removeItem(item)
        for i, (label, view) in enumerate(zip(self._labels, self._views, strict=True)):
            row, col = divmod(i, columns)
            self.ci.addItem(label, row=2 * row, col=col)
            self.ci.addItem(view, row=2 * row + 1, col=col)
            # Spare height goes to the images, not to the title rows; a title's width must
            # not move the columns (new text would re-lay-out and resize every view).
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        if self._colorbar is not None:
            rows = 2 * math.ceil(len(self._views) / columns)
            self.ci.addItem(self._colorbar, row=0, col=columns, rowspan=rows)
        self._placed_columns = columns
        # removing items shrank the layout to its size hint: back to the whole widget
        self.ci.setGeometry(QRectF(self.range))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        if getattr(self, "_views", None) and self._columns is None:  # (built: pyqtgraph
            # calls this from its __init__)
            self._place(self._best_columns(len(self._views)))

    def _apply_colormap(self, item: pg.ImageItem) -> None:
        if self._colormap_name:
            item.setColorMap(pg.colormap.get(self._colormap_name))
        else:
            item.setLookupTable(None)

    @staticmethod
    def _shared_levels(tiles: Sequence[ImageTile], levels) -> tuple[float, float] | None:
        if isinstance(levels, tuple):
            return (float(levels[0]), float(levels[1]))
        floats = [np.asarray(t.image) for t in tiles if np.asarray(t.image).dtype != np.uint8]
        if levels == "each" or not floats:
            return None
        ranges = [_finite_range(a) for a in floats]
        low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
        if levels == "symmetric":
            bound = max(abs(low), abs(high), 1e-12)
            return (-bound, bound)
        return (low, high if high > low else low + 1)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._follow_palette()
        super().changeEvent(event)

    def _follow_palette(self) -> None:
        self.setBackground(self.palette().color(self.backgroundRole()))
        text = self.palette().color(self.foregroundRole())
        for label in getattr(self, "_labels", []):
            label.setText(label.text, color=text)


class ZoomTogether(QObject):
    """Image grids whose tiles share input-pixel coordinates (each output pixel drawn over
    its window, as ImageTile.rect places it), so one region fits them all. Views show the
    whole input until the user zooms or pans one; from then on every view shows that
    region. A double-click shows the whole input again. Parameter changes never move the
    views. Give the grids `fit=False` in set_images and call `follow()` after it.

    A tile may be drawn at another scale (`set_scale`): a pooled map at its true size
    shows a region `factor` times as wide about the same centre, so its pixels are as
    large on screen as the input's and the map itself looks smaller.

    (pyqtgraph's own view links, with locked aspect ratios, feed each other's aspect
    corrections back and forth and the shown range grows; here only the user's changes
    are copied, once.)
    """

    def __init__(self, *grids: ImageGrid, changed=None) -> None:
        super().__init__(grids[0])
        self._grids = grids
        self._changed = changed or (lambda: None)
        self._views: list = []
        self._scales: dict[tuple[int, int], float] = {}  # (grid, tile) -> factor
        self._factors: dict[int, float] = {}  # id(view) -> factor, for the views shown
        self._extent = QRectF(0, 0, 1, 1)
        self._region: QRectF | None = None
        for grid in grids:
            grid.viewport().installEventFilter(self)

    def follow(self, extent: QRectF) -> None:
        """Call after set_images with the input's extent; places views a grid made anew."""
        keyed = [((g, i), grid.view(i)) for g, grid in enumerate(self._grids)
                 for i in range(grid.tile_count())]
        views = [view for _, view in keyed]
        factors = {id(view): self._scales.get(key, 1.0) for key, view in keyed}
        changed = extent != self._extent
        self._extent = QRectF(extent)
        if changed:
            self._region = None
        known = {id(v) for v in self._views}
        for view in views:
            if id(view) not in known:
                view.sigResized.connect(self._place)
                view.sigRangeChangedManually.connect(partial(self._zoomed, view))
        rescaled = [view for view in views if factors[id(view)] != self._factors.get(id(view))]
        self._factors = factors
        if changed or views != self._views:
            self._views = views
            rescaled = views
        for view in rescaled:
            self._place(view)

    def set_scale(self, tile: int, factor: float, grid: int = 0) -> None:
        """Draw tile `tile` of grid `grid` `factor` times smaller than the input's scale
        (1: the same); takes effect at the next `follow()`."""
        self._scales[(grid, tile)] = float(factor)

    def scale_of(self, view) -> float:
        return self._factors.get(id(view), 1.0)

    def _scaled(self, rect: QRectF, view, inverse: bool = False) -> QRectF:
        """`rect` widened by the view's factor about its centre (or narrowed back)."""
        factor = self.scale_of(view)
        if factor == 1.0:
            return QRectF(rect)
        factor = 1 / factor if inverse else factor
        centre = rect.center()
        width, height = rect.width() * factor, rect.height() * factor
        return QRectF(centre.x() - width / 2, centre.y() - height / 2, width, height)

    def fit(self) -> None:
        self._region = None
        for view in self._views:
            self._place(view)
        self._changed()

    def region(self) -> QRectF:
        return self._region if self._region is not None else self._extent

    def is_fitted(self, extent: QRectF | None = None) -> bool:
        """The views show the whole input (no zoom or pan since the last fit), or will once
        `follow(extent)` is called (a new input's extent fits the views anew)."""
        return self._region is None or (extent is not None and extent != self._extent)

    def _place(self, view) -> None:
        if self._region is None:
            view.setRange(self._scaled(self._extent, view), padding=0.02)
        else:
            view.setRange(self._scaled(self._region, view), padding=0)
        self._changed()

    def _zoomed(self, source, _mask) -> None:
        self._region = self._scaled(source.viewRect(), source, inverse=True)
        for view in self._views:
            if view is not source:
                view.setRange(self._scaled(self._region, view), padding=0)
        self._changed()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.MouseButtonDblClick:
            self.fit()
            return True
        return False


def _finite_range(array: np.ndarray) -> tuple[float, float]:
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        return (0.0, 1.0)
    return float(finite.min()), float(finite.max())


# =========================================================================== MatrixView

#: Highlight roles and their colours (fill, outline).
HIGHLIGHT_STYLES = {
    "window": (QColor(80, 150, 255, 90), QColor(40, 110, 230)),
    "chosen": (QColor(255, 150, 40, 150), QColor(230, 110, 0)),
    "selected": (QColor(255, 210, 60, 120), QColor(200, 140, 0)),
    "source": (QColor(120, 200, 120, 110), QColor(40, 150, 60)),
}


class MatrixView(QWidget):
    """A grid of numbers. Padding cells (a ring of width `padding`) are hatched.

    Coordinates are those of the matrix: padding cells have row/column -padding..-1 and
    H..H+padding-1. Signals: `cellHovered(row, col)` ((-1000, -1000) when the mouse
    leaves), `cellClicked(row, col)` (also on arrow keys), `cellEdited(row, col, value)`
    when `editable` and the user types a number (double-click or Enter).
    """

    OUTSIDE = -1000
    cellHovered = Signal(int, int)
    cellClicked = Signal(int, int)
    cellEdited = Signal(int, int, float)

    def __init__(self, title: str = "", *, editable: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.editable = editable
        self._values = np.zeros((0, 0))
        self._padding = 0
        self._pad_text = "0"
        self._pad_values: np.ndarray | None = None
        self._highlights: dict[tuple[int, int], str] = {}
        self._selected: tuple[int, int] | None = None
        self._hovered: tuple[int, int] | None = None
        self._decimals = 2
        self._shade = True
        self._editor: QLineEdit | None = None
        self._label_cache: list[list[str]] | None = None
        self._fill_cache: tuple | None = None
        self._fitted_cache: tuple | None = None
        self._title_key: tuple | None = None
        self._title_px = 0
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(80, 80)

    # -- data ------------------------------------------------------------------------
    def set_matrix(self, values: np.ndarray, *, padding: int = 0, pad_text: str = "0",
                   title: str | None = None, decimals: int = 2, shade: bool = True,
                   pad_values: np.ndarray | None = None) -> None:
        """`pad_values`: the whole padded array (H + 2p, W + 2p); when given, padding cells
        show their own numbers (reflect / replicate / circular padding) not `pad_text`."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2:
            raise ValueError(f"MatrixView shows 2-D arrays, got shape {values.shape}")
        self._values = values
        self._label_cache: list[list[str]] | None = None
        self._fill_cache: tuple | None = None
        self._fitted_cache = None
        self._padding = max(0, int(padding))
        self._pad_text = pad_text
        self._pad_values = None if pad_values is None else np.asarray(pad_values, np.float64)
        self._decimals = decimals
        self._shade = shade
        if title is not None:
            self.title = title
        if self._selected and not self._in_matrix(*self._selected):
            self._selected = None
        self.update()

    def values(self) -> np.ndarray:
        return self._values.copy()

    def shape(self) -> tuple[int, int]:
        return tuple(self._values.shape)  # type: ignore[return-value]

    def padding(self) -> int:
        return self._padding

    def set_highlight(self, cells: dict[tuple[int, int], str]) -> None:
        """Colour cells by role: "window", "chosen", "selected" or "source"."""
        self._highlights = dict(cells)
        self.update()

    def clear_highlight(self) -> None:
        self._highlights = {}
        self.update()

    def highlights(self) -> dict[tuple[int, int], str]:
        return dict(self._highlights)

    def selected(self) -> tuple[int, int] | None:
        return self._selected

    def set_selected(self, cell: tuple[int, int] | None) -> None:
        self._selected = cell if cell is None or self._in_matrix(*cell) else None
        self.update()

    # -- geometry --------------------------------------------------------------------
    def _title_height(self) -> int:
        """One line, or two when the title is wider than the view (never cut off)."""
        if not self.title:
            return 0
        key = (self.title, self.width(), self.font().key())
        if self._title_key != key:  # asked for by every cell_rect()
            metrics = self.fontMetrics()
            lines = 1 if metrics.horizontalAdvance(self.title) <= self.width() - 4 else 2
            self._title_key, self._title_px = key, lines * metrics.lineSpacing() + 4
        return self._title_px

    def _grid_size(self) -> tuple[int, int]:
        rows, cols = self._values.shape
        return rows + 2 * self._padding, cols + 2 * self._padding

    def cell_size(self) -> float:
        rows, cols = self._grid_size()
        if rows == 0 or cols == 0:
            return 0.0
        size = min((self.width() - 2) / cols, (self.height() - self._title_height() - 2) / rows)
        return max(4.0, min(size, 56.0))

    def cell_rect(self, row: int, col: int) -> QRectF:
        """The on-screen rectangle of matrix cell (row, col) (padding rows allowed)."""
        size = self.cell_size()
        rows, cols = self._grid_size()
        x0 = (self.width() - cols * size) / 2
        y0 = self._title_height() + 1
        return QRectF(x0 + (col + self._padding) * size, y0 + (row + self._padding) * size,
                      size, size)

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        size = self.cell_size()
        if size <= 0:
            return None
        origin = self.cell_rect(-self._padding, -self._padding).topLeft()
        col = math.floor((pos.x() - origin.x()) / size) - self._padding
        row = math.floor((pos.y() - origin.y()) / size) - self._padding
        rows, cols = self._values.shape
        p = self._padding
        if -p <= row < rows + p and -p <= col < cols + p:
            return row, col
        return None

    def _in_matrix(self, row: int, col: int) -> bool:
        rows, cols = self._values.shape
        return 0 <= row < rows and 0 <= col < cols

    def sizeHint(self) -> QSize:
        rows, cols = self._grid_size()
        return QSize(max(120, cols * 30 + 4), max(120, rows * 30 + self._title_height() + 4))

    # -- painting --------------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        text_color = palette.color(palette.ColorRole.Text)
        if self.title:
            painter.setPen(text_color)
            title_rect = QRectF(2, 0, self.width() - 4, self._title_height())
            wrap = QTextOption(Qt.AlignmentFlag.AlignCenter)
            wrap.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
            title = self.title
            if self.fontMetrics().horizontalAdvance(title) > 2 * title_rect.width():
                title = self.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight,
                                                      int(1.8 * title_rect.width()))
            painter.drawText(title_rect, title, wrap)
        rows, cols = self._values.shape
        if rows == 0:
            painter.end()
            return
        size = self.cell_size()
        p = self._padding
        total_rows, total_cols = rows + 2 * p, cols + 2 * p
        origin = self.cell_rect(-p, -p).topLeft()
        x0, y0 = origin.x(), origin.y()
        # padding ring: one hatched frame, then the matrix on top
        if p:
            ring = QRectF(x0, y0, total_cols * size, total_rows * size)
            painter.fillRect(ring, palette.color(palette.ColorRole.Window))
            painter.fillRect(ring, QBrush(palette.color(palette.ColorRole.Mid),
                                          Qt.BrushStyle.BDiagPattern))
        fills = self._fills(palette.color(palette.ColorRole.Base))
        inner_x, inner_y = x0 + p * size, y0 + p * size
        for r in range(rows):
            for c in range(cols):
                painter.fillRect(QRectF(inner_x + c * size, inner_y + r * size, size, size),
                                 fills[r][c])
        for (r, c), role in self._highlights.items():
            fill, _ = HIGHLIGHT_STYLES.get(role, HIGHLIGHT_STYLES["window"])
            painter.fillRect(QRectF(x0 + (c + p) * size, y0 + (r + p) * size, size, size), fill)
        painter.setPen(QPen(palette.color(palette.ColorRole.Mid), 1))
        for i in range(total_rows + 1):
            painter.drawLine(QPointF(x0, y0 + i * size), QPointF(x0 + total_cols * size,
                                                                 y0 + i * size))
        for j in range(total_cols + 1):
            painter.drawLine(QPointF(x0 + j * size, y0), QPointF(x0 + j * size,
                                                                 y0 + total_rows * size))
        if size >= 14:
            font, labels = self.fitted_labels(size)
            painter.setFont(font)
            center = Qt.AlignmentFlag.AlignCenter
            painter.setPen(text_color)
            for r in range(rows):
                for c in range(cols):
                    painter.drawText(QRectF(inner_x + c * size, inner_y + r * size, size, size),
                                     center, labels[r][c])
            if p:
                painter.setPen(palette.color(palette.ColorRole.PlaceholderText))
                for r in range(-p, rows + p):
                    for c in range(-p, cols + p):
                        if not (0 <= r < rows and 0 <= c < cols):
                            painter.drawText(QRectF(x0 + (c + p) * size, y0 + (r + p) * size,
                                                    size, size), center, self.pad_label(r, c))
        for (r, c), role in self._highlights.items():
            _, outline = HIGHLIGHT_STYLES.get(role, HIGHLIGHT_STYLES["window"])
            painter.setPen(QPen(outline, 2 if role != "chosen" else 3))
            painter.drawRect(self.cell_rect(r, c).adjusted(1, 1, -1, -1))
        for cell, color, width in ((self._hovered, QColor(120, 120, 120), 1),
                                   (self._selected, QColor(20, 20, 20), 3)):
            if cell and self._in_matrix(*cell):
                painter.setPen(QPen(color, width))
                painter.drawRect(self.cell_rect(*cell).adjusted(1, 1, -1, -1))
        painter.end()

    def pad_label(self, row: int, col: int) -> str:
        """The text shown in padding cell (row, col) (matrix coordinates)."""
        pads = self._pad_values
        p = self._padding
        if pads is not None and 0 <= row + p < pads.shape[0] and 0 <= col + p < pads.shape[1]:
            return self._format(pads[row + p, col + p])
        return self._pad_text

    def fitted_labels(self, size: float | None = None) -> tuple[QFont, list[list[str]]]:
        """The font and the cells' texts as drawn in cells of `size` px: the font shrinks
        (to 7 px at least) until the widest text fits its cell, then the numbers keep fewer
        significant digits (an LP pool's "12.3457" spilled into its neighbours)."""
        size = self.cell_size() if size is None else size
        key = (round(size, 2), self.font().key())
        if self._fitted_cache is not None and self._fitted_cache[0] == key:
            return self._fitted_cache[1]
        labels = self._labels()
        room = max(1.0, size - 4)
        font = QFont(self.font())
        pixels = max(6, int(size * 0.38))
        font.setPixelSize(pixels)

        def widest(texts: list[list[str]]) -> float:
            metrics = QFontMetricsF(font)
            return max((metrics.horizontalAdvance(t) for row in texts for t in row), default=0)

        width = widest(labels)
        if width > room:
            font.setPixelSize(max(min(7, pixels), int(pixels * room / width)))
        digits = 6
        while widest(labels) > room and digits > 1:
            digits -= 1
            labels = [[self._format(v, digits) for v in row] for row in self._values]
        self._fitted_cache = (key, (font, labels))
        return font, labels

    def _labels(self) -> list[list[str]]:
        if self._label_cache is None:
            self._label_cache = [[self._format(v) for v in row] for row in self._values]
        return self._label_cache

    def _fills(self, base: QColor) -> list[list[QColor]]:
        """Cell colours, shaded from Base towards an accent by value (cached per matrix)."""
        key = (base.rgba(), self._shade)
        if self._fill_cache is None or self._fill_cache[0] != key:
            values = self._values
            finite = values[np.isfinite(values)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0, 1)
            dark = base.lightness() < 128
            accent = np.array((70, 110, 190) if dark else (170, 200, 245), dtype=np.float64)
            start = np.array((base.red(), base.green(), base.blue()), dtype=np.float64)
            if self._shade and high > low:
                t = np.nan_to_num((values - low) / (high - low), nan=0.0, posinf=1.0,
                                  neginf=0.0).clip(0, 1)
            else:
                t = np.zeros_like(values)
            rgb = np.rint(start + (accent - start) * t[..., None]).astype(int)
            fills = [[QColor(int(r), int(g), int(b)) for r, g, b in row] for row in rgb]
            self._fill_cache = (key, fills)
        return self._fill_cache[1]

    def _format(self, value: float, digits: int | None = None) -> str:
        """The cell's text; `digits`: at most this many significant digits (to fit)."""
        if not math.isfinite(value):
            return "−∞" if value < 0 else ("∞" if value > 0 else "nan")
        if float(value).is_integer() and abs(value) < 1e6 and digits is None:
            return str(int(value))
        if digits is not None:
            return f"{value:.{digits}g}".replace("e+0", "e").replace("e-0", "e-")
        return f"{value:.{self._decimals}f}"

    # -- interaction -----------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position())
        if cell != self._hovered:
            self._hovered = cell
            self.update()
            self.cellHovered.emit(*(cell or (self.OUTSIDE, self.OUTSIDE)))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        if self._hovered is not None:
            self._hovered = None
            self.update()
            self.cellHovered.emit(self.OUTSIDE, self.OUTSIDE)
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position())
        if cell and self._in_matrix(*cell) and event.button() == Qt.MouseButton.LeftButton:
            self._selected = cell
            self.setFocus()
            self.update()
            self.cellClicked.emit(*cell)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position())
        if self.editable and cell and self._in_matrix(*cell):
            self.start_editing(*cell)
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        rows, cols = self._values.shape
        if rows == 0:
            return super().keyPressEvent(event)
        moves = {Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1),
                 Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0)}
        if event.key() in moves:
            r, c = self._selected or (0, 0)
            dr, dc = moves[event.key()] if self._selected else (0, 0)
            cell = (min(max(r + dr, 0), rows - 1), min(max(c + dc, 0), cols - 1))
            self._selected = cell
            self.update()
            self.cellClicked.emit(*cell)
            return None
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2) \
                and self.editable and self._selected:
            self.start_editing(*self._selected)
            return None
        return super().keyPressEvent(event)

    def start_editing(self, row: int, col: int) -> QLineEdit:
        """Open an editor over a cell; Enter commits (emits `cellEdited`), Esc cancels."""
        self._close_editor()
        editor = QLineEdit(self)
        editor.setText(self._format(self._values[row, col]))
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        editor.setGeometry(self.cell_rect(row, col).toRect().adjusted(-8, 0, 8, 0))
        editor.selectAll()

        def commit() -> None:
            text = editor.text().strip().replace("−", "-")
            self._close_editor()
            try:
                value = float(text)
            except ValueError:
                return
            if math.isfinite(value):
                self._values[row, col] = value
                self._label_cache = self._fill_cache = self._fitted_cache = None
                self.update()
                self.cellEdited.emit(row, col, value)

        editor.returnPressed.connect(commit)
        editor.editingFinished.connect(self._close_editor)
        editor.show()
        editor.setFocus()
        self._editor = editor
        return editor

    def _close_editor(self) -> None:
        if self._editor is not None:
            editor, self._editor = self._editor, None
            editor.hide()
            editor.deleteLater()
            self.setFocus()


# =========================================================================== CodeView

class _PythonHighlighter(QSyntaxHighlighter):
    KEYWORDS = ("import", "from", "as", "def", "return", "with", "for", "in", "if", "else",
                "lambda", "None", "True", "False", "class")

    def __init__(self, document) -> None:
        super().__init__(document)
        self._rules: list[tuple[re.Pattern, QTextCharFormat]] = []

        def fmt(color: str, bold: bool = False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(color))
            if bold:
                f.setFontWeight(QFont.Weight.Bold)
            return f

        self._rules.append((re.compile(r"\b(" + "|".join(self.KEYWORDS) + r")\b"),
                            fmt("#7a3fbf", True)))
        self._rules.append((re.compile(r"\b\d+(\.\d+)?\b"), fmt("#1a7f37")))
        self._rules.append((re.compile(r"'[^']*'|\"[^\"]*\""), fmt("#b35900")))
        self._rules.append((re.compile(r"#.*$"), fmt("#6e7781")))

    def highlightBlock(self, text: str) -> None:
        for pattern, style in self._rules:
            for match in pattern.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), style)


class CodeView(QWidget):
    """Read-only Python with Copy (to the clipboard) and Save (to a .py file)."""

    copied = Signal()
    saveFailed = Signal(str)

    def __init__(self, title: str = "PyTorch code that reproduces this view",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = WrapLabel(title)  # a narrow column wraps it instead of growing
        # a failed Save names the path and the reason here (plain text: paths are the user's)
        self.save_problem = QLabel()
        self.save_problem.setTextFormat(Qt.TextFormat.PlainText)
        self.save_problem.setWordWrap(True)
        self.save_problem.setStyleSheet("color: #8a1c12")
        self.save_problem.hide()
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the code to the clipboard (paste it into Python)")
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save the code as a .py file")
        self.editor = QPlainTextEdit()
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._highlighter = _PythonHighlighter(self.editor.document())
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.copy_button)
        top.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.save_problem)
        layout.addWidget(self.editor)
        self.copy_button.clicked.connect(self.copy)
        self.save_button.clicked.connect(self._ask_save)

    def set_code(self, code: str) -> None:
        if code != self.editor.toPlainText():
            self.editor.setPlainText(code)

    def code(self) -> str:
        return self.editor.toPlainText()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code())
        self.copied.emit()

    def save(self, path: str | Path) -> bool:
        """Write the code as a .py file; False, with the path and the reason shown under
        the heading, when it cannot be written."""
        ok = write_text(path, self.code(), self._save_failed)
        if ok:
            self.save_problem.hide()
        return ok

    def _save_failed(self, message: str) -> None:
        self.save_problem.setText(message)
        self.save_problem.show()
        self.saveFailed.emit(message)

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save code", "visual_lab.py",
                                              "Python (*.py)")
        if path:
            self.save(path)
