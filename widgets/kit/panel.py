"""What every panel is: a QWidget over the shared `AppState`, which says when its first
result is on screen (for `--screenshot` and tests) and which stops its own work on close.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from lab.images import DEFAULT_SAMPLE, LabImage, load_sample


class AppState(QObject):
    """State shared by all panels: the current image and the compute device's label."""

    imageChanged = Signal(object)   # LabImage
    deviceChanged = Signal(str)

    def __init__(self, image: LabImage | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._image = image or load_sample(DEFAULT_SAMPLE)
        self._device_label = ""

    @property
    def image(self) -> LabImage:
        return self._image

    def set_image(self, image: LabImage) -> None:
        self._image = image
        self.imageChanged.emit(image)

    @property
    def device_label(self) -> str:
        return self._device_label

    def set_device_label(self, label: str) -> None:
        self._device_label = label
        self.deviceChanged.emit(label)


class Panel(QWidget):
    """Base class of the panels in the registry.

    Subclasses call `mark_drawn()` each time a result has been drawn, and override
    `shutdown()` if they run anything in the background.
    """

    resultDrawn = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._drawn = False

    def mark_drawn(self) -> None:
        self._drawn = True
        self.resultDrawn.emit()

    def has_drawn(self) -> bool:
        return self._drawn

    def shutdown(self) -> None:
        """Stop and join any background work. Called on close; must be idempotent."""
