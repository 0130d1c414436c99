"""The mouse wheel scrolls a form; it changes a control only when that control has focus."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from widgets.kit import wheel
from widgets.kit.controls import ParamSlider


def send_wheel(widget: QWidget, notches: int = -1) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def value_of(control: QWidget):
    if isinstance(control, QComboBox):
        return control.currentIndex()
    return control.value()


def tall_form(qtbot):
    wheel.install()
    area = QScrollArea()
    qtbot.addWidget(area)
    body = QWidget()
    layout = QVBoxLayout(body)
    batch = QSpinBox()
    batch.setRange(1, 512)
    batch.setValue(32)
    optimiser = QComboBox()
    optimiser.addItems(["SGD", "Adam", "AdamW"])
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setValue(50)
    row = ParamSlider("kernel", 1, 9, 3)
    for control in (batch, optimiser, slider, row):
        layout.addWidget(control)
    layout.addSpacing(2000)  # the form is taller than the area: there is something to scroll
    area.setWidget(body)
    area.setWidgetResizable(True)
    area.resize(300, 200)
    area.show()
    qtbot.waitExposed(area)
    return area, [batch, optimiser, slider, row.slider, row.spinbox]


def test_wheel_over_unfocused_controls_scrolls_the_form_instead(qtbot):
    area, controls = tall_form(qtbot)
    for control in controls:
        before = value_of(control)
        scroll = area.verticalScrollBar().value()
        send_wheel(control)
        assert value_of(control) == before, type(control).__name__
        assert area.verticalScrollBar().value() > scroll, "the form did not scroll"
        assert control.focusPolicy() != Qt.FocusPolicy.WheelFocus


def test_wheel_changes_a_focused_control(qtbot):
    area, (batch, optimiser, *_rest) = tall_form(qtbot)
    area.activateWindow()
    batch.setFocus()
    qtbot.waitUntil(batch.hasFocus)
    send_wheel(batch, notches=1)
    assert batch.value() == 33
    optimiser.setFocus()
    qtbot.waitUntil(optimiser.hasFocus)
    send_wheel(optimiser, notches=-1)
    assert optimiser.currentText() == "Adam"


def test_a_control_built_later_is_guarded_too(qtbot):
    area, _ = tall_form(qtbot)
    late = QComboBox()
    late.addItems(["a", "b"])
    area.widget().layout().insertWidget(0, late)
    qtbot.waitUntil(late.isVisible)
    assert late.focusPolicy() == Qt.FocusPolicy.StrongFocus  # a click focuses, the wheel not
    send_wheel(late)
    assert late.currentIndex() == 0
