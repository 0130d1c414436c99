"""Calculus panel (concepts 1–4): derivatives with named steps and the autograd bridge,
Taylor polynomials, L'Hôpital step by step, critical points.

Typed text is read by `lab.formula` (never evaluated as Python). The GUI thread runs no
sympy: a typed character starts a quick thread job (parse, differentiate, lambdify) and
redraws from numpy functions; the slow symbolic work (simplify, steps, series, limits,
solving) runs in `lab.sandbox`'s worker process, with progress, a time limit and a Cancel
button that kills it for real. Drags (tangent point, Taylor centre and order) only
evaluate cached numpy functions.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab.calculus import jobs, sampling
from lab.calculus.autograd import LOG10_HS
from lab.calculus.examples import EXAMPLES, PRESETS
from lab.calculus.notation import show_number
from lab.calculus.view import CalculusView, validate
from lab.params import Example
from lab.progress import Progress
from lab.sandbox import Sandbox
from widgets.calculus.tabs import (
    CriticalTab,
    DerivativeTab,
    LimitTab,
    TaylorTab,
    finite_or_nan,
    marker_brushes,
    set_text,
)
from widgets.kit.controls import ElidedLabel, ErrorBanner, ProgressLine
from widgets.kit.files import save_image
from widgets.kit.panel import AppState, Panel

TABS = ("derivative", "taylor", "limit", "critical")
TIME_LIMIT_S = 5.0
#: the progress line appears once a symbolic job has run this long
PROGRESS_AFTER_S = 0.4
SYMBOLIC_PARTS = ("analysis", "taylor", "taylor_exact", "limit", "critical")


class CalculusPanel(Panel):
    #: a panel id: the app shows that panel (the Critical points tab links to Optimizers)
    openPanel = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.sandbox = Sandbox(time_limit=TIME_LIMIT_S)
        self.sandbox.start()  # the worker imports sympy while the window paints
        # Cancel bumps the generation: every sandbox job started before it stops
        self._generation = 0
        self._running_part = ""
        self._curves: jobs.CurveSet | None = None
        self._results: dict[str, tuple[tuple, object]] = {}
        self._submitted: dict[str, tuple] = {}
        self._running_since: dict[str, bool] = {}
        self._shown_y: tuple[float, float] | None = None  # the f plot's y range on screen
        self._failures: dict[str, str] = {}  # part -> why its last run gave no result

        self.banner = ErrorBanner()
        self.formula = QLineEdit("x^3 - 3x + 1")
        self.formula.setToolTip("Type f(x) as you would write it: x^2, 2x sin x, e^x, ln x, "
                                "sqrt(x), |x|, x(x+1). Functions: sin cos tan asin acos atan "
                                "sinh cosh tanh exp ln log sqrt abs sigmoid; constants pi, e.")
        self.formula.setMaxLength(300)
        self.presets = QComboBox()
        self.presets.addItem("Presets…", None)
        for text, what in PRESETS:
            self.presets.addItem(f"{text}   ({what})", text)
        self.presets.setToolTip("Functions from the notes and the classic exercises")
        # as wide as the row allows, not as its longest item (the list shows every item whole)
        self.presets.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.presets.setMinimumContentsLength(14)
        self.preview = ElidedLabel()
        self.preview.setToolTip("What was understood (sympy's reading of your text)")
        self.x_lo, self.x_hi = self._spin(-3.0, "left end of the x range"), \
            self._spin(3.0, "right end of the x range")
        self.y_auto = QCheckBox("auto")
        self.y_auto.setChecked(True)
        self.y_auto.setToolTip("Automatic: the 2nd–98th percentiles of the curve (a pole's "
                               "spike would flatten the rest); untick to type the y range")
        self.y_lo, self.y_hi = self._spin(-5.0, "bottom of the y range (f plots)"), \
            self._spin(5.0, "top of the y range (f plots)")
        self.export_png = QPushButton("Export PNG…")
        self.export_png.setToolTip("Save the current page as an image")
        self.copy_code = QPushButton("Copy sympy code")
        self.copy_code.setToolTip("Copy a plain sympy + torch script that reproduces every "
                                  "number on this panel (runs without Visual Lab)")
        self.progress = ProgressLine()
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop the symbolic work now: its worker process is killed and "
                               "a fresh one started")
        self.cancel.setVisible(False)
        self.note = ElidedLabel()
        self.note.setToolTip("")
        self._y_enabled()

        top = QHBoxLayout()
        top.addWidget(QLabel("f(x) ="))
        top.addWidget(self.formula, 3)
        top.addWidget(self.presets, 1)
        top.addWidget(self.preview, 2)
        # up here, where the row has room: the range row is full at 1280×740
        top.addWidget(self.progress)
        top.addWidget(self.cancel)
        second = QHBoxLayout()
        second.addWidget(QLabel("x from"))
        second.addWidget(self.x_lo)
        second.addWidget(QLabel("to"))
        second.addWidget(self.x_hi)
        second.addSpacing(12)
        second.addWidget(QLabel("y"))
        second.addWidget(self.y_auto)
        second.addWidget(self.y_lo)
        second.addWidget(QLabel("to"))
        second.addWidget(self.y_hi)
        second.addStretch(1)
        second.addWidget(self.copy_code)
        second.addWidget(self.export_png)

        self.derivative = DerivativeTab()
        self.taylor = TaylorTab()
        self.limit = LimitTab()
        self.critical = CriticalTab()
        self.critical.optimizers_link.linkActivated.connect(
            lambda href: self.openPanel.emit(href.removeprefix("panel:")))
        self.tabs = QTabWidget()
        for page, title, tip in (
                (self.derivative, "Derivative", "f′ and f″ with named steps; the tangent; "
                                                "autograd vs finite differences"),
                (self.taylor, "Taylor", "Polynomials that match f's derivatives at a point"),
                (self.limit, "L'Hôpital", "Limits of 0/0 and ∞/∞ step by step"),
                (self.critical, "Critical points", "Fermat: f′(x) = 0, the second-derivative "
                                                   "test, endpoints")):
            self.tabs.addTab(page, title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.note)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        self.add_job("curves", self._curves_arrived)
        for part in SYMBOLIC_PARTS:
            self.add_job(part, self._symbolic_item, on_idle=self._job_idle)
        self.add_job("bridge", self._bridge_arrived)
        self.add_job("code", self._code_arrived)
        self.updaters = {
            "curves": self._submit_curves,
            "symbolic": self._submit_symbolic,
            "plots": self._draw_plots,
            "tangent": self._draw_tangent,
            "taylor_draw": self._draw_taylor,
            "limit_draw": self._draw_limit,
            "critical_draw": self._draw_critical,
        }
        self._symbolic_timer = QTimer(self)
        self._symbolic_timer.setSingleShot(True)
        self._symbolic_timer.setInterval(250)  # typing: start sympy once the keys rest
        self._symbolic_timer.timeout.connect(lambda: self.request_update("symbolic"))
        self.problemsChanged.connect(lambda: self.banner.show_problems(self.problems()))

        self.formula.textChanged.connect(lambda _t: self.request_update("curves"))
        self.presets.activated.connect(self._preset_chosen)
        for spin in (self.x_lo, self.x_hi, self.y_lo, self.y_hi):
            spin.valueChanged.connect(self._range_changed)
        self.y_auto.toggled.connect(self._y_toggled)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.derivative.tangent_at.valueChanged.connect(lambda _v: self.request_update("tangent"))
        self.derivative.marker.sigPositionChanged.connect(self._marker_dragged)
        self.derivative.log10_h.valueChanged.connect(lambda _v: self.request_update("tangent"))
        self.derivative.float32.toggled.connect(lambda _v: self.request_update("tangent"))
        self.taylor.centre.valueChanged.connect(self._taylor_changed)
        self.taylor.order.valueChanged.connect(self._taylor_changed)
        self.limit.formula.textChanged.connect(lambda _t: self._symbolic_timer.start())
        self.limit.point.textChanged.connect(lambda _t: self._symbolic_timer.start())
        self.limit.direction.valueChanged.connect(lambda _v: self.request_update("symbolic"))
        self.limit.presets.activated.connect(self._limit_preset_chosen)
        self.cancel.clicked.connect(self.cancel_symbolic)
        self.export_png.clicked.connect(self._ask_export_png)
        self.copy_code.clicked.connect(self.request_code)
        self._range_limits()
        self.request_update("curves")

    # ====================================================================== controls
    @staticmethod
    def _spin(value: float, tooltip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(-1e6, 1e6)
        spin.setDecimals(3)
        spin.setValue(value)
        spin.setKeyboardTracking(False)
        spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        spin.setToolTip(tooltip)
        spin.setMinimumWidth(80)
        return spin

    def _x_range(self) -> tuple[float, float]:
        return self.x_lo.value(), self.x_hi.value()

    def _y_range(self) -> tuple[float, float] | None:
        return None if self.y_auto.isChecked() else (self.y_lo.value(), self.y_hi.value())

    def _y_enabled(self) -> None:
        for spin in (self.y_lo, self.y_hi):
            spin.setEnabled(not self.y_auto.isChecked())

    def _y_toggled(self, checked: bool) -> None:
        if not checked and self._shown_y is not None:  # start from what is on screen
            for spin, value in zip((self.y_lo, self.y_hi), self._shown_y, strict=True):
                spin.blockSignals(True)
                spin.setValue(round(value, 3))
                spin.blockSignals(False)
        self._y_enabled()
        self.request_update("plots", "tangent", "taylor_draw", "critical_draw")

    def _range_changed(self, _value: float) -> None:
        self._range_limits()
        self.request_update("plots", "tangent", "taylor_draw", "critical_draw")
        if self.tabs.currentIndex() == TABS.index("critical"):
            self._symbolic_timer.start()

    def _range_limits(self) -> None:
        lo, hi = self._x_range()
        if lo < hi:
            for slider in (self.derivative.tangent_at, self.taylor.centre):
                slider.setRange(lo, hi)

    def _preset_chosen(self, index: int) -> None:
        text = self.presets.itemData(index)
        if text:
            self.formula.setText(text)
        self.presets.setCurrentIndex(0)

    def _limit_preset_chosen(self, index: int) -> None:
        data = self.limit.presets.itemData(index)
        if data:
            text, point, direction = data
            with self.updates_held():
                self.limit.formula.setText(text)
                self.limit.point.setText(point)
                self.limit.direction.setValue(direction)
            self.request_update("symbolic")
        self.limit.presets.setCurrentIndex(0)

    def _marker_dragged(self, line) -> None:
        self.derivative.tangent_at.setValue(float(line.value()))

    def _taylor_changed(self, _value: float) -> None:
        self.request_update("taylor_draw")
        self._symbolic_timer.start()  # the exact coefficients once the slider rests

    def _tab_changed(self, _index: int) -> None:
        self.request_update("symbolic", "plots", "tangent", "taylor_draw", "limit_draw",
                            "critical_draw")

    def current_tab(self) -> str:
        return TABS[self.tabs.currentIndex()]

    # ====================================================================== jobs
    def _submit_curves(self) -> None:
        text = self.formula.text()
        self.jobs["curves"].submit(lambda _stop: jobs.curves(text))

    def _curves_arrived(self, item) -> None:
        if isinstance(item, jobs.Failed):
            self.set_problems("formula", [f"f(x): {item.message}"])
            return
        if item.text != self.formula.text():
            return
        self._curves = item
        self.set_problems("formula", [])
        self.preview.setText(f"understood: f(x) = {item.preview}")
        self.request_update("plots", "tangent", "taylor_draw", "critical_draw")
        self._symbolic_timer.start()

    def _wanted(self) -> dict[str, tuple]:
        """Symbolic parts the current page needs, with the inputs they depend on."""
        curves = self._curves
        if curves is None:
            return {}
        text = curves.text
        wanted: dict[str, tuple] = {"analysis": (text,)}
        tab = self.current_tab()
        if tab == "taylor":
            wanted["taylor"] = (text,)
            wanted["taylor_exact"] = (text, round(self.taylor.centre.value(), 6),
                                      int(self.taylor.order.value()))
        elif tab == "limit":
            wanted["limit"] = (self.limit.formula.text(), self.limit.point.text(),
                               self.limit.direction.value())
        elif tab == "critical":
            lo, hi = self._x_range()
            if lo < hi:
                wanted["critical"] = (text, lo, hi)
        return wanted

    def _submit_symbolic(self) -> None:
        from lab.calculus import critical, limits, symbolic

        functions = {
            "analysis": (symbolic.analyse, None),
            "taylor": (symbolic.taylor_derivatives, _lambdify_taylor),
            "taylor_exact": (symbolic.taylor_coefficients, None),
            "limit": (limits.lhopital, _with_limit_function),
            "critical": (critical.critical_points, None),
        }
        for part, key in self._wanted().items():
            if self._submitted.get(part) == key:
                continue
            self._submitted[part] = key
            self._failures.pop(part, None)
            function, after = functions[part]
            make = partial(self._sandbox_job, part, key, function, key, after, self._generation)
            self.jobs[part].submit(make)

    def _sandbox_job(self, part, key, function, args, after, generation, should_stop):
        return jobs.in_sandbox(self.sandbox, part, key, function, args, should_stop,
                               lambda: self._generation != generation, after)

    def _symbolic_item(self, item) -> None:
        if isinstance(item, Progress):
            self._running_part = item.stage.removeprefix("sympy: ").replace(" ", "_")
            if item.fraction * TIME_LIMIT_S >= PROGRESS_AFTER_S:
                self.progress.show_progress(item)
                self.cancel.setVisible(True)
            return
        self._hide_progress_when_idle()
        part = item.part
        if isinstance(item, jobs.Failed):
            if self._submitted.get(part) == item.key:
                self.set_problems(part, [f"{_PART_NAMES[part]}: {item.message}"]
                                  if item.message else [])
                self._failures[part] = item.message
                if part == "analysis":
                    self.request_update("plots")
            return
        self._failures.pop(part, None)
        self.set_problems(part, [])
        self._results[part] = (item.key, item.value)
        draw = {"analysis": ("plots", "tangent", "taylor_draw", "critical_draw"),
                "taylor": ("taylor_draw",), "taylor_exact": ("taylor_draw",),
                "limit": ("limit_draw",), "critical": ("critical_draw",)}[part]
        self.request_update(*draw)

    def _job_idle(self) -> None:
        self._hide_progress_when_idle()

    def _hide_progress_when_idle(self) -> None:
        if not any(self.jobs[p].busy() for p in SYMBOLIC_PARTS):
            self.progress.done()
            self.cancel.setVisible(False)

    def cancel_symbolic(self) -> None:
        """The Cancel button: kill the running symbolic work (the worker is replaced)."""
        busy = [p for p in SYMBOLIC_PARTS if self.jobs[p].busy()]
        self._generation += 1
        self.sandbox.cancel()
        for part in busy:
            self.jobs[part].cancel()
            if part == self._running_part:
                self.set_problems(part, [f"{_PART_NAMES[part]}: stopped — change the input "
                                         "to try again"])
            else:  # only waiting behind the stopped one: run it again
                self._submitted.pop(part, None)
        self.progress.done()
        self.cancel.setVisible(False)
        QTimer.singleShot(0, lambda: self.request_update("symbolic"))

    def is_idle(self) -> bool:
        """Nothing stale, no job running, and no symbolic work about to start (it waits
        for the keys to rest)."""
        return super().is_idle() and not self._symbolic_timer.isActive()

    def _result(self, part: str):
        """The result of `part` for the current inputs, or None."""
        wanted = self._wanted().get(part)
        stored = self._results.get(part)
        return stored[1] if stored is not None and stored[0] == wanted else None

    # ====================================================================== drawing
    def _view_ranges(self, curves: list[sampling.Curve]) -> tuple[float, float]:
        chosen = self._y_range()
        if chosen is None or not chosen[0] < chosen[1]:
            chosen = sampling.auto_range([c.ys for c in curves])
        self._shown_y = chosen
        return chosen

    def _poles(self) -> tuple[float, ...]:
        analysis = self._result("analysis")
        return analysis.poles if analysis is not None else ()

    def _draw_plots(self) -> None:
        problems = validate(self.params())
        self.set_problems("view", problems)
        if problems or self._curves is None:
            return
        lo, hi = self._x_range()
        curves = self._curves
        notes: list[str] = []
        if self.current_tab() == "derivative":
            tab = self.derivative
            poles = self._poles()
            for name, function, item, plot, own in (
                    ("f", curves.f, tab.f_curve, tab.f_plot, False),
                    ("f′", curves.d1, tab.d1_curve, tab.d1_plot, True),
                    ("f″", curves.d2, tab.d2_curve, tab.d2_plot, True)):
                curve = sampling.sample(function, lo, hi, poles)
                y_range = sampling.auto_range([curve.ys]) if own else self._view_ranges([curve])
                xs, ys = sampling.for_display(curve, y_range)
                item.setData(xs, ys)
                plot.setXRange(lo, hi, padding=0)
                plot.setYRange(*y_range, padding=0)
                notes += [n for n in (sampling.gap_note(name, curve) if name == "f" else "",
                                      sampling.cut_note(name, curve, y_range)) if n]
            analysis = self._result("analysis")
            if analysis is not None:
                set_text(tab.derivatives, f"f′(x) = {analysis.first_text}\n"
                                          f"f″(x) = {analysis.second_text}")
                set_text(tab.steps, "\n".join(analysis.step_lines))
                set_text(tab.check, analysis.check)
            else:
                failed = self._failures.get("analysis")
                status = f"not simplified: {failed}" if failed \
                    else "simplifying and working out the steps…"
                set_text(tab.derivatives, f"f′(x) = {curves.first_text}\n"
                                          f"f″(x) = {curves.second_text}\n({status})")
                set_text(tab.steps, "")
                set_text(tab.check, "")
        self._set_notes(notes)
        self.mark_drawn()

    def _set_notes(self, notes: list[str]) -> None:
        text = "; ".join(notes)
        self.note.setText(text)
        self.note.setToolTip(text)

    def _draw_tangent(self) -> None:
        if self._curves is None or self.current_tab() != "derivative":
            return
        tab = self.derivative
        curves = self._curves
        a = float(tab.tangent_at.value())
        lo, hi = self._x_range()
        fa = _value(curves.f, a)
        slope = _value(curves.d1, a)
        tab.marker.blockSignals(True)
        tab.marker.setValue(a)
        tab.marker.blockSignals(False)
        if math.isfinite(fa) and math.isfinite(slope):
            xs = np.array([lo, hi])
            tab.tangent_line.setData(xs, fa + slope * (xs - a))
            tab.point.place(a, fa)
            tab.slope_point.place(a, slope)
            set_text(tab.tangent_text, f"a = {a:.4g}: f(a) = {show_number(fa)}, slope "
                                       f"f′(a) = {show_number(slope)}\ntangent: y = "
                                       f"{show_number(fa)} + {show_number(slope)}·(x − {a:.4g})")
        else:
            tab.tangent_line.setData([], [])
            tab.point.place(None)
            tab.slope_point.place(None)
            set_text(tab.tangent_text, f"a = {a:.4g}: f or f′ is undefined here "
                                       "(no tangent)")
        self._draw_bridge()

    def _draw_bridge(self) -> None:
        curves = self._curves
        tab = self.derivative
        args = (curves.f, curves.d1, curves.torch_f or curves.expr,
                float(tab.tangent_at.value()), float(tab.log10_h.value()),
                tab.float32.isChecked())
        if curves.torch_f is not None:  # torch loaded, f built: a few hundred µs, right here
            from lab.calculus.autograd import bridge

            self._bridge_arrived(bridge(*args))
        else:  # the first time: torch is imported (and f built) on a worker thread
            text = curves.text
            self.jobs["bridge"].submit(lambda _stop: iter([_bridge_in_thread(text, args)]))

    def _bridge_arrived(self, result) -> None:
        tab = self.derivative
        if self._curves is None:
            return
        if isinstance(result, tuple):  # from the thread: keep the torch function it built
            text, torch_f, result = result
            if text == self._curves.text:
                self._curves = dataclasses.replace(self._curves, torch_f=torch_f)
        hs = 10.0 ** LOG10_HS
        errors = finite_or_nan(np.where(result.errors > 0, result.errors, np.nan))
        tab.error_curve.setData(hs, errors)
        if np.isfinite(errors).any():
            top = float(np.log10(np.nanmax(errors)))
            bottom = float(np.log10(np.nanmin(errors)))
            low, high = tab.error_y
            if top > high or bottom < low or top < high - 6:
                tab.error_y = (min(-18.0, math.floor(bottom) - 1), math.ceil(top) + 1)
                tab.error_plot.setYRange(*tab.error_y, padding=0)
        error_here = abs(result.difference - result.exact)
        if error_here > 0 and math.isfinite(error_here):
            tab.error_point.place(math.log10(result.h), math.log10(error_here))
        else:
            tab.error_point.place(None)
        kind = "float32" if tab.float32.isChecked() else "float64"
        set_text(tab.bridge_text, (
            f"exact f′(a) (sympy): {show_number(result.exact, 12)}\n"
            f"torch.autograd.grad ({kind}): {show_number(result.autograd, 12)}\n"
            f"(f(a+h) − f(a))/h, h = {result.h:.3g}: {show_number(result.difference, 12)}"
            f"  (error {show_number(error_here, 3)})\n"
            f"smallest error on the curve at h ≈ {result.best_h:.1g}"))

    def _draw_taylor(self) -> None:
        if self._curves is None or self.current_tab() != "taylor":
            return
        tab = self.taylor
        curves = self._curves
        lo, hi = self._x_range()
        a = float(tab.centre.value())
        n = int(tab.order.value())
        f_curve = sampling.sample(curves.f, lo, hi, self._poles())
        y_range = self._view_ranges([f_curve])
        xs, ys = sampling.for_display(f_curve, y_range)
        tab.f_curve.setData(xs, ys)
        tab.plot.setXRange(lo, hi, padding=0)
        tab.plot.setYRange(*y_range, padding=0)
        self._set_notes([n for n in (sampling.gap_note("f", f_curve),
                                     sampling.cut_note("f", f_curve, y_range)) if n])
        taylor = self._result("taylor")
        if taylor is None:
            set_text(tab.summary, "computing the derivatives of f…")
            return
        derivatives = taylor  # numpy functions f, f′, f″, …
        available = len(derivatives) - 1
        order = min(n, available)
        coefficients = [_value(derivatives[k], a) / math.factorial(k) for k in range(order + 1)]
        polynomial = np.zeros_like(f_curve.xs)
        for c in reversed(coefficients):  # Horner
            polynomial = polynomial * (f_curve.xs - a) + c
        t_curve = sampling.Curve(f_curve.xs, finite_or_nan(polynomial), 0.0)
        tx, ty = sampling.for_display(t_curve, y_range)
        tab.t_curve.setData(tx, ty)
        fa = _value(curves.f, a)
        tab.centre_point.place(a, fa)
        error = np.abs(f_curve.ys - t_curve.ys)
        error[~(error > 0)] = np.nan
        tab.error_curve.setData(f_curve.xs, error)
        self._set_notes([n for n in (sampling.gap_note("f", f_curve),
                                     sampling.cut_note("f", f_curve, y_range),
                                     sampling.cut_note(f"T{_subscript(order)}", t_curve,
                                                       y_range)) if n])
        short = f" (only {available} derivatives fit in the time budget)" if order < n else ""
        lines = [f"T{_subscript(order)} at a = {a:.4g}{short}"]
        if order + 1 <= available:
            bound_values = np.abs(sampling.evaluate(derivatives[order + 1], f_curve.xs))
            worst = float(np.nanmax(bound_values)) if np.isfinite(bound_values).any() \
                else math.nan
            reach = max(abs(lo - a), abs(hi - a))
            bound = worst / math.factorial(order + 1) * reach ** (order + 1)
            lines.append(f"Lagrange remainder: |f − Tₙ| ≤ max|f⁽ⁿ⁺¹⁾|/(n+1)! · |x − a|ⁿ⁺¹ "
                         f"≤ {show_number(bound, 3)} on [{lo:g}, {hi:g}] "
                         f"(max|f⁽ⁿ⁺¹⁾| ≈ {show_number(worst, 3)}, sampled)")
        analysis = self._result("analysis")
        radius = None
        if analysis is not None:
            if analysis.singular_points:
                nearest = min(analysis.singular_points, key=lambda p: abs(complex(p) - a))
                radius = abs(complex(nearest) - a)
                lines.append(f"radius of convergence R = {show_number(radius, 4)}: the "
                             f"nearest singular point of f is {_complex_text(nearest)}")
            else:
                lines.append("radius of convergence R = ∞: sympy finds no singular point "
                             "(the series converges everywhere)")
        for line, sign in zip(tab.radius_lines, (-1, 1), strict=True):
            visible = radius is not None and radius > 0 and lo < a + sign * radius < hi
            line.setVisible(visible)
            if visible:
                line.setValue(a + sign * radius)
        set_text(tab.summary, "\n".join(lines))
        exact = self._result("taylor_exact")
        if exact is not None:
            set_text(tab.coefficients, "\n".join(
                f"c{k} = {text}" for k, text in enumerate(exact.texts)))
        else:
            set_text(tab.coefficients, "\n".join(f"c{k} ≈ {show_number(c, 8)}"
                                                 for k, c in enumerate(coefficients)))

    def _draw_limit(self) -> None:
        if self.current_tab() != "limit":
            return
        tab = self.limit
        found = self._result("limit")
        if found is None:
            self._set_notes([])  # the other pages' notes are not about this plot
            return
        result, function = found
        set_text(tab.steps, "\n\n".join(f"{i + 1}. {s.title}\n   {s.detail}"
                                        for i, s in enumerate(result.steps)))
        set_text(tab.verdict, result.verdict)
        point = result.point_value if math.isfinite(result.point_value) else None
        if point is not None:
            lo, hi = point - 2.0, point + 2.0
        elif result.point_value > 0:
            lo, hi = 0.5, 60.0
        else:
            lo, hi = -60.0, -0.5
        curve = sampling.sample(function, lo, hi)
        y_range = sampling.auto_range([curve.ys])
        xs, ys = sampling.for_display(curve, y_range)
        tab.curve.setData(xs, ys)
        self._set_notes([n for n in [sampling.cut_note("the expression", curve, y_range)] if n])
        tab.plot.setXRange(lo, hi, padding=0)
        tab.plot.setYRange(*y_range, padding=0)
        if result.answer_value is not None:
            tab.limit_line.setValue(result.answer_value)
            tab.limit_line.setVisible(True)
        else:
            tab.limit_line.setVisible(False)
        tab.point_line.setVisible(point is not None)
        if point is not None:
            tab.point_line.setValue(point)

    def _draw_critical(self) -> None:
        if self._curves is None or self.current_tab() != "critical":
            return
        tab = self.critical
        lo, hi = self._x_range()
        curve = sampling.sample(self._curves.f, lo, hi, self._poles())
        y_range = self._view_ranges([curve])
        xs, ys = sampling.for_display(curve, y_range)
        tab.curve.setData(xs, ys)
        tab.plot.setXRange(lo, hi, padding=0)
        tab.plot.setYRange(*y_range, padding=0)
        self._set_notes([n for n in (sampling.gap_note("f", curve),
                                     sampling.cut_note("f", curve, y_range)) if n])
        result = self._result("critical")
        if result is None:
            return
        points = [c for c in result.candidates if math.isfinite(c.value)]
        tab.points.setData([c.x for c in points], [c.value for c in points],
                           brush=marker_brushes([c.kind for c in points]))
        tab.set_rows([(c.exact, c.source, c.kind, c.reason, show_number(c.value))
                      for c in result.candidates])
        set_text(tab.method, f"f′(x) = {result.derivative_text} = 0 solved {result.method}.")
        by_x = {c.x: c for c in result.candidates}
        extremes = []
        for name, where in (("maximum", result.global_max), ("minimum", result.global_min)):
            if where is None:
                extremes.append(f"no global {name}: f is unbounded on [{lo:g}, {hi:g}]")
            else:
                extremes.append(f"global {name} on [{lo:g}, {hi:g}]: f({by_x[where].exact}) = "
                                f"{show_number(by_x[where].value)}")
        set_text(tab.extremes, "\n".join(extremes))

    # ====================================================================== exports
    def export_png_to(self, path: str | Path) -> bool:
        """False, with the path and the reason in the banner, when it cannot be written."""
        ok = save_image(self.tabs.currentWidget().grab(), path,
                        lambda message: self.set_problems("export", [message]))
        if ok:
            self.set_problems("export", [])
        return ok

    def _ask_export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", f"calculus-{self.current_tab()}"
                                              ".png", "PNG image (*.png)")
        if path:
            self.export_png_to(path)

    def request_code(self) -> None:
        """Write the sympy script on a worker thread (sympy never runs on this one), then
        copy it to the clipboard."""
        from lab.calculus.export import sympy_code

        view = self.params()
        self.jobs["code"].submit(lambda _stop: iter([sympy_code(view)]))

    def _code_arrived(self, code: str) -> None:
        self.last_code = code
        QGuiApplication.clipboard().setText(code)

    # ====================================================================== params
    def params(self) -> CalculusView:
        return CalculusView(
            formula=self.formula.text(), tab=self.current_tab(), x_range=self._x_range(),
            y_range=self._y_range(), tangent_at=float(self.derivative.tangent_at.value()),
            log10_h=float(self.derivative.log10_h.value()),
            float32=self.derivative.float32.isChecked(),
            taylor_centre=float(self.taylor.centre.value()),
            taylor_order=int(self.taylor.order.value()),
            limit_formula=self.limit.formula.text(), limit_point=self.limit.point.text(),
            limit_direction=self.limit.direction.value())

    def apply_params(self, view: CalculusView) -> None:
        with self.updates_held():
            self.formula.setText(view.formula)
            self.x_lo.setValue(view.x_range[0])
            self.x_hi.setValue(view.x_range[1])
            self.y_auto.setChecked(view.y_range is None)
            if view.y_range is not None:
                self.y_lo.setValue(view.y_range[0])
                self.y_hi.setValue(view.y_range[1])
            self._range_limits()
            self.derivative.tangent_at.setValue(view.tangent_at)
            self.derivative.log10_h.setValue(view.log10_h)
            self.derivative.float32.setChecked(view.float32)
            self.taylor.centre.setValue(view.taylor_centre)
            self.taylor.order.setValue(view.taylor_order)
            self.limit.formula.setText(view.limit_formula)
            self.limit.point.setText(view.limit_point)
            self.limit.direction.setValue(view.limit_direction)
            self.tabs.setCurrentIndex(TABS.index(view.tab))
            self.request_update("curves", "symbolic", "plots", "tangent", "taylor_draw",
                                "limit_draw", "critical_draw")

    def examples(self) -> dict[int, Example]:
        return dict(EXAMPLES)

    def shutdown(self) -> None:
        self._generation += 1
        self._symbolic_timer.stop()
        self.sandbox.close()
        super().shutdown()


_PART_NAMES = {"analysis": "derivative", "taylor": "Taylor", "taylor_exact":
               "Taylor coefficients", "limit": "limit", "critical": "critical points"}


def _value(function, x: float) -> float:
    values = sampling.evaluate(function, np.array([x], dtype=float))
    return float(values[0])


def _subscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _complex_text(value: complex) -> str:
    value = complex(value)
    if abs(value.imag) < 1e-12:
        return show_number(value.real, 5)
    return f"{show_number(value.real, 4)} {'+' if value.imag > 0 else '−'} " \
           f"{show_number(abs(value.imag), 4)}i"


def _lambdify_taylor(result):
    return jobs.lambdified(result.derivatives)


def _with_limit_function(result):
    from lab.formula import numeric_function, parse_formula

    return result, numeric_function(parse_formula(result.text))


def _bridge_in_thread(text, args):
    from lab.calculus.autograd import bridge, torch_function

    f_num, d1_num, expr, *rest = args
    torch_f = torch_function(expr)
    return text, torch_f, bridge(f_num, d1_num, torch_f, *rest)


__all__ = ["CalculusPanel"]
