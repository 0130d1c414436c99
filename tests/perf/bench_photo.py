"""A student's 4096² photo in the image panels (issue 21): drag latency, time to the full
result beside the bare torch call in the same run, and the augmentation grid.

- pool_drag_ms_4096 / conv_drag_ms_4096 (16 kernels): a slider change -> the repainted view,
  the whole image fitted in the window.
- pool_full_ratio_4096 / conv_full_ratio_4096: every output pixel (what an export or a 1:1
  zoom needs), through the panel, ÷ the bare torch call on the same tensor.
- augment_grid16_s_4096 / augment_first_tile_ms_4096: a re-roll -> all 16 draws painted /
  the first one, at the panel's default working size; augment_gui_stall_ms_4096: the
  longest gap between 10 ms GUI timer ticks while a re-rolled grid builds (worst repeat).
- the full run also times 256² and 1024² photos (figures named _256, _1024: the issue's
  table) and the Convolution panel's peak memory at 4096² with 16 kernels
  (conv_peak_rss_*_mb_4096, photo_memory_child.py: drawn, statistics, a PNG export).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from helpers import longest_stall_ms, qapp

TARGETS = {"pool_drag_ms_4096": ("<=", 33.0), "conv_drag_ms_4096": ("<=", 33.0),
           "pool_full_ratio_4096": ("<=", 1.3), "conv_full_ratio_4096": ("<=", 1.3),
           "augment_grid16_s_4096": ("<=", 1.0), "augment_first_tile_ms_4096": ("<=", 100.0),
           "augment_gui_stall_ms_4096": ("<=", 50.0)}

SIDE = 4096


#: --quick keeps the harness exercised on a smaller photo (its figures carry that size in
#: their names, so they never stand in for the 4096² targets)
QUICK_SIDE = 1024


def photo(side: int | None = None):
    from PIL import Image

    side = side or SIDE
    from lab.images import LabImage, load_sample

    pixels = Image.fromarray(load_sample("china").pixels).resize((side, side))
    return LabImage(f"china {side}", np.asarray(pixels, dtype=np.uint8).copy(), "bench")


def _until(app, condition, what: str, timeout: float = 120.0, poll: float = 0.0005) -> None:
    """Run the event loop until `condition()`; `poll` seconds of sleep between turns (longer
    while a worker computes: a spinning GUI thread would take its core)."""
    deadline = time.perf_counter() + timeout
    while not condition():
        app.processEvents()
        time.sleep(poll)
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{what} never happened")


def _drag(app, panel, slider, values: tuple, counter: str) -> float:
    """Seconds from one slider change to the repainted view (the change's paint events)."""
    before = panel.compute_counts[counter]
    start = time.perf_counter()
    slider.setValue(values[0])
    _until(app, lambda: panel.compute_counts[counter] != before, "a recompute")
    app.processEvents()  # the paint events the update posted
    return time.perf_counter() - start


def _full(app, panel, change) -> float | None:
    """Seconds to every output pixel through the panel after `change()` (a new layer, not
    timed: a result already there would take no time), or None where it has no such path."""
    request = getattr(panel, "request_full_result", None)
    if request is None:
        return None
    change()
    start = time.perf_counter()
    request()
    _until(app, panel.full_result_ready, "the full-resolution result", poll=0.005)
    return time.perf_counter() - start


def _interleaved(actions: dict, repeats: int, warmup: int = 1) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in actions}
    for i in range(repeats + warmup):
        for name, action in actions.items():
            start = time.perf_counter()
            seconds = action()
            if i >= warmup:
                times[name].append(seconds if isinstance(seconds, float)
                                   else time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _pooling(repeats: int) -> dict[str, float]:
    import torch.nn.functional as F

    from lab.images import to_tensor
    from widgets.kit.panel import AppState
    from widgets.pooling.panel import PoolingPanel

    app = qapp()
    panel = PoolingPanel(AppState(photo()))
    panel.resize(1300, 900)
    panel.show()
    for _ in range(5):
        app.processEvents()
    kernels = iter(range(10**9))
    x = panel._image_tensor if panel._image_tensor is not None else \
        to_tensor(panel.state.image)[None]  # the panel's own tensor, memory layout and all

    def drag() -> float:
        return _drag(app, panel, panel.kernel, (3 - next(kernels) % 2,), "pool_image")

    def bare() -> None:
        F.max_pool2d(x, panel.kernel.value(), panel.stride.value())

    results = _interleaved({"drag": drag, "bare": bare}, repeats)
    full = None
    if hasattr(panel, "request_full_result"):
        full = _interleaved({"full": lambda: _full(app, panel, drag), "bare": bare},
                            max(3, repeats // 3))
    if hasattr(panel, "shutdown"):
        panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    out = {"pool_drag_ms_4096": 1000 * results["drag"],
           "pool_bare_ms_4096": 1000 * results["bare"]}
    if full is not None:
        out["pool_full_ratio_4096"] = full["full"] / full["bare"]
        out["pool_full_ms_4096"] = 1000 * full["full"]
    else:  # the panel computed every pixel on every change
        out["pool_full_ratio_4096"] = results["drag"] / results["bare"]
    return out


def _conv(repeats: int) -> dict[str, float]:
    import torch

    from lab import conv
    from lab.images import to_tensor
    from widgets.conv.panel import ConvPanel
    from widgets.kit.panel import AppState

    app = qapp()
    panel = ConvPanel(AppState(photo()))
    panel.resize(1300, 900)
    panel.show()
    panel.out_channels.setValue(16)
    panel.padding.setValue(1)
    panel.flush()
    for _ in range(5):
        app.processEvents()
    paddings = iter(range(10**9))
    x = panel._input_tensor() if hasattr(panel, "_input_tensor") else \
        to_tensor(panel.state.image)[None]
    if max(x.shape[-2:]) < SIDE:  # a panel that shrinks the photo: time the real size bare
        x = to_tensor(panel.state.image)[None]

    def drag() -> float:
        return _drag(app, panel, panel.padding, (next(paddings) % 2,), "image")

    def bare() -> None:
        with torch.no_grad():
            conv.convolve(x, panel.conv_params())

    results = _interleaved({"drag": drag}, repeats)
    full = None
    if hasattr(panel, "request_full_result"):
        full = _interleaved({"full": lambda: _full(app, panel, drag), "bare": bare},
                            max(3, repeats // 3))
    if hasattr(panel, "shutdown"):
        panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    out = {"conv_drag_ms_4096": 1000 * results["drag"]}
    if full is not None:
        out["conv_full_ratio_4096"] = full["full"] / full["bare"]
        out["conv_full_ms_4096"] = 1000 * full["full"]
        out["conv_bare_ms_4096"] = 1000 * full["bare"]
    else:
        out["conv_bare_ms_4096"] = 1000 * _interleaved({"bare": bare}, 3)["bare"]
    return out


def _augment(repeats: int) -> dict[str, float]:
    from widgets.augment.panel import AugmentPanel
    from widgets.kit.panel import AppState

    app = qapp()
    panel = AugmentPanel(AppState(photo()))
    panel.resize(1400, 900)
    panel.show()
    _until(app, panel.grid_done, "the first grid", timeout=600)
    seeds = iter(range(1, 10**9))
    whole, first = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        panel.seed.setValue(next(seeds) * 16)
        panel.flush()
        _until(app, lambda: panel.grid.filled_count() >= 1 and panel.grid.is_painted(),
               "the first tile", timeout=600)
        first.append(time.perf_counter() - start)
        _until(app, lambda: panel.grid.filled_count() == 16 and panel.grid.is_painted(),
               "the whole grid", timeout=600)
        whole.append(time.perf_counter() - start)
        _until(app, panel.grid_done, "the grid's end", timeout=600)
    stalls = []  # a re-roll's grid built again, the GUI timer ticking throughout
    for _ in range(repeats):
        panel.seed.setValue(next(seeds) * 16)
        panel.flush()
        stalls.append(longest_stall_ms(app, panel.grid_done, timeout_s=600))
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return {"augment_grid16_s_4096": statistics.median(whole),
            "augment_first_tile_ms_4096": 1000 * statistics.median(first),
            "augment_gui_stall_ms_4096": max(stalls)}


#: the full run's smaller photos (the issue's table): their figures carry their size
TABLE_SIDES = (256, 1024)


def _all(repeats: int, augment_repeats: int) -> dict[str, float]:
    results: dict[str, float] = {}
    results.update(_pooling(repeats))
    results.update(_conv(repeats))
    results.update(_augment(augment_repeats))
    return results


def _peak_memory() -> dict[str, float]:
    """Peak resident memory of a 4096² photo with 16 kernels (fresh process: the peak of
    this one holds every bench before it)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    child = Path(__file__).resolve().parent / "photo_memory_child.py"
    done = subprocess.run([sys.executable, str(child)], capture_output=True, text=True,
                          timeout=900)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {f"conv_peak_rss_{name}_4096": value for name, value in figures.items()}


def run(options) -> dict[str, float]:
    global SIDE
    from lab.device import keep_freed_memory

    keep_freed_memory()  # as the app does at start (widgets.app.run)
    results: dict[str, float] = {}
    full_side = SIDE
    sides = (QUICK_SIDE,) if options.quick else (*TABLE_SIDES, full_side)
    try:
        for side in sides:
            SIDE = side
            figures = _all(3 if options.quick else 9, 1 if options.quick else 3)
            if side == full_side:
                results.update(figures)
            else:  # named for their size: they never stand in for the 4096² targets
                results.update({name.replace(f"_{full_side}", f"_{side}"): value
                                for name, value in figures.items()})
    finally:
        SIDE = full_side
    if not options.quick:
        results.update(_peak_memory())
    return results
