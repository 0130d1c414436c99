"""The mouse wheel changes a control only when it has focus.

Spin boxes, sliders and combo boxes take the wheel from under the pointer by default, so
scrolling a form of settings silently turns batch size 32 into 1 or SGD into Adam. One
application-wide event filter fixes every such control, including ones built later:

- when a control is polished, its focus policy becomes `Qt.StrongFocus` (a click or Tab
  focuses it, the wheel does not; Qt gives wheel focus *before* any filter runs);
- a wheel event over an unfocused control is not delivered to it: the nearest scroll area
  around it scrolls instead, as the learner meant.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

#: the controls whose value the wheel would change
GUARDED = (QAbstractSpinBox, QAbstractSlider, QComboBox)
_POLISH = QEvent.Type.Polish
_WHEEL = QEvent.Type.Wheel


def is_guarded(widget: QObject) -> bool:
    """A value control, not a scroll bar (scroll bars are meant for the wheel)."""
    return isinstance(widget, GUARDED) and not isinstance(widget, QScrollBar)


def _enclosing_viewport(widget: QWidget) -> QWidget | None:
    """The viewport of the nearest scroll area that contains `widget`, if any."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and parent.viewport().isAncestorOf(widget):
            return parent.viewport()
        parent = parent.parentWidget()
    return None


class WheelGuard(QObject):
    """The application-wide filter (see the module docstring); install with `install`."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if kind == _POLISH:
            if is_guarded(watched) and watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            return False
        if kind != _WHEEL or not is_guarded(watched) or watched.hasFocus():
            return False
        viewport = _enclosing_viewport(watched)
        if viewport is None:
            event.ignore()  # Qt hands an ignored wheel event on to the parent
            return True
        position = viewport.mapFromGlobal(event.globalPosition())
        forwarded = QWheelEvent(position, event.globalPosition(), event.pixelDelta(),
                                event.angleDelta(), event.buttons(), event.modifiers(),
                                event.phase(), event.inverted())
        QApplication.sendEvent(viewport, forwarded)
        return True


_guard: WheelGuard | None = None


def install(app: QApplication | None = None) -> WheelGuard:
    """Install the guard on the application once (later calls return the same guard)."""
    global _guard
    app = app or QApplication.instance()
    if _guard is None:
        _guard = WheelGuard(app)
        app.installEventFilter(_guard)
        for widget in app.allWidgets():  # built before the guard: polished already
            if is_guarded(widget) and widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return _guard
