"""Architectures panel (concepts 15–19): three tabs over `lab.architectures`.

- `ConnectivityTab`: plain vs ResNet vs DenseNet, traced and drawn side by side, their
  connections counted, and the gradient that reaches each layer.
- `ClassicTab`: LeNet-5 … DenseNet-121, every layer's shape, parameters, multiply-adds.
- `ModuleTab`: the module tree, modules() vs children(), the home-made layers.

Tracing, shape passes, layouts and gradient runs happen on worker threads (`LatestJob`:
one job at a time, the newest request wins); the GUI thread only turns finished layouts
into items, in slices (`GraphView`). Each tab reports its problems to the one banner.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from lab.architectures.examples import EXAMPLES
from lab.architectures.view import ArchitecturesView
from lab.params import Example
from widgets.architectures.classic_tab import ClassicTab
from widgets.architectures.connectivity_tab import ConnectivityTab
from widgets.architectures.module_tab import ModuleTab
from widgets.kit.controls import ErrorBanner
from widgets.kit.jobs import freeze_heap
from widgets.kit.panel import AppState, Panel

TABS = ("connectivity", "classic", "modules")


class ArchitecturesPanel(Panel):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.banner = ErrorBanner()
        self.connectivity = ConnectivityTab()
        self.classic = ClassicTab()
        self.modules = ModuleTab(self.connectivity.connectivity_params)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.connectivity, "Plain · ResNet · DenseNet")
        self.tabs.addTab(self.classic, "Classic nets")
        self.tabs.addTab(self.modules, "Inside nn.Module")
        self.tabs.setTabToolTip(0, "The three connectivity patterns side by side, and how "
                                   "much gradient reaches their first layers")
        self.tabs.setTabToolTip(1, "LeNet-5, AlexNet, VGG, GoogLeNet, ResNet-18, DenseNet-121: "
                                   "every layer's shape, parameters and multiply-adds")
        self.tabs.setTabToolTip(2, "modules() vs children() vs named_parameters(); the "
                                   "home-made Flatten and ChannelScale layers; train / eval")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        for tab in self.all_tabs():
            tab.problemsChanged.connect(self._tab_problems_changed)
            tab.drawn.connect(self.mark_drawn)
        self.tabs.currentChanged.connect(self._tab_changed)
        freeze_heap("torch and Qt")
        self.connectivity.request_update("connectivity", "gradient")

    def params(self) -> ArchitecturesView:
        return ArchitecturesView(TABS[self.tabs.currentIndex()], self.connectivity.params(),
                                 self.classic.params(), self.modules.params())

    def apply_params(self, view: ArchitecturesView) -> None:
        self.connectivity.apply_params(view.connectivity)
        self.classic.apply_params(view.classic)
        self.modules.apply_params(view.modules)
        self.tabs.setCurrentIndex(TABS.index(view.tab))

    def examples(self) -> dict[int, Example]:
        return EXAMPLES

    def refuse_params(self, message: str) -> None:
        super().refuse_params(message)
        self._show_problems()

    def all_tabs(self) -> tuple[ConnectivityTab, ClassicTab, ModuleTab]:
        return self.connectivity, self.classic, self.modules

    def _tab_changed(self, index: int) -> None:
        """The other tabs compute their first result when first shown."""
        if index == 1 and self.classic.requested is None:
            self.classic.request_update("classic")
        if index == 2 and not self.modules.shown_choice:
            self.modules.request_update("tree")
        self._show_problems()

    def _tab_problems_changed(self) -> None:
        self._part_problems.pop("params", None)  # a tab computed: a refused view's note is old
        self._show_problems()

    def _show_problems(self) -> None:
        self.banner.show_problems(self.problems())

    def problems(self) -> list[str]:
        """A refused view's note, then the current tab's problems (what the banner says)."""
        return self.part_problems("params") + self.all_tabs()[self.tabs.currentIndex()].problems()

    def flush(self) -> None:
        """Recompute whatever any tab has marked stale, now."""
        for tab in self.all_tabs():
            tab.flush()

    def is_idle(self) -> bool:
        """No job running or waiting and every graph fully drawn (tests, benchmarks)."""
        return all(tab.is_idle() for tab in self.all_tabs())

    def shutdown(self) -> None:
        for tab in self.all_tabs():
            tab.shutdown()
