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


def _measure(side: int, repeats: int) -> tuple[float, float]:
    """(panel seconds, bare torch seconds), medians, for one padding-slider change."""
    import torch
    import torch.nn.functional as F

    from lab import conv
    from widgets.conv_panel import ConvPanel
    from widgets.panel import AppState

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
    panel_times, bare_times = [], []
    for i in range(repeats + 3):
        for action, times in ((change, panel_times), (bare, bare_times)):
            start = time.perf_counter()
            action()
            if i >= 3:  # warm-up
                times.append(time.perf_counter() - start)
    panel_s, bare_s = statistics.median(panel_times), statistics.median(bare_times)
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return panel_s, bare_s


def run(options) -> dict[str, float]:
    repeats = 5 if options.quick else 41
    big_panel, big_bare = _measure(512, repeats)
    small_panel, small_bare = _measure(256, repeats)
    return {
        "conv_update_ratio": big_panel / big_bare,
        "conv_update_512_ms": 1000 * big_panel,
        "conv_bare_512_ms": 1000 * big_bare,
        "conv_update_ms": 1000 * small_panel,
        "conv_bare_256_ms": 1000 * small_bare,
    }
