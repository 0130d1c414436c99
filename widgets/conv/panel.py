"""Convolution panel (concepts 25, 26): kernels, channels, stride, padding and dilation you
can drag, on the current image and on a grid of numbers.

A thin view over `lab.conv`: controls -> `ConvParams` / `ConvTransposeParams` -> lab ->
draw. Changes are coalesced by the Panel base (`request_update` / `flush`), so a slider
drag never queues stale work: whatever the controls say when it flushes is computed. The exported
code (a few hundred numbers) is rewritten once the controls rest, not on every frame.

The two tabs live in their own modules, as mixins of `ConvPanel`: `image_mode.ImageMode`
(kernels on the image) and `grid_mode.GridMode` (the arithmetic on a grid of numbers).
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from lab.conv.examples import EXAMPLES
from lab.conv.view import ConvView
from lab.device import intra_op_threads
from lab.params import Example
from widgets.conv.grid_mode import GridMode
from widgets.conv.image_mode import ImageMode
from widgets.kit.controls import ErrorBanner
from widgets.kit.panel import AppState, Panel


class ConvPanel(ImageMode, GridMode, Panel):
    """The Convolution page: the image tab (`ImageMode`) and the arithmetic tab (`GridMode`)
    under one banner; the updaters, the view dataclass and closing live here."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.compute_counts = self.update_counts  # what tests and benchmarks read
        self.updaters = {"image": self._update_image, "view": self._update_view,
                         "display": self._show_maps, "grid": self._update_grid}
        self._init_image_state()
        self._init_grid_state()

        self.banner = ErrorBanner()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_image_tab(), "Image: kernels and channels")
        self.tabs.addTab(self._build_grid_tab(), "Arithmetic: the sliding window")
        self.tabs.setTabToolTip(0, "Several kernels on your image, one feature map each")
        self.tabs.setTabToolTip(1, "Every output number as a multiply-and-add you can check")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.problemsChanged.connect(self._show_problems)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        state.imageChanged.connect(self._image_changed)
        self._sync_groups()
        self._sync_kernel_editor_controls()
        self._sync_grid_enabled()
        self.request_update("image", "grid")

    # ====================================================================== state
    def params(self) -> ConvView:
        return ConvView(tab="grid" if self.tabs.currentIndex() == 1 else "image",
                        layer=self.conv_params(), kernel_channel=self.kernel_channel.value(),
                        in_index=self.in_index.value(), edit_all=self.edit_all.isChecked(),
                        link_kernel=self.link_kernel.isChecked(),
                        scale_mode=self.scale_mode.value(), grid=self._grid_view())

    def apply_params(self, view: ConvView) -> None:
        self.tabs.setCurrentIndex(1 if view.tab == "grid" else 0)
        self._apply_layer(view)
        self._apply_grid(view.grid)

    def examples(self) -> dict[int, Example]:
        return EXAMPLES

    def _tab_changed(self, _index: int) -> None:
        if self.tabs.currentIndex() != 1:
            self.play.setChecked(False)
        self._show_problems()

    # ====================================================================== computing
    # the image update draws the view and the maps anyway; the view update the maps
    covers = {"image": ("view", "display"), "view": ("display",)}

    def flush(self) -> None:
        # screen-sized work: one intra-op thread (see lab.device.intra_op_threads)
        with intra_op_threads(1):
            super().flush()

    def update_failed(self, part: str, exc: Exception) -> None:
        super().update_failed("grid" if part == "grid" else "image", exc)

    def flushed(self, parts: set[str]) -> None:
        self.mark_drawn()

    def _show_problems(self) -> None:
        part = "grid" if self.tabs.currentIndex() == 1 else "image"
        problems = self.part_problems("params") + self.part_problems(part)
        if problems != self.banner.problems() or bool(problems) == self.banner.isHidden():
            self.banner.show_problems(problems)

    # ====================================================================== closing
    def shutdown(self) -> None:
        self._rest_timer.stop()
        self._play_timer.stop()
        self._code_timer.stop()
        super().shutdown()
