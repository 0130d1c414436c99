from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.kit.controls import (
    ChoiceBox,
    ElidedLabel,
    ErrorBanner,
    ParamSlider,
    QuietProgressBar,
    WrapLabel,
)


def test_param_slider_keeps_slider_and_spinbox_in_step(qtbot):
    slider = ParamSlider("Kernel size", 1, 11, 3, tooltip="window side")
    qtbot.addWidget(slider)
    seen = []
    slider.valueChanged.connect(seen.append)
    slider.slider.setValue(7)
    assert slider.spinbox.value() == 7 and slider.value() == 7 and seen == [7]
    slider.spinbox.setValue(2)
    assert slider.slider.value() == 2 and seen == [7, 2]
    slider.setValue(50)  # clamped to the range
    assert slider.value() == 11 and seen[-1] == 11
    slider.setValue(11)  # no change, no signal
    assert len(seen) == 3
    assert slider.slider.toolTip() == "window side" == slider.spinbox.toolTip()


def test_param_slider_keyboard_and_typing(qtbot):
    slider = ParamSlider("Stride", 1, 8, 2)
    qtbot.addWidget(slider)
    slider.show()
    slider.slider.setFocus()
    qtbot.keyClick(slider.slider, Qt.Key.Key_Right)
    assert slider.value() == 3
    qtbot.keyClick(slider.slider, Qt.Key.Key_End)
    assert slider.value() == 8
    slider.spinbox.lineEdit().selectAll()
    qtbot.keyClicks(slider.spinbox.lineEdit(), "5")
    qtbot.keyClick(slider.spinbox.lineEdit(), Qt.Key.Key_Return)
    assert slider.value() == 5 and slider.slider.value() == 5


def test_float_param_slider_steps(qtbot):
    slider = ParamSlider("p", 0.5, 8, 2, step=0.5, decimals=1)
    qtbot.addWidget(slider)
    slider.slider.setValue(slider.slider.value() + 1)
    assert slider.value() == 2.5 and isinstance(slider.value(), float)
    slider.setRange(0.5, 2.0)
    assert slider.value() == 2.0


def test_choice_box_values_and_tooltips(qtbot):
    box = ChoiceBox("Pooling", [("max", "Max", "largest"), ("avg", "Average", "mean")], "avg")
    qtbot.addWidget(box)
    assert box.value() == "avg" and box.values() == ["max", "avg"]
    with qtbot.waitSignal(box.valueChanged) as signal:
        box.combo.setCurrentIndex(0)
    assert signal.args == ["max"]
    assert box.combo.itemData(0, Qt.ItemDataRole.ToolTipRole) == "largest"
    try:
        box.setValue("median")
    except ValueError as exc:
        assert "median" in str(exc)
    else:
        raise AssertionError("unknown value accepted")


def test_error_banner_shows_and_hides(qtbot):
    page = QWidget()
    banner = ErrorBanner()
    QVBoxLayout(page).addWidget(banner)
    qtbot.addWidget(page)
    page.show()
    assert banner.isHidden()
    banner.show_problems(["padding must be at most half the kernel size"])
    assert not banner.isHidden() and "half the kernel" in banner.text.text()
    banner.show_problems([])
    assert banner.isHidden() and banner.problems() == []
    banner.show_message("oops")
    qtbot.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
    assert banner.isHidden()


class _PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, _watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def test_quiet_progress_bar_repaints_with_the_next_frame(qtbot):
    bar = QuietProgressBar()
    qtbot.addWidget(bar)
    bar.resize(300, 12)
    bar.show()
    qtbot.waitExposed(bar)
    qtbot.wait(30)  # the first paint, which makes its backing store
    counter = _PaintCounter()
    bar.installEventFilter(counter)
    bar.setValue(bar.maximum())  # a plain QProgressBar repaints inside setValue…
    assert counter.paints == 1
    bar.set_value(400)  # …this one does not, and still shows the new value
    assert counter.paints == 1 and bar.value() == 400
    qtbot.waitUntil(lambda: counter.paints == 2)
    bar.set_fraction(0.25)
    assert bar.value() == 250
    bar.set_fraction(7.0)
    assert bar.value() == bar.maximum()
    bar.set_fraction(float("nan"))
    assert bar.value() == 0
    assert bar.updatesEnabled()


def test_wrap_label_asks_for_its_wrapped_height(qtbot):
    label = WrapLabel("a caption long enough to wrap onto several lines when the label "
                      "is narrow, and onto one when it is wide")
    qtbot.addWidget(label)
    label.resize(900, 20)
    wide = label.minimumSizeHint().height()
    label.resize(150, 20)
    assert label.minimumSizeHint().height() >= label.heightForWidth(150) > 2 * wide


def test_elided_label_ends_in_an_ellipsis_when_narrow(qtbot):
    label = ElidedLabel("Boundary — #2, eval()")
    qtbot.addWidget(label)
    label.resize(400, 20)
    assert label.shown_text() == "Boundary — #2, eval()"
    label.resize(70, 20)
    assert label.shown_text().endswith("…") and len(label.shown_text()) < len(label.text())
    label.show()
    assert not label.grab().toImage().isNull()  # paints without error


def test_steady_wrap_label_only_grows_while_its_text_changes(qtbot):
    label = WrapLabel("short", steady=True, lines=2)
    qtbot.addWidget(label)
    label.resize(150, 20)
    two_lines = label.minimumSizeHint().height()
    assert two_lines >= 2 * label.fontMetrics().lineSpacing()  # room reserved from the start
    label.setText("a much longer caption that needs more than two lines at this width")
    taller = label.minimumSizeHint().height()
    assert taller > two_lines
    label.setText("short again")  # a steady label keeps its height: no re-layout
    assert label.minimumSizeHint().height() == taller
    plain = WrapLabel("short again")
    qtbot.addWidget(plain)
    plain.resize(150, 20)
    assert plain.minimumSizeHint().height() < taller
