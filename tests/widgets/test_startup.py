"""The first second: the window paints before torch loads, and the device is found on a
worker thread (issue 19: the window was black for 1.7 s while the GUI thread imported
torch to name the device)."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest

import lab.device
from widgets.app import MainWindow

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_first_frame_is_painted_before_torch_is_imported(tmp_path):
    env = {"QT_QPA_PLATFORM": "offscreen", "VISUAL_LAB_CONFIG_DIR": str(tmp_path),
           "VISUAL_LAB_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, str(ROOT / "tests/perf/first_paint_child.py")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "torch=False" in done.stdout


def test_the_device_is_found_off_the_gui_thread(qtbot, monkeypatch):
    threads = []
    real = lab.device.pick_device

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(lab.device, "pick_device", recording)
    window = MainWindow(save_settings=False)
    qtbot.addWidget(window)
    window.show()
    assert window.state.device_label == ""  # nothing detected while building the window
    qtbot.waitUntil(lambda: window.state.device_label != "", timeout=30_000)
    assert threads and threads[0] is not threading.main_thread()
    assert window.device_label.text() == f"Device: {window.state.device_label}"
    # described with the GUI thread's torch settings (a worker thread reported 1 thread)
    assert window.state.device_label == lab.device.describe_device(real())
    window.close()
