"""A montage of validation images with their predicted labels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtGui import QFontMetrics

MONTAGE_COLUMNS, MONTAGE_ROWS = 4, 3


def _label_forms(name: str, confidence: float, right: bool) -> tuple[str, str, str]:
    """A prediction's label, longest first: ("Ankle boot 87% ✓", "Ankle boot ✓", "✓")."""
    mark = "✓" if right else "✗"
    return f"{name} {100 * confidence:.0f}% {mark}", f"{name} {mark}", mark


class PredictionMontage(pg.GraphicsLayoutWidget):
    """Up to 12 images in one picture (one ImageItem), each with its prediction as a text
    item above it. Cheap to update: new predictions change 12 strings, nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setMouseEnabled(False, False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.texts: list[pg.TextItem] = []
        self._forms: list[tuple[str, ...]] = []
        self._colours: list[str] = []
        self._shown: list[tuple[str, str] | None] = []
        self._source: np.ndarray | None = None
        self._cell = (0, 0, 0, 0)
        self.view.sigResized.connect(self._fit_labels)
        self.view.sigRangeChanged.connect(self._fit_labels)
        self._follow_palette()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._follow_palette()
        super().changeEvent(event)

    def _follow_palette(self) -> None:
        self.setBackground(self.palette().color(self.palette().ColorRole.Base))

    def set_images(self, images: np.ndarray) -> None:
        """(N, H, W) or (N, H, W, 3) uint8; redrawn only when the pixels change."""
        if self._source is not None and np.array_equal(self._source, images):
            return
        self._source = images.copy()
        count, height, width = images.shape[:3]
        gap, label = max(2, width // 8), max(8, height // 2)
        cell_w, cell_h = width + gap, height + label
        rows = -(-count // MONTAGE_COLUMNS)
        shape = (rows * cell_h, MONTAGE_COLUMNS * cell_w) + images.shape[3:]
        montage = np.full(shape, 255, dtype=np.uint8)
        for i in range(count):
            row, col = divmod(i, MONTAGE_COLUMNS)
            top, left = row * cell_h + label, col * cell_w
            montage[top:top + height, left:left + width] = images[i]
        self._cell = (cell_w, cell_h, label, width)
        self.image.setImage(montage, autoLevels=False, levels=(0, 255))
        self.view.autoRange(padding=0.01)

    def clear(self) -> None:
        """No images and no labels."""
        self.image.clear()
        self._source = None
        self._place_labels([], [])

    def set_labels(self, labels: list[tuple[str, float, bool]]) -> None:
        """(predicted class, confidence, right) per image, shown as "cat 87% ✓"; a label
        wider than its image is shortened ("cat ✓", then "✓") so neighbours never
        overlap. The full ones are `labels()`."""
        self._place_labels([_label_forms(*label) for label in labels],
                           ["#1e7b34" if right else "#b03a2e" for *_, right in labels])

    def set_names(self, names: list[str]) -> None:
        """Each image's true class, in the text colour: a data set before any prediction."""
        colour = self.palette().color(self.palette().ColorRole.Text).name()
        self._place_labels([(name, name[:1]) for name in names], [colour] * len(names))

    def _place_labels(self, forms: list[tuple[str, ...]], colours: list[str]) -> None:
        cell_w, cell_h, label, width = self._cell
        while len(self.texts) < len(forms):
            text = pg.TextItem(anchor=(0.5, 1.0))
            self.view.addItem(text)
            self.texts.append(text)
            self._shown.append(None)  # (text, colour) it shows
        self._forms, self._colours = forms, colours
        for i, text in enumerate(self.texts[:len(forms)]):
            row, col = divmod(i, MONTAGE_COLUMNS)
            text.setPos(col * cell_w + width / 2, row * cell_h + label)
            text.setVisible(True)
        for text in self.texts[len(forms):]:
            text.setVisible(False)
        self._fit_labels()

    def _fit_labels(self) -> None:
        """Each label in the longest form that fits its image's width on screen."""
        if not self._forms or not self._cell[0]:
            return
        if self.view.pixelVectors()[0] is None:  # not on screen: fitted when it shows
            return
        pixel = self.view.viewPixelSize()[0]  # data units per screen pixel
        room = self._cell[0] / pixel if pixel > 0 else float("inf")
        metrics = QFontMetrics(self.font())
        for i, (forms, colour) in enumerate(zip(self._forms, self._colours, strict=True)):
            shown = next((f for f in forms if metrics.horizontalAdvance(f) + 4 <= room),
                         forms[-1])
            if self._shown[i] != (shown, colour):
                self.texts[i].setText(shown, color=colour)
                self._shown[i] = (shown, colour)

    def labels(self) -> list[str]:
        """The full labels ("cat 87% ✓"), whatever the montage has room for."""
        return [forms[0] for forms in self._forms]

    def shown_labels(self) -> list[str]:
        return [shown[0] for shown in self._shown[:len(self._forms)]]
