"""The (N, C, H, W) tensor unfolded: an N × C grid of H×W tiles (rows: samples, columns:
channels). Every cell is tinted with the colour of its statistics group (cells that share
one mean and variance look alike); the clicked cell's reduction set stays bright and the
rest fades. Numbers are written in the cells when they are large enough to read.

The tiles are one RGB image painted in a single call (fast at any size); only the
numbers are drawn cell by cell.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

#: tints of the statistics groups (cycled when there are more groups)
GROUP_COLORS = np.array([(47, 111, 219), (217, 130, 43), (46, 160, 90), (200, 60, 80),
                         (140, 90, 200), (30, 160, 170), (180, 150, 30), (120, 120, 120)],
                        np.float64)
GAP = 1          # pixels between cells
TILE_GAP = 6     # pixels between tiles
HEADER = 18      # room for the channel / sample labels
MIN_NUMBER_CELL = 22


def _short(value: float) -> str:
    """0.123 -> ".12", -0.5 -> "−.50": numbers narrow enough for small cells."""
    text = f"{value:.2f}"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "−" + text[2:]
    return text.replace("-", "−")


class CubeView(QWidget):
    """Click a cell: `cellClicked(n, c, h, w)`."""

    cellClicked = Signal(int, int, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values = np.zeros((0, 0, 0, 0))
        self._ids = np.zeros((0, 0, 0, 0), int)
        self._members: np.ndarray | None = None
        self._selected: tuple[int, int, int, int] | None = None
        self._image: QImage | None = None
        self._image_key: tuple | None = None
        self._labels: list[str] | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 160)
        self.setMouseTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    # -- data ------------------------------------------------------------------------
    def set_tensor(self, values: np.ndarray, ids: np.ndarray, members: np.ndarray | None,
                   selected: tuple[int, int, int, int] | None) -> None:
        self._values = np.asarray(values)
        self._ids = ids
        self._members = members
        self._selected = selected
        self._image = None
        self._labels = None
        self.update()

    def shape(self) -> tuple[int, ...]:
        return self._values.shape

    def selected(self) -> tuple[int, int, int, int] | None:
        return self._selected

    # -- geometry --------------------------------------------------------------------
    def cell_size(self) -> float:
        n, c, h, w = self._values.shape or (0, 0, 0, 0)
        if not n:
            return 0.0
        width = self.width() - HEADER - (c - 1) * TILE_GAP
        height = self.height() - HEADER - (n - 1) * TILE_GAP
        return float(max(2, int(min(width / (c * w), height / (n * h)))))

    def _left(self) -> float:
        """Where the first tile starts: the grid is centred in the widget's width."""
        size = self.cell_size()
        _, c, _, w = self._values.shape
        used = c * w * size + (c - 1) * TILE_GAP
        return HEADER + max(0.0, (self.width() - HEADER - used) / 2)

    def _origin(self, n: int, c: int) -> QPointF:
        size = self.cell_size()
        _, _, h, w = self._values.shape
        return QPointF(self._left() + c * (w * size + TILE_GAP),
                       HEADER + n * (h * size + TILE_GAP))

    def cell_rect(self, n: int, c: int, h: int, w: int) -> QRectF:
        size = self.cell_size()
        origin = self._origin(n, c)
        return QRectF(origin.x() + w * size, origin.y() + h * size, size, size)

    def cell_at(self, pos: QPointF) -> tuple[int, int, int, int] | None:
        if not self._values.size:
            return None
        n_count, c_count, h_count, w_count = self._values.shape
        size = self.cell_size()
        tile_w, tile_h = w_count * size + TILE_GAP, h_count * size + TILE_GAP
        x, y = pos.x() - self._left(), pos.y() - HEADER
        if x < 0 or y < 0:
            return None
        c, n = int(x // tile_w), int(y // tile_h)
        w, h = int((x - c * tile_w) // size), int((y - n * tile_h) // size)
        if n < n_count and c < c_count and h < h_count and w < w_count:
            return n, c, h, w
        return None

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(520, 420)

    # -- drawing ---------------------------------------------------------------------
    def _colors(self) -> np.ndarray:
        """(N, C, H, W, 3) colours: the group's tint, lighter for smaller values; faded
        outside the selected reduction set."""
        values = self._values.astype(np.float64)
        low, high = float(values.min()), float(values.max())
        shade = (values - low) / (high - low) if high > low else np.full(values.shape, 0.5)
        tint = GROUP_COLORS[self._ids % len(GROUP_COLORS)]
        white = np.full(3, 255.0)
        # 0.25 … 0.95 of the way from white to the tint: the value's brightness
        amount = (0.25 + 0.7 * shade)[..., None]
        colors = white + (tint - white) * amount
        if self._members is not None:
            faded = ~self._members
            gray = colors[faded].mean(axis=-1, keepdims=True)
            colors[faded] = 235 + (gray - 235) * 0.25
        return colors

    def _tile_image(self, size: float) -> QImage:
        """All tiles in one image at whole-pixel cells (painted scaled by at most a pixel)."""
        n, c, h, w = self._values.shape
        cell = max(1, int(size))
        key = (cell, self._values.shape)
        if self._image is not None and self._image_key == key:
            return self._image
        colors = self._colors().astype(np.uint8)
        tile_w, tile_h = w * cell, h * cell
        tile_gap = TILE_GAP
        width = c * tile_w + (c - 1) * tile_gap
        height = n * tile_h + (n - 1) * tile_gap
        canvas = np.zeros((height, width, 4), np.uint8)  # transparent between tiles
        # cells: repeat each value cell×cell, leaving a GAP line at the right/bottom
        block = np.repeat(np.repeat(colors, cell, axis=2), cell, axis=3)  # N,C,hc,wc,3
        if cell >= 6:
            grid_line = np.zeros((cell,), bool)
            grid_line[-GAP:] = True
            rows = np.tile(grid_line, h)
            cols = np.tile(grid_line, w)
            block[:, :, rows, :, :] = 255
            block[:, :, :, cols, :] = 255
        for i in range(n):
            for j in range(c):
                top, left = i * (tile_h + tile_gap), j * (tile_w + tile_gap)
                canvas[top:top + tile_h, left:left + tile_w, :3] = block[i, j]
                canvas[top:top + tile_h, left:left + tile_w, 3] = 255
        image = QImage(canvas.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
        self._image = image.copy()  # own the pixels: `canvas` is freed on return
        self._image_key = key
        return self._image

    def _number_labels(self) -> list[str]:
        if self._labels is None:
            flat = self._values.ravel()
            self._labels = [_short(v) for v in flat]
        return self._labels

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        palette = self.palette()
        text = palette.color(palette.ColorRole.Text)
        if not self._values.size:
            painter.end()
            return
        n, c, h, w = self._values.shape
        size = self.cell_size()
        cell = max(1, int(size))
        image = self._tile_image(size)
        tile_w, tile_h = w * cell, h * cell
        # draw at whole-pixel cell sizes so grid lines stay crisp
        for i in range(n):
            for j in range(c):
                origin = self._origin(i, j)
                painter.drawImage(QRectF(origin.x(), origin.y(), tile_w, tile_h), image,
                                  QRectF(j * (tile_w + TILE_GAP), i * (tile_h + TILE_GAP),
                                         tile_w, tile_h))
        painter.setPen(text)
        font = QFont(self.font())
        font.setPixelSize(11)
        painter.setFont(font)
        for j in range(c):
            origin = self._origin(0, j)
            painter.drawText(QRectF(origin.x(), 0, tile_w, HEADER),
                             Qt.AlignmentFlag.AlignCenter, f"c={j}")
        for i in range(n):
            origin = self._origin(i, 0)
            painter.save()
            painter.translate(origin.x() - HEADER, origin.y() + tile_h / 2)
            painter.rotate(-90)
            painter.drawText(QRectF(-tile_h / 2, 0, tile_h, HEADER),
                             Qt.AlignmentFlag.AlignCenter, f"n={i}")
            painter.restore()
        if cell >= MIN_NUMBER_CELL:
            font.setPixelSize(max(7, min(12, int(cell * 0.34))))
            painter.setFont(font)
            painter.setPen(QColor(20, 20, 20))
            labels = self._number_labels()
            index = 0
            center = Qt.AlignmentFlag.AlignCenter
            for i in range(n):
                for j in range(c):
                    origin = self._origin(i, j)
                    x0, y0 = origin.x(), origin.y()
                    for r in range(h):
                        for q in range(w):
                            painter.drawText(QRectF(x0 + q * cell, y0 + r * cell, cell, cell),
                                             center, labels[index])
                            index += 1
        if self._selected is not None and all(
                0 <= v < s for v, s in zip(self._selected, self._values.shape, strict=True)):
            i, j, r, q = self._selected
            origin = self._origin(i, j)
            painter.setPen(QPen(QColor(10, 10, 10), 3))
            painter.drawRect(QRectF(origin.x() + q * cell, origin.y() + r * cell, cell, cell)
                             .adjusted(1, 1, -1, -1))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        cell = self.cell_at(event.position())
        if cell is not None:
            self.cellClicked.emit(*cell)
        super().mousePressEvent(event)
