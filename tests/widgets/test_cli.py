"""The real entry point, in a subprocess: what `make run` and a user's shell do."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from widgets.app import PANELS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_main(*args, tmp_path, timeout=240):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               VISUAL_LAB_CONFIG_DIR=str(tmp_path / "cfg"))
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_list_panels(tmp_path):
    done = run_main("--list-panels", tmp_path=tmp_path)
    assert done.returncode == 0
    for spec in PANELS:
        assert spec.id in done.stdout and spec.title in done.stdout


def test_unknown_panel_is_an_error(tmp_path):
    done = run_main("--panel", "nope", tmp_path=tmp_path)
    assert done.returncode == 2 and "no panel 'nope'" in done.stderr


@pytest.mark.parametrize("panel_id", [spec.id for spec in PANELS])
def test_screenshot_of_every_panel(tmp_path, panel_id):
    target = tmp_path / f"{panel_id}.png"
    done = run_main("--panel", panel_id, "--screenshot", str(target), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    pixels = np.asarray(Image.open(target).convert("RGB"))
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # not blank
    assert not (tmp_path / "cfg" / "visual-lab.ini").exists() or \
        "pooling" not in (tmp_path / "cfg" / "visual-lab.ini").read_text()


def test_screenshot_with_unreadable_image_fails_clearly(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    done = run_main("--image", str(bad), "--screenshot", str(tmp_path / "x.png"),
                    tmp_path=tmp_path)
    assert done.returncode == 1 and "bad.png is not an image" in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'visual-lab = "main:main"' in text


# a 4096² photo in every image panel: tests/widgets/test_photo_panels.py (one window, in
# process, through MainWindow.open_source as --image is; a subprocess per panel cost ~50 s)
