"""Editors for the parameters of one augmentation step, built from `lab.augment.StepInfo`.

`StepEditor(info, params)` makes one control per parameter, chosen by the parameter's
kind: sliders with spin boxes for numbers, superqt range sliders for [min, max] ranges
(rotation degrees, crop scale and ratio, jitter factors, blur sigma), an "[h, w] list"
switch for sizes, check boxes for optional parts (RandomAffine's translate, ColorJitter's
brightness …). Controls never validate: they report what the user set, and the panel's
banner says what is wrong with it (an even kernel, a non-positive sigma).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from lab.augment import REQUIRED, ParamInfo, StepInfo, as_range
from widgets.kit.controls import ChoiceBox, ParamSlider, RangeSlider, caption


class ParamControl(QWidget):
    """Base of the per-parameter controls: `value()`, `set_value()` (silent), `changed`.
    Each editor defines `value()` and `_show(value)` (what `set_value` shows)."""

    changed = Signal()

    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(2)
        self._silent = False

    def set_value(self, value: Any) -> None:
        self._silent = True
        try:
            self._show(value)
        finally:
            self._silent = False

    def _emit(self, *_args: Any) -> None:
        if not self._silent:
            self.changed.emit()


def _step(info: ParamInfo) -> float:
    return 1 if info.decimals == 0 else 10.0 ** -info.decimals


def _number(value: Any, fallback: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else fallback


class NumberControl(ParamControl):
    """probability / float / fill: one slider with a spin box."""

    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        self.slider = ParamSlider(info.label, info.low, info.high,
                                  _number(info.default, info.low), step=_step(info),
                                  decimals=max(info.decimals, 2) if info.kind == "probability"
                                  else info.decimals, tooltip=info.tooltip)
        self.layout_.addWidget(self.slider)
        self.slider.valueChanged.connect(self._emit)

    def value(self) -> Any:
        return float(self.slider.value())

    def _show(self, value: Any) -> None:
        self.slider.setValue(_number(value if not isinstance(value, list) else value[0],
                                     self.slider.value()))


class BoolControl(ParamControl):
    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        self.check = QCheckBox(info.label)
        self.check.setToolTip(info.tooltip)
        self.layout_.addWidget(self.check)
        self.check.toggled.connect(self._emit)

    def value(self) -> Any:
        return self.check.isChecked()

    def _show(self, value: Any) -> None:
        self.check.setChecked(bool(value))


class ChoiceControl(ParamControl):
    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        self.box = ChoiceBox(info.label, list(info.choices), info.default, tooltip=info.tooltip)
        self.layout_.addWidget(self.box)
        self.box.valueChanged.connect(self._emit)

    def value(self) -> Any:
        return self.box.value()

    def _show(self, value: Any) -> None:
        if value in self.box.values():
            self.box.setValue(value)


class _Optional(ParamControl):
    """A control with an on/off check box when the parameter may be None."""

    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        self.enabled_box: QCheckBox | None = None
        if info.optional:
            self.enabled_box = QCheckBox(f"use {info.name}")
            self.enabled_box.setToolTip(f"Untick for {info.name}=None: this part is off")
            self.enabled_box.toggled.connect(self._toggled)
            self.layout_.addWidget(self.enabled_box)

    def is_on(self) -> bool:
        return self.enabled_box is None or self.enabled_box.isChecked()

    def _toggled(self, on: bool) -> None:
        self._sync_enabled()
        self._emit()

    def _sync_enabled(self) -> None:
        for widget in self._inner_widgets():
            widget.setEnabled(self.is_on())

    def _inner_widgets(self) -> list[QWidget]:
        return []

    def _set_on(self, on: bool) -> None:
        if self.enabled_box is not None:
            self.enabled_box.setChecked(on)
        self._sync_enabled()


class RangeControl(_Optional):
    """range / jitter: a two-handled slider; a single number is shown as its range."""

    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        start = None if info.default is None or info.default is REQUIRED else \
            as_range(info, info.default)
        low, high = start or _neutral(info)
        self.slider = RangeSlider(info.label, info.low, info.high, (low, high),
                                  decimals=info.decimals, tooltip=info.tooltip)
        self.layout_.addWidget(self.slider)
        self.slider.valueChanged.connect(self._emit)
        self._sync_enabled()

    def _inner_widgets(self) -> list[QWidget]:
        return [self.slider]

    def value(self) -> Any:
        if not self.is_on():
            return None
        return list(self.slider.value())

    def _show(self, value: Any) -> None:
        self._set_on(value is not None)
        if value is None:
            return
        try:
            low, high = as_range(self.info, value)
        except (TypeError, ValueError):
            return
        self.slider.setValue((low, high))


def _neutral(info: ParamInfo) -> tuple[float, float]:
    """A starting range when the parameter is off: 'no change' where that exists."""
    if info.number_means == "around_one":
        return (0.8, 1.2)
    if info.low < 0 < info.high:
        return (-min(10.0, info.high / 4), min(10.0, info.high / 4))
    return (info.low, info.high)


class PairControl(_Optional):
    """pair: two independent numbers (RandomAffine's translate x, y)."""

    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        self.first = ParamSlider(f"{info.label} x", info.low, info.high, 0.1,
                                 step=_step(info), decimals=info.decimals, tooltip=info.tooltip)
        self.second = ParamSlider(f"{info.label} y", info.low, info.high, 0.1,
                                  step=_step(info), decimals=info.decimals, tooltip=info.tooltip)
        for slider in (self.first, self.second):
            self.layout_.addWidget(slider)
            slider.valueChanged.connect(self._emit)
        self._sync_enabled()

    def _inner_widgets(self) -> list[QWidget]:
        return [self.first, self.second]

    def value(self) -> Any:
        if not self.is_on():
            return None
        return [float(self.first.value()), float(self.second.value())]

    def _show(self, value: Any) -> None:
        self._set_on(value is not None)
        if isinstance(value, list | tuple) and len(value) == 2:
            self.first.setValue(_number(value[0], 0.0))
            self.second.setValue(_number(value[1], 0.0))


class SizeControl(ParamControl):
    """size / kernel: one whole number, or an [h, w] ([kx, ky] for kernels) list."""

    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        kernel = info.kind == "kernel"
        names = ("x", "y") if kernel else ("h", "w")
        self.as_list = QCheckBox(f"as a list [{names[0]}, {names[1]}]")
        self.as_list.setToolTip(
            "Give both sides. Unticked: one number — " +
            ("the kernel is square." if kernel else
             "a square, or for Resize the shorter side (keeping the aspect ratio)."))
        self.first = ParamSlider(f"{info.label} {names[0]}", info.low, info.high, 3,
                                 tooltip=info.tooltip)
        self.second = ParamSlider(f"{info.label} {names[1]}", info.low, info.high, 3,
                                  tooltip=info.tooltip)
        self.layout_.addWidget(self.as_list)
        self.layout_.addWidget(self.first)
        self.layout_.addWidget(self.second)
        self.as_list.toggled.connect(self._list_toggled)
        self.first.valueChanged.connect(self._emit)
        self.second.valueChanged.connect(self._emit)
        self._list_toggled(False, emit=False)

    def _list_toggled(self, on: bool, emit: bool = True) -> None:
        self.second.setVisible(on)
        if not on:
            self.first.label.setText(self.info.label)
        else:
            kernel = self.info.kind == "kernel"
            self.first.label.setText(f"{self.info.label} {'x' if kernel else 'h'}")
        if emit:
            self._emit()

    def value(self) -> Any:
        if self.as_list.isChecked():
            return [int(self.first.value()), int(self.second.value())]
        return int(self.first.value())

    def _show(self, value: Any) -> None:
        if isinstance(value, list | tuple) and value:
            self.as_list.setChecked(True)
            self.first.setValue(_number(value[0], 1))
            self.second.setValue(_number(value[-1], 1))
        else:
            self.as_list.setChecked(False)
            self.first.setValue(_number(value, 1))
        self._list_toggled(self.as_list.isChecked(), emit=False)


class PaddingControl(ParamControl):
    """padding: pixels on every border; 0 means None (no padding)."""

    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        self.slider = ParamSlider(info.label, info.low, info.high, 0, tooltip=info.tooltip)
        self.layout_.addWidget(self.slider)
        self.slider.valueChanged.connect(self._emit)

    def value(self) -> Any:
        return int(self.slider.value()) or None

    def _show(self, value: Any) -> None:
        if isinstance(value, list | tuple) and value:
            value = max(value)
        self.slider.setValue(_number(value, 0))


class EraseValueControl(ParamControl):
    """erase_value: a constant gray level, or 'random' noise."""

    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        self.mode = ChoiceBox("Erase with", [("constant", "a constant value"),
                                             ("random", "random noise ('random')")],
                              "constant", tooltip=info.tooltip)
        self.slider = ParamSlider(info.label, 0, 1, 0, step=0.01, decimals=2,
                                  tooltip="Gray level of the erased box (0 = black, 1 = white)")
        self.layout_.addWidget(self.mode)
        self.layout_.addWidget(self.slider)
        self.mode.valueChanged.connect(self._mode_changed)
        self.slider.valueChanged.connect(self._emit)

    def _mode_changed(self, mode: str) -> None:
        self.slider.setEnabled(mode == "constant")
        self._emit()

    def value(self) -> Any:
        return "random" if self.mode.value() == "random" else float(self.slider.value())

    def _show(self, value: Any) -> None:
        random = value == "random"
        self.mode.setValue("random" if random else "constant")
        self.slider.setEnabled(not random)
        if not random:
            self.slider.setValue(_number(value if not isinstance(value, list) else value[0], 0))


def format_numbers(values: Any) -> str:
    if isinstance(values, list | tuple):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
    return str(values)


def parse_numbers(text: str) -> list[float] | str:
    """"0.485, 0.456, 0.406" -> [0.485, 0.456, 0.406]; the text itself if it isn't numbers
    (so the banner can quote it)."""
    parts = [p for p in text.replace(";", ",").replace("[", "").replace("]", "")
             .replace("−", "-").split(",") if p.strip()]
    try:
        return [float(p) for p in parts] if parts else text
    except ValueError:
        return text


class ChannelsControl(ParamControl):
    """channels: numbers typed as "0.485, 0.456, 0.406" (one, or one per channel)."""

    def __init__(self, info: ParamInfo, parent: QWidget | None = None) -> None:
        super().__init__(info, parent)
        row = QHBoxLayout()
        self.label = QLabel(info.label)
        self.label.setMinimumWidth(90)
        self.edit = QLineEdit()
        self.edit.setToolTip(info.tooltip + " Separate values with commas; Enter applies.")
        self.edit.setPlaceholderText("e.g. 0.485, 0.456, 0.406")
        self.label.setBuddy(self.edit)
        row.addWidget(self.label)
        row.addWidget(self.edit, 1)
        self.layout_.addLayout(row)
        self.edit.editingFinished.connect(self._emit)

    def value(self) -> Any:
        return parse_numbers(self.edit.text())

    def _show(self, value: Any) -> None:
        self.edit.setText(format_numbers(value))


CONTROLS: dict[str, type[ParamControl]] = {
    "probability": NumberControl, "float": NumberControl, "fill": NumberControl,
    "bool": BoolControl, "choice": ChoiceControl, "range": RangeControl,
    "jitter": RangeControl, "pair": PairControl, "size": SizeControl, "kernel": SizeControl,
    "padding": PaddingControl, "erase_value": EraseValueControl, "channels": ChannelsControl,
}


class StepEditor(QWidget):
    """Controls for every parameter of one step; `paramsChanged(dict)` on any change."""

    paramsChanged = Signal(dict)

    def __init__(self, info: StepInfo, params: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.summary = caption(f"<code>transforms.v2.{info.name}</code> — {info.summary}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        self.controls: dict[str, ParamControl] = {}
        for param in info.params:
            control = CONTROLS[param.kind](param)
            if param.name in params:
                control.set_value(params[param.name])
            elif param.default is not REQUIRED:  # left out: show torchvision's default
                control.set_value(param.default)
            self.controls[param.name] = control
            layout.addWidget(control)
            control.changed.connect(lambda name=param.name: self._changed(name))
        self._params = dict(params)

    def params(self) -> dict:
        """The step's parameters: as given, with every parameter the user changed here
        replaced by what its control shows (untouched ones keep their exact JSON form)."""
        return dict(self._params)

    def set_params(self, params: dict) -> None:
        """Show these values without emitting `paramsChanged`."""
        self._params = dict(params)
        for name, control in self.controls.items():
            if name in params:
                control.set_value(params[name])

    def _changed(self, name: str) -> None:
        self._params[name] = self.controls[name].value()
        self.paramsChanged.emit(self.params())
