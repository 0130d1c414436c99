"""Text that changes with every slider step (a formula, statistics), without re-layouts.

A QLabel asks its parent layout to re-lay-out on every new text, and that request climbs
to the window and repaints the whole panel; hosted in a fixed-height widget without a
layout, new text repaints only these lines. (The Convolution panel has the same idea;
panels share no widgets, so it is repeated here.)
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class TextLines(QWidget):
    def __init__(self, lines: int, *, muted: bool = False, tooltip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAutoFillBackground(True)  # opaque: repaints stop at the label
        self.label.setWordWrap(True)
        if muted:
            self.label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.setFixedHeight(lines * self.label.fontMetrics().lineSpacing() + 4)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(100)
        self.setToolTip(tooltip)

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name
        if self.label.text() != text:
            self.label.setText(text)

    def text(self) -> str:
        return self.label.text()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.label.setGeometry(self.rect())
        super().resizeEvent(event)
