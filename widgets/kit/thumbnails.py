"""ThumbnailGrid: many small images, each with a caption underneath, filled one by one.

Made for grids of random draws that arrive progressively from a worker: `set_count(n)`
lays out n cells (empty ones show a "…"), `set_tile(i, ...)` fills one and
repaints only that cell, `mark_stale()` dims what is on screen until it is replaced.
Painted with QPainter from cached pixmaps, so 64 tiles repaint in a few milliseconds —
much cheaper than a pyqtgraph ViewBox per image. Click or arrow keys select a tile
(`tileSelected`); hovering shows the tile's tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QRegion,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget


@dataclass
class _Tile:
    image: np.ndarray
    caption: str
    tooltip: str
    qimage: QImage
    stale: bool = False
    #: the whole cell (image and caption) as drawn, for the cell size and caption height
    #: it was drawn at
    rendered: QPixmap | None = None
    rendered_size: tuple | None = None
    image_rect: QRect | None = None  # where the image sits inside the cell


def qimage_from_array(array: np.ndarray) -> QImage:
    """A QImage sharing nothing with `array`: (H, W) gray or (H, W, 3) RGB uint8."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    height, width = array.shape[:2]
    if array.ndim == 2:
        image = QImage(array.data, width, height, width, QImage.Format.Format_Grayscale8)
    elif array.ndim == 3 and array.shape[2] == 3:
        image = QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    else:
        raise ValueError(f"need an (H, W) or (H, W, 3) uint8 array, got shape {array.shape}")
    # a copy that owns its pixels (the array may be freed), in the 32-bit format Qt
    # scales and draws fastest (about 3x faster than from RGB888)
    return image.convertToFormat(QImage.Format.Format_RGB32)


def wrap_caption(text: str, metrics: QFontMetrics, width: int) -> list[str]:
    """The caption's lines at `width`: breaks between " · "-separated parts first (so
    "⟲ −12.3°" stays whole), then between words, then inside a word too wide alone.
    Nothing is cut: the drawn values are the point of a caption."""
    width = max(1, width)

    def fits(line: str) -> bool:
        return metrics.horizontalAdvance(line) <= width

    def letters(word: str) -> list[str]:  # a word wider than the cell, in pieces that fit
        lines = []
        while not fits(word) and len(word) > 1:
            cut = next((n for n in range(len(word) - 1, 0, -1) if fits(word[:n])), 1)
            lines.append(word[:cut])
            word = word[cut:]
        return [*lines, word]

    def words(part: str) -> list[str]:
        return _greedy_lines(part.split(" "), " ", fits, letters)

    return _greedy_lines(text.split(" · "), " · ", fits, words)


def _greedy_lines(pieces: list[str], joint: str, fits: Callable[[str], bool],
                  too_wide: Callable[[str], list[str]]) -> list[str]:
    """As many pieces on a line as fit, joined by `joint`; a piece that does not fit alone
    is broken by `too_wide` (its last line goes on with the next pieces)."""
    lines, current = [], ""
    for piece in pieces:
        trial = f"{current}{joint}{piece}" if current else piece
        if fits(trial):
            current = trial
            continue
        if current:
            lines.append(current)
        broken = [piece] if fits(piece) else too_wide(piece) or [""]
        lines.extend(broken[:-1])
        current = broken[-1]
    return [*lines, current] if current or not lines else lines


class ThumbnailGrid(QWidget):
    """Images in a grid, each scaled to fit its cell, a caption underneath wrapped onto
    as many lines as it needs (at least `caption_lines` are kept free, so the layout does
    not jump as tiles arrive). `columns=None` picks the column count that makes cells
    largest."""

    tileSelected = Signal(int)

    def __init__(self, columns: int | None = None, *, caption_lines: int = 2,
                 empty_text: str = "…", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._columns_wanted = columns
        self._caption_lines = caption_lines
        self._caption_rows = caption_lines  # lines the longest caption needs (_layout)
        self._empty_text = empty_text
        self._tiles: list[_Tile | None] = []
        self._selected = -1
        self._columns = 1
        self._cell = QSize(1, 1)
        self._aspect_hint = 1.0
        self.paint_count = 0
        self._tiles_set = 0      # set_tile calls so far
        self._tiles_painted = 0  # ... of which a paint event has drawn the latest
        # tiles arriving faster than a frame are painted together: one paint, not many
        self._pending = QRegion()
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(15)
        self._frame.timeout.connect(self._flush_pending)
        # old tiles are dimmed only if the new grid takes a while: no flicker when fast
        self._dim = QTimer(self)
        self._dim.setSingleShot(True)
        self._dim.setInterval(150)
        self._dim.timeout.connect(self.update)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 120)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        self._caption_font = font

    # -- content ---------------------------------------------------------------------
    def set_count(self, count: int) -> None:
        """Show `count` cells; tiles beyond it are dropped, missing ones show `empty_text`."""
        count = max(0, int(count))
        if count == len(self._tiles):
            return
        self._tiles = (self._tiles + [None] * count)[:count]
        if self._selected >= count:
            self._selected = -1
        self._layout()
        self.update()

    def set_tile(self, index: int, image: np.ndarray, caption: str = "",
                 tooltip: str = "") -> None:
        if not 0 <= index < len(self._tiles):
            raise IndexError(f"tile {index} of {len(self._tiles)}")
        before = self._aspect()
        self._tiles[index] = _Tile(image, caption, tooltip, qimage_from_array(image))
        self._tiles_set += 1
        longer = self._caption_lines > 0 and len(self.caption_lines_shown(index)) > \
            self._caption_rows
        if abs(self._aspect() / before - 1) > 0.05 or longer:
            self._layout()  # images of another shape: lay the grid out for them
            self.update()
        elif self._frame.isActive():  # painted less than a frame ago: join the next one
            self._pending += self.cell_rect(index)
        else:
            self.update(self.cell_rect(index))
            self._frame.start()

    def clear(self) -> None:
        self._tiles = [None] * len(self._tiles)
        self.update()

    def mark_stale(self) -> None:
        """Dim every tile until `set_tile` replaces it (a newer grid is being drawn)."""
        for tile in self._tiles:
            if tile is not None:
                tile.stale = True
        self._dim.start()

    # -- queries ---------------------------------------------------------------------
    def tile_count(self) -> int:
        return len(self._tiles)

    def filled_count(self) -> int:
        """Tiles showing a current (not stale) image."""
        return sum(1 for t in self._tiles if t is not None and not t.stale)

    def image(self, index: int) -> np.ndarray | None:
        tile = self._tiles[index]
        return None if tile is None else tile.image

    def caption(self, index: int) -> str:
        tile = self._tiles[index]
        return "" if tile is None else tile.caption

    def tile_tooltip(self, index: int) -> str:
        tile = self._tiles[index]
        return "" if tile is None else tile.tooltip

    def is_stale(self, index: int) -> bool:
        tile = self._tiles[index]
        return tile is None or tile.stale

    def is_painted(self) -> bool:
        """Every tile set so far has been painted (for benchmarks and tests)."""
        return self._tiles_painted == self._tiles_set

    def _flush_pending(self) -> None:
        if not self._pending.isEmpty():
            self.update(self._pending)
            self._pending = QRegion()
            self._frame.start()

    def columns(self) -> int:
        return self._columns

    def selected(self) -> int:
        return self._selected

    def set_selected(self, index: int) -> None:
        index = index if 0 <= index < len(self._tiles) else -1
        if index == self._selected:
            return
        old, self._selected = self._selected, index
        for i in (old, index):
            if i >= 0:
                self.update(self.cell_rect(i).adjusted(-3, -3, 3, 3))
        if index >= 0:
            self.tileSelected.emit(index)

    # -- geometry --------------------------------------------------------------------
    def caption_lines_shown(self, index: int) -> list[str]:
        """The caption's lines as drawn at the current cell width."""
        tile = self._tiles[index]
        if tile is None or self._caption_lines <= 0:
            return []
        return wrap_caption(tile.caption, QFontMetrics(self._caption_font),
                            self._cell.width() - 6)

    def _rows_needed(self, cell_width: int) -> int:
        """Caption lines the longest caption needs at this cell width."""
        if self._caption_lines <= 0:
            return 0
        metrics = QFontMetrics(self._caption_font)
        captions = {t.caption for t in self._tiles if t is not None}
        return max([self._caption_lines, *(len(wrap_caption(c, metrics, cell_width - 6))
                                           for c in captions)])

    def _caption_height(self, rows: int | None = None) -> int:
        if self._caption_lines <= 0:
            return 0
        rows = self._caption_rows if rows is None else rows
        return QFontMetrics(self._caption_font).lineSpacing() * rows + 4

    def _layout(self) -> None:
        count = max(1, len(self._tiles))
        width, height = max(1, self.width()), max(1, self.height())
        if self._columns_wanted:
            best = min(self._columns_wanted, count)
        else:  # the column count that shows the images largest, given their aspect ratio
            aspect = self._aspect()
            best, best_area = 1, -1.0
            for columns in range(1, count + 1):
                rows = math.ceil(count / columns)
                caption = self._caption_height(self._rows_needed(width // columns))
                cell_w, cell_h = width / columns - 6, height / rows - caption - 6
                shown_w = min(cell_w, cell_h * aspect)
                area = shown_w * shown_w / aspect if shown_w > 0 else 0.0
                if area > best_area:
                    best, best_area = columns, area
        rows = math.ceil(count / best)
        self._columns = best
        self._cell = QSize(max(1, width // best), max(1, height // rows))
        self._caption_rows = self._rows_needed(self._cell.width())

    def _aspect(self) -> float:
        """Width / height of the images shown (the first tile's), 1 before any."""
        for stale in (False, True):
            for tile in self._tiles:
                if tile is not None and tile.stale == stale:
                    return tile.qimage.width() / max(1, tile.qimage.height())
        return self._aspect_hint

    def set_aspect_hint(self, aspect: float) -> None:
        """The width / height to lay out for while no current tile has arrived."""
        self._aspect_hint = max(0.05, min(20.0, float(aspect)))
        if not any(t is not None and not t.stale for t in self._tiles):
            self._layout()
            self.update()

    def cell_rect(self, index: int) -> QRect:
        row, col = divmod(index, self._columns)
        return QRect(col * self._cell.width(), row * self._cell.height(),
                     self._cell.width(), self._cell.height())

    def index_at(self, x: float, y: float) -> int:
        if self._cell.width() <= 0 or self._cell.height() <= 0:
            return -1
        col, row = int(x // self._cell.width()), int(y // self._cell.height())
        index = row * self._columns + col
        return index if 0 <= col < self._columns and 0 <= index < len(self._tiles) else -1

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._layout()
        super().resizeEvent(event)

    # -- painting --------------------------------------------------------------------
    def _render(self, tile: _Tile, cell_size: QSize) -> QPixmap:
        """The cell as drawn — image scaled to fit, caption under it — made once per tile
        and cell size, so a repaint is one blit per tile."""
        caption_height = self._caption_height()
        key = (cell_size, caption_height)
        if tile.rendered is not None and tile.rendered_size == key:
            return tile.rendered
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(QSize(round(cell_size.width() * ratio),
                               round(cell_size.height() * ratio)))
        pixmap.setDevicePixelRatio(ratio)
        palette = self.palette()
        pixmap.fill(palette.color(QPalette.ColorRole.Base))
        painter = QPainter(pixmap)
        inner = QRect(0, 0, cell_size.width(), cell_size.height()).adjusted(3, 3, -3, -3)
        area = QRect(inner.left(), inner.top(), inner.width(),
                     max(1, inner.height() - caption_height))
        scaled_size = tile.qimage.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(area.left() + (area.width() - scaled_size.width()) // 2,
                       area.top() + (area.height() - scaled_size.height()) // 2,
                       max(1, scaled_size.width()), max(1, scaled_size.height()))
        # enlarge small images with hard pixel edges (digits), shrink big ones smoothly
        device = QSize(round(target.width() * ratio), round(target.height() * ratio))
        smooth = device.width() < tile.qimage.width()
        mode = (Qt.TransformationMode.SmoothTransformation if smooth
                else Qt.TransformationMode.FastTransformation)
        scaled = tile.qimage.scaled(device, Qt.AspectRatioMode.IgnoreAspectRatio, mode)
        scaled.setDevicePixelRatio(ratio)
        painter.drawImage(target.topLeft(), scaled)
        if caption_height:
            painter.setFont(self._caption_font)
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            text_rect = QRectF(inner.left(), inner.bottom() - caption_height + 2,
                               inner.width(), caption_height)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter
                             | Qt.AlignmentFlag.AlignTop,
                             "\n".join(wrap_caption(tile.caption,
                                                    QFontMetrics(self._caption_font),
                                                    inner.width())))
        painter.end()
        tile.rendered, tile.rendered_size, tile.image_rect = pixmap, key, target
        return pixmap

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paint_count += 1
        self._tiles_painted = self._tiles_set
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.color(QPalette.ColorRole.Base))
        dim = QColor(palette.color(QPalette.ColorRole.Text))
        dim.setAlpha(110)
        region = event.region()
        caption_height = self._caption_height()
        for index, tile in enumerate(self._tiles):
            cell = self.cell_rect(index)
            if not region.intersects(cell):
                continue
            if tile is None:
                inner = cell.adjusted(3, 3, -3, -3)
                painter.setPen(QPen(dim, 1, Qt.PenStyle.DashLine))
                box = inner.adjusted(0, 0, 0, -caption_height)
                painter.drawRect(box)
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._empty_text)
                continue
            rendered = self._render(tile, cell.size())
            painter.setOpacity(0.35 if tile.stale else 1.0)
            painter.drawPixmap(cell.topLeft(), rendered)
            painter.setOpacity(1.0)
            if index == self._selected:
                painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 3))
                painter.drawRect(tile.image_rect.translated(cell.topLeft()).adjusted(-2, -2, 1, 1))
        painter.end()

    # -- interaction -----------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.index_at(event.position().x(), event.position().y())
        if index >= 0:
            self.set_selected(index)
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        steps = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1,
                 Qt.Key.Key_Up: -self._columns, Qt.Key.Key_Down: self._columns}
        step = steps.get(Qt.Key(event.key()))
        if step is None or not self._tiles:
            super().keyPressEvent(event)
            return
        start = max(self._selected, 0) if self._selected >= 0 else 0
        target = start + step if self._selected >= 0 else 0
        self.set_selected(min(max(target, 0), len(self._tiles) - 1))

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.index_at(event.pos().x(), event.pos().y())
            text = self.tile_tooltip(index) if index >= 0 else ""
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)
