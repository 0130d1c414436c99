"""The Calculus panel's four pages: widgets and drawing only (the panel feeds them data).

Text that changes with every frame (the tangent's numbers, Taylor's bound) lives in
fixed-height labels or read-only text boxes, so a drag never re-lays-out the plots.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lab.calculus.examples import LIMIT_PRESETS
from lab.calculus.view import MAX_ORDER
from widgets.kit.controls import (
    ChoiceBox,
    ParamSlider,
    TextLines,
    caption,
    group_box,
    scrolling,
)

F_COLOUR = "#2f6fdb"
D1_COLOUR = "#d9480f"
D2_COLOUR = "#2b8a3e"
TAYLOR_COLOUR = "#ae3ec9"
UNLIMITED = 16_777_215  # QWIDGETSIZE_MAX: no maximum width
KIND_COLOURS = {"local minimum": "#2b8a3e", "local maximum": "#d9480f", "endpoint": "#868e96"}


class Dot(QGraphicsEllipseItem):
    """A marker of fixed size in pixels, moved with `place(x, y)` (view coordinates):
    moving it costs microseconds, where a ScatterPlotItem's setData costs milliseconds."""

    def __init__(self, colour: str, size: float = 10.0) -> None:
        super().__init__(-size / 2, -size / 2, size, size)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setBrush(pg.mkBrush(colour))
        self.setPen(pg.mkPen(None))
        self.setZValue(20)
        self.setVisible(False)

    def place(self, x: float | None, y: float | None = None) -> None:
        visible = x is not None and y is not None and np.isfinite(x) and np.isfinite(y)
        if visible:
            self.setPos(x, y)
        self.setVisible(bool(visible))


def text_box(lines: int = 6, tooltip: str = "") -> QPlainTextEdit:
    """Read-only, selectable text whose changes never re-lay-out its neighbours."""
    box = QPlainTextEdit()
    box.setReadOnly(True)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    box.setMinimumHeight(box.fontMetrics().lineSpacing() * lines + 10)
    box.setToolTip(tooltip)
    return box


def fixed_label(lines: int, tooltip: str = "") -> TextLines:
    return TextLines(lines, tooltip)


def set_text(widget: QPlainTextEdit | TextLines, text: str) -> None:
    """Only touch a widget whose text changed."""
    current = widget.toPlainText() if isinstance(widget, QPlainTextEdit) else widget.text()
    if current != text:
        widget.setPlainText(text) if isinstance(widget, QPlainTextEdit) else widget.setText(text)


def _theme(widget: pg.GraphicsView, plots: list[pg.PlotItem]) -> None:
    """The palette's base colour behind the plots and its text colour on the axes."""
    palette = widget.palette()
    widget.setBackground(palette.color(palette.ColorRole.Base))
    text = palette.color(palette.ColorRole.Text)
    faint = QColor(text)
    faint.setAlpha(140)
    for plot in plots:
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setPen(pg.mkPen(faint))
            plot.getAxis(axis).setTextPen(pg.mkPen(text))
        plot.titleLabel.setText(plot.titleLabel.text, color=text)


class Plots(pg.GraphicsLayoutWidget):
    """Plots one under the other, in the theme's colours."""

    plots: tuple[pg.PlotItem, ...] = ()  # changeEvent runs inside the base __init__

    def __init__(self) -> None:
        super().__init__()
        # the background is painted in full here: the panel beneath needs no repaint
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def add(self, plot: pg.PlotItem) -> pg.PlotItem:
        self.addItem(plot, row=len(self.plots), col=0)
        self.plots = (*self.plots, plot)
        _theme(self, self.plots)
        return plot

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            _theme(self, self.plots)
        super().changeEvent(event)


def new_plot(title: str, y_label: str = "", axis_line: bool = True) -> pg.PlotItem:
    plot = pg.PlotItem(title=title)
    plot.showGrid(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.getAxis("left").setWidth(52)  # a changing tick width must not move the plot
    for axis in ("left", "bottom"):  # repainted from a pixmap while the curves move
        plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    if axis_line:
        plot.addLine(y=0, pen=pg.mkPen("#adb5bd", width=1))
    if y_label:
        plot.setLabel("left", y_label)
    return plot


class DerivativeTab(QWidget):
    """f, f′, f″ on one shared x axis, the draggable tangent point, the named steps and
    the autograd bridge."""

    def __init__(self) -> None:
        super().__init__()
        self.graphics = Plots()
        self.graphics.setToolTip("f, f′ and f″ share the x axis. Drag the dashed line (or "
                                 "use the slider) to move the tangent point a; wheel zooms, "
                                 "the x and y range boxes above set the view exactly.")
        self.f_plot = new_plot("f(x) and its tangent at a")
        self.d1_plot = new_plot("f′(x): the slope of f")
        self.d2_plot = new_plot("f″(x): the slope of f′")
        for plot in (self.f_plot, self.d1_plot, self.d2_plot):
            self.graphics.add(plot)
        self.d1_plot.setXLink(self.f_plot)
        self.d2_plot.setXLink(self.f_plot)
        self.graphics.ci.layout.setRowStretchFactor(0, 2)
        self.f_curve = self.f_plot.plot(pen=pg.mkPen(F_COLOUR, width=2), connect="finite")
        self.d1_curve = self.d1_plot.plot(pen=pg.mkPen(D1_COLOUR, width=2), connect="finite")
        self.d2_curve = self.d2_plot.plot(pen=pg.mkPen(D2_COLOUR, width=2), connect="finite")
        for curve in (self.f_curve, self.d1_curve, self.d2_curve):  # still while a drags
            curve.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.tangent_line = self.f_plot.plot(pen=pg.mkPen("#e67700", width=1.5,
                                                          style=Qt.PenStyle.DashLine))
        self.point = Dot("#e67700", 10)
        self.f_plot.addItem(self.point, ignoreBounds=True)
        self.slope_point = Dot("#e67700", 9)
        self.d1_plot.addItem(self.slope_point, ignoreBounds=True)
        self.marker = pg.InfiniteLine(angle=90, movable=True,
                                      pen=pg.mkPen("#e67700", width=1,
                                                   style=Qt.PenStyle.DotLine),
                                      hoverPen=pg.mkPen("#e67700", width=3))
        self.marker.setToolTip("Drag me: the tangent point a")
        self.f_plot.addItem(self.marker)

        self.tangent_at = ParamSlider("Tangent at a", -10, 10, 0.5, step=0.01, decimals=2,
                                      tooltip="The point a where the tangent touches f; its "
                                              "slope is f′(a). Drag the dashed line on the "
                                              "plot or type a value.")
        self.tangent_text = fixed_label(2, "The tangent line y = f(a) + f′(a)(x − a)")
        self.derivatives = text_box(3, "f′ and f″ simplified by sympy")
        self.steps = text_box(6, "Each step names the rule it uses; indented lines are the "
                                  "parts a rule needs (u′, v′ …)")
        self.check = fixed_label(2, "The steps' result compared with sympy.diff (the "
                                    "difference is simplified to 0)")
        # the autograd bridge
        self.log10_h = ParamSlider("log₁₀ h", -16, 0, -5, step=0.25, decimals=2, tooltip=(
            "The step of the forward difference (f(a+h) − f(a))/h. Large h: truncation "
            "error (the secant is not the tangent); tiny h: rounding error (f(a+h) − f(a) "
            "loses its digits)."))
        self.float32 = QCheckBox("float32 (what networks use)")
        self.float32.setToolTip("Compute the difference and autograd in 32-bit floats: "
                                "rounding error appears at a much larger h (~1e-4 "
                                "instead of ~1e-8)")
        self.bridge_text = fixed_label(5, "torch.autograd.grad of the same f written with "
                                          "torch operations, beside sympy's exact value and "
                                          "the forward difference")
        self.error_graphics = Plots()
        self.error_plot = self.error_graphics.add(new_plot("|difference − exact| against h",
                                                             axis_line=False))
        self.error_plot.setLogMode(x=True, y=True)
        self.error_plot.setLabel("bottom", "h")
        # ranges (log10 units) move only when the errors leave them: no axis redraw per frame
        self.error_plot.disableAutoRange()
        self.error_plot.setXRange(-16, 0, padding=0.02)
        self.error_y = (-18.0, 2.0)
        self.error_plot.setYRange(*self.error_y, padding=0)
        self.error_graphics.setMinimumHeight(150)
        self.error_graphics.setToolTip("Right of the dip: truncation error ∝ h. Left: rounding "
                                   "error ∝ ε/h. autograd has neither: it is exact up to "
                                   "one rounding.")
        self.error_curve = self.error_plot.plot(pen=pg.mkPen(D1_COLOUR, width=2),
                                                connect="finite")
        self.error_point = Dot("#e67700", 9)  # placed in log10 units: the axes are log
        self.error_plot.addItem(self.error_point, ignoreBounds=True)

        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.tangent_at)
        column.addWidget(self.tangent_text)
        column.addWidget(self.derivatives)
        column.addWidget(QLabel("Step by step"))
        column.addWidget(self.steps, 2)
        column.addWidget(self.check)
        column.addWidget(group_box("Autograd bridge: how a network gets f′(a)", self.log10_h,
                                   self.float32, self.bridge_text, self.error_graphics), 1)
        # the column is taller than a 1280×740 window leaves: it scrolls there, and fills
        # the height of a taller one
        side = scrolling(column, 300, UNLIMITED, horizontal_bar=False)
        side.setFrameShape(QFrame.Shape.NoFrame)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.graphics)
        splitter.addWidget(side)
        splitter.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)


class TaylorTab(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.graphics = Plots()
        self.plot = self.graphics.add(new_plot("f and its Taylor polynomial Tₙ"))
        self.error = self.graphics.add(new_plot("|f − Tₙ| (log scale)", axis_line=False))
        self.error.setLogMode(y=True)
        self.error.setXLink(self.plot)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.f_curve = self.plot.plot(pen=pg.mkPen(F_COLOUR, width=2), connect="finite")
        self.t_curve = self.plot.plot(pen=pg.mkPen(TAYLOR_COLOUR, width=2), connect="finite")
        self.centre_point = Dot(TAYLOR_COLOUR, 10)
        self.plot.addItem(self.centre_point, ignoreBounds=True)
        self.error_curve = self.error.plot(pen=pg.mkPen(TAYLOR_COLOUR, width=2),
                                           connect="finite")
        dashed = pg.mkPen("#868e96", width=1, style=Qt.PenStyle.DashLine)
        self.radius_lines = [pg.InfiniteLine(angle=90, pen=dashed) for _ in range(2)]
        for line in self.radius_lines:
            self.plot.addItem(line)
            line.setVisible(False)

        self.centre = ParamSlider("Centre a", -10, 10, 0, step=0.05, decimals=2, tooltip=(
            "The point the polynomial is built at: Tₙ matches f and its first n "
            "derivatives there."))
        self.order = ParamSlider("Order n", 0, MAX_ORDER, 5, tooltip=(
            "Tₙ(x) = Σₖ f⁽ᵏ⁾(a)/k! · (x − a)ᵏ for k = 0 … n"))
        self.summary = text_box(6, "The Lagrange remainder bounds the error on the "
                                      "shown x range; the radius of convergence is the "
                                      "distance from a to the nearest singular point of f "
                                      "in the complex plane")
        self.coefficients = text_box(8, "cₖ = f⁽ᵏ⁾(a)/k!, exact (sympy.series)")
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.centre)
        column.addWidget(self.order)
        column.addWidget(self.summary)
        column.addWidget(QLabel("Coefficients cₖ = f⁽ᵏ⁾(a)/k!"))
        column.addWidget(self.coefficients, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.graphics)
        splitter.addWidget(side)
        splitter.setSizes([560, 440])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)


class LimitTab(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.formula = QLineEdit("sin(x)/x")
        self.formula.setToolTip("The expression whose limit you want, as you would write "
                                "it: a quotient, a product (0·∞), a difference (∞ − ∞) or a "
                                "power (1^∞, 0^0, ∞^0). Its top and bottom are kept as typed.")
        self.presets = QComboBox()
        self.presets.addItem("Classic limits…", None)
        for text, point, direction, what in LIMIT_PRESETS:
            self.presets.addItem(f"{text}  (x → {point}: {what})", (text, point, direction))
        self.presets.setToolTip("Limits from the notes and the classic exercises")
        self.point = QLineEdit("0")
        self.point.setMaximumWidth(90)
        self.point.setToolTip("Where x goes: a number (0, 1, pi/2) or oo / -oo for ±∞")
        self.direction = ChoiceBox("from", [("+-", "both sides"), ("+", "the right (x → a⁺)"),
                                            ("-", "the left (x → a⁻)")], "+-",
                                   tooltip="One-sided limits: from the right or the left")
        top = QHBoxLayout()
        top.addWidget(QLabel("lim"))
        top.addWidget(self.formula, 3)
        top.addWidget(QLabel("x →"))
        top.addWidget(self.point)
        top.addWidget(self.direction, 1)
        top.addWidget(self.presets, 2)
        self.steps = text_box(12, "Each application of L'Hôpital's rule: the form is checked, "
                                  "top and bottom are differentiated separately, simplified")
        self.verdict = fixed_label(3, "How it ended, checked against sympy.limit")
        self.graphics = Plots()
        self.plot = self.graphics.add(new_plot("the expression near the point"))
        self.curve = self.plot.plot(pen=pg.mkPen(F_COLOUR, width=2), connect="finite")
        self.limit_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(D2_COLOUR, width=1,
                                                                style=Qt.PenStyle.DashLine))
        self.point_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#868e96", width=1,
                                                                 style=Qt.PenStyle.DotLine))
        self.plot.addItem(self.limit_line)
        self.plot.addItem(self.point_line)
        lower = QSplitter(Qt.Orientation.Horizontal)
        text_side = QWidget()
        text_column = QVBoxLayout(text_side)
        text_column.setContentsMargins(0, 0, 0, 0)
        text_column.addWidget(self.steps, 1)
        text_column.addWidget(self.verdict)
        lower.addWidget(text_side)
        lower.addWidget(self.graphics)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(lower, 1)


class CriticalTab(QWidget):
    COLUMNS = ("x", "found by", "kind", "why", "f(x)")

    def __init__(self) -> None:
        super().__init__()
        self.graphics = Plots()
        self.plot = self.graphics.add(new_plot("f(x) with its candidates on the x range"))
        self.curve = self.plot.plot(pen=pg.mkPen(F_COLOUR, width=2), connect="finite")
        self.points = pg.ScatterPlotItem(size=11, pen=pg.mkPen("#343a40", width=1))
        self.plot.addItem(self.points)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Fermat: at an interior extremum of a differentiable f, "
                              "f′(x) = 0. The candidates are those points, the points where "
                              "f′ does not exist, and the endpoints.")
        self.method = fixed_label(3, "How f′(x) = 0 was solved")
        self.extremes = fixed_label(2, "The largest and smallest value among the candidates")
        self.optimizers_link = link = caption(
            'Gradient descent (<a href="panel:optimizers">the Optimizers panel</a>) is the '
            "numeric way to f′(x) = 0: x ← x − η·f′(x) stops moving exactly where f′ "
            "vanishes, and like the test here it cannot tell a minimum from a saddle by "
            "the gradient alone.", small=True)
        link.setTextFormat(Qt.TextFormat.RichText)
        link.setToolTip("Open the Optimizers panel: SGD, momentum and Adam walking down a "
                        "surface towards ∇f = 0")
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.method)
        column.addWidget(self.table, 1)
        column.addWidget(self.extremes)
        column.addWidget(link)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.graphics)
        splitter.addWidget(side)
        splitter.setSizes([520, 480])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def set_rows(self, rows: list[tuple[str, ...]]) -> None:
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)


def marker_brushes(kinds: list[str]) -> list:
    return [pg.mkBrush(next((c for k, c in KIND_COLOURS.items() if kind.startswith(k)),
                            "#f59f00")) for kind in kinds]


def finite_or_nan(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=float).copy()
    out[~np.isfinite(out)] = np.nan
    return out


__all__ = ["CriticalTab", "DerivativeTab", "LimitTab", "TaylorTab"]
