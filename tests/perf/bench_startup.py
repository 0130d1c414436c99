"""startup_ratio: `main.py --screenshot` on the default panel ÷ importing the libraries;
first_paint_s: process start to the window's first painted frame (Welcome, no torch yet);
pooling_over_import_s: the Pooling panel's first drawn result, in the real window opened as
`main.py --panel pooling` opens it (trainer pre-start included), beyond a bare `import torch`,
both timed from their script's start (first_result_child.py: the interpreter's own start and
exit are left out of both) — the issue's "≤ the bare import of torch + 0.5 s";
pooling_screenshot_s: the whole `main.py --panel pooling --screenshot` process, exit included
(Python's finalization with torch and Qt loaded takes ~0.5 s of it)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"startup_ratio": ("<=", 1.3), "first_paint_s": ("<=", 0.6),
           "pooling_over_import_s": ("<=", 0.5)}
CHILD = Path(__file__).with_name("first_paint_child.py")
RESULT_CHILD = Path(__file__).with_name("first_result_child.py")


def _wall(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def _first_paint(env: dict) -> float:
    """Seconds from process start to the first painted frame, as the child measures them
    (it fails if torch was imported before that frame)."""
    done = subprocess.run([sys.executable, str(CHILD)], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=300)
    line = next(x for x in done.stdout.splitlines() if x.startswith("first_paint_s="))
    seconds, torch_loaded = line.split()
    if torch_loaded != "torch=False":
        raise RuntimeError("torch was imported before the first frame was painted")
    return float(seconds.split("=")[1])


def _seconds(argument: str, env: dict) -> float:
    """first_result_child.py's figure: a panel's first result, or `--bare-torch`."""
    done = subprocess.run([sys.executable, str(RESULT_CHILD), argument], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True, timeout=300)
    line = next(x for x in done.stdout.splitlines() if x.startswith("seconds="))
    return float(line.split("=")[1])


def run(options) -> dict[str, float]:
    repeats = 1 if options.quick else 5
    folder = Path(tempfile.mkdtemp(prefix="visual-lab-startup-"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VISUAL_LAB_CONFIG_DIR=str(folder))
    bare = [sys.executable, "-c", "import torch, torchvision, PySide6.QtWidgets, pyqtgraph"]
    bare_torch = [sys.executable, "-c", "import torch"]
    app = [sys.executable, "main.py", "--screenshot", str(folder / "shot.png")]
    pooling = [*app, "--panel", "pooling"]
    _wall(bare, env)  # warm the file cache for both
    bare_times, torch_times, app_times, pooling_times = [], [], [], []
    for _ in range(repeats):
        bare_times.append(_wall(bare, env))
        torch_times.append(_wall(bare_torch, env))
        app_times.append(_wall(app, env))
        pooling_times.append(_wall(pooling, env))
    bare_s = statistics.median(bare_times)
    first_paints = [_first_paint(env) for _ in range(repeats)]
    first_results, torch_imports = [], []
    for _ in range(repeats):  # alternated: the machine's speed drifts
        torch_imports.append(_seconds("--bare-torch", env))
        first_results.append(_seconds("pooling", env))
    return {
        "first_paint_s": statistics.median(first_paints),
        "pooling_over_import_s": (statistics.median(first_results)
                                  - statistics.median(torch_imports)),
        "pooling_first_result_s": statistics.median(first_results),
        "torch_import_s": statistics.median(torch_imports),
        "torch_import_process_s": statistics.median(torch_times),
        "pooling_screenshot_s": statistics.median(pooling_times),
        "startup_ratio": statistics.median(app_times) / bare_s,
        "startup_s": statistics.median(app_times),
        "startup_import_s": bare_s,
        "startup_pooling_ratio": statistics.median(pooling_times) / bare_s,
    }
