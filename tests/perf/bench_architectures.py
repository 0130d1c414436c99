"""Architectures panel: a classic net from "choose it" to "graph and table on screen".

graph_densenet121_ms / graph_resnet18_ms: build (meta device) + torch.fx trace + shapes +
layout (worker thread) + items on the GUI thread, through the real panel, with nothing
cached (medians). graph_gui_stall_ms: the longest gap between 10 ms GUI timer ticks while
DenseNet-121 is prepared — the median over the repetitions of each one's longest gap;
graph_gui_stall_max_ms is the worst of them (on a shared machine one busy moment of
the OS decides it).
Beside them, the bare library work in the same run: build + torch.fx.symbolic_trace +
ShapeProp, no layout, no drawing.
"""

from __future__ import annotations

import statistics
import time

from helpers import longest_stall_ms, median_seconds, qapp

TARGETS = {
    "graph_densenet121_ms": ("<=", 1500.0),
    "graph_resnet18_ms": ("<=", 300.0),
    "graph_gui_stall_ms": ("<=", 50.0),
}


def _bare(name: str) -> None:
    import torch
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    from lab.models import classic_model

    with torch.device("meta"):
        model = classic_model(name)
    traced = torch.fx.symbolic_trace(model)
    ShapeProp(traced).propagate(torch.zeros(1, 3, 224, 224, device="meta"))


def _panel():
    from widgets.architectures.panel import ArchitecturesPanel
    from widgets.kit.panel import AppState

    app = qapp()
    panel = ArchitecturesPanel(AppState())
    panel.resize(1300, 900)
    panel.show()
    deadline = time.perf_counter() + 120
    while not (panel.has_drawn() and panel.is_idle()) and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.002)
    panel.tabs.setCurrentIndex(1)
    return app, panel


def _show(app, panel, model: str, collapse: bool | None = None) -> float:
    """Seconds from choosing `model` (nothing cached) until its graph and table are drawn."""
    panel.classic.traced_cache.clear()
    panel.classic.options.clear()
    start = time.perf_counter()
    panel.classic.model_choice.setValue(model)
    panel.flush()
    _wait(app, panel, model)
    if collapse is not None and panel.classic.collapse.isChecked() != collapse:
        panel.classic.collapse.setChecked(collapse)  # then lay out again, without tracing
        _wait(app, panel, model)
    return time.perf_counter() - start


def _wait(app, panel, model: str) -> None:
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        app.processEvents()
        prepared = panel.classic.prepared
        if panel.is_idle() and prepared is not None and prepared.key == model and \
                panel.classic.view.is_complete():
            return
        time.sleep(0.0005)
    raise RuntimeError(f"{model} was not drawn within 60 s")


def run(options) -> dict[str, float]:
    repeats = 1 if options.quick else 7
    app, panel = _panel()
    _show(app, panel, "resnet18")  # warm up: torchvision import, first fonts
    densenet, resnet, stalls, expanded, expanded_stalls = [], [], [], [], []
    for _ in range(repeats):
        _show(app, panel, "lenet5")
        resnet.append(_show(app, panel, "resnet18"))
        _show(app, panel, "lenet5")
        densenet.append(_show(app, panel, "densenet121"))
        _show(app, panel, "lenet5")
        box: dict[str, float] = {}
        stalls.append(longest_stall_ms(app, lambda b=box: _measure_into(b, app, panel)))
    for _ in range(max(1, repeats // 2)):
        _show(app, panel, "lenet5")
        box = {}
        expanded_stalls.append(longest_stall_ms(
            app, lambda b=box: _measure_into(b, app, panel, collapse=False)))
        expanded.append(box["seconds"])
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    bare_densenet = median_seconds(lambda: _bare("densenet121"), repeats)
    bare_resnet = median_seconds(lambda: _bare("resnet18"), repeats)
    return {
        "graph_densenet121_ms": 1000 * statistics.median(densenet),
        "graph_densenet121_bare_ms": 1000 * bare_densenet,
        "graph_densenet121_ratio": statistics.median(densenet) / bare_densenet,
        "graph_resnet18_ms": 1000 * statistics.median(resnet),
        "graph_resnet18_bare_ms": 1000 * bare_resnet,
        "graph_gui_stall_ms": statistics.median(stalls),
        "graph_gui_stall_max_ms": max(stalls),
        "graph_densenet121_expanded_ms": 1000 * statistics.median(expanded),
        "graph_gui_stall_expanded_ms": statistics.median(expanded_stalls),
    }


def _measure_into(box: dict, app, panel, collapse: bool | None = None) -> bool:
    """Run once inside longest_stall_ms: start DenseNet-121 on the first call, then report
    True when it is drawn (the GUI timer keeps ticking in between)."""
    if "start" not in box:
        panel.classic.traced_cache.clear()
        panel.classic.options.clear()
        box["start"] = time.perf_counter()
        panel.classic.model_choice.setValue("densenet121")
        return False
    prepared = panel.classic.prepared
    done = panel.is_idle() and prepared is not None and prepared.key == "densenet121" and \
        panel.classic.view.is_complete()
    if done and collapse is not None and prepared.options.collapse != collapse:
        panel.classic.collapse.setChecked(collapse)
        return False
    if done:
        box["seconds"] = time.perf_counter() - box["start"]
    return done
