"""Normalization panel: a change of method, G or γ to the redrawn grid and histograms
(norm_update_ms, beside the bare torch module call), and the longest GUI stall while the
BatchNorm-vs-GroupNorm experiment trains on its worker (norm_gui_stall_ms)."""

from __future__ import annotations

import time
from itertools import cycle

from helpers import longest_stall_ms, median_seconds, qapp

TARGETS = {"norm_update_ms": ("<=", 16.0), "norm_gui_stall_ms": ("<=", 50.0)}


def _panel():
    from widgets.kit.panel import AppState
    from widgets.normalization.panel import NormalizationPanel

    app = qapp()
    panel = NormalizationPanel(AppState())
    panel.resize(1280, 740)
    panel.show()
    deadline = time.perf_counter() + 120
    while not panel.has_drawn() and time.perf_counter() < deadline:
        app.processEvents()
    panel.flush_code()
    for _ in range(5):
        app.processEvents()
    return app, panel


def _settle(app, panel) -> None:
    deadline = time.perf_counter() + 10
    while panel.pending_parts():
        app.processEvents()
        if time.perf_counter() > deadline:
            raise RuntimeError("the panel never recomputed after a change")
    app.processEvents()  # the paint events the update posted


def _update_ms(repeats: int) -> tuple[float, float]:
    """(median ms of a control change to the redrawn views, bare GroupNorm call ms)."""
    import torch

    app, panel = _panel()
    changes = cycle([
        lambda: panel.method.setValue("group"),
        lambda: panel.groups.setValue(4),
        lambda: panel.gamma.setValue(1.5),
        lambda: panel.groups.setValue(2),
        lambda: panel.gamma.setValue(1.0),
        lambda: panel.method.setValue("layer"),
        lambda: panel.method.setValue("instance"),
        lambda: panel.method.setValue("batch"),
    ])

    def change() -> None:
        next(changes)()
        _settle(app, panel)

    panel_s = median_seconds(change, repeats, warmup=8)
    x = torch.randn(4, 4, 6, 6)
    layer = torch.nn.GroupNorm(2, 4)
    torch.set_num_threads(1)  # as the panel computes: one intra-op thread

    def bare() -> None:
        with torch.no_grad():
            layer(x)

    bare_s = median_seconds(bare, repeats, warmup=3)
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return 1000 * panel_s, 1000 * bare_s


def _stall_ms(quick: bool) -> tuple[float, float]:
    """(longest GUI stall ms, seconds) while the experiment trains in the background."""
    from lab.normalization.experiment import ExperimentSetup

    app, panel = _panel()
    panel.tabs.setCurrentIndex(3)
    app.processEvents()
    started = time.perf_counter()
    # quick: a short same-design run; otherwise the default experiment the learner starts
    panel.start_experiment(ExperimentSetup(sizes=(2, 8), epochs=1, train_size=64,
                                           min_updates=0) if quick else None)
    stall = longest_stall_ms(app, lambda: panel.start_button.isEnabled(), timeout_s=600)
    seconds = time.perf_counter() - started
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return stall, seconds


def run(options) -> dict[str, float]:
    update, bare = _update_ms(5 if options.quick else 41)
    stall, seconds = _stall_ms(options.quick)
    return {"norm_update_ms": update, "norm_bare_ms": bare, "norm_gui_stall_ms": stall,
            "norm_experiment_s": seconds}
