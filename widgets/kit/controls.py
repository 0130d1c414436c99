"""Controls every panel shares: a slider with a spin box, a labelled choice box, an
inline error banner, a progress bar that repaints with the next frame, and the page
furniture around them (captions, a scrolling column of controls beside the views).

`ParamSlider` is a slider and a spin box kept in step (the issue asks for a spin box
you can type into; superqt's labelled slider uses a line edit); `LogSlider` is the same
row on a log scale (learning rates, penalty strengths). `RangeSlider` wraps
superqt's two-handled labelled slider for (low, high) intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from lab.progress import Progress


class _SliderRow(QWidget):
    """Label, slider and spin box in one row, always in agreement. Subclasses say how a
    value maps to slider ticks (`_to_ticks`, `_from_ticks`) and set the spin box up."""

    valueChanged = Signal(object)

    def __init__(self, label: str, spinbox: QSpinBox | QDoubleSpinBox,
                 parent: QWidget | None) -> None:
        super().__init__(parent)
        self.label = QLabel(label)
        self.label.setMinimumWidth(90)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.spinbox = spinbox
        spinbox.setKeyboardTracking(False)  # typing "12" is one change, not "1" then "12"
        self.label.setBuddy(spinbox)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(spinbox)
        self.setAccessibleName(label)

    def _start(self, value: float, tooltip: str) -> None:
        """Show `value` and start listening (once the subclass has set the ranges)."""
        self._set_both(value)
        self.setToolTip(tooltip)
        self.slider.valueChanged.connect(self._slider_moved)
        self.spinbox.valueChanged.connect(self._spin_changed)

    # -- public API ------------------------------------------------------------------
    def value(self) -> int | float:
        return float(self.spinbox.value())

    def setValue(self, value: float) -> None:
        """Set the value (clamped to the range); emits `valueChanged` if it changed."""
        old = self.value()
        self._set_both(value)
        if self.value() != old:
            self.valueChanged.emit(self.value())

    def minimum(self) -> float:
        return self.spinbox.minimum()

    def maximum(self) -> float:
        return self.spinbox.maximum()

    def setToolTip(self, text: str) -> None:  # noqa: N802 - Qt name
        super().setToolTip(text)
        for part in (self.label, self.slider, self.spinbox):
            part.setToolTip(text)

    # -- internals -------------------------------------------------------------------
    def _set_both(self, value: float) -> None:
        self.spinbox.blockSignals(True)
        self.slider.blockSignals(True)
        self.spinbox.setValue(value)
        self.slider.setValue(self._to_ticks(self.spinbox.value()))
        self.spinbox.blockSignals(False)
        self.slider.blockSignals(False)

    def _slider_moved(self, ticks: int) -> None:
        self.spinbox.blockSignals(True)
        self.spinbox.setValue(self._from_ticks(ticks))
        self.spinbox.blockSignals(False)
        self.valueChanged.emit(self.value())

    def _spin_changed(self, _value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_ticks(self.spinbox.value()))
        self.slider.blockSignals(False)
        self.valueChanged.emit(self.value())


class ParamSlider(_SliderRow):
    """A named number: label, slider and spin box in one row, always in agreement.

    Integer when `decimals == 0`, otherwise a float moving in `step`s. Keyboard: the
    slider takes arrow keys / Page Up/Down / Home / End; the spin box takes typing and
    the mouse wheel. `valueChanged` carries the new value (int or float) once per change.
    """

    def __init__(self, label: str, minimum: float, maximum: float, value: float, *,
                 step: float = 1, decimals: int = 0, tooltip: str = "", suffix: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(label, QSpinBox() if decimals == 0 else QDoubleSpinBox(), parent)
        self._step = step
        self._decimals = decimals
        if decimals:
            self.spinbox.setDecimals(decimals)
        self.spinbox.setSingleStep(step)
        self.spinbox.setAccelerated(True)
        self.spinbox.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        if suffix:
            self.spinbox.setSuffix(suffix)
        self.spinbox.setMinimumWidth(64)
        self.setRange(minimum, maximum)
        self._start(value, tooltip)

    def value(self) -> int | float:
        value = self.spinbox.value()
        return int(value) if self._decimals == 0 else float(value)

    def setRange(self, minimum: float, maximum: float) -> None:
        old = self.value()
        self.spinbox.blockSignals(True)
        self.slider.blockSignals(True)
        self.spinbox.setRange(minimum, maximum)
        self.slider.setRange(self._to_ticks(minimum), self._to_ticks(maximum))
        self.slider.setPageStep(max(1, (self.slider.maximum() - self.slider.minimum()) // 10))
        self.slider.setValue(self._to_ticks(self.spinbox.value()))
        self.spinbox.blockSignals(False)
        self.slider.blockSignals(False)
        if self.value() != old:
            self.valueChanged.emit(self.value())

    def _to_ticks(self, value: float) -> int:
        return round(value / self._step)

    def _from_ticks(self, ticks: int) -> float:
        value = ticks * self._step
        return round(value, self._decimals) if self._decimals else int(value)


class LogSlider(_SliderRow):
    """A positive number on a log scale (learning rates, penalty strengths): label, slider
    with `per_decade` stops per factor of 10, and a spin box to type exact values.
    With `allow_zero`, the slider's left end means 0 (off)."""

    def __init__(self, label: str, minimum: float, maximum: float, value: float, *,
                 allow_zero: bool = False, per_decade: int = 6, tooltip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(label, QDoubleSpinBox(), parent)
        self._min, self._max = minimum, maximum
        self._zero = allow_zero
        self._per_decade = per_decade
        ticks = round(math.log10(maximum / minimum) * per_decade)
        self.slider.setRange(-1 if allow_zero else 0, ticks)
        self.slider.setPageStep(per_decade)
        self.spinbox.setDecimals(6)
        self.spinbox.setRange(0.0 if allow_zero else minimum, maximum)
        self.spinbox.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.spinbox.setMinimumWidth(92)
        self._start(value, tooltip)

    def _to_ticks(self, value: float) -> int:
        if value <= 0 or value < self._min:
            return self.slider.minimum() if self._zero or value <= 0 else 0
        return round(math.log10(value / self._min) * self._per_decade)

    def _from_ticks(self, ticks: int) -> float:
        if ticks < 0:
            return 0.0
        value = self._min * 10 ** (ticks / self._per_decade)
        return float(f"{value:.2g}")  # 1, 1.5, 2.2, 3.2, 4.6, 6.8 × 10^k: easy to read

    def _set_both(self, value: float) -> None:
        super()._set_both(value if math.isfinite(value) else self._min)


class RangeSlider(QWidget):
    """A named interval (low, high): a label and superqt's two-handled slider with an
    editable box at each end (type a number, or drag either handle or the bar between).

    `valueChanged` carries the new (low, high) floats once per change. The handles
    cannot cross, so low <= high always holds for values set through the widget.
    """

    valueChanged = Signal(object)

    def __init__(self, label: str, minimum: float, maximum: float,
                 value: tuple[float, float], *, decimals: int = 2, step: float | None = None,
                 tooltip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # imported here: superqt takes ~0.2 s to import, and the app shell needs only the
        # banner from this module at start-up
        from superqt import QLabeledDoubleRangeSlider

        self.label = QLabel(label)
        self.label.setMinimumWidth(90)
        self.slider = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.slider.setHandleLabelPosition(QLabeledDoubleRangeSlider.LabelPosition.NoLabel)
        self.slider.setEdgeLabelMode(QLabeledDoubleRangeSlider.EdgeLabelMode.LabelIsValue)
        self.slider.setDecimals(decimals)
        self.slider.setRange(minimum, maximum)
        self.slider.setSingleStep(step if step is not None else 10.0 ** -decimals)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._decimals = decimals
        self._value = self._clamped(value)
        self.slider.setValue(self._value)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.slider, 1)
        self.setToolTip(tooltip)
        self.setAccessibleName(label)
        self.slider.valueChanged.connect(self._slider_changed)

    def value(self) -> tuple[float, float]:
        return self._value

    def setValue(self, value: tuple[float, float]) -> None:
        """Set (low, high), clamped to the range and sorted; emits `valueChanged` if it
        changed."""
        new = self._clamped(value)
        if new == self._value:
            return
        self._value = new
        self.slider.blockSignals(True)
        self.slider.setValue(new)
        self.slider.blockSignals(False)
        self.valueChanged.emit(new)

    def minimum(self) -> float:
        return float(self.slider.minimum())

    def maximum(self) -> float:
        return float(self.slider.maximum())

    def setToolTip(self, text: str) -> None:  # noqa: N802 - Qt name
        super().setToolTip(text)
        self.label.setToolTip(text)
        self.slider.setToolTip(text)

    def _clamped(self, value: tuple[float, float]) -> tuple[float, float]:
        low, high = sorted(float(v) for v in value)
        minimum, maximum = float(self.slider.minimum()), float(self.slider.maximum())
        low = round(min(max(low, minimum), maximum), self._decimals)
        high = round(min(max(high, minimum), maximum), self._decimals)
        return (low, high)

    def _slider_changed(self, value: tuple[float, float]) -> None:
        new = self._clamped(value)
        if new != self._value:
            self._value = new
            self.valueChanged.emit(new)


class ChoiceBox(QWidget):
    """A labelled combo box whose items carry values; `valueChanged` emits the value.

    `choices` maps value -> text, or is a sequence of (value, text) or
    (value, text, tooltip) tuples. Tooltips teach what each choice does.
    """

    valueChanged = Signal(object)

    def __init__(self, label: str, choices: dict[Any, str] | Sequence[tuple], value: Any = None,
                 *, tooltip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(label)
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(12)
        self.label.setBuddy(self.combo)
        self.label.setMinimumWidth(90)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.combo, 1)
        self.setChoices(choices, value)
        self.setToolTip(tooltip)
        self.combo.currentIndexChanged.connect(self._changed)
        self.setAccessibleName(label)

    def setChoices(self, choices: dict[Any, str] | Sequence[tuple], value: Any = None) -> None:
        items: Iterable[tuple] = choices.items() if isinstance(choices, dict) else choices
        self.combo.blockSignals(True)
        self.combo.clear()
        for item in items:
            data, text = item[0], item[1]
            self.combo.addItem(text, data)
            if len(item) > 2 and item[2]:
                self.combo.setItemData(self.combo.count() - 1, item[2],
                                       Qt.ItemDataRole.ToolTipRole)
        if value is not None:
            self._select(value)
        self.combo.blockSignals(False)

    def values(self) -> list[Any]:
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def value(self) -> Any:
        return self.combo.currentData()

    def setValue(self, value: Any) -> None:
        """Select the item holding `value`; emits `valueChanged` if the selection changed."""
        if not self._select(value):
            raise ValueError(f"{value!r} is not one of {self.values()}")

    def _select(self, value: Any) -> bool:
        for i in range(self.combo.count()):
            if self.combo.itemData(i) == value:
                self.combo.setCurrentIndex(i)
                return True
        return False

    def setToolTip(self, text: str) -> None:  # noqa: N802 - Qt name
        super().setToolTip(text)
        self.label.setToolTip(text)
        self.combo.setToolTip(text)

    def _changed(self, _index: int) -> None:
        self.valueChanged.emit(self.value())


class ErrorBanner(QFrame):
    """A coloured strip at the top of a panel naming the rule the user's input broke.

    Hidden while there is nothing to say. The panel keeps its last good result on
    screen while the banner shows.
    """

    STYLES = {
        "error": ("#fdecea", "#8a1c12", "#f5b7b1", "⚠"),
        "info": ("#e8f1fd", "#0f3c7a", "#b3cdf2", "ℹ"),
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ErrorBanner")
        self._problems: list[str] = []
        self.icon = QLabel()
        self.text = QLabel()
        # messages quote file names and checkpoint metadata: never render them as markup
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide this message")
        self.close_button.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setVisible(False)

    def show_problems(self, problems: Sequence[str], kind: str = "error") -> None:
        """Show one or more messages; an empty list hides the banner."""
        self._problems = [str(p) for p in problems if str(p)]
        if not self._problems:
            self.clear()
            return
        background, foreground, border, icon = self.STYLES.get(kind, self.STYLES["error"])
        self.setStyleSheet(
            f"#ErrorBanner {{ background: {background}; border: 1px solid {border}; "
            f"border-radius: 4px; }} #ErrorBanner QLabel {{ color: {foreground}; }}")
        self.icon.setText(icon)
        self.text.setText("\n".join(self._problems))
        self.setToolTip("\n".join(self._problems))
        self.setVisible(True)

    def show_message(self, message: str, kind: str = "error") -> None:
        self.show_problems([message], kind)

    def reserve_space(self, lines: int = 2) -> None:
        """Keep the banner's place while it is hidden, at a fixed height of `lines` lines:
        a message coming or going then moves nothing below it (a learner's next click
        landed on the wrong control). A longer message is cut; its tooltip has it all."""
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        margins = self.layout().contentsMargins()
        self.setFixedHeight(lines * self.text.fontMetrics().lineSpacing()
                            + margins.top() + margins.bottom() + 2)

    def clear(self) -> None:
        self._problems = []
        self.text.clear()
        self.setVisible(False)

    def problems(self) -> list[str]:
        return list(self._problems)

    def message(self) -> str:
        return "\n".join(self._problems)


# ------------------------------------------------------------------------ page furniture

class TextLines(QWidget):
    """A few lines of selectable text that change often (formula, statistics).

    A QLabel asks its parent layout to re-lay-out on every new text, and that request
    climbs to the window and repaints the whole panel; hosted here, in a fixed-height
    widget without a layout, new text repaints only these lines.
    """

    def __init__(self, lines: int, tooltip: str = "", parent: QWidget | None = None, *,
                 opaque: bool = True, top: bool = True) -> None:
        """`opaque`: fill the window colour, so repaints stop at the label (off: the parent's
        background shows through); `top`: text at the top (off: centred vertically)."""
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | (
            Qt.AlignmentFlag.AlignTop if top else Qt.AlignmentFlag.AlignVCenter))
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAutoFillBackground(opaque)
        self.label.setWordWrap(True)  # a narrow panel wraps a long line into the next
        self.setFixedHeight(lines * self.label.fontMetrics().lineSpacing() + 4)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(100)
        self.setToolTip(tooltip)

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name
        if self.label.text() != text:
            self.label.setText(text)

    def text(self) -> str:
        return self.label.text()

    def resizeEvent(self, event) -> None:
        self.label.setGeometry(self.rect())
        super().resizeEvent(event)


def fix_lines(label: QLabel, lines: int) -> QLabel:
    """A label whose height never changes with its text (a height change re-lays-out and
    repaints every plot beside it)."""
    label.setFixedHeight(lines * label.fontMetrics().lineSpacing() + 4)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


def set_text(label: QLabel, text: str) -> None:
    """Change a label only when its text changes (each change may re-lay-out its parent)."""
    if label.text() != text:
        label.setText(text)


class ElidedLabel(QLabel):
    """One line of text that ends in "…" when the label is narrower than it (a QLabel
    cuts it off mid-letter). Hovering a cut text shows all of it, unless the label has a
    tooltip of its own."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def shown_text(self) -> str:
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             self.contentsRect().width())

    def event(self, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.ToolTip and not self.toolTip()
                and self.shown_text() != self.text()):
            QToolTip.showText(event.globalPos(), self.text(), self)  # the whole text
            return True
        return super().event(event)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(),
                                  int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                                  self.palette(), self.isEnabled(), self.shown_text(),
                                  self.foregroundRole())
        painter.end()


class WrapLabel(QLabel):
    """A word-wrapped label that asks its layout for the height of its text wrapped at
    its current width. A plain wrapped QLabel's minimum is one line's height, so a layout
    short of room (a splitter, a small screen) cuts the text or draws it over its
    neighbours; this one makes the room (or the window's minimum) grow instead.

    `steady`: for text that changes while something runs (a caption updated every
    epoch): the label keeps the tallest height its texts needed at this width, so a line
    that comes and goes does not re-lay-out (and repaint) the views beside it each time.
    `lines`: room for at least this many lines from the start (a steady label's usual
    text then never moves its neighbours at all).
    """

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 steady: bool = False, lines: int = 0) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self._steady = steady
        self._lines = lines
        self._wrapped_key: tuple | None = None
        self._wrapped_height = 0
        self._tallest = (0, 0)  # (width, height): the steady label's height at that width
        self._height = 0  # what the layout was last told

    def _wrapped(self) -> int:
        """The height to ask for: the text's at the current width (cached: layouts ask
        often, and a QLabel lays its text out anew for every heightForWidth), or for a
        steady label the tallest so far at this width."""
        width = self.width()
        key = (width, self.text(), self.font().key())
        if key != self._wrapped_key:
            self._wrapped_key = key
            self._wrapped_height = max(
                self.heightForWidth(width) if width > 0 else 0,
                self._lines * self.fontMetrics().lineSpacing() + 4 if self._lines else 0)
        if not self._steady:
            return self._wrapped_height
        if self._tallest[0] != width or self._wrapped_height > self._tallest[1]:
            self._tallest = (width, self._wrapped_height)
        return self._tallest[1]

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        hint.setHeight(max(hint.height(), self._wrapped()))
        return hint

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()  # a QLabel guesses a width and wraps the text to it
        if self.width() > 0:
            hint.setHeight(self._wrapped())
        return hint

    def hasHeightForWidth(self) -> bool:
        # the minimum above says it: a height-for-width child switches a QGridLayout to
        # its height-for-width mode, which ignores the row stretches
        return False

    def _check_height(self) -> None:
        height = self._wrapped()
        if height != self._height:
            self._height = height
            self.updateGeometry()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._check_height()

    def setText(self, text: str) -> None:
        super().setText(text)
        self._check_height()


class QuietProgressBar(QProgressBar):
    """A QProgressBar whose value changes repaint with the next frame, like any widget's.

    QProgressBar.setValue repaints at once (synchronously: a few ms on the GUI thread
    each time, while a worker may be waiting for the GIL), so panels that report
    progress often call `set_value` / `set_fraction` instead."""

    def __init__(self, parent: QWidget | None = None, *, steps: int = 1000) -> None:
        super().__init__(parent)
        self.setRange(0, steps)
        self.setTextVisible(False)

    def set_value(self, value: int) -> None:
        if value == self.value():
            return
        self.setUpdatesEnabled(False)  # setValue's repaint() then does nothing…
        try:
            self.setValue(value)
        finally:
            self.setUpdatesEnabled(True)  # …and this schedules an ordinary update()

    def set_fraction(self, fraction: float) -> None:
        """0…1 of the way from minimum to maximum (clamped)."""
        fraction = min(1.0, max(0.0, fraction)) if math.isfinite(fraction) else 0.0
        self.set_value(self.minimum() + round((self.maximum() - self.minimum()) * fraction))


def caption(text: str = "", *, small: bool = False, steady: bool = False,
            lines: int = 0) -> QLabel:
    """A wrapped hint in the palette's muted text colour (8 pt when `small`); as tall as
    its wrapped lines (a `WrapLabel`: `steady` and `lines` for text that changes while a
    run goes), so a narrow window never cuts it."""
    label = WrapLabel(text, steady=steady, lines=lines)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # follows the theme
    if small:
        font = label.font()
        font.setPointSizeF(8)
        label.setFont(font)
    return label


def scrolling(layout: QVBoxLayout, width: int = 300, max_width: int | None = None, *,
              horizontal_bar: bool = True) -> QScrollArea:
    """A column of controls that scrolls when the window is short."""
    inner = QWidget()
    inner.setLayout(layout)
    scroll = QScrollArea()
    scroll.setWidget(inner)
    scroll.setWidgetResizable(True)
    scroll.setMinimumWidth(width)
    scroll.setMaximumWidth(max_width if max_width is not None else width + 80)
    if not horizontal_bar:
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll


def group_box(title: str, *widgets: QWidget) -> QGroupBox:
    """A titled box of widgets, one under the other."""
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for widget in widgets:
        layout.addWidget(widget)
    return box


def row_of(*widgets: QWidget) -> QWidget:
    """Widgets side by side, without margins (a row inside a group box)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return row


def with_controls(controls: QWidget, views: QWidget) -> QHBoxLayout:
    """Controls on the left, the views taking the rest of the width."""
    layout = QHBoxLayout()
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(controls)
    layout.addWidget(views, 1)
    return layout


def page_with_controls(controls: QWidget, views: QWidget) -> QWidget:
    page = QWidget()
    page.setLayout(with_controls(controls, views))
    return page


class ProgressLine(QWidget):
    """"tracing DenseNet-121… ▰▰▰▱▱" — hidden while nothing runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # the whole stage where there is room; "…" (and the whole text on hover) in a
        # cramped row, which a long stage would otherwise widen past a small window
        self.label = ElidedLabel()
        self.label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.label.setMinimumWidth(60)
        self.bar = QuietProgressBar()
        self.bar.setFixedSize(140, 10)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self.done()

    def show_progress(self, progress: Progress) -> None:
        self.bar.setVisible(True)
        self.bar.set_fraction(progress.fraction)
        self.bar.setToolTip(f"{100 * progress.fraction:.0f} %")
        self.label.setText(progress.stage + "…")

    def done(self) -> None:
        self.bar.setVisible(False)
        self.label.setText("")
