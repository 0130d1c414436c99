"""Regularization panel (concepts 32–35): Occam's razor with polynomials.

A thin view over `lab.regularization`: controls -> `RegView` -> background jobs (the
scikit-learn fit and its error curves, coefficient paths, bias–variance refits, the torch
gradient descent) -> plots. Every control asks for the "model" part; parts whose tab is
hidden wait until it is shown, and each part recomputes only when its inputs changed.
With no penalty or L2, a new sample's job also returns its `RidgeFactors` (one SVD per
degree and fold): after that a degree or λ step computes its fit and curves on the GUI
thread in about a millisecond and draws everything in one go.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab.params import Example
from lab.progress import Progress
from lab.regularization import export
from lab.regularization.bias_variance import REFITS, BiasVariance, bias_variance
from lab.regularization.data import features
from lab.regularization.examples import EXAMPLES
from lab.regularization.factors import RidgeFactors
from lab.regularization.fit import (
    Curves,
    Fit,
    Paths,
    coefficient_paths,
    fit_sklearn,
    objective,
    ridge_solutions,
)
from lab.regularization.geometry import pair_geometry
from lab.regularization.jobs import (
    CurvesResult,
    ModelResult,
    conditioning,
    degree_key,
    has_factors,
    is_quick,
    lambda_key,
    missing_curves,
    model_job,
    model_result,
)
from lab.regularization.view import (
    BASES,
    LAMBDA_RANGE,
    MAX_DEGREE,
    MAX_SAMPLES,
    MIN_SAMPLES,
    PENALTIES,
    TRUTHS,
    RegView,
    ridge_alpha,
)
from widgets.kit.controls import (
    ChoiceBox,
    LogSlider,
    ParamSlider,
    ProgressLine,
    caption,
    group_box,
    scrolling,
    with_controls,
)
from widgets.kit.files import write_text
from widgets.kit.panel import AppState, Panel
from widgets.kit.views import CodeView
from widgets.regularization.plots import COLORS, Plot, cursor, curve, key, points, positive

TABS = ("fit", "paths", "bias", "geometry", "torch", "conditioning", "code")
LOG_FLOOR = -8.0  # log-magnitude bars start here (|w| = 1e-8)
SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
BAR_SLOTS = 5     # the bars' x axis spans whole multiples of 5 coefficients: one more
# coefficient redraws only the bars, not the axis
BIAS_SETTLE_MS = 120  # the bias tab just shown paints for this long before its refits start
AGREE = 1e-4      # sklearn and torch "agree" when no coefficient differs by more (relative)
PATH_COLORS = [pg.intColor(i, hues=10, values=2, maxValue=230) for i in range(MAX_DEGREE)]


def _g(value: float) -> str:
    return f"{value:.3g}"


class RegularizationPanel(Panel):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.compute_counts: Counter[str] = Counter()
        self.result: ModelResult | None = None
        self.degree_curves: Curves | None = None
        self.lambda_curves: Curves | None = None
        self._curve_keys: dict[str, tuple] = {}
        #: the sample's SVDs behind the none / L2 error curves (lab/regularization/factors.py)
        self.factors: RidgeFactors | None = None
        self.paths: Paths | None = None
        self.bias: BiasVariance | None = None
        self._bias_job = None  # the refits to start once the tab has painted
        self._bias_just_shown = False
        self.descent = None
        self.torch_reference: Fit | None = None  # scikit-learn's fit the torch tab compares
        self._torch_run: tuple | None = None     # (view, data) of the torch tab's run
        self._keys: dict[str, tuple] = {}
        self._deferred: set[str] = set()
        self.updaters = {"model": self._start_model, "paths": self._start_paths,
                         "bias": self._start_bias, "torch": self._start_torch,
                         "geometry": self._update_geometry,
                         "conditioning": self._update_conditioning,
                         "code": self._update_code}
        self.add_job("model", self._model_item)
        self.add_job("paths", self._paths_item, lambda: self.paths_progress.done())
        self.add_job("bias", self._bias_item, lambda: self.bias_progress.done())
        self.add_job("torch", self._torch_item, lambda: self.torch_progress.done())

        controls = self._build_controls()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_fit_tab(), "Fit")
        self.tabs.addTab(self._build_paths_tab(), "Paths")
        self.tabs.addTab(self._build_bias_tab(), "Bias–variance")
        self.tabs.addTab(self._build_geometry_tab(), "L1 vs L2")
        self.tabs.addTab(self._build_torch_tab(), "sklearn vs torch")
        self.tabs.addTab(self._build_conditioning_tab(), "Conditioning")
        self.tabs.addTab(self._build_code_tab(), "Code")
        for index, tip in enumerate((
                "The fit over the points, its coefficients, and the errors against degree "
                "and λ", "Every coefficient as λ grows: L2 shrinks smoothly, L1 hits 0",
                f"{REFITS} fresh samples refitted: how far the average fit is from the truth "
                "(bias²) and how much the fits scatter (variance)",
                "Why L1 zeroes coefficients: loss contours meet the diamond at a corner",
                "The same fit by gradient descent in torch: weight_decay for L2, a "
                "hand-written term for L1", "Raw powers vs Legendre polynomials: the "
                "condition number of the design matrix",
                "scikit-learn and PyTorch code that reproduce this fit")):
            self.tabs.setTabToolTip(index, tip)
        self.tabs.currentChanged.connect(self._tab_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(with_controls(controls, self.tabs))
        self._connect()
        self.request_update("model")

    # ====================================================================== building
    def _build_controls(self) -> QWidget:
        self.truth = ChoiceBox("True function", [(k, v.split(" (")[0], v)
                                                 for k, v in TRUTHS.items()], "cos",
                               tooltip="The function the noisy points are drawn from")
        self.samples = ParamSlider("Samples n", MIN_SAMPLES, MAX_SAMPLES, 30, tooltip=(
            "Training points, x uniform on [−1, 1]. Fewer points: the same degree "
            "overfits sooner (more data is remedy number one)."))
        self.noise = ParamSlider("Noise σ", 0, 1, 0.2, step=0.05, decimals=2, tooltip=(
            "y = f(x) + σ·N(0, 1). σ² is the error floor no model can beat on new data."))
        self.seed = ParamSlider("Seed", 0, 9999, 0, tooltip=(
            "The training sample's random seed (the test set never changes)"))
        self.new_sample = QPushButton("New sample")
        self.new_sample.setToolTip("Draw a new training sample: the next seed (Ctrl+R)")
        self.new_sample.setShortcut("Ctrl+R")
        self.degree = ParamSlider("Degree d", 0, MAX_DEGREE, 7, tooltip=(
            "Polynomial degree: d + 1 coefficients (w₁…w_d and the intercept)"))
        self.seventh = QPushButton("7th order (the notes)")
        self.seventh.setToolTip("The notes' example: a 7th-order polynomial overfits")
        self.basis = ChoiceBox("Basis", [(k, k.capitalize(), v) for k, v in BASES.items()],
                               "legendre", tooltip="Which polynomials the coefficients "
                               "multiply: the same fits, different coefficients and "
                               "numerical health")
        self.penalty = ChoiceBox("Penalty", [(k, v.split(" — ")[0], v)
                                             for k, v in PENALTIES.items()], "l2",
                                 tooltip="What the fit pays for large coefficients")
        self.lam = LogSlider("λ", LAMBDA_RANGE[0], LAMBDA_RANGE[1], 1e-3, tooltip=(
            "Penalty strength in J = 1/(2n)·Σ(y − ŷ)² + λ·(r‖w‖₁ + (1−r)/2·‖w‖²): "
            "sklearn Lasso(alpha=λ), Ridge(alpha=n·λ); torch weight_decay = 2λ"))
        self.l1_ratio = ParamSlider("L1 share r", 0.05, 0.95, 0.5, step=0.05, decimals=2,
                                    tooltip="Elastic net: r of the penalty is L1, 1 − r L2 "
                                            "(ElasticNet's l1_ratio)")
        self.folds = ParamSlider("K folds", 2, 10, 5, tooltip=(
            "K-fold cross-validation: fit on K−1 folds, score on the held-out one, K times "
            "(KFold(K, shuffle=True, random_state=seed)); the mean chooses the degree "
            "without touching the test set"))
        self.log_bars = QCheckBox("Bars: log₁₀|w|")
        self.log_bars.setToolTip("Draw the coefficients' magnitudes on a log scale "
                                 "(sign by colour): tiny and exactly-zero ones become visible")
        self.pair_i = ParamSlider("Geometry wᵢ", 1, MAX_DEGREE, 1, tooltip=(
            "First coefficient of the L1/L2 geometry view"))
        self.pair_j = ParamSlider("Geometry wⱼ", 1, MAX_DEGREE, 2, tooltip=(
            "Second coefficient of the L1/L2 geometry view"))
        self.gd_steps = ParamSlider("GD steps", 100, 20000, 2000, step=100, tooltip=(
            "Full-batch gradient-descent steps of the torch fit"))
        self.examples_box = ChoiceBox(
            "Prepared view", [(0, "—", "")] + [(k, f"{k}: {e.title}", e.title)
                                              for k, e in EXAMPLES.items()], 0,
            tooltip="Views that show one idea of the course each")
        self.export_csv = QPushButton("Save numbers (CSV)…")
        self.export_csv.setToolTip("The coefficients and the error curves on screen")
        form = QVBoxLayout()
        form.addWidget(self.examples_box)
        form.addWidget(group_box("Data", self.truth, self.samples, self.noise, self.seed,
                                 self.new_sample))
        form.addWidget(group_box("Polynomial", self.degree, self.seventh, self.basis))
        form.addWidget(group_box("Penalty", self.penalty, self.lam, self.l1_ratio,
                                 self.folds))
        form.addWidget(group_box("Views", self.log_bars, self.pair_i, self.pair_j,
                                 self.gd_steps))
        form.addWidget(self.export_csv)
        form.addStretch(1)
        return scrolling(form, 300, 360)

    def _build_fit_tab(self) -> QWidget:
        self.fit_plot = Plot("fit", bottom="x")
        self.test_points = points(self.fit_plot, "#bbbbbb", "test set", size=4, hollow=True)
        self.truth_curve = curve(self.fit_plot, COLORS["truth"], "true f(x)",
                                 style=Qt.PenStyle.DashLine)
        self.train_points = points(self.fit_plot, COLORS["train"], "training points")
        self.fit_curve = curve(self.fit_plot, COLORS["fit"], "fit")
        self.bars_plot = Plot("coefficients", bottom="coefficient k (w_k)")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self._brushes = {True: pg.mkBrush(COLORS["train"]), False: pg.mkBrush(COLORS["test"])}
        self.bars_plot.addItem(self.bars)
        self.zero_marks = pg.ScatterPlotItem(symbol="x", size=9,
                                             pen=pg.mkPen(COLORS["test"], width=2))
        self.bars_plot.addItem(self.zero_marks)
        self.degree_plot = Plot("MSE vs degree", bottom="degree")
        self.degree_plot.setLogMode(y=True)
        self.degree_train = curve(self.degree_plot, COLORS["train"], "train", symbol="o")
        self.degree_test = curve(self.degree_plot, COLORS["test"], "test", symbol="o")
        self.degree_cv = curve(self.degree_plot, COLORS["cv"], "K-fold CV", symbol="o")
        self.degree_best = points(self.degree_plot, COLORS["cv"], size=14, hollow=True)
        self.degree_cursor = cursor(self.degree_plot)
        self.degree_plot.setXRange(-1, MAX_DEGREE + 1, padding=0)
        self.lambda_plot = Plot("MSE vs λ", bottom="λ")
        self.lambda_plot.setLogMode(x=True, y=True)
        self.lambda_train = curve(self.lambda_plot, COLORS["train"], "train")
        self.lambda_test = curve(self.lambda_plot, COLORS["test"], "test")
        self.lambda_cv = curve(self.lambda_plot, COLORS["cv"], "K-fold CV")
        self.lambda_cursor = cursor(self.lambda_plot)
        self.lambda_plot.setXRange(*np.log10(LAMBDA_RANGE), padding=0.02)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.fit_plot, 0, 0)
        grid.addWidget(self.bars_plot, 0, 1)
        grid.addWidget(self.degree_plot, 1, 0)
        grid.addWidget(self.lambda_plot, 1, 1)
        self.facts = caption(steady=True, lines=3)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(grid, 1)
        layout.addWidget(self.facts)
        return page

    def _build_paths_tab(self) -> QWidget:
        self.paths_plot = Plot("coefficient paths", bottom="λ", legend=False)
        self.paths_plot.setLogMode(x=True)
        self.path_curves = [curve(self.paths_plot, PATH_COLORS[k], width=1.5)
                            for k in range(MAX_DEGREE)]
        self.paths_cursor = cursor(self.paths_plot)
        self.path_marks = pg.PlotDataItem(pen=None, symbol="o", symbolSize=7,
                                          symbolPen=pg.mkPen("#333333"))
        self.paths_plot.addItem(self.path_marks)  # each coefficient at the slider's λ
        self.zeros_plot = Plot("coefficients exactly 0", bottom="λ")
        self.zeros_plot.setLogMode(x=True)
        self.zeros_curve = curve(self.zeros_plot, COLORS["test"])
        self.zeros_cursor = cursor(self.zeros_plot)
        self.zeros_mark = curve(self.zeros_plot, COLORS["test"], symbol="o")
        self.zeros_mark.setPen(None)
        self.paths_caption = caption(steady=True, lines=2)
        self.paths_progress = ProgressLine()
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.paths_plot, 3)
        layout.addWidget(self.zeros_plot, 1)
        layout.addWidget(self.paths_caption)
        layout.addWidget(self.paths_progress)
        return page

    def _build_bias_tab(self) -> QWidget:
        self.refits_plot = Plot("fits on fresh samples", bottom="x")
        self.refit_curves = pg.PlotDataItem(pen=pg.mkPen(COLORS["fit"] + "40", width=1),
                                            connect="finite")
        self.refits_plot.addItem(self.refit_curves)
        self.refit_truth = curve(self.refits_plot, COLORS["truth"], style=Qt.PenStyle.DashLine)
        self.refit_mean = curve(self.refits_plot, COLORS["bias"], width=2.5)
        self.stack_plot = Plot(key(("bias²", COLORS["bias"]), ("variance", COLORS["variance"]),
                                   ("σ²", COLORS["noise"]), ("MC test MSE ±2se", "#000000")),
                               bottom="degree")
        self.stack_bias = pg.BarGraphItem(x=[], height=[], width=0.7,
                                          brush=COLORS["bias"], name="bias²")
        self.stack_variance = pg.BarGraphItem(x=[], height=[], width=0.7,
                                              brush=COLORS["variance"], name="variance")
        self.stack_noise = pg.BarGraphItem(x=[], height=[], width=0.7,
                                           brush=COLORS["noise"], name="noise σ²")
        for item in (self.stack_bias, self.stack_variance, self.stack_noise):
            self.stack_plot.addItem(item)
        self.mc_points = points(self.stack_plot, "#000000", "Monte-Carlo test MSE", size=6)
        self.mc_bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0),
                                       pen=pg.mkPen("#000000"))
        self.stack_plot.addItem(self.mc_bars)
        self.stack_cursor = cursor(self.stack_plot)
        self.bias_axis = ChoiceBox("Bars against", [
            ("degree", "degree (at the current λ)", "Refit every degree 0…20 with the "
             "current penalty"), ("lambda", "λ (at the current degree)", "Refit the current "
                                  "degree at λ = 1e-4…10 (L2 when no penalty is chosen)")],
            "degree", tooltip=f"What the {REFITS} refits vary")
        self.bias_caption = caption(steady=True, lines=3)
        self.bias_progress = ProgressLine()
        row = QSplitter(Qt.Orientation.Horizontal)
        row.addWidget(self.refits_plot)
        row.addWidget(self.stack_plot)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.bias_axis)
        layout.addWidget(row, 1)
        layout.addWidget(self.bias_caption)
        layout.addWidget(self.bias_progress)
        return page

    def _build_geometry_tab(self) -> QWidget:
        self.geometry_plot = Plot("data loss in two coefficients", legend=True)
        self.geometry_plot.setAspectLocked(True)
        self.contours = pg.PlotDataItem(pen=pg.mkPen("#999999", width=1), connect="finite")
        self.geometry_plot.addItem(self.contours)
        self.diamond = curve(self.geometry_plot, COLORS["l1"], "L1 diamond |wᵢ|+|wⱼ| ≤ t")
        self.circle = curve(self.geometry_plot, COLORS["l2"], "L2 circle wᵢ²+wⱼ² ≤ t²")
        self.centre_point = points(self.geometry_plot, "#333333", "unpenalised optimum",
                                   size=9)
        self.l1_point = points(self.geometry_plot, COLORS["l1"], "best in the diamond",
                               size=11)
        self.l2_point = points(self.geometry_plot, COLORS["l2"], "best in the circle",
                               size=11)
        axis_pen = pg.mkPen("#888888", width=1)
        for angle in (0, 90):
            self.geometry_plot.addItem(pg.InfiniteLine(pos=0, angle=angle, pen=axis_pen),
                                       ignoreBounds=True)
        self.geometry_caption = caption(steady=True, lines=3)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.geometry_plot, 1)
        layout.addWidget(self.geometry_caption)
        return page

    def _build_torch_tab(self) -> QWidget:
        self.compare_plot = Plot(key(("scikit-learn", COLORS["fit"]),
                                     ("torch GD", COLORS["torch"])), bottom="x")
        self.compare_points = points(self.compare_plot, COLORS["train"], "points")
        self.compare_sklearn = curve(self.compare_plot, COLORS["fit"], "scikit-learn",
                                     width=4)
        self.compare_torch = curve(self.compare_plot, COLORS["torch"], "torch GD",
                                   style=Qt.PenStyle.DashLine)
        self.loss_plot = Plot("loss: " + key(("torch", COLORS["torch"]),
                                             ("exact fit", COLORS["fit"])), bottom="step")
        self.loss_plot.setToolTip("torch's loss at each step: MSELoss plus the hand-written "
                                  "L1 term (weight_decay acts in the step, not in the loss), "
                                  "and the same loss at the exact solution")
        self.loss_plot.setLogMode(x=True, y=True)
        self.loss_curve = curve(self.loss_plot, COLORS["torch"], "gradient descent")
        self.loss_target = curve(self.loss_plot, COLORS["fit"], "2J of the exact fit",
                                 style=Qt.PenStyle.DashLine)
        self.coef_plot = Plot("w: " + key(("sklearn", COLORS["fit"]),
                                          ("torch", COLORS["torch"])), bottom="coefficient k")
        self.coef_sklearn = pg.BarGraphItem(x=[], height=[], width=0.35, brush=COLORS["fit"])
        self.coef_torch = pg.BarGraphItem(x=[], height=[], width=0.35, brush=COLORS["torch"])
        self.coef_plot.addItem(self.coef_sklearn)
        self.coef_plot.addItem(self.coef_torch)
        self.torch_caption = caption(steady=True, lines=4)
        self.torch_caption.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.torch_progress = ProgressLine()
        row = QSplitter(Qt.Orientation.Horizontal)
        for widget in (self.compare_plot, self.coef_plot, self.loss_plot):
            row.addWidget(widget)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(row, 1)
        layout.addWidget(self.torch_caption)
        layout.addWidget(self.torch_progress)
        return page

    def _build_conditioning_tab(self) -> QWidget:
        self.kappa_plot = Plot("condition number κ of [1, features]", bottom="degree",
                               legend=True)
        self.kappa_plot.setLogMode(y=True)
        self.kappa_raw = curve(self.kappa_plot, COLORS["raw"], "raw powers", symbol="o")
        self.kappa_legendre = curve(self.kappa_plot, COLORS["legendre"], "Legendre",
                                    symbol="o")
        self.kappa_cursor = cursor(self.kappa_plot)
        self.kappa_caption = caption(steady=True, lines=3)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.kappa_plot, 1)
        layout.addWidget(self.kappa_caption)
        return page

    def _build_code_tab(self) -> QWidget:
        self.sklearn_code = CodeView("scikit-learn code that reproduces this fit")
        self.torch_code = CodeView("PyTorch code: the same fit by gradient descent")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.sklearn_code)
        splitter.addWidget(self.torch_code)
        return splitter

    def _connect(self) -> None:
        for control in (self.truth, self.samples, self.noise, self.seed, self.degree,
                        self.basis, self.penalty, self.lam, self.l1_ratio, self.folds,
                        self.pair_i, self.pair_j, self.gd_steps, self.bias_axis):
            control.valueChanged.connect(lambda _v: self.request_update("model"))
        self.penalty.valueChanged.connect(lambda _v: self._sync_enabled())
        self.log_bars.toggled.connect(lambda _v: self._draw_bars())
        self.new_sample.clicked.connect(lambda: self.seed.setValue(
            (self.seed.value() + 1) % (int(self.seed.maximum()) + 1)))
        self.seventh.clicked.connect(lambda: self.degree.setValue(7))
        self.examples_box.valueChanged.connect(self._example_chosen)
        self.export_csv.clicked.connect(self._ask_export_csv)
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        penalty = self.penalty.value()
        self.lam.setEnabled(penalty != "none")
        self.l1_ratio.setEnabled(penalty == "elastic")

    # ====================================================================== parameters
    def params(self) -> RegView:
        return RegView(truth=self.truth.value(), samples=self.samples.value(),
                       noise=float(self.noise.value()), seed=self.seed.value(),
                       degree=self.degree.value(), penalty=self.penalty.value(),
                       lam=float(self.lam.value()), l1_ratio=float(self.l1_ratio.value()),
                       basis=self.basis.value(), folds=self.folds.value(),
                       log_bars=self.log_bars.isChecked(),
                       pair=(self.pair_i.value(), self.pair_j.value()),
                       gd_steps=self.gd_steps.value(), bias_axis=self.bias_axis.value())

    def apply_params(self, params: RegView) -> None:
        with self.updates_held():
            self.truth.setValue(params.truth)
            self.samples.setValue(params.samples)
            self.noise.setValue(params.noise)
            self.seed.setValue(params.seed)
            self.degree.setValue(params.degree)
            self.basis.setValue(params.basis)
            self.penalty.setValue(params.penalty)
            self.lam.setValue(params.lam)
            self.l1_ratio.setValue(params.l1_ratio)
            self.folds.setValue(params.folds)
            self.log_bars.setChecked(params.log_bars)
            self.pair_i.setValue(params.pair[0])
            self.pair_j.setValue(params.pair[1])
            self.gd_steps.setValue(params.gd_steps)
            self.bias_axis.setValue(params.bias_axis)
            self.request_update("model")

    def examples(self) -> dict[int, Example]:
        return dict(EXAMPLES)

    def _example_chosen(self, number: int) -> None:
        if number in EXAMPLES:
            self.set_params(EXAMPLES[number].params)

    # ====================================================================== visibility
    def _visible(self, part: str) -> bool:
        """A tab's part computes only while its tab shows (the fit tab always)."""
        tab = {"paths": "paths", "bias": "bias", "torch": "torch", "geometry": "geometry",
               "conditioning": "conditioning", "code": "code"}[part]
        if TABS[self.tabs.currentIndex()] == tab:
            return True
        self._deferred.add(part)
        return False

    def _tab_changed(self, _index: int) -> None:
        if TABS[self.tabs.currentIndex()] == "bias":  # its plots paint anew (see _start_bias)
            self._bias_just_shown = True
        if self._deferred:
            parts, self._deferred = self._deferred, set()
            self.request_update(*parts)

    def _after_model(self) -> None:
        self.request_update("paths", "bias", "torch", "geometry", "conditioning", "code")

    # ====================================================================== the model
    def _start_model(self) -> None:
        view = self.params()
        problems = view.validate()
        self.set_problems("model", problems)
        if problems:
            self.jobs["model"].cancel()
            return
        have = set(self._curve_keys.values())
        if is_quick(view) and has_factors(view, self.factors):
            # only the degree, λ or penalty moved: the fit and the curves are closed forms
            # of the sample's SVDs (a millisecond), drawn in one go
            self.jobs["model"].cancel()
            result = model_result(view, factors=self.factors)
            self._show_model(result, missing_curves(view, have, result.data, self.factors))
            return
        if not (is_quick(view) and "sklearn.linear_model" in sys.modules):
            self.jobs["model"].submit(model_job(view, have))
            return
        # a new sample: the fit and bars follow at once, the SVDs and curves come from the job
        result = model_result(view)
        self.jobs["model"].submit(model_job(view, have, result.data))
        self._show_model(result, [])

    def _model_item(self, item) -> None:
        if isinstance(item, ModelResult):
            self._show_model(item, [])
        elif isinstance(item, RidgeFactors):
            self.factors = item
        elif isinstance(item, CurvesResult):
            self._store_curves(item)
            self._draw_curves()
            self._draw_facts()
            self._mark_if_complete()

    def _store_curves(self, item: CurvesResult) -> None:
        self.compute_counts[item.curves.axis] += 1
        if item.curves.axis == "degree":
            self.degree_curves = item.curves
        else:
            self.lambda_curves = item.curves
        self._curve_keys[item.curves.axis] = item.key

    def _show_model(self, result: ModelResult, curves: list[CurvesResult]) -> None:
        self.result = result
        self.compute_counts["fit"] += 1
        for item in curves:
            self._store_curves(item)
        self._draw_fit()
        self._draw_bars()
        self._draw_curves()
        self._draw_facts()
        self._mark_if_complete()
        self._after_model()

    def _mark_if_complete(self) -> None:
        """Drawn: the fit and both error curves of the current view are on screen."""
        view = self.result.view if self.result is not None else None
        if view is not None and self._curve_keys.get("degree") == degree_key(view) and \
                self._curve_keys.get("lambda") == lambda_key(view):
            self.mark_drawn()

    def _draw_fit(self) -> None:
        result = self.result
        data, view = result.data, result.view
        if self._keys.get("fit_data") != (data.x.tobytes(), data.y.tobytes(), view.truth):
            self._keys["fit_data"] = (data.x.tobytes(), data.y.tobytes(), view.truth)
            self.train_points.setData(data.x, data.y)
            self.test_points.setData(data.x_test, data.y_test)
            self.truth_curve.setData(data.grid, data.grid_truth)
            low = min(data.y.min(), data.grid_truth.min())
            high = max(data.y.max(), data.grid_truth.max())
            pad = 0.35 * (high - low) + 0.1
            self.fit_plot.setRange(xRange=(-1.05, 1.05), yRange=(low - pad, high + pad),
                                   padding=0)
        prediction = result.fit.predict(data.grid)
        self.fit_curve.setData(data.grid, prediction)
        penalty = "no penalty" if view.penalty == "none" else f"{view.penalty.upper()} λ = " \
            f"{_g(view.lam)}"
        self.fit_plot.set_title(f"degree {view.degree}, {penalty} " + key(
            ("points", COLORS["train"]), ("truth", COLORS["truth"]), ("fit", COLORS["fit"])))

    def _draw_bars(self) -> None:
        if self.result is None:
            return
        coef = self.result.fit.coef
        k = np.arange(1, len(coef) + 1, dtype=float)
        zero = coef == 0.0
        brushes = [self._brushes[c >= 0] for c in coef]
        if self.log_bars.isChecked():
            magnitude = np.log10(np.where(zero, 10.0**LOG_FLOOR, np.abs(coef)))
            bottoms = np.full(len(k), LOG_FLOOR)
            heights = np.maximum(magnitude, LOG_FLOOR) - LOG_FLOOR
            label = "log₁₀|w| (red: negative)"
        else:
            bottoms, heights, label = np.zeros(len(k)), coef, "w"
        self.bars.setOpts(x=k, height=heights, y0=bottoms, brushes=brushes)
        self.zero_marks.setData(k[zero], bottoms[zero])
        if self.bars_plot.plotItem.getAxis("left").labelText != label:
            self.bars_plot.plotItem.setLabel("left", label)  # a new label re-lays-out
        slots = BAR_SLOTS * max(1, math.ceil(len(coef) / BAR_SLOTS))
        if self._keys.get("bar_slots") != slots:  # a new x range redraws the axis
            self._keys["bar_slots"] = slots
            self.bars_plot.setXRange(0.3, slots + 0.7, padding=0)
        ends = np.concatenate([[0.0], bottoms, bottoms + heights])
        self.bars_plot.hold_y(float(ends.min()), float(ends.max()))
        total = len(coef)
        last = str(total).translate(SUBSCRIPT_DIGITS)  # w₁…w₁₂
        self.bars_plot.set_title(f"coefficients w₁…w{last}: {int(zero.sum())} of {total} "
                                 f"exactly 0 (✕)")

    def _draw_curves(self) -> None:
        view = self.result.view if self.result else self.params()
        curves = self.degree_curves
        if curves is not None and self._curve_keys.get("degree") == degree_key(view) \
                and self._keys.get("drawn_degree_curves") is not curves:
            self._keys["drawn_degree_curves"] = curves  # a new degree alone moves the cursor
            for item, values in ((self.degree_train, curves.train),
                                 (self.degree_test, curves.test),
                                 (self.degree_cv, curves.cv)):
                item.setData(curves.values, positive(values))
            self.degree_plot.hold_y(*_log_span(curves))
            best = curves.best("cv")
            self.degree_best.setData([best], [math.log10(max(curves.cv[int(best)], 1e-12))])
            self.degree_plot.set_title(
                f"MSE: CV best {int(best)} (○), test {int(curves.best('test'))} "
                + key(("train", COLORS["train"]), ("test", COLORS["test"]),
                      ("CV", COLORS["cv"])))
        self.degree_cursor.setPos(view.degree)
        curves = self.lambda_curves
        if curves is not None and self._curve_keys.get("lambda") == lambda_key(view) \
                and self._keys.get("drawn_lambda_curves") is not curves:
            self._keys["drawn_lambda_curves"] = curves
            for item, values in ((self.lambda_train, curves.train),
                                 (self.lambda_test, curves.test),
                                 (self.lambda_cv, curves.cv)):
                item.setData(curves.values, positive(values))
            self.lambda_plot.hold_y(*_log_span(curves))
            self.lambda_plot.set_title(
                ("MSE vs λ (no penalty: flat) " if view.penalty == "none" else
                 f"MSE: CV best λ {_g(curves.best('cv'))} ")
                + key(("train", COLORS["train"]), ("test", COLORS["test"]),
                      ("CV", COLORS["cv"])))
        self.lambda_cursor.setPos(math.log10(max(view.lam, LAMBDA_RANGE[0])))

    def _draw_facts(self) -> None:
        result = self.result
        view, fit = result.view, result.fit
        parts = [f"train MSE {_g(result.train_mse)}", f"test MSE {_g(result.test_mse)}"]
        if self.degree_curves is not None and self._curve_keys.get("degree") == \
                degree_key(view) and view.degree < len(self.degree_curves.cv):
            parts.append(f"{view.folds}-fold CV MSE {_g(self.degree_curves.cv[view.degree])} "
                         f"± {_g(self.degree_curves.cv_std[view.degree])}")
        parts.append(f"noise floor σ² = {_g(view.noise ** 2)}")
        zeros = f"{fit.zeros} of {view.degree} coefficients exactly 0"
        if view.penalty in ("l1", "elastic"):
            zeros += " (L1 sparsity)"
        elif view.penalty == "l2" and view.degree:
            zeros += f" (L2 shrinks: smallest |w| = {_g(float(np.min(np.abs(fit.coef))))})"
        dof = f"effective degrees of freedom {result.dof:.2f} of {view.degree + 1}"
        kappa = (f"κ: raw powers {_g(result.kappa_raw)}, Legendre "
                 f"{_g(result.kappa_legendre)}")
        lines = [" · ".join(parts), " · ".join([zeros, dof, kappa])]
        lines += list(fit.notes)
        self.facts.setText("\n".join(lines))

    # ====================================================================== paths
    def _start_paths(self) -> None:
        if self.result is None or not self._visible("paths"):
            return
        view = self.result.view
        key = (degree_key(view)[0], view.degree, view.penalty, view.ratio, view.basis)
        if self._keys.get("paths") != key:
            self._keys["paths"] = key
            data = self.result.data

            def run(_should_stop):
                yield Progress("coefficient paths over 100 λ", 0.0)
                yield coefficient_paths(data, view)

            self.jobs["paths"].submit(run)
        self._draw_paths_cursor()

    def _paths_item(self, item) -> None:
        if isinstance(item, Progress):
            self.paths_progress.show_progress(item)
            return
        self.paths = item
        self._keys["paths_drawn"] = self._keys.get("paths")  # newest wins: the current key
        self.compute_counts["paths"] += 1
        for k, line in enumerate(self.path_curves):
            if k < item.coefs.shape[1]:
                line.setData(item.lambdas, item.coefs[:, k])
                line.setVisible(True)
            else:
                line.setVisible(False)
        self.zeros_curve.setData(item.lambdas, item.zeros)
        self._draw_paths_cursor()

    def coefficients_at_lambda(self) -> np.ndarray:
        """The coefficients at exactly the slider's λ on the paths' penalty: the fit on the
        Fit tab, or without a penalty (the ridge path is drawn) ridge's closed form."""
        view, fit, data = self.result.view, self.result.fit, self.result.data
        if view.penalty != "none":
            return fit.coef
        coefs, _ = ridge_solutions(features(data.x, view.degree, view.basis), data.y,
                                   np.array([ridge_alpha(view.lam, view.samples)]))
        return coefs[0]

    def _draw_paths_cursor(self) -> None:
        """The cursor, the marks and the caption at the slider's own λ (not the nearest of
        the 100 path points), once the paths of this degree and penalty are drawn."""
        view = self.result.view
        self.paths_cursor.setPos(math.log10(view.lam))
        self.zeros_cursor.setPos(math.log10(view.lam))
        paths = self.paths
        if paths is None or self._keys.get("paths_drawn") != self._keys.get("paths"):
            return
        coef = self.coefficients_at_lambda()
        zeros = int(np.count_nonzero(coef == 0.0))
        self.path_marks.setData(np.full(len(coef), view.lam), coef,
                                symbolBrush=PATH_COLORS[:len(coef)])
        self.zeros_mark.setData([view.lam], [zeros])
        kind = {"none": "L2 (no penalty chosen: the ridge path is shown)",
                "l2": "L2", "l1": "L1", "elastic": f"elastic net (r = {view.ratio:g})"}
        self.paths_plot.set_title(f"{kind[view.penalty]} coefficient paths, degree "
                                  f"{view.degree} — one line per coefficient, ● at the "
                                  f"slider's λ")
        where = ("ridge at this λ" if view.penalty == "none" else "the fit on the Fit tab")
        text = (f"At λ = {view.lam:.7g} ({where}): {zeros} of {view.degree} coefficients "
                f"exactly 0. ")
        text += ("L1 paths hit 0 one after another and stay there (the lasso selects); "
                 if view.penalty in ("l1", "elastic") else
                 "L2 paths shrink smoothly towards 0 but never reach it; ")
        text += "every path ends at 0 for a large enough λ."
        if not paths.converged:
            text += " (Coordinate descent hit its iteration limit at some λ.)"
        self.paths_caption.setText(text)

    # ====================================================================== bias–variance
    def _start_bias(self) -> None:
        if self.result is None or not self._visible("bias"):
            return
        view = self.result.view
        axis = view.bias_axis
        key = (degree_key(view)[0], view.penalty, view.ratio, view.basis, axis,
               view.strength if axis == "degree" else view.degree)
        just_shown, self._bias_just_shown = self._bias_just_shown, False
        if self._keys.get("bias") == key and self.bias is not None:
            self._draw_bias()
            return
        self._keys["bias"] = key
        self._bias_job = lambda stop: bias_variance(view, stop, axis=axis)
        # the refits start once the window has painted this change (the tab just shown:
        # its first paints take a few turns): a worker running Python meanwhile takes the
        # GIL back at each of a paint's hundreds of Python calls (measured: the window's
        # longest pause, 50–60 ms)
        QTimer.singleShot(BIAS_SETTLE_MS if just_shown else 0, self, self._submit_bias)

    def _submit_bias(self) -> None:
        if self._bias_job is not None:
            self.jobs["bias"].submit(self._bias_job)
            self._bias_job = None

    def is_idle(self) -> bool:
        return super().is_idle() and self._bias_job is None

    def shutdown(self) -> None:
        self._bias_job = None  # a refit waiting for the tab to settle never starts
        super().shutdown()

    def _bias_item(self, item) -> None:
        if isinstance(item, Progress):
            self.bias_progress.show_progress(item)
            return
        self.bias = item
        self.compute_counts["bias"] += 1
        by_lambda = item.axis == "lambda"
        x = np.log10(item.values) if by_lambda else item.values
        width = 0.7 * (x[1] - x[0]) if len(x) > 1 else 0.7
        for bar in (self.stack_bias, self.stack_variance, self.stack_noise):
            bar.setOpts(width=width)
        self.stack_bias.setOpts(x=x, height=item.bias2, y0=np.zeros(len(x)))
        self.stack_variance.setOpts(x=x, height=item.variance, y0=item.bias2)
        self.stack_noise.setOpts(x=x, height=np.full(len(x), item.noise),
                                 y0=item.bias2 + item.variance)
        self.mc_points.setData(x, item.mc_error)
        self.mc_bars.setData(x=x, y=item.mc_error, height=2 * 2 * item.mc_stderr,
                             beam=width / 3)
        total = item.bias2 + item.variance + item.noise
        top = min(float(np.max(total)), 3.0 * float(total[0] if not by_lambda else total[-1]),
                  4.0 * float(np.min(total)))
        self.stack_plot.setRange(xRange=(x[0] - width, x[-1] + width),
                                 yRange=(0, max(top, 1e-3)), padding=0.02)
        label = "log₁₀ λ" if by_lambda else "degree"
        if self.stack_plot.getAxis("bottom").labelText != label:
            self.stack_plot.plotItem.setLabel("bottom", label)
        # the faint refits and the caption on the next turn (the "bias" part redraws a
        # stored result): two short pauses of the window instead of one long one
        self.request_update("bias")

    def _draw_bias(self) -> None:
        item, view = self.bias, self.result.view
        by_lambda = item.axis == "lambda"
        k = item.nearest(view.lam if by_lambda else view.degree)
        where = f"λ = {_g(item.values[k])}" if by_lambda else f"degree {int(item.values[k])}"
        curves = item.curves[k]
        xs = np.tile(np.append(item.grid, np.nan), len(curves))
        ys = np.column_stack([curves, np.full(len(curves), np.nan)]).ravel()
        self.refit_curves.setData(xs, ys)
        self.refit_mean.setData(item.grid, item.mean_curves[k])
        data = self.result.data
        self.refit_truth.setData(data.grid, data.grid_truth)
        low = min(data.y.min(), data.grid_truth.min())
        high = max(data.y.max(), data.grid_truth.max())
        pad = 0.35 * (high - low) + 0.1
        self.refits_plot.setRange(xRange=(-1.05, 1.05), yRange=(low - pad, high + pad),
                                  padding=0)
        self.refits_plot.set_title(f"{where}: " + key(
            (f"{len(curves)}/{item.refits} fits", COLORS["fit"]),
            ("mean", COLORS["bias"]), ("truth", COLORS["truth"])))
        self.stack_cursor.setPos(math.log10(item.values[k]) if by_lambda else item.values[k])
        gap = item.identity_gap()[k]
        stderr = item.mc_stderr[k]
        best = item.values[int(np.argmin(item.bias2 + item.variance))]
        lesson = (f"Small λ: the fits scatter (variance); large λ: they flatten towards the "
                  f"mean (bias). The best total is at λ ≈ {_g(best)} (degree {view.degree}"
                  + (", L2: no penalty chosen" if view.penalty == "none" else "") + ")."
                  if by_lambda else
                  f"Low degrees miss the truth (bias); high degrees chase the noise "
                  f"(variance); the best total is at degree {int(best)}.")
        self.bias_caption.setText(
            f"{where if by_lambda else where.capitalize()}: bias² {_g(item.bias2[k])} + variance "
            f"{_g(item.variance[k])} + σ² {_g(item.noise)} = "
            f"{_g(item.bias2[k] + item.variance[k] + item.noise)}; Monte-Carlo "
            f"test MSE over {item.refits} refits {_g(item.mc_error[k])} ± "
            f"{_g(stderr)} (difference {abs(gap) / stderr:.1f} standard errors).\n"
            f"{lesson} Bars above the plot's top are cut.")

    # ====================================================================== geometry
    def _update_geometry(self) -> None:
        if self.result is None or not self._visible("geometry"):
            return
        view, fit, data = self.result.view, self.result.fit, self.result.data
        pair = (min(view.pair), max(view.pair))
        if pair[1] > view.degree:
            self.geometry_caption.setText(
                f"The pair w{pair[0]}, w{pair[1]} needs degree ≥ {pair[1]}: raise the degree "
                f"or choose lower coefficients.")
            return
        g = pair_geometry(data.x, data.y, fit, pair, view.penalty)
        self.compute_counts["geometry"] += 1
        a, b, loss = g.grid()
        levels = g.minimum + (np.max(loss) - g.minimum) * np.linspace(0.004, 0.9, 12) ** 2
        xs, ys = [], []
        for level in levels:
            for line in pg.functions.isocurve(loss, level, connected=True):
                line = np.asarray(line)
                xs += list(np.interp(line[:, 0], np.arange(len(a)), a)) + [np.nan]
                ys += list(np.interp(line[:, 1], np.arange(len(b)), b)) + [np.nan]
        self.contours.setData(np.array(xs), np.array(ys))
        t = g.budget
        self.diamond.setData([t, 0, -t, 0, t], [0, t, 0, -t, 0])
        angles = np.linspace(0, 2 * np.pi, 200)
        self.circle.setData(t * np.cos(angles), t * np.sin(angles))
        self.centre_point.setData([g.centre[0]], [g.centre[1]])
        self.l1_point.setData([g.l1_optimum[0]], [g.l1_optimum[1]])
        self.l2_point.setData([g.l2_optimum[0]], [g.l2_optimum[1]])
        self.geometry_plot.setRange(xRange=(a[0], a[-1]), yRange=(b[0], b[-1]), padding=0)
        self.geometry_plot.plotItem.setLabel("bottom", f"w{pair[0]}")
        self.geometry_plot.plotItem.setLabel("left", f"w{pair[1]}")
        self.geometry_plot.set_title(f"loss in (w{pair[0]}, w{pair[1]}), the others fixed; "
                                     f"budget t = {_g(t)} ({g.budget_norm} norm of the fit)")
        corner = ("The diamond's best point is a corner: one coefficient is exactly 0 — "
                  "the lasso's sparsity." if g.on_corner() else
                  "The diamond's best point is on an edge, not a corner (no zero here).")
        self.geometry_caption.setText(
            f"Contours: the data loss as w{pair[0]}, w{pair[1]} vary with the other "
            f"coefficients held at the fit. Unpenalised optimum ({_g(g.centre[0])}, "
            f"{_g(g.centre[1])}); best in the diamond ({_g(g.l1_optimum[0])}, "
            f"{_g(g.l1_optimum[1])}); best in the circle ({_g(g.l2_optimum[0])}, "
            f"{_g(g.l2_optimum[1])}). {corner} The circle has no corners, so L2 "
            f"shrinks both without zeroing either.")

    # ====================================================================== torch
    def _start_torch(self) -> None:
        if self.result is None or not self._visible("torch"):
            return
        view, data = self.result.view, self.result.data
        key = (degree_key(view)[0], view.degree, view.penalty, view.strength, view.ratio,
               view.basis, view.gd_steps)
        if self._keys.get("torch") == key:
            return
        self._keys["torch"] = key
        self.compare_points.setData(data.x, data.y)
        self.compare_plot.setRange(xRange=self.fit_plot.viewRange()[0],
                                   yRange=self.fit_plot.viewRange()[1], padding=0)
        self.torch_reference = None
        self._torch_run = (view, data)
        x, y = data.x, data.y

        def run(should_stop):
            from lab.regularization.gradient import gradient_descent  # torch: off the GUI

            yield fit_sklearn(x, y, view)  # the tab compares with scikit-learn's own fit
            yield from gradient_descent(x, y, view, should_stop)

        self.jobs["torch"].submit(run)

    def _show_torch_reference(self, fit: Fit) -> None:
        view, data = self._torch_run
        self.torch_reference = fit
        self.compare_sklearn.setData(data.grid, fit.predict(data.grid))
        # torch's loss holds the MSE and the hand-written L1 term; weight_decay acts in the
        # step, not in the loss: so the target is that same loss at the exact solution
        target = 2 * objective(data.x, data.y, fit.coef, fit.intercept, view) \
            - view.strength * (1 - view.ratio) * float(fit.coef @ fit.coef)
        self.loss_target.setData([1, view.gd_steps], [target, target])

    def _torch_item(self, item) -> None:
        if isinstance(item, Progress):
            self.torch_progress.show_progress(item)
            return
        if isinstance(item, Fit):
            self._show_torch_reference(item)
            return
        from lab.regularization.gradient import agreement

        self.descent = item
        self.compute_counts["torch"] += int(item.final)
        result, fit = self.result, self.torch_reference
        (view, data) = self._torch_run
        if fit is None or len(item.coef) != len(fit.coef):
            return  # a run for another degree
        prediction = _predict(data.grid, item.coef, item.intercept, fit)
        self.compare_torch.setData(data.grid, prediction)
        self.loss_curve.setData(np.maximum(item.loss_steps, 1), positive(item.losses))
        k = np.arange(1, len(fit.coef) + 1, dtype=float)
        self.coef_sklearn.setOpts(x=k - 0.18, height=fit.coef)
        self.coef_torch.setOpts(x=k + 0.18, height=item.coef)
        difference = agreement(item.coef, item.intercept, fit.coef, fit.intercept)
        verdict = (f"agree within {AGREE:g} (largest difference {_g(difference)})"
                   if difference <= AGREE else
                   f"differ by up to {_g(difference)}: "
                   + ("gradient descent has not converged yet after "
                      f"{item.steps} steps" if item.final else "still descending…"))
        lines = [f"torch: MSELoss + weight_decay = 2λ(1 − r) = {_g(item.weight_decay)} "
                 f"(on the weights only) + hand-written 2λr·Σ|w| = {_g(item.l1_weight)}·Σ|w|; "
                 f"SGD momentum 0.9, step 1/L = {_g(item.lr)}. scikit-learn: "
                 + _sklearn_call(view) + f". After {item.steps} steps the two {verdict}."]
        if view.penalty in ("l1", "elastic"):
            band = item.lr * item.l1_weight / 0.1
            hovering = int(np.count_nonzero((np.abs(item.coef) < band) & (item.coef != 0)))
            lines.append(f"L1 by plain gradient descent: {item.exact_zeros} coefficients "
                         f"exactly 0 (scikit-learn's coordinate descent: {fit.zeros}); "
                         f"{hovering} hover within ±{_g(band)} of 0, stepping across it "
                         f"back and forth — why proximal / coordinate methods exist.")
        if view.basis == "raw" and view.degree >= 8 and difference > AGREE:
            lines.append(f"Raw powers at degree {view.degree}: κ = "
                         f"{_g(result.kappa_raw)}; the flattest directions need ~κ steps "
                         f"— switch to Legendre and the same descent converges.")
        self.torch_caption.setText("\n".join(lines))

    # ====================================================================== conditioning, code
    def _update_conditioning(self) -> None:
        if self.result is None or not self._visible("conditioning"):
            return
        data, view = self.result.data, self.result.view
        key = (data.x.tobytes(),)
        if self._keys.get("conditioning") != key:
            self._keys["conditioning"] = key
            raw, legendre = conditioning(data.x, MAX_DEGREE)
            self._kappas = (raw, legendre)
            degrees = np.arange(MAX_DEGREE + 1)
            self.kappa_raw.setData(degrees, np.minimum(raw, 1e300))
            self.kappa_legendre.setData(degrees, np.minimum(legendre, 1e300))
        raw, legendre = self._kappas
        self.kappa_cursor.setPos(view.degree)
        digits = math.log10(max(raw[view.degree], 1.0))
        self.kappa_caption.setText(
            f"Degree {view.degree}: κ(raw powers) = {_g(raw[view.degree])}, κ(Legendre) = "
            f"{_g(legendre[view.degree])}. A solve loses about log₁₀ κ ≈ {digits:.0f} of "
            f"float64's ~16 digits: on [−1, 1] the columns x¹⁸, x¹⁹, x²⁰ are nearly "
            f"parallel, while Legendre polynomials are orthogonal. Same fits, same "
            f"predictions — very different numerical health (and gradient-descent speed).")

    def _update_code(self) -> None:
        if self.result is None or not self._visible("code"):
            return
        view = self.result.view
        self.sklearn_code.set_code(export.sklearn_code(view))
        self.torch_code.set_code(export.torch_code(view))

    # ====================================================================== export
    def numbers_csv_rows(self) -> list[list]:
        rows: list[list] = [["section", "x", "train", "test", "cv", "cv_std"]]
        if self.result is not None:
            fit = self.result.fit
            rows.append(["intercept", "", fit.intercept, "", "", ""])
            rows += [[f"w{k + 1}", "", float(c), "", "", ""] for k, c in enumerate(fit.coef)]
        for curves in (self.degree_curves, self.lambda_curves):
            if curves is not None:
                rows += [[f"mse_vs_{curves.axis}", float(v), float(a), float(b), float(c),
                          float(s)] for v, a, b, c, s in zip(curves.values, curves.train,
                                                            curves.test, curves.cv,
                                                            curves.cv_std, strict=True)]
        return rows

    def export_numbers(self, path: str | Path) -> bool:
        """False, with the path and the reason among the panel's problems, when it cannot
        be written."""
        out = io.StringIO()
        csv.writer(out).writerows(self.numbers_csv_rows())
        return self.exported(write_text(path, out.getvalue(), self.export_failed))

    def _ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save numbers", "regularization.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_numbers(path)


def _log_span(curves: Curves) -> tuple[float, float]:
    """log₁₀ of the smallest and largest error drawn (log axes take log₁₀ ranges)."""
    drawn = positive(np.concatenate([curves.train, curves.test, curves.cv]))
    return float(np.log10(drawn.min())), float(np.log10(drawn.max()))


def _predict(x: np.ndarray, coef: np.ndarray, intercept: float, like) -> np.ndarray:
    return intercept + features(x, like.degree, like.basis) @ coef


def _sklearn_call(view: RegView) -> str:
    if view.degree == 0:
        return "the mean of y"
    return {"none": "LinearRegression()",
            "l2": f"Ridge(alpha = n·λ = {_g(ridge_alpha(view.lam, view.samples))})",
            "l1": f"Lasso(alpha = λ = {_g(view.lam)})",
            "elastic": f"ElasticNet(alpha = {_g(view.lam)}, l1_ratio = {view.ratio:g})"
            }[view.penalty]

