"""Views you can save and share: File ▸ Save view… / Open view…, drag-and-drop of a view
file, the Welcome map's links to prepared examples, and the CLI (--save-view, --open)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from lab.params import to_data
from widgets.app import PANELS, MainWindow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot):
    win = MainWindow(save_settings=False)
    qtbot.addWidget(win)
    win.show()
    win.show_panel("welcome")
    yield win
    win.close()


def settle(panel, qtbot):
    qtbot.waitUntil(lambda: panel.is_idle(), timeout=30_000)


def first_example(panel):
    examples = panel.examples()
    return next(iter(examples.values())) if examples else None


@pytest.mark.parametrize("panel_id", [spec.id for spec in PANELS])
def test_a_saved_view_reopens_exactly(panel_id, tmp_path, qtbot):
    """Save a panel's prepared example in one window; another window opens it on the same
    panel with the same parameters and image."""
    first = MainWindow(save_settings=False)
    qtbot.addWidget(first)
    panel = first.show_panel(panel_id)
    example = first_example(panel)
    if example is not None:
        panel.set_params(example.params)
    first.open_source("sample:flower")
    expected = panel.params()
    assert first.save_view(tmp_path / "view.json"), first.banner.message()
    saved = json.loads((tmp_path / "view.json").read_text())
    assert saved["panel"] == panel_id and saved["image"] == "sample:flower"
    assert saved["params"] == to_data(expected)
    first.close()

    second = MainWindow(save_settings=False)
    qtbot.addWidget(second)
    second.show_panel("welcome")
    assert second.open_view(tmp_path / "view.json"), second.banner.message()
    assert second.current_panel_id() == panel_id
    assert second.current_panel().params() == expected
    assert second.state.image.source == "sample:flower"
    second.close()


def test_a_bad_view_file_keeps_the_current_view(window, tmp_path):
    pooling = window.show_panel("pooling")
    before = pooling.params()
    cases = {
        "not-json.json": "{oops",
        "foreign.json": json.dumps({"format": "something-else"}),
        "no-panel.json": json.dumps({"format": "visual-lab-view", "version": 1,
                                     "panel": "no-such-panel", "params": {}}),
        "bad-params.json": json.dumps({"format": "visual-lab-view", "version": 1,
                                       "panel": "pooling", "params": {"nonsense": 1}}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        assert not window.open_view(tmp_path / name)
        assert window.banner.isVisibleTo(window) and window.banner.message()
        assert window.current_panel_id() == "pooling" and pooling.params() == before
    assert "no-such-panel" in window.banner.message() or "nonsense" in window.banner.message()


def test_dropping_a_view_file_opens_it(window, tmp_path, qtbot):
    conv = window.built_panel("conv")
    example = first_example(conv)
    assert example is not None, "the Convolution panel has no prepared example"
    conv.set_params(example.params)
    window.show_panel("conv")
    assert window.save_view(tmp_path / "conv-view.json")
    window.show_panel("welcome")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "conv-view.json"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.current_panel_id() == "conv"
    assert window.current_panel().params() == example.params


def test_every_concept_links_to_a_prepared_view_that_applies(window, qtbot):
    """The Welcome map opens each concept's panel on a prepared view of that idea."""
    welcome = window.current_panel()
    html = welcome.page_html()
    for spec in PANELS:
        for number in spec.concepts:
            assert f'href="example:{spec.id}:{number}"' in html
            panel = window.built_panel(spec.id)
            assert number in panel.examples(), f"{spec.id} has no prepared view of {number}"
    pooling = window.built_panel("pooling")
    welcome.browser.anchorClicked.emit(QUrl("example:pooling:24"))
    assert window.current_panel_id() == "pooling"
    assert pooling.params() == pooling.examples()[24].params
    settle(pooling, qtbot)
    assert pooling.problems() == []


def run_main(*args, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               VISUAL_LAB_CONFIG_DIR=str(tmp_path / "cfg"))
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_cli_writes_a_view_and_screenshots_it(tmp_path):
    view = tmp_path / "pooling.json"
    done = run_main("--panel", "pooling", "--save-view", str(view), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(view.read_text())
    assert data["format"] == "visual-lab-view" and data["panel"] == "pooling"
    shot = tmp_path / "shot.png"
    done = run_main("--open", str(view), "--screenshot", str(shot), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    (tmp_path / "bad.json").write_text("{}")
    done = run_main("--open", str(tmp_path / "bad.json"), "--screenshot", str(shot),
                    tmp_path=tmp_path)
    assert done.returncode == 1 and "not a Visual Lab view" in done.stderr


def test_saving_to_a_full_disk_says_so_and_keeps_the_old_file(window, tmp_path, monkeypatch):
    window.show_panel("pooling")
    target = tmp_path / "view.json"
    assert window.save_view(target)
    before = target.read_text()

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", full_disk)
    window.show_panel("conv")
    assert not window.save_view(target)
    assert "disk full" in window.banner.message().lower() or \
        "no space" in window.banner.message().lower()
    assert target.read_text() == before


def test_calculus_links_gradient_descent_to_the_optimizers_panel(window):
    calculus = window.show_panel("calculus")
    calculus.critical.optimizers_link.linkActivated.emit("panel:optimizers")
    assert window.current_panel_id() == "optimizers"
