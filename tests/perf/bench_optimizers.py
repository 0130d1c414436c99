"""optim_update_ms: one optimizer's lr changed -> redrawn trajectories (4 optimizers × 500
steps shown; the cache re-runs the changed one), in the real panel; optim_update_all_ms:
a change every trajectory depends on (the noise seed) -> all four re-run.
optim_basin_ms: a 200 × 200 basin map, 500 steps, one optimizer (SGD + momentum), CPU,
through the panel's job generator; optim_basin_ratio: that over a bare batched torch.optim
loop over the same tensor; optim_basin_stall_ms: the longest GUI stall while the panel
computes it."""

from __future__ import annotations

import dataclasses
import time

from helpers import longest_stall_ms, median_seconds, qapp

TARGETS = {"optim_update_ms": ("<=", 33.0), "optim_basin_ms": ("<=", 2000.0),
           "optim_basin_ratio": ("<=", 1.2), "optim_basin_stall_ms": ("<=", 50.0)}


def _panel():
    from lab.optimizers.view import OptimizersView, default_optimizers
    from widgets.kit.panel import AppState
    from widgets.optimizers.panel import OptimizersPanel

    app = qapp()
    panel = OptimizersPanel(AppState())
    panel.resize(1400, 900)
    panel.show()
    view = OptimizersView(steps=500, optimizers=default_optimizers("sgd", "momentum",
                                                                   "nesterov", "adam"))
    panel.set_params(view)
    _wait(app, panel)
    return app, panel


def _wait(app, panel, timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while not (panel.is_idle() and not panel.pending_parts()
               and len(panel._runs) == len(panel._wanted)):
        app.processEvents()
        time.sleep(0.0005)
        if time.perf_counter() > deadline:
            raise RuntimeError("the panel never finished")
    app.processEvents()


def _measure_updates(repeats: int) -> tuple[float, float]:
    app, panel = _panel()
    panel.editing.setValue("momentum")
    counter = iter(range(1, 10**9))

    def one_lr() -> None:  # a new value every time: never a cache hit
        panel.hyper["lr"].spinbox.setValue(0.02 + 1e-5 * next(counter))
        _wait(app, panel)

    def every_run() -> None:
        panel.seed.setValue(next(counter) % 999)
        _wait(app, panel)

    one = median_seconds(one_lr, repeats, warmup=2)
    panel.batch.setValue(8)  # noise on: the seed matters to every optimizer
    _wait(app, panel)
    all_four = median_seconds(every_run, max(3, repeats // 3), warmup=1)
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return one, all_four


def _measure_basins(n: int, steps: int) -> dict[str, float]:
    import torch

    from lab.optimizers import basins, surfaces
    from lab.optimizers.view import OptimizersView

    surface = surfaces.preset("local_minimum")
    view = OptimizersView(basin_kind="momentum", basin_resolution=n, basin_steps=steps)
    settings = view.settings("momentum")
    _, _, starts = basins.start_grid(surface, n)
    torch.set_num_threads(basins.compute_threads(n * n))  # as the job does
    basins.bare_loop(surface, settings, starts, 5)  # warm-up
    start = time.perf_counter()
    basins.bare_loop(surface, settings, starts, steps)
    bare = time.perf_counter() - start
    start = time.perf_counter()
    for _ in basins.basin_job(surface, view, device="cpu")(lambda: False):
        pass
    ours = time.perf_counter() - start
    return {"optim_basin_ms": 1000 * ours, "optim_bare_basin_ms": 1000 * bare,
            "optim_basin_ratio": ours / bare}


def _measure_stall(n: int, steps: int) -> float:
    app, panel = _panel()
    view = dataclasses.replace(panel.params(), basin_resolution=n, basin_steps=steps)
    panel.set_params(view)
    _wait(app, panel)
    panel.tabs.setCurrentIndex(1)
    panel._basin = None
    stall = longest_stall_ms(app, lambda: panel._basin is not None and panel.is_idle(),
                             timeout_s=120)
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return stall


def run(options) -> dict[str, float]:
    quick = options.quick
    one, all_four = _measure_updates(3 if quick else 15)
    n, steps = (40, 50) if quick else (200, 500)
    result = {"optim_update_ms": 1000 * one, "optim_update_all_ms": 1000 * all_four}
    result.update(_measure_basins(n, steps))
    result["optim_basin_stall_ms"] = _measure_stall(n, steps)
    return result
