"""The application shell: the panel registry, the main window, menus, status bar, CLI runs.

Panels are listed once, in `PANELS`. The navigation list, View menu shortcuts,
`--list-panels`, `--panel`, `--screenshot`, the Welcome page's links and the tests all
read that list. Each panel module is imported, and its panel built, the first time it is
shown, so start-up stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QFontMetrics,
    QIcon,
    QKeySequence,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from lab.device import keep_freed_memory
from lab.images import READABLE_SUFFIXES, SAMPLES, ImageLoadError, LabImage, load_source
from lab.params import ParamsError, from_data, to_data
from lab.saved_view import (
    SavedView,
    ViewFileError,
    looks_like_view,
    read_view,
    view_to_json,
)
from widgets.kit import wheel, workers
from widgets.kit.controls import ErrorBanner
from widgets.kit.files import save_image, write_text
from widgets.kit.panel import AppState, Panel
from widgets.kit.settings import TRAINER_ENV, app_settings, trains_in_process
from widgets.kit.theme import THEMES, apply_theme, current_theme
from widgets.kit.workers import GeneratorWorker

APP_NAME = "Visual Lab"
APP_VERSION = "0.1.0"


# =========================================================================== registry

@dataclass(frozen=True)
class PanelSpec:
    id: str
    title: str
    description: str
    #: row numbers of CONCEPTS.md this panel shows
    concepts: tuple[int, ...]
    #: file name (without .svg) in resources/icons
    icon: str
    factory: Callable[[AppState], Panel]


def _welcome(state: AppState) -> Panel:
    from widgets.welcome.panel import WelcomePanel

    return WelcomePanel(state, PANELS)


def _pooling(state: AppState) -> Panel:
    from widgets.pooling.panel import PoolingPanel

    return PoolingPanel(state)


def _architectures(state: AppState) -> Panel:
    from widgets.architectures.panel import ArchitecturesPanel

    return ArchitecturesPanel(state)


def _conv(state: AppState) -> Panel:
    from widgets.conv.panel import ConvPanel

    return ConvPanel(state)


def _augment(state: AppState) -> Panel:
    from widgets.augment.panel import AugmentPanel

    return AugmentPanel(state)


def _calculus(state: AppState) -> Panel:
    from widgets.calculus.panel import CalculusPanel

    return CalculusPanel(state)


def _normalization(state: AppState) -> Panel:
    from widgets.normalization.panel import NormalizationPanel

    return NormalizationPanel(state)


def _training(state: AppState) -> Panel:
    from widgets.training.panel import TrainingPanel

    return TrainingPanel(state)


def _optimizers(state: AppState) -> Panel:
    from widgets.optimizers.panel import OptimizersPanel

    return OptimizersPanel(state)


def _regularization(state: AppState) -> Panel:
    from widgets.regularization.panel import RegularizationPanel

    return RegularizationPanel(state)


PANELS: list[PanelSpec] = [
    PanelSpec("welcome", "Welcome", "The concept map: every idea and where to see it",
              (), "welcome", _welcome),
    PanelSpec("calculus", "Calculus",
              "Derivatives rule by rule, Taylor, L'Hôpital, critical points; autograd",
              (1, 2, 3, 4), "calculus", _calculus),
    PanelSpec("augment", "Augmentation",
              "Build a torchvision v2 pipeline; see a grid of its random draws",
              (6, 7, 8, 9, 10, 11, 22), "augment", _augment),
    PanelSpec("conv", "Convolution",
              "Kernels, channels, stride, padding, dilation, groups; the sliding window",
              (25, 26), "conv", _conv),
    PanelSpec("pooling", "Pooling & Upsampling",
              "Max / average / LP pooling windows; nearest, bilinear, transposed conv",
              (23, 24), "pooling", _pooling),
    PanelSpec("architectures", "Architectures",
              "Plain vs ResNet vs DenseNet, the classic nets, what nn.Module holds",
              (15, 16, 17, 18, 19), "architectures", _architectures),
    PanelSpec("normalization", "Normalization",
              "Batch, Layer, Instance, Group norm: which axes; running stats, train vs eval",
              (14, 20, 21, 22), "normalization", _normalization),
    PanelSpec("training", "Training lab",
              "Live curves: dropout, L1/L2, LR decay, early stopping, K-fold",
              (5, 12, 13, 14, 27, 28, 29, 30, 31, 32, 34, 35), "training", _training),
    PanelSpec("optimizers", "Optimizers",
              "SGD, momentum, Adam… on a 2-D surface: noise, LR decay, basins",
              (29, 30, 31), "optimizers", _optimizers),
    PanelSpec("regularization", "Regularization",
              "Occam's razor with polynomials: degree, L1/L2 penalty, bias and variance",
              (32, 33, 34, 35), "regularization", _regularization),
]
DEFAULT_PANEL = "welcome"


def menu_text(title: str) -> str:
    """A title as a menu shows it: a lone `&` would be taken as a mnemonic and vanish."""
    return title.replace("&", "&&")


def panel_spec(panel_id: str) -> PanelSpec:
    for spec in PANELS:
        if spec.id == panel_id:
            return spec
    raise KeyError(panel_id)


def panel_icon(spec: PanelSpec) -> QIcon:
    path = resources.files("resources") / "icons" / f"{spec.icon}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


# =========================================================================== nav list

class _NavDelegate(QStyledItemDelegate):
    """Navigation rows: icon, bold title, one-line description beneath."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else QApplication.style()
        text_title, option.text = option.text, ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        rect = option.rect.adjusted(44, 6, -6, -6)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        group = QPalette.ColorGroup.Active
        main = option.palette.color(group, QPalette.ColorRole.HighlightedText if selected
                                    else QPalette.ColorRole.Text)
        dim = QColor(main)
        dim.setAlpha(170)
        painter.save()
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(main)
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, text_title)
        painter.setFont(self._small_font(option))
        painter.setPen(dim)
        description = index.data(Qt.ItemDataRole.UserRole + 1) or ""
        lower = rect.adjusted(0, option.fontMetrics.height() + 2, 0, 0)
        painter.drawText(lower, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
                         | Qt.TextFlag.TextWordWrap, description)
        painter.restore()

    @staticmethod
    def _small_font(option: QStyleOptionViewItem) -> QFont:
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.85))
        return small

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        """Tall enough for the description wrapped to the list's width (a narrow list
        wraps it onto a third line, which a fixed height would cut)."""
        width = option.widget.viewport().width() if option.widget is not None else 230
        description = index.data(Qt.ItemDataRole.UserRole + 1) or ""
        text_width = max(60, width - 50)  # paint()'s margins: 44 left, 6 right
        wrapped = QFontMetrics(self._small_font(option)).boundingRect(
            0, 0, text_width, 10_000, Qt.TextFlag.TextWordWrap, description)
        return QSize(width, option.fontMetrics.height() + 2 + wrapped.height() + 14)


# =========================================================================== main window

class MainWindow(QMainWindow):
    """Navigation list on the left, the current panel on the right."""

    panelChanged = Signal(str)
    #: events arrive while __init__ runs: until it ends, no frame counts as the first
    _first_frame_painted = True
    _device_probe_allowed = True
    #: start the Training lab's trainer process after the first paint (not for a scripted
    #: --screenshot / --save-view run, which would pay its seconds of CPU for nothing)
    prestart_trainer = True

    def __init__(self, state: AppState | None = None, *, save_settings: bool = True) -> None:
        super().__init__()
        self.state = state or AppState()
        self._save_settings = save_settings
        self._panels: dict[str, Panel | QWidget] = {}
        self._current_id = ""
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.resize(1400, 900)

        self.nav = QListWidget()
        self.nav.setItemDelegate(_NavDelegate(self.nav))
        self.nav.setIconSize(QSize(28, 28))
        self.nav.setResizeMode(QListView.ResizeMode.Adjust)  # rows re-wrap on resize
        self.nav.setMinimumWidth(230)
        self.nav.setMaximumWidth(320)
        for number, spec in enumerate(PANELS, start=1):
            item = QListWidgetItem(panel_icon(spec), spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, spec.description)
            shortcut = f" (Ctrl+{number})" if number <= 9 else ""
            item.setToolTip(f"{spec.description}{shortcut}")
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self._nav_row_changed)

        self.banner = ErrorBanner()
        self.stack = QStackedWidget()
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 4)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.stack, 1)
        splitter = QSplitter()
        splitter.addWidget(self.nav)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

        self.device_label = QLabel("Device: detecting…")
        self.device_label.setToolTip("Where training and heavy tensors run")
        self.image_label = QLabel()
        self.statusBar().addPermanentWidget(self.image_label)
        self.statusBar().addPermanentWidget(self.device_label)
        self.state.imageChanged.connect(self._show_image_name)
        self.state.deviceChanged.connect(lambda text: self.device_label.setText(f"Device: {text}"))
        self._show_image_name(self.state.image)

        self._build_menus()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown_panels)
        # torch (~3 s to import) loads on a worker thread once the first frame is painted:
        # detecting the device on the GUI thread kept the window black for 1.7 s
        self._first_frame_painted = False
        self._device_worker: GeneratorWorker | None = None

    # -- menus -----------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = file_menu.addAction("&Open image…", self.ask_open_image)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.setToolTip("Open a PNG, JPEG, BMP or WebP file "
                                    "(or drop one on the window)")
        samples = file_menu.addMenu("Open &sample image")
        for sample_id, text in SAMPLES.items():
            action = samples.addAction(text)
            action.triggered.connect(lambda _=False, s=sample_id: self.open_source(f"sample:{s}"))
        file_menu.addSeparator()
        self.open_view_action = file_menu.addAction("Open &view…", self.ask_open_view)
        self.open_view_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.open_view_action.setToolTip("Restore a saved view: its panel, settings and image "
                                         "(or drop a view's .json file on the window)")
        self.save_view_action = file_menu.addAction("&Save view…", self.ask_save_view)
        self.save_view_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.save_view_action.setToolTip("Save this panel's settings and image as a small "
                                         "JSON file to reopen or share")
        file_menu.addSeparator()
        self.export_action = file_menu.addAction("&Export view as PNG…", self.ask_export_png)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        view_menu = self.menuBar().addMenu("&View")
        self.panel_actions: list[QAction] = []
        for number, spec in enumerate(PANELS, start=1):
            action = view_menu.addAction(panel_icon(spec), menu_text(spec.title))
            if number <= 9:
                action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _=False, pid=spec.id: self.show_panel(pid))
            self.panel_actions.append(action)
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = theme_menu.addAction(name.capitalize())
            action.setCheckable(True)
            action.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            self.theme_group.addAction(action)
            self.theme_actions[name] = action
        self.theme_actions[current_theme()].setChecked(True)

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&About Visual Lab", self.show_about)

    # -- panels ----------------------------------------------------------------------
    def show_panel(self, panel_id: str) -> Panel | QWidget:
        """Switch to a panel, building it on first show."""
        spec = panel_spec(panel_id)
        widget = self.built_panel(panel_id)
        self.stack.setCurrentWidget(widget)
        self._current_id = panel_id
        row = [s.id for s in PANELS].index(panel_id)
        if self.nav.currentRow() != row:
            self.nav.blockSignals(True)
            self.nav.setCurrentRow(row)
            self.nav.blockSignals(False)
        self.setWindowTitle(f"{spec.title} — {APP_NAME}")
        self.panelChanged.emit(panel_id)
        return widget

    def built_panel(self, panel_id: str) -> Panel | QWidget:
        """The panel, built (but not shown) if it was not yet."""
        if panel_id not in self._panels:
            self._panels[panel_id] = self._build_panel(panel_spec(panel_id))
            self.stack.addWidget(self._panels[panel_id])
        return self._panels[panel_id]

    def _build_panel(self, spec: PanelSpec) -> Panel | QWidget:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            panel = spec.factory(self.state)
            if hasattr(panel, "openPanel"):
                panel.openPanel.connect(self.show_panel)
            if hasattr(panel, "openExample"):
                panel.openExample.connect(self.open_example)
            return panel
        except Exception as exc:  # noqa: BLE001 - one broken panel must not take the app down
            failed = QLabel(f"The {spec.title} panel could not be built:\n{type(exc).__name__}: "
                            f"{exc}")
            failed.setAlignment(Qt.AlignmentFlag.AlignCenter)
            failed.setWordWrap(True)
            self.banner.show_message(f"{spec.title}: {exc}")
            return failed
        finally:
            QApplication.restoreOverrideCursor()

    def _nav_row_changed(self, row: int) -> None:
        if 0 <= row < len(PANELS):
            self.show_panel(PANELS[row].id)

    def current_panel_id(self) -> str:
        return self._current_id

    def current_panel(self) -> Panel | QWidget | None:
        return self._panels.get(self._current_id)

    def built_panels(self) -> dict[str, Panel | QWidget]:
        return dict(self._panels)

    def shutdown_panels(self) -> None:
        self._first_frame_painted = True  # closing: a probe still scheduled must not start
        self._device_probe_allowed = False
        if self._device_worker is not None:
            # an import cannot be interrupted: closing in the first seconds waits for torch
            # (a QThread destroyed while running aborts the process)
            self._device_worker.stop_and_wait(timeout_ms=120_000)
        for panel in self._panels.values():
            if isinstance(panel, Panel):
                panel.shutdown()
        trainers = sys.modules.get("lab.training.process")
        if trainers is not None:  # the Training lab's trainer: asked to quit, exit collected
            trainers.close_shared_pool()

    # -- images ----------------------------------------------------------------------
    def ask_open_image(self) -> None:
        patterns = " ".join(f"*{s}" for s in READABLE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", f"Images ({patterns})")
        if path:
            self.open_source(path)

    def open_source(self, source: str) -> bool:
        """Make a file path or "sample:<id>" the current image; False (and a message) if
        it cannot be read, in which case the previous image stays."""
        try:
            image = load_source(source)
        except ImageLoadError as exc:
            self.banner.show_message(f"Could not open image: {exc}")
            self.statusBar().showMessage(f"Could not open image: {exc}", 8000)
            return False
        self.banner.clear()
        self.state.set_image(image)
        conversion = image.meta.get("conversion")
        self.statusBar().showMessage(f"Opened {image.describe()}"
                                     + (f" ({conversion})" if conversion else ""),
                                     12_000 if conversion else 4000)
        return True

    def _show_image_name(self, image: LabImage) -> None:
        self.image_label.setText(f"Image: {image.describe()}")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                path = url.toLocalFile()
                if looks_like_view(path):
                    self.open_view(path)
                else:
                    self.open_source(path)
                event.acceptProposedAction()
                return

    # -- saved views and prepared examples ---------------------------------------------
    def current_view(self) -> SavedView:
        """The current panel's id, parameters (as JSON data) and image source."""
        panel = self.current_panel()
        if not isinstance(panel, Panel):
            raise ViewFileError("this panel could not be built, so it has no view to save")
        return SavedView(self._current_id, to_data(panel.params()), self.state.image.source)

    def ask_save_view(self) -> None:
        name = f"visual-lab-{self._current_id or 'view'}.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save view", name, "Visual Lab view (*.json)")
        if path:
            self.save_view(path)

    def save_view(self, path: str | Path) -> bool:
        """Write the current view to `path` (replacing it whole or not at all)."""
        try:
            view = self.current_view()
        except ViewFileError as exc:
            self._report(f"Could not save the view: {exc}")
            return False
        if not write_text(path, view_to_json(view), self._report):
            return False
        self.statusBar().showMessage(f"Saved the view to {path}", 5000)
        return True

    def ask_open_view(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open view", "", "Visual Lab view (*.json)")
        if path:
            self.open_view(path)

    def open_view(self, path: str | Path) -> bool:
        """Restore a saved view; on any problem say what it is and keep the current view."""
        try:
            view = read_view(path)
        except ViewFileError as exc:
            self._report(f"Could not open the view: {exc}")
            return False
        return self.apply_view(view, Path(path).name)

    def apply_view(self, view: SavedView, where: str = "the view") -> bool:
        if view.panel not in {s.id for s in PANELS}:
            self._report(f"Could not open {where}: it is for a panel called {view.panel!r}, "
                         f"which this Visual Lab does not have")
            return False
        panel = self.built_panel(view.panel)
        if not isinstance(panel, Panel):
            return False
        try:
            params = from_data(type(panel.params()), view.params, "params")
        except ParamsError as exc:
            self._report(f"Could not open {where}: {exc}")
            return False
        note = ""
        if view.image and view.image != self.state.image.source:
            try:
                self.state.set_image(load_source(view.image))
            except ImageLoadError as exc:
                note = f" — its image could not be opened ({exc}); the current one is shown"
        self.show_panel(view.panel)
        panel.set_params(params)
        problems = panel.problems()
        if problems:
            self._report(f"{where}: " + "; ".join(problems))
        elif note:
            self._report(f"Opened {where}{note}")
        else:
            self.banner.clear()
        self.statusBar().showMessage(f"Opened {where}", 5000)
        return True

    def open_example(self, panel_id: str, concept: int) -> bool:
        """Show the panel's prepared view of a concept (the Welcome map's links)."""
        panel = self.show_panel(panel_id)
        if not isinstance(panel, Panel):
            return False
        example = panel.examples().get(concept)
        if example is None:
            return False
        panel.set_params(example.params)
        self.statusBar().showMessage(f"Example {concept}: {example.title}", 8000)
        return True

    def _report(self, message: str) -> None:
        self.banner.show_message(message)
        self.statusBar().showMessage(message, 8000)

    # -- export, theme, about, device ------------------------------------------------------
    def ask_export_png(self) -> None:
        name = f"visual-lab-{self._current_id or 'view'}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export view as PNG", name, "PNG (*.png)")
        if path:
            self.export_view_png(path)

    def export_view_png(self, path: str | Path) -> bool:
        widget = self.current_panel() or self.centralWidget()
        ok = save_image(widget.grab(), path,
                        lambda message: self.statusBar().showMessage(message, 10_000))
        if ok:
            self.statusBar().showMessage(f"Saved {path}", 5000)
        return ok

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        name = apply_theme(app, name)
        self.theme_actions[name].setChecked(True)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if not self._first_frame_painted and event.type() == QEvent.Type.UpdateRequest:
            self._first_frame_painted = True  # this event painted the window's first frame
            QTimer.singleShot(0, self._start_device_probe)
        return handled

    def _start_device_probe(self) -> None:
        """Import torch and find the device on a worker thread; the label follows."""
        if (self.state.device_label or self._device_worker is not None
                or not self._device_probe_allowed):
            return

        def probe(should_stop):
            from lab.device import pick_device

            yield pick_device()
            if trains_in_process() and self.prestart_trainer and not should_stop():
                # the Training lab's trainer process loads torch now, not at Start
                from lab.training.process import shared_pool

                shared_pool().prestart()

        self._device_worker = GeneratorWorker(probe, interval=0.0, parent=self)
        self._device_worker.batch.connect(self._device_found)
        self._device_worker.start()

    def _device_found(self, devices: list) -> None:
        # described here: torch's thread count is per thread, and a fresh worker thread
        # reported 1 where the GUI thread's work uses all cores
        from lab.device import describe_device  # torch is imported by now

        if devices and not self.state.device_label:
            self.state.set_device_label(describe_device(devices[-1]))

    def detect_device(self) -> None:
        if self.state.device_label:
            return
        from lab.device import describe_device, pick_device

        self.state.set_device_label(describe_device(pick_device()))

    def about_text(self) -> str:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        from lab.device import library_versions

        versions = library_versions()
        self.detect_device()
        return (f"<h3>{APP_NAME} {APP_VERSION}</h3>"
                "<p>See and change every idea of an introductory deep-learning course.</p>"
                f"<p>torch {versions['torch']}<br>torchvision {versions['torchvision']}<br>"
                f"Qt {qVersion()} (PySide6 {pyside_version})<br>"
                f"Python {sys.version.split()[0]}<br>"
                f"Compute device: {self.state.device_label}</p>")

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", self.about_text())

    # -- settings --------------------------------------------------------------------
    def restore_settings(self) -> str:
        """Apply saved geometry, theme and image; return the panel to open."""
        settings = app_settings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self.set_theme(str(settings.value("window/theme", "light")))
        source = settings.value("image/source", "")
        if source:
            with contextlib.suppress(ImageLoadError):  # a file that moved: keep the default
                self.state.set_image(load_source(str(source)))
        panel = str(settings.value("window/panel", DEFAULT_PANEL))
        return panel if panel in {s.id for s in PANELS} else DEFAULT_PANEL

    def save_settings(self) -> None:
        settings = app_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/panel", self._current_id or DEFAULT_PANEL)
        settings.setValue("window/theme", current_theme())
        settings.setValue("image/source", self.state.image.source)
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._save_settings:
            self.save_settings()
        self.shutdown_panels()
        super().closeEvent(event)


# =========================================================================== running

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visual-lab", description=(
        "Visual Lab: see and change every idea of an introductory deep-learning course."))
    parser.add_argument("--list-panels", action="store_true",
                        help="print the panel ids and titles, then exit")
    parser.add_argument("--panel", metavar="ID", help="open this panel (see --list-panels)")
    parser.add_argument("--image", metavar="PATH",
                        help="start with this image file, or sample:ID "
                             f"({', '.join('sample:' + s for s in SAMPLES)})")
    parser.add_argument("--screenshot", metavar="FILE",
                        help="render the window once the panel's first result is drawn, "
                             "save it as PNG and exit")
    parser.add_argument("--open", metavar="FILE",
                        help="start with a saved view (File ▸ Save view…): its panel, "
                             "settings and image")
    parser.add_argument("--save-view", metavar="FILE",
                        help="write the panel's current (default) view as JSON and exit; "
                             "with --panel")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds --screenshot waits for the first result (default 120)")
    return parser


def list_panels_text() -> str:
    width = max(len(s.id) for s in PANELS)
    return "\n".join(f"{s.id:<{width}}  {s.title} — {s.description}" for s in PANELS)


def run(argv: list[str] | None = None) -> int:
    """The whole program: parse arguments, open the window, run the event loop."""
    args = build_parser().parse_args(argv)
    if args.list_panels:
        print(list_panels_text())
        return 0
    ids = [s.id for s in PANELS]
    if args.panel and args.panel not in ids:
        print(f"visual-lab: no panel {args.panel!r}; choose one of: {', '.join(ids)}",
              file=sys.stderr)
        return 2

    keep_freed_memory()  # training steps reuse memory instead of page-faulting it back
    os.environ.setdefault(TRAINER_ENV, "process")  # the Training lab trains in a process
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("VisualLab")
    app.setApplicationVersion(APP_VERSION)
    wheel.install(app)
    scripted = bool(args.screenshot or args.save_view)
    window = MainWindow(save_settings=not scripted)
    window.prestart_trainer = not scripted
    panel_id = window.restore_settings()
    if args.image and not window.open_source(args.image):
        print(f"visual-lab: {window.banner.message()}", file=sys.stderr)
        if scripted:
            return 1
    if args.save_view:
        window.show_panel(args.panel or panel_id)
        ok = window.save_view(args.save_view)
        print(f"saved {args.save_view}" if ok else f"visual-lab: {window.banner.message()}",
              file=sys.stdout if ok else sys.stderr)
        window.close()
        return 0 if ok else 1
    window.show()
    window.show_panel(args.panel or panel_id)
    if args.open and not window.open_view(args.open):
        print(f"visual-lab: {window.banner.message()}", file=sys.stderr)
        if scripted:
            window.close()
            return 1
    if args.screenshot:
        return _screenshot(app, window, Path(args.screenshot), args.timeout)
    code = app.exec()
    workers.exit_code = code  # what a close with a blocked worker exits with
    return code


def _screenshot(app: QApplication, window: MainWindow, path: Path, timeout: float) -> int:
    """Wait for the panel's first result and the device label, save the window, exit."""
    deadline = time.monotonic() + timeout
    window.detect_device()
    panel = window.current_panel()
    if not isinstance(panel, Panel):
        print(f"visual-lab: {window.banner.message() or 'the panel could not be built'}",
              file=sys.stderr)
        window.close()
        return 1
    while time.monotonic() < deadline:
        app.processEvents()
        if panel.has_drawn() and panel.is_idle():  # a restored view's result, not the default's
            break
        time.sleep(0.01)
    else:
        print(f"visual-lab: the {window.current_panel_id()} panel drew nothing within "
              f"{timeout:g} s", file=sys.stderr)
        window.close()
        return 1
    for _ in range(5):  # let layouts settle and pyqtgraph paint
        app.processEvents()
    ok = window.grab().save(str(path), "PNG")
    window.close()
    if not ok:
        print(f"visual-lab: could not write {path}", file=sys.stderr)
        return 1
    print(f"saved {path}")
    return 0
