"""conv_update_ratio / conv_update_ms: slider change -> repainted feature maps, in the real
Convolution panel (RGB image, 8 kernels of 3×3), beside the bare F.conv2d making the same
maps in the same run."""

from __future__ import annotations

import statistics
import time

import numpy as np
from helpers import qapp

TARGETS = {"conv_update_ratio": ("<=", 1.5), "conv_update_ms": ("<=", 16.0)}


def _image(side: int):
    from PIL import Image

    from lab.images import LabImage, load_sample

    photo = Image.fromarray(load_sample("china").pixels).resize((side, side))
    return LabImage(f"china {side}", np.asarray(photo, dtype=np.uint8).copy(), "bench")


def _measure(side: int, repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median seconds of one padding-slider change, panel and bare torch: wall clock, and
    single-threaded CPU time."""
    import torch
    import torch.nn.functional as F

    from lab import conv
    from widgets.conv.panel import ConvPanel
    from widgets.kit.panel import AppState

    app = qapp()
    panel = ConvPanel(AppState(_image(side)))
    panel.resize(1300, 900)
    panel.show()
    panel.out_channels.setValue(8)
    panel.padding.setValue(1)
    panel.flush()
    panel.flush_code()
    for _ in range(5):
        app.processEvents()
    paddings = iter(range(10**9))

    def change() -> None:
        before = panel.compute_counts["image"]
        panel.padding.setValue(next(paddings) % 2)  # 0, 1, 0, 1, ... (starts at 1)
        deadline = time.perf_counter() + 10
        while panel.compute_counts["image"] == before:
            app.processEvents()
            if time.perf_counter() > deadline:
                raise RuntimeError("the panel never recomputed after a slider change")
        app.processEvents()  # the paint events the update posted

    x = panel._input_tensor()
    weight = conv.build_weight(panel.conv_params())
    bare_paddings = iter(range(10**9))

    def bare() -> None:  # the same maps: F.conv2d with the panel's weights
        with torch.no_grad():
            F.conv2d(x, weight, None, 1, next(bare_paddings) % 2)

    # Interleaved, so both see the same load on a shared machine.
    result: dict[str, float] = {}
    times: dict[str, list[float]] = {"panel": [], "bare": []}
    for i in range(repeats + warmup):
        for name, action in (("panel", change), ("bare", bare)):
            start = time.perf_counter()
            action()
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    result.update({f"wall_{name}": statistics.median(t) for name, t in times.items()})
    # The same on one torch thread, timed as this thread's CPU time: on a busy machine
    # wall clock mostly measures other processes (and OpenMP threads spinning), this not.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        times = {"panel": [], "bare": []}
        for i in range(repeats + warmup):
            for name, action in (("panel", change), ("bare", bare)):
                start = time.thread_time()
                action()
                if i >= warmup:
                    times[name].append(time.thread_time() - start)
    finally:
        torch.set_num_threads(threads)
    result.update({f"cpu1_{name}": statistics.median(t) for name, t in times.items()})
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return result


def run(options) -> dict[str, float]:
    repeats, warmup = (3, 1) if options.quick else (41, 3)
    big = _measure(512, repeats, warmup)
    small = _measure(256, repeats, warmup)
    return {
        "conv_update_ratio": big["wall_panel"] / big["wall_bare"],
        "conv_update_512_ms": 1000 * big["wall_panel"],
        "conv_bare_512_ms": 1000 * big["wall_bare"],
        "conv_update_ms": 1000 * small["wall_panel"],
        "conv_bare_256_ms": 1000 * small["wall_bare"],
        # one torch thread, CPU time of the GUI thread: the same, robust to a busy machine
        "conv_update_1thread_cpu_ratio": big["cpu1_panel"] / big["cpu1_bare"],
        "conv_update_256_1thread_cpu_ms": 1000 * small["cpu1_panel"],
    }
