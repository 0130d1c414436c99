"""startup_ratio: `main.py --screenshot` on the default panel ÷ importing the libraries."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"startup_ratio": ("<=", 1.3)}


def _wall(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def run(options) -> dict[str, float]:
    repeats = 1 if options.quick else 5
    folder = Path(tempfile.mkdtemp(prefix="visual-lab-startup-"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VISUAL_LAB_CONFIG_DIR=str(folder))
    bare = [sys.executable, "-c", "import torch, torchvision, PySide6.QtWidgets, pyqtgraph"]
    app = [sys.executable, "main.py", "--screenshot", str(folder / "shot.png")]
    pooling = [*app, "--panel", "pooling"]
    _wall(bare, env)  # warm the file cache for both
    bare_times, app_times, pooling_times = [], [], []
    for _ in range(repeats):
        bare_times.append(_wall(bare, env))
        app_times.append(_wall(app, env))
        pooling_times.append(_wall(pooling, env))
    bare_s = statistics.median(bare_times)
    return {
        "startup_ratio": statistics.median(app_times) / bare_s,
        "startup_s": statistics.median(app_times),
        "startup_import_s": bare_s,
        "startup_pooling_ratio": statistics.median(pooling_times) / bare_s,
    }
