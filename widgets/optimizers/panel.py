"""Optimizers panel (concepts 29, 30, 31): SGD, momentum, Nesterov, RMSprop, Adagrad, Adam
and AdamW side by side on a 2-D loss surface — the real `torch.optim` classes (lab.optimizers)
— with mini-batch noise, learning-rate schedulers, what each optimizer remembers, where each
start ends up (basins) and momentum's convergence rate on the quadratic.

Surfaces, trajectories and basin maps are computed in background jobs (newest wins);
trajectories are cached per optimizer, so changing one optimizer's learning rate re-runs
that optimizer only.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab.optim import SCHEDULERS
from lab.optimizers import basins, rates, surfaces, trajectories
from lab.optimizers.code import trajectory_code
from lab.optimizers.examples import examples
from lab.optimizers.view import (
    COLOURS,
    KINDS,
    OPTIMIZER_KINDS,
    USES,
    OptimizerSettings,
    OptimizersView,
)
from lab.params import Example
from lab.progress import Progress
from widgets.kit.controls import (
    ChoiceBox,
    ErrorBanner,
    LogSlider,
    ParamSlider,
    ProgressLine,
    caption,
    page_with_controls,
    scrolling,
)
from widgets.kit.files import write_text
from widgets.kit.panel import AppState, Panel
from widgets.kit.views import CodeView
from widgets.optimizers.views import (
    MINIMUM_COLOURS,
    BasinView,
    LossAndRate,
    RateMap,
    SurfaceMap,
    contour_bands,
)

HYPER_TOOLTIPS = {
    "lr": "Learning rate α: the step is α times the (scaled) gradient or velocity.",
    "momentum": "μ: the velocity keeps this fraction of itself each step (v ← μ·v + g). "
                "0.9 ≈ an average over the last 10 gradients.",
    "beta1": "Adam's β₁: momentum of the gradient's running mean.",
    "beta2": "Adam's β₂: how long the running mean of g² remembers (0.999 ≈ 1000 steps).",
    "eps": "ε added to √v before dividing: keeps steps finite where the gradient is ~0.",
    "weight_decay": "Adds wd·w to the gradient (AdamW: shrinks w directly) — pulls toward 0.",
    "alpha": "RMSprop's smoothing of g² (torch's `alpha`, 0.99 by default).",
}
RATE_LRS = np.geomspace(1e-3, 4.0, 140)
RATE_MOMENTA = np.linspace(0.0, 0.995, 110)


class OptimizersPanel(Panel):
    # a new surface redraws everything after it (once it has arrived); the trajectories
    # redraw the rates once the runs are in
    covers = {"surface": ("trajectories", "basins", "rates", "code"),
              "trajectories": ("rates",)}

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        default = OptimizersView()
        self._settings: dict[str, OptimizerSettings] = {s.kind: s for s in default.optimizers}
        self._start = default.start
        self._shown_step = -1
        self._surface: surfaces.Surface | None = None
        self._surface_key: tuple | None = None
        self._f_min = 0.0
        self._cache: dict[tuple, trajectories.Trajectory] = {}
        self._runs: dict[str, trajectories.Trajectory] = {}
        self._wanted: dict[str, tuple] = {}
        self._basin: basins.BasinMap | None = None
        self._basin_stale = True
        self._sandbox = None
        self.compute_counts: dict[str, int] = {}

        self.banner = ErrorBanner()
        controls = self._build_controls()
        views = self._build_views()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(page_with_controls(controls, views), 1)

        self.updaters = {"surface": self._update_surface,
                         "trajectories": self._update_trajectories,
                         "shown": self._update_shown, "basins": self._update_basins,
                         "rates": self._update_rates, "code": self._update_code}
        self.surface_job = self.add_job("surface", self._surface_ready)
        self.trajectory_job = self.add_job("trajectories", self._trajectory_ready,
                                           self._trajectories_idle)
        self.basin_job = self.add_job("basins", self._basin_item, self.basin_progress.done)
        self.problemsChanged.connect(lambda: self.banner.show_problems(self.problems()))
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(40)
        self._play_timer.timeout.connect(self._advance)
        self._load_editor()
        self._sync_enabled()
        self.request_update("surface")

    # ================================================================== building
    def _build_controls(self) -> QWidget:
        form = QVBoxLayout()
        self.surface = ChoiceBox("Surface", [(k, t, d) for k, (t, d) in
                                             surfaces.SURFACES.items()], "local_minimum",
                                 tooltip="The loss f(x, y) the optimizers descend")
        self.condition = LogSlider("Condition κ", 1, 1000, 10, per_decade=8, tooltip=(
            "Quadratic only: curvature 1 along y, 1/κ along x. Large κ: a long narrow "
            "valley where one learning rate cannot suit both directions."))
        self.formula = QLineEdit(OptimizersView().formula)
        self.formula.setToolTip("Your own f(x, y), e.g. x^2 + 3y^2 + sin(3x). Read by the "
                                "lab's safe formula parser (no Python is run) and "
                                "differentiated by sympy in a separate process with a time "
                                "limit. Shown on [-5, 5]².")
        self.use_formula = QPushButton("Plot f")
        self.use_formula.setToolTip("Read the formula and use it (Enter does the same)")
        self.formula_row = QWidget()
        row = QHBoxLayout(self.formula_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.formula, 1)
        row.addWidget(self.use_formula)
        self.steps = ParamSlider("Steps", 10, 1000, 200, step=10, tooltip=(
            "How many optimizer steps each trajectory takes"))
        surface_box = QGroupBox("Surface")
        box = QVBoxLayout(surface_box)
        for widget in (self.surface, self.condition, self.formula_row, self.steps,
                       caption("Click the map to start there.", small=True)):
            box.addWidget(widget)
        form.addWidget(surface_box)

        opt_box = QGroupBox("Optimizers (torch.optim)")
        box = QVBoxLayout(opt_box)
        self.enabled_boxes: dict[str, QCheckBox] = {}
        grid = QWidget()
        grid_layout = QVBoxLayout(grid)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.setSpacing(1)
        for kind, (title, call, remembers) in OPTIMIZER_KINDS.items():
            check = QCheckBox(title)
            check.setStyleSheet(f"QCheckBox {{ color: {COLOURS[kind]}; font-weight: bold; }}")
            check.setToolTip(f"{call}\nRemembers {remembers}.")
            grid_layout.addWidget(check)
            self.enabled_boxes[kind] = check
            check.toggled.connect(lambda on, k=kind: self._toggle(k, on))
        box.addWidget(grid)
        self.editing = ChoiceBox("Settings of", [(k, OPTIMIZER_KINDS[k][0]) for k in KINDS],
                                 "momentum", tooltip="Whose hyper-parameters the sliders "
                                                     "below show")
        self.hyper = {
            "lr": LogSlider("lr", 1e-4, 3.0, 0.02, per_decade=10,
                            tooltip=HYPER_TOOLTIPS["lr"]),
            "momentum": ParamSlider("momentum μ", 0, 0.99, 0.9, step=0.01, decimals=2,
                                    tooltip=HYPER_TOOLTIPS["momentum"]),
            "beta1": ParamSlider("β₁", 0, 0.99, 0.9, step=0.01, decimals=2,
                                 tooltip=HYPER_TOOLTIPS["beta1"]),
            "beta2": ParamSlider("β₂", 0.5, 0.9999, 0.999, step=0.0001, decimals=4,
                                 tooltip=HYPER_TOOLTIPS["beta2"]),
            "eps": LogSlider("ε", 1e-10, 1.0, 1e-8, per_decade=2,
                             tooltip=HYPER_TOOLTIPS["eps"]),
            "weight_decay": LogSlider("weight decay", 1e-4, 1.0, 0.0, allow_zero=True,
                                      per_decade=4, tooltip=HYPER_TOOLTIPS["weight_decay"]),
            "alpha": ParamSlider("α (RMSprop)", 0.5, 0.999, 0.99, step=0.001, decimals=3,
                                 tooltip=HYPER_TOOLTIPS["alpha"]),
        }
        # 1e-8 must not read as 0.000000; the slider's first stop past 1e-10 is 3.2e-10
        self.hyper["eps"].spinbox.setDecimals(11)
        box.addWidget(self.editing)
        for slider in self.hyper.values():
            box.addWidget(slider)
            slider.valueChanged.connect(lambda _v: self._hyper_changed())
        self.editing.valueChanged.connect(lambda _v: self._load_editor())
        form.addWidget(opt_box)

        noise_box = QGroupBox("Mini-batch noise (concept 29)")
        box = QVBoxLayout(noise_box)
        self.batch = ParamSlider("Batch size", 0, 256, 0, tooltip=(
            "0 = the full batch: exact gradients. A batch of B averages B per-example "
            "gradients, so its noise has variance σ²/B: small batches jitter."))
        self.noise = ParamSlider("σ per example", 0, 10, 2, step=0.1, decimals=1, tooltip=(
            "Standard deviation of one example's gradient around the true one"))
        self.seed = ParamSlider("Seed", 0, 999, 0, tooltip="Seeds the noise draws: the same "
                                                           "seed gives the same run")
        self.noise_caption = caption(small=True, lines=1)
        for widget in (self.batch, self.noise, self.seed, self.noise_caption):
            box.addWidget(widget)
        form.addWidget(noise_box)

        sched_box = QGroupBox("Learning-rate decay (concept 31)")
        box = QVBoxLayout(sched_box)

        self.scheduler = ChoiceBox("Schedule", [(k, t.split(" — ")[0], t) for k, t in
                                                SCHEDULERS.items()], "none",
                                   tooltip="torch.optim.lr_scheduler, stepped once per "
                                           "optimizer step")
        self.step_size = ParamSlider("Step size", 1, 500, 50, tooltip=(
            "StepLR: multiply the LR by γ every this many steps"))
        self.gamma = ParamSlider("γ", 0.5, 0.999, 0.5, step=0.001, decimals=3, tooltip=(
            "StepLR / ExponentialLR: the factor the LR is multiplied by"))
        self.plateau_factor = ParamSlider("Plateau factor", 0.05, 0.95, 0.5, step=0.05,
                                          decimals=2, tooltip=(
            "ReduceLROnPlateau: multiply the LR by this when the loss stops improving"))
        self.patience = ParamSlider("Patience", 0, 100, 10, tooltip=(
            "ReduceLROnPlateau: steps without improvement before the LR drops"))
        for widget in (self.scheduler, self.step_size, self.gamma, self.plateau_factor,
                       self.patience):
            box.addWidget(widget)
        form.addWidget(sched_box)
        form.addStretch(1)

        for widget in (self.condition, self.steps, self.batch, self.noise, self.seed,
                       self.step_size, self.gamma, self.plateau_factor, self.patience):
            widget.valueChanged.connect(lambda _v: self._run_settings_changed())
        self.condition.valueChanged.connect(lambda _v: self.request_update("surface"))
        self.surface.valueChanged.connect(self._surface_changed)
        self.scheduler.valueChanged.connect(lambda _v: (self._sync_enabled(),
                                                        self._run_settings_changed()))
        self.use_formula.clicked.connect(lambda: self.request_update("surface"))
        self.formula.returnPressed.connect(lambda: self.request_update("surface"))
        return scrolling(form, 320, 380)

    def _build_views(self) -> QWidget:
        self.map = SurfaceMap()
        self.map.setToolTip("Contours of f at log-spaced levels (pale = low); stars: minima; "
                            "○: the start. Black arrow: −lr·gradient; orange: −lr·velocity; "
                            "dashed box: Adam / RMSprop / Adagrad's per-axis step scale; "
                            "hollow dot: Nesterov's look-ahead. Click to start elsewhere.")
        self.map.startClicked.connect(self._start_clicked)
        self.show_memory = QCheckBox("Show what each remembers")
        self.show_memory.setChecked(True)
        self.show_memory.setToolTip("Arrows for the gradient and velocity, boxes for the "
                                    "per-axis step scale, at the shown step")
        self.show_memory.toggled.connect(lambda _v: self.request_update("shown"))
        self.play = QPushButton("Play")
        self.play.setToolTip("Animate the steps (Space)")
        self.play.setShortcut("Space")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("One step forward (→ with focus on the slider)")
        self.reset = QPushButton("Reset")
        self.reset.setToolTip("Back to step 0")
        self.step_slider = QSlider(Qt.Orientation.Horizontal)
        self.step_slider.setRange(0, 200)
        self.step_slider.setValue(200)
        self.step_slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.step_slider.setToolTip("The step shown on the map")
        self.step_label = QLabel("step 200 / 200")
        self.step_label.setFixedWidth(self.step_label.fontMetrics().horizontalAdvance(
            "step 0000 / 0000") + 8)
        self.play.clicked.connect(self._toggle_play)
        self.step_button.clicked.connect(lambda: self._set_shown(self._current_step() + 1))
        self.reset.clicked.connect(self._reset_steps)
        self.step_slider.valueChanged.connect(self._set_shown)
        play_row = QWidget()
        row = QHBoxLayout(play_row)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.play, self.step_button, self.reset):
            row.addWidget(widget)
        row.addStretch(1)
        slider_row = QWidget()
        row = QHBoxLayout(slider_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.step_slider, 1)
        row.addWidget(self.step_label)
        self.summary = caption(steady=True, lines=5)  # seven optimizers fit: nothing moves
        self.memory_text = caption(small=True, steady=True, lines=2)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.map, 1)
        # short rows: the map's column narrows to leave the tabs room at 1280×740
        left_layout.addWidget(slider_row)
        left_layout.addWidget(play_row)
        left_layout.addWidget(self.show_memory)
        left_layout.addWidget(self.summary)
        left_layout.addWidget(self.memory_text)

        self.plots = LossAndRate()
        self.basin_view = BasinView()
        self.basin_kind = ChoiceBox("Optimizer", [(k, OPTIMIZER_KINDS[k][0]) for k in KINDS],
                                    "momentum", tooltip="Whose basins to map (with its "
                                                        "settings on the left)")
        self.basin_resolution = ParamSlider("Starts per side", 8, 200, 60, tooltip=(
            "The map steps n×n starts at once: one (n², 2) tensor, one optimizer"))
        self.basin_steps = ParamSlider("Steps", 10, 2000, 300, step=10, tooltip=(
            "Steps each start takes before we look where it is"))
        self.basin_progress = ProgressLine()
        self.basin_caption = caption(steady=True, lines=3)
        basin_page = QWidget()
        page = QVBoxLayout(basin_page)
        page.setContentsMargins(0, 0, 0, 0)
        for widget in (self.basin_kind, self.basin_resolution, self.basin_steps):
            page.addWidget(widget)
        page.addWidget(self.basin_view, 1)
        page.addWidget(self.basin_progress)
        page.addWidget(self.basin_caption)
        for widget in (self.basin_kind, self.basin_resolution, self.basin_steps):
            widget.valueChanged.connect(lambda _v: self._basin_settings_changed())

        self.rate_map = RateMap()
        self.rate_caption = caption(steady=True, lines=5)
        rate_page = QWidget()
        page = QVBoxLayout(rate_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(self.rate_map, 1)
        page.addWidget(self.rate_caption)

        self.code = CodeView("PyTorch code that reproduces these trajectories")
        self.export_csv = QPushButton("Save trajectories as CSV…")
        self.export_csv.setToolTip("step, optimizer, x, y, f, learning rate per row")
        self.export_csv.clicked.connect(self._ask_csv)
        code_page = QWidget()
        page = QVBoxLayout(code_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(self.code, 1)
        page.addWidget(self.export_csv)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.plots, "Loss && LR")
        self.tabs.addTab(basin_page, "Basins")
        self.tabs.addTab(rate_page, "Momentum")
        self.tabs.addTab(code_page, "Code")
        self.tabs.setTabToolTip(0, "f − f_min per step (log scale) and the learning rate")
        self.tabs.setTabToolTip(1, "Where each start ends up, for one optimizer")
        self.tabs.setTabToolTip(2, "Quadratic: predicted vs measured convergence rate of "
                                   "SGD + momentum")
        self.tabs.currentChanged.connect(lambda _i: self._tab_changed())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([1, 1])  # even: the tabs' titles need room beside the map
        splitter.setChildrenCollapsible(False)
        return splitter

    # ================================================================== state
    def params(self) -> OptimizersView:
        return OptimizersView(
            surface=self.surface.value(), condition=float(self.condition.value()),
            formula=self.formula.text(), start=tuple(float(v) for v in self._start),
            steps=self.steps.value(),
            optimizers=tuple(self._settings[k] for k in KINDS),
            batch_size=self.batch.value(), noise=float(self.noise.value()),
            seed=self.seed.value(), scheduler=self.scheduler.value(),
            step_size=self.step_size.value(), gamma=float(self.gamma.value()),
            plateau_factor=float(self.plateau_factor.value()),
            plateau_patience=self.patience.value(), shown_step=self._shown_step,
            basin_kind=self.basin_kind.value(), basin_resolution=self.basin_resolution.value(),
            basin_steps=self.basin_steps.value(), editing=self.editing.value())

    def apply_params(self, params: OptimizersView) -> None:
        with self.updates_held():
            self._play_timer.stop()
            self.play.setText("Play")
            for kind in KINDS:
                self._check_sliders_show(params.settings(kind))
            self._settings = {k: params.settings(k) for k in KINDS}
            for widget, value in ((self.surface, params.surface),
                                  (self.condition, params.condition),
                                  (self.steps, params.steps), (self.batch, params.batch_size),
                                  (self.noise, params.noise), (self.seed, params.seed),
                                  (self.scheduler, params.scheduler),
                                  (self.step_size, params.step_size),
                                  (self.gamma, params.gamma),
                                  (self.plateau_factor, params.plateau_factor),
                                  (self.patience, params.plateau_patience),
                                  (self.basin_kind, params.basin_kind),
                                  (self.basin_resolution, params.basin_resolution),
                                  (self.basin_steps, params.basin_steps),
                                  (self.editing, params.editing)):
                widget.setValue(value)
            # after the surface box: choosing a surface moves the start to its default
            self._start = tuple(params.start)
            self._shown_step = params.shown_step
            self.formula.setText(params.formula)
            for kind, check in self.enabled_boxes.items():
                check.blockSignals(True)
                check.setChecked(self._settings[kind].enabled)
                check.blockSignals(False)
            self._load_editor()
            self._sync_enabled()
            self.request_update("surface", "trajectories", "basins", "rates", "code")
            self._basin_stale = True

    def examples(self) -> dict[int, Example]:
        return examples()

    def _sync_enabled(self) -> None:
        name = self.surface.value()
        self.condition.setVisible(name == "quadratic")
        self.formula_row.setVisible(name == "custom")
        sched = self.scheduler.value()
        self.step_size.setEnabled(sched == "step")
        self.gamma.setEnabled(sched in ("step", "exponential"))
        self.plateau_factor.setEnabled(sched == "plateau")
        self.patience.setEnabled(sched == "plateau")
        for kind, check in self.enabled_boxes.items():
            check.blockSignals(True)
            check.setChecked(self._settings[kind].enabled)
            check.blockSignals(False)

    def _load_editor(self) -> None:
        """Show the edited optimizer's hyper-parameters (greying those it ignores)."""
        s = self._settings[self.editing.value()]
        for name, slider in self.hyper.items():
            slider.blockSignals(True)
            slider.setValue(getattr(s, name))
            slider.blockSignals(False)
            slider.setEnabled(name in USES[s.kind])

    def _check_sliders_show(self, settings: OptimizerSettings) -> None:
        """ValueError (set_params refuses it) for a hyper-parameter its slider cannot show:
        out of range or finer than its spin box, it would be replaced silently the next
        time that optimizer is edited. The sliders are reloaded by `_load_editor`."""
        for name, slider in self.hyper.items():
            value = getattr(settings, name)
            slider.blockSignals(True)
            slider.setValue(value)
            slider.blockSignals(False)
            if slider.value() != value:
                raise ValueError(f"{OPTIMIZER_KINDS[settings.kind][0]}: {name} = {value!r} "
                                 f"cannot be shown (its slider gives {slider.value()!r})")

    def _hyper_changed(self) -> None:
        kind = self.editing.value()
        values = {name: float(slider.value()) for name, slider in self.hyper.items()}
        self._settings[kind] = dataclasses.replace(self._settings[kind], **values)
        self._run_settings_changed(basins_too=kind == self.basin_kind.value())

    def _toggle(self, kind: str, on: bool) -> None:
        self._settings[kind] = dataclasses.replace(self._settings[kind], enabled=on)
        if on:
            self.editing.setValue(kind)
        self.request_update("trajectories", "code")

    def _surface_changed(self, _name: str) -> None:
        self._sync_enabled()
        self._start = self._default_start()
        self.request_update("surface")

    def _default_start(self):
        name = self.surface.value()
        starts = {"local_minimum": (2.3, 1.0), "quadratic": (-1.8, 1.5),
                  "rosenbrock": (-1.5, 2.5), "beale": (1.0, 1.5), "himmelblau": (0.0, 0.0),
                  "saddle": (-1.5, 0.01), "custom": (4.0, 4.0)}
        return starts[name]

    def _run_settings_changed(self, basins_too: bool = True) -> None:
        self.request_update("trajectories", "code", "rates")
        if basins_too:
            self._basin_settings_changed()

    def _basin_settings_changed(self) -> None:
        self._basin_stale = True
        self.request_update("basins")

    def _start_clicked(self, x: float, y: float) -> None:
        self._start = (round(x, 4), round(y, 4))
        self._shown_step = -1
        self.request_update("trajectories", "code", "rates")

    # ================================================================== surface
    def _update_surface(self) -> None:
        view = self.params()
        key = (view.surface, view.condition if view.surface == "quadratic" else None,
               view.formula.strip() if view.surface == "custom" else None)
        if key == self._surface_key and self._surface is not None:
            self.request_update("trajectories", "basins", "rates", "code")
            return
        self.set_problems("surface", [])
        if view.surface == "custom" and self._sandbox is None:
            from lab.sandbox import Sandbox
            self._sandbox = Sandbox()
        self.surface_job.submit(_surface_job(key, self._sandbox))

    def _surface_ready(self, item) -> None:
        if isinstance(item, Progress):
            self.summary.setText(f"{item.stage}…")
            return
        key, surface, rgba = item
        self._surface, self._surface_key = surface, key
        self._f_min = surface.f_min
        self.map.set_surface(rgba, surface.domain, surface.minima)
        self.map.set_title(surface.title)
        self._basin = None
        self.basin_view.image.clear()
        self._basin_stale = True
        self.request_update("trajectories", "basins", "rates", "code")

    # ================================================================== trajectories
    def _run_key(self, view: OptimizersView, settings: OptimizerSettings) -> tuple:
        return (self._surface_key, view.start, view.steps, view.batch_size, view.noise,
                view.seed, view.scheduler, view.step_size, view.gamma, view.plateau_factor,
                view.plateau_patience, dataclasses.replace(settings, enabled=True))

    def _update_trajectories(self) -> None:
        if self._surface is None:
            return
        view = self.params()
        problems = view.problems()
        self.set_problems("trajectories", problems)
        if problems:
            self.request_update("rates")
            return
        self.map.set_start(view.start)
        self.basin_view.set_start(view.start)
        wanted = {s.kind: self._run_key(view, s) for s in view.enabled()}
        missing = [(kind, key, self._settings[kind]) for kind, key in wanted.items()
                   if key not in self._cache]
        self._wanted = wanted
        if missing:
            self.trajectory_job.submit(_trajectory_job(self._surface, view, missing))
        else:
            self.trajectory_job.cancel()
            self._show_runs()

    def _trajectory_ready(self, item) -> None:
        key, run = item
        if len(self._cache) > 200:
            self._cache.clear()
        self._cache[key] = run
        if key in self._wanted.values():
            self._show_runs(rates=False)  # the rates once all are in (idle)

    def _trajectories_idle(self) -> None:
        self._show_runs()

    def _show_runs(self, rates: bool = True) -> None:
        self._runs = {k: self._cache[key] for k, key in self._wanted.items()
                      if key in self._cache}
        steps = self.steps.value()
        self.step_slider.blockSignals(True)
        self.step_slider.setRange(0, steps)
        self.step_slider.setValue(self._current_step())
        self.step_slider.blockSignals(False)
        self.plots.set_runs(self._runs, self._f_min)
        self._update_shown()
        self._write_summary()
        if rates:
            self.request_update("rates")
        if len(self._runs) == len(self._wanted):
            self.mark_drawn()

    def _current_step(self) -> int:
        steps = self.steps.value()
        return steps if self._shown_step < 0 else min(self._shown_step, steps)

    def _update_shown(self) -> None:
        step = self._current_step()
        self.step_label.setText(f"step {step} / {self.steps.value()}")
        self.plots.set_cursor(step)
        self.map.set_paths(self._runs, step)
        self._draw_memory(step)

    def _set_shown(self, step: int) -> None:
        steps = self.steps.value()
        step = max(0, min(int(step), steps))
        self._shown_step = -1 if step == steps else step
        self.step_slider.blockSignals(True)
        self.step_slider.setValue(step)
        self.step_slider.blockSignals(False)
        self._update_shown()

    def _reset_steps(self) -> None:
        self._play_timer.stop()
        self.play.setText("Play")
        self._set_shown(0)

    def _toggle_play(self) -> None:
        if self._play_timer.isActive():
            self._play_timer.stop()
            self.play.setText("Play")
            return
        if self._current_step() >= self.steps.value():
            self._set_shown(0)
        self._play_timer.start()
        self.play.setText("Pause")

    def _advance(self) -> None:
        steps = self.steps.value()
        step = self._current_step() + max(1, steps // 60)  # ~2.5 s for a run
        self._set_shown(step)
        if step >= steps:
            self._play_timer.stop()
            self.play.setText("Play")

    def _draw_memory(self, step: int) -> None:
        heads, grads, vels, looks, rects, lines = [], [], [], [], [], []
        show = self.show_memory.isChecked() and self._surface is not None
        span = self._surface.span if self._surface is not None else 1.0
        arrows, rects_at = [], []
        for kind, run in self._runs.items():
            x, y = run.points[min(step, run.steps)]
            if not np.all(np.isfinite((x, y))):
                continue
            heads.append((x, y, COLOURS[kind]))
            t = min(step, run.steps - 1)  # at the end: what the last step used
            if not show or t < 0:
                continue
            x, y = run.points[t]
            s = self._settings[kind]
            lr = run.lrs[t]
            arrows.append((kind, (x, y), -lr * run.grads[t], -lr * run.velocity[t]))
            if kind == "nesterov" and np.all(np.isfinite(run.velocity[t])):
                lx, ly = run.points[t + 1] - lr * s.momentum * run.velocity[t]
                looks.append((lx, ly, COLOURS[kind]))
            if np.all(np.isfinite(run.second[t])):
                scale = run.step_scale(t, s.eps)
                lines.append(f"{OPTIMIZER_KINDS[kind][0]} x {scale[0]:.3g}, y {scale[1]:.3g}")
                rects.append(scale)
                rects_at.append(((x, y), scale))
        # one display factor for every arrow: the longest is 12 % of the domain
        longest = max((np.hypot(*v) for _, _, g, vel in arrows for v in (g, vel)
                       if np.all(np.isfinite(v))), default=0.0)
        factor = 0.12 * span / longest if longest > 0 else 0.0
        for _kind, (x, y), g, vel in arrows:
            if np.all(np.isfinite(g)):
                grads.extend([(x, y), (x + factor * g[0], y + factor * g[1])])
            if np.all(np.isfinite(vel)):
                vels.extend([(x, y), (x + factor * vel[0], y + factor * vel[1])])
        boxes = []
        if rects:
            biggest = max(float(np.max(r)) for r in rects) or 1.0
            for (x, y), scale in rects_at:
                hx, hy = 0.06 * span * scale / biggest
                boxes.append(np.array([(x - hx, y - hy), (x + hx, y - hy), (x + hx, y + hy),
                                       (x - hx, y + hy), (x - hx, y - hy)]))
        self.map.set_memory(heads, grads, vels, looks, boxes)
        shown = min(step, self.steps.value() - 1)
        self.memory_text.setText(f"Per-axis step scale lr/(√v+ε) at step {shown}: "
                                 + "; ".join(lines) if show and lines else "")

    def _write_summary(self) -> None:
        surface = self._surface
        if surface is None or not self._runs:
            self.summary.setText("")
            return
        parts = []
        for kind, run in self._runs.items():
            title = OPTIMIZER_KINDS[kind][0]
            if run.stopped:
                parts.append(f"{title}: {run.stopped}")
                continue
            x, y = run.points[-1]
            where = _nearest_minimum(surface, (x, y))
            gap = run.losses[-1] - self._f_min
            parts.append(f"{title} → ({x:.3g}, {y:.3g}){where}, f − f* {gap:.2g}")
        view = self.params()
        noise = trajectories.noise_std(view)
        self.noise_caption.setText(
            f"gradient noise std per axis σ/√B = {view.noise:g}/√{view.batch_size} = "
            f"{noise:.3g}" if view.batch_size else "full batch: exact gradients, no noise")
        self.summary.setText(f"After {self.steps.value()} steps (f* = {self._f_min:.4g}, the "
                             f"lowest minimum): " + "; ".join(parts) + ".")

    # ================================================================== basins
    def _tab_changed(self) -> None:
        self.request_update("basins", "rates", "code")

    def _update_basins(self) -> None:
        if self._surface is None or self.tabs.currentIndex() != 1 or not self._basin_stale:
            return
        view = self.params()
        problems = [p for p in view.problems() if "basin" in p]
        settings = view.settings(view.basin_kind)
        problems += settings.problems()
        self.set_problems("basins", problems)
        if problems:
            return
        self._basin_stale = False
        from lab.device import pick_device
        device = pick_device().type
        # float64 starts: MPS has no float64, so a Mac maps on the CPU
        self.basin_job.submit(basins.basin_job(self._surface, view,
                                               device=device if device == "cuda" else "cpu"))

    def _basin_item(self, item) -> None:
        if isinstance(item, Progress):
            self.basin_progress.show_progress(item)
            return
        self._basin = item
        self.basin_view.set_map(item, self._start)
        counts = item.counts()
        total = item.labels.size
        names = []
        for label, count in sorted(counts.items()):
            if label == basins.DIVERGED:
                names.append(f"diverged {100 * count / total:.0f} %")
            elif label == basins.NOT_CONVERGED:
                names.append(f"not converged in {item.steps} steps (grey) "
                             f"{100 * count / total:.0f} %")
            else:
                mx, my = item.minima[label]
                colour = MINIMUM_COLOURS[label % len(MINIMUM_COLOURS)]
                names.append(f"<span style='color:{colour}'>■</span> ({mx:.2f}, {my:.2f}) "
                             f"{100 * count / total:.0f} %")
        title = OPTIMIZER_KINDS[item.kind][0]
        self.basin_caption.setText(f"{title}, {item.labels.shape[0]}² starts: "
                                   + ", ".join(names) + (f". {item.note}" if item.note else ""))
        self.basin_progress.done()

    # ================================================================== rates
    def _update_rates(self) -> None:
        if self.tabs.currentIndex() != 2:
            return
        view = self.params()
        if view.surface != "quadratic":
            self.rate_caption.setText("Choose the ill-conditioned quadratic: there the "
                                      "rate of SGD + momentum can be predicted exactly.")
            self.rate_map.image.clear()
            return
        s = view.settings("momentum")
        grid = rates.rate_map(view.condition, RATE_LRS, RATE_MOMENTA)
        self.rate_map.set_map(grid, np.log10(RATE_LRS), RATE_MOMENTA)
        self.rate_map.set_marker(s.lr, s.momentum)
        best_lr, best_momentum, best_rate = rates.optimal_setting(view.condition)
        self.rate_map.set_best(best_lr, best_momentum)
        predicted = float(rates.predicted_rate(s.lr, s.momentum, view.condition))
        run = self._runs.get("momentum")
        measured = rates.measured_rate(run.points) if run is not None else None
        exact = view.batch_size == 0 and view.scheduler == "none" and s.weight_decay == 0
        text = (f"SGD + momentum, lr {s.lr:g}, μ {s.momentum:g}, κ {view.condition:g}: "
                f"predicted rate {predicted:.4f} per step")
        if predicted >= 1:
            text += " — does not converge (grey region)"
        if measured is None:
            text += ("; turn on SGD + momentum to measure it" if run is None
                     else "; too few steps to measure")
        else:
            text += f", measured {measured:.4f} ({100 * (measured / predicted - 1):+.1f} %)"
            if not exact:
                text += " — noise, a schedule or weight decay change the measured rate"
        self.rate_caption.setText(
            text + f". Fastest possible (☆): lr {best_lr:.3g}, μ {best_momentum:.3g}, rate "
                   f"{best_rate:.4f}. Rate = max over the curvatures 1/κ and 1 of the larger "
                   "|root| of z² − (1 + μ − α·λ)z + μ; dark = fast, bright = slow, grey = "
                   "diverges.")

    # ================================================================== code, CSV
    def _update_code(self) -> None:
        if self._surface is None or self.tabs.currentIndex() != 3:
            return
        view = self.params()
        if not view.problems() and view.enabled():
            self.code.set_code(trajectory_code(self._surface, view))

    def trajectories_csv(self) -> str:
        lines = ["step,optimizer,x,y,f,lr"]
        for kind, run in self._runs.items():
            for t in range(len(run.points)):
                lr = run.lrs[t] if t < len(run.lrs) else float("nan")
                x, y = run.points[t]
                lines.append(f"{t},{kind},{x!r},{y!r},{run.losses[t]!r},{lr!r}")
        return "\n".join(lines) + "\n"

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save trajectories", "optimizers.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_trajectories(path)

    def export_trajectories(self, path: str | Path) -> bool:
        """False, with the path and the reason in the banner, when it cannot be written."""
        return self.exported(write_text(path, self.trajectories_csv(), self.export_failed))

    # ================================================================== lifetime
    def shutdown(self) -> None:
        self._play_timer.stop()
        super().shutdown()
        if self._sandbox is not None:
            self._sandbox.close()


def _nearest_minimum(surface: surfaces.Surface, point) -> str:
    if not surface.minima:
        return ""
    distances = [np.hypot(point[0] - a, point[1] - b) for a, b in surface.minima]
    index = int(np.argmin(distances))
    if distances[index] < 0.03 * surface.span:
        a, b = surface.minima[index]
        return f" = minimum ({a:.3g}, {b:.3g})"
    return " (no minimum)"


def _surface_job(key: tuple, sandbox):
    """Build the surface (a typed formula through the sandbox) and its contour bands."""
    name, condition, text = key

    def make(should_stop):
        if name == "custom":
            from lab.sandbox import Finished, SandboxError
            prepared = None
            try:
                for item in sandbox.steps(surfaces.prepare_formula, text,
                                          should_stop=should_stop, stage="reading f(x, y)"):
                    if isinstance(item, Finished):
                        prepared = item.value
                    else:
                        yield item
            except SandboxError as exc:
                raise ValueError(str(exc).split(": ", 1)[-1]) from None
            if prepared is None:
                return
            yield Progress("finding the minima", 0.5)
            surface = surfaces.custom(text, prepared)
        else:
            surface = surfaces.preset(name, condition or 10.0)
        _, _, values = surface.grid(220)
        if not np.isfinite(values).any():
            raise ValueError("f is not defined anywhere on the map")
        rgba, _ = contour_bands(values, surface.f_min)
        yield key, surface, rgba
    return make


def _trajectory_job(surface, view: OptimizersView, missing):
    def make(should_stop):
        for _kind, key, settings in missing:
            if should_stop():
                return
            yield key, trajectories.run(surface, view, settings)
    return make
