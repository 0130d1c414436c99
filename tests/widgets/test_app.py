import functools
import inspect
import re

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QObject, QPointF, Qt, QUrl, Signal
from PySide6.QtGui import QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QGraphicsView, QWidget

from widgets import app as app_module
from widgets.app import PANELS, MainWindow
from widgets.kit.panel import Panel
from widgets.kit.settings import app_settings


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.show_panel(win.restore_settings())
    yield win
    win.close()


def test_registry_is_consistent():
    ids = [spec.id for spec in PANELS]
    assert len(ids) == len(set(ids)) and ids[0] == "welcome"
    for spec in PANELS:
        assert spec.title and spec.description and callable(spec.factory)
        assert all(1 <= n <= 35 for n in spec.concepts)
        assert not app_module.panel_icon(spec).isNull(), f"missing icon for {spec.id}"


def test_panels_are_built_lazily_and_navigation_switches(window, qtbot):
    assert list(window.built_panels()) == ["welcome"]
    window.nav.setCurrentRow(1)
    assert window.current_panel_id() == PANELS[1].id
    assert set(window.built_panels()) == {"welcome", PANELS[1].id}
    assert window.stack.currentWidget() is window.current_panel()


def test_nav_rows_are_as_tall_as_their_wrapped_description(window, qtbot):
    """A narrow list wraps a long description onto a third line: its row grows instead of
    cutting it off, and rows re-wrap when the list is widened."""
    window.nav.setFixedWidth(230)
    qtbot.wait(20)
    heights = {window.nav.item(i).data(Qt.ItemDataRole.UserRole):
               window.nav.visualItemRect(window.nav.item(i)).height()
               for i in range(window.nav.count())}
    assert heights["pooling"] > heights["welcome"]
    window.nav.setFixedWidth(320)
    qtbot.wait(20)
    pooling = window.nav.item([s.id for s in PANELS].index("pooling"))
    assert window.nav.visualItemRect(pooling).height() < heights["pooling"]


def test_ctrl_number_shortcuts(window, qtbot):
    assert window.panel_actions[1].shortcut().toString() == "Ctrl+2"
    window.panel_actions[1].trigger()
    assert window.current_panel_id() == PANELS[1].id
    assert window.nav.currentRow() == 1


def test_welcome_links_open_panels(window, qtbot):
    welcome = window.current_panel()
    assert 'href="panel:pooling"' in welcome.page_html()
    welcome._link_clicked(QUrl("panel:pooling"))
    assert window.current_panel_id() == "pooling"


def test_open_image_error_keeps_previous_image(window, tmp_path):
    before = window.state.image
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    assert not window.open_source(str(bad))
    assert window.state.image is before
    assert not window.banner.isHidden() and "broken.jpg" in window.banner.message()


def test_open_and_drop_image(window, tmp_path, qtbot):
    path = tmp_path / "photo.png"
    Image.fromarray(np.full((30, 40, 3), 99, np.uint8)).save(path)
    assert window.open_source(str(path))
    assert window.state.image.width == 40 and "photo.png" in window.image_label.text()
    other = tmp_path / "second.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(other)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.state.image.name == "second.png" and window.state.image.is_gray


def test_export_view_png(window, tmp_path):
    target = tmp_path / "view.png"
    assert window.export_view_png(target)
    image = Image.open(target)
    assert image.size[0] > 100 and len(set(np.asarray(image).reshape(-1, 4)[:, 0])) > 2


def test_theme_switch_changes_palette(window):
    window.set_theme("dark")
    dark = QApplication.instance().palette().window().color().lightness()
    window.set_theme("light")
    light = QApplication.instance().palette().window().color().lightness()
    assert dark < 100 < light
    assert window.theme_actions["light"].isChecked()


def test_settings_remember_panel_theme_image_geometry(qtbot, isolated_settings, tmp_path):
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first.show_panel("pooling")
    first.set_theme("dark")
    first.open_source("sample:flower")
    first.resize(760, 540)  # the offscreen screen is 800×600; restoreGeometry keeps it on screen
    saved_size = first.size()
    first.close()
    assert (isolated_settings / "visual-lab.ini").is_file()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.restore_settings() == "pooling"
    assert second.state.image.source == "sample:flower"
    assert QApplication.instance().property("visualLabTheme") == "dark"
    assert second.size().height() == saved_size.height()  # width is clamped to the screen
    second.set_theme("light")
    second.close()


def test_settings_are_isolated_per_test(isolated_settings):
    assert str(isolated_settings) in app_settings().fileName()
    assert app_settings().value("window/panel") is None


def test_about_names_versions_and_device(window):
    import torch
    import torchvision

    text = window.about_text()
    device = "CUDA" if torch.cuda.is_available() else "CPU"
    for needle in (torch.__version__, torchvision.__version__, "Qt ", f"Compute device: {device}"):
        assert needle in text
    assert window.device_label.text().startswith("Device: CPU") or "CUDA" in \
        window.device_label.text()


def assert_wheel_changes_no_unfocused_control(panel: QWidget, panel_id: str) -> None:
    """Scrolling over a panel's form changes nothing (issue 19: batch 32 became 1)."""
    from tests.widgets.kit.test_wheel import send_wheel, value_of
    from widgets.kit.wheel import is_guarded

    controls = [c for c in panel.findChildren(QWidget) if is_guarded(c) and not c.hasFocus()]
    for control in controls:
        before = value_of(control)
        send_wheel(control)
        assert value_of(control) == before, f"{panel_id}: {control.accessibleName()}"
    assert controls or panel_id == "welcome"


def test_every_registered_panel_builds_draws_and_renders(qtbot, window):
    # ARCHITECTURE.md: nothing is cut down to a 1280×740 window, so every panel's minimum
    # fits it; a larger one grows the window past the screen's edge
    window.resize(1280, 740)
    for spec in PANELS:
        panel = window.show_panel(spec.id)
        assert isinstance(panel, Panel), f"{spec.id} failed: {window.banner.message()}"
        qtbot.waitUntil(panel.has_drawn, timeout=60_000)
        qtbot.wait(10)
        hint = panel.minimumSizeHint()
        assert (window.width(), window.height()) == (1280, 740), (
            f"{spec.id}: its minimum {hint.width()}×{hint.height()} grew the window")
        image = panel.grab().toImage()
        colors = {image.pixel(x, y) for x in range(0, image.width(), 17)
                  for y in range(0, image.height(), 17)}
        assert len(colors) > 5, f"{spec.id} renders blank"
        assert_wheel_changes_no_unfocused_control(panel, spec.id)
    window.close()
    assert not any(p.isVisible() for p in window.built_panels().values())


def _qt_base(cls: type) -> type:
    return next(c for c in cls.__mro__ if c.__module__.startswith("PySide6"))


def _hidden_qt_names(obj) -> list[str]:
    """Attributes of one of our widgets or items that hide a Qt method of the same name:
    Qt calls its virtuals through the Python object (a string `metric` where Qt expected
    QPaintDevice.metric() crashed every grab of the loss plot), and Python callers of a
    hidden method (item.x(), widget.width()) get a value instead."""
    cls = type(obj)
    if not cls.__module__.startswith("widgets"):
        return []  # pyqtgraph's own attributes are its business
    try:
        attributes = vars(obj)
    except TypeError:
        return []
    base = _qt_base(cls)
    clashes = [name for name in attributes if hasattr(base, name)
               and not isinstance(getattr(base, name), Signal)]  # PySide caches signals
    return sorted(name for name in clashes if name in _ours(cls)) if clashes else []


@functools.cache  # thousands of items share a few classes; reading their source is slow
def _ours(cls: type) -> set[str]:
    """Attribute names our own classes in `cls`'s MRO assign (`self.name = ...`): those a
    pyqtgraph base sets (AxisItem's `style` and `scale`) are its business, as above."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("widgets"):
            names |= set(re.findall(r"self\.(\w+)\s*(?::[^=\n]+)?=(?!=)",
                                    inspect.getsource(klass)))
    return names


def test_no_attribute_of_ours_hides_a_qt_method(qtbot, window):
    for spec in PANELS:
        panel = window.show_panel(spec.id)
        assert isinstance(panel, Panel), f"{spec.id} failed: {window.banner.message()}"
        qtbot.waitUntil(panel.has_drawn, timeout=60_000)
    objects = list(window.findChildren(QObject))
    for view in window.findChildren(QGraphicsView):
        if view.scene() is not None:
            objects += view.scene().items()
    assert any(type(o).__name__ == "MetricPlot" for o in objects)
    assert any(type(o).__name__ == "StepPiece" for o in objects)  # the demo run drew
    hidden = {type(o).__name__: names for o in objects if (names := _hidden_qt_names(o))}
    assert hidden == {}
    for plot in window.findChildren(QGraphicsView):
        if type(plot).__name__ == "MetricPlot":
            assert not plot.grab().isNull()  # crashed while `metric` was an attribute


def test_broken_panel_shows_message_not_crash(qtbot, monkeypatch):
    def broken(_state):
        raise RuntimeError("no data here")

    spec = app_module.PanelSpec("broken", "Broken", "d", (), "welcome", broken)
    monkeypatch.setattr(app_module, "PANELS", [*PANELS, spec])
    win = MainWindow()
    qtbot.addWidget(win)
    widget = win.show_panel("broken")
    assert not isinstance(widget, Panel) and "no data here" in win.banner.message()
    win.close()


def test_view_menu_shows_each_title_as_written(window):
    """`&` in a title is escaped: "Pooling & Upsampling" would show as "Pooling _Upsampling"."""
    for action, spec in zip(window.panel_actions, PANELS, strict=True):
        assert QKeySequence.mnemonic(action.text()).isEmpty(), action.text()
        assert action.text().replace("&&", "&") == spec.title

