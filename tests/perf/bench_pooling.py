"""pool_update_ratio / pool_update_ms: slider change -> repainted results, in the real panel."""

from __future__ import annotations

import time

import numpy as np
from helpers import median_seconds, qapp

TARGETS = {"pool_update_ratio": ("<=", 1.5), "pool_update_ms": ("<=", 16.0)}


def _image(side: int):
    from PIL import Image

    from lab.images import LabImage, load_sample

    photo = Image.fromarray(load_sample("china").pixels).resize((side, side))
    return LabImage(f"china {side}", np.asarray(photo, dtype=np.uint8).copy(), "bench")


def _measure(side: int, repeats: int) -> tuple[float, float]:
    """(panel seconds, bare torch seconds), medians, for one kernel-size change."""
    import torch
    import torch.nn.functional as F

    from lab.images import to_tensor
    from widgets.kit.panel import AppState
    from widgets.pooling.panel import PoolingPanel

    app = qapp()
    panel = PoolingPanel(AppState(_image(side)))
    panel.resize(1300, 900)
    panel.show()
    for _ in range(5):
        app.processEvents()
    values = iter(range(10**9))

    def change() -> None:
        before = panel.compute_counts["pool_image"]
        panel.kernel.setValue(3 - next(values) % 2)  # 3, 2, 3, 2, ... (starts at 2)
        deadline = time.perf_counter() + 10
        while panel.compute_counts["pool_image"] == before:
            app.processEvents()
            if time.perf_counter() > deadline:
                raise RuntimeError("the panel never recomputed after a slider change")
        app.processEvents()  # the paint events the update posted

    x = to_tensor(panel.state.image)[None]
    grid = torch.as_tensor(panel._grid_values)[None, None]
    kernels = iter(range(10**9))

    def bare() -> None:  # the same results: pooled image, grid with indices, unpooled grid
        k = 3 - next(kernels) % 2
        F.max_pool2d(x, k, 2)
        out, idx = F.max_pool2d(grid, k, 2, return_indices=True)
        F.max_unpool2d(out, idx, k, 2, output_size=grid.shape[-2:])

    panel_s = median_seconds(change, repeats, warmup=3)
    bare_s = median_seconds(bare, repeats, warmup=3)
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return panel_s, bare_s


def run(options) -> dict[str, float]:
    repeats = 5 if options.quick else 41
    big_panel, big_bare = _measure(512, repeats)
    small_panel, small_bare = _measure(256, repeats)
    return {
        "pool_update_ratio": big_panel / big_bare,
        "pool_update_512_ms": 1000 * big_panel,
        "pool_bare_512_ms": 1000 * big_bare,
        "pool_update_ms": 1000 * small_panel,
        "pool_bare_256_ms": 1000 * small_bare,
    }
