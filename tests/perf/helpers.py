"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(action: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def qapp():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def longest_stall_ms(app, run_until: Callable[[], bool], tick_ms: int = 10,
                     timeout_s: float = 60.0) -> float:
    """Longest gap between ticks of a 10 ms GUI timer while `run_until()` is False."""
    from PySide6.QtCore import QTimer

    stamps: list[float] = []
    timer = QTimer()
    timer.setInterval(tick_ms)
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    timer.start()
    deadline = time.perf_counter() + timeout_s
    while not run_until() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return 1000 * max(gaps) if gaps else 0.0
