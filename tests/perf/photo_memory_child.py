"""Peak memory of a 4096² photo in the Convolution panel with 16 kernels, in a fresh
process (bench_photo runs it): the panel drawn, every pixel's statistics, then one map
exported. Prints JSON: the peak resident set (MB) after each stage."""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def peak_mb() -> float:
    """This process image's peak resident set: /proc's VmHWM (getrusage's ru_maxrss keeps
    the peak of the process that started this one: exec does not reset it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from helpers import qapp

    from lab.device import keep_freed_memory

    keep_freed_memory()  # as the app does
    app = qapp()
    import bench_photo

    from widgets.conv.panel import ConvPanel
    from widgets.kit.panel import AppState

    image = bench_photo.photo(4096)
    figures = {"photo_loaded_mb": peak_mb()}
    panel = ConvPanel(AppState(image))
    panel.resize(1300, 900)
    panel.show()
    panel.out_channels.setValue(16)
    panel.padding.setValue(1)
    panel.flush()

    def wait(condition) -> None:
        deadline = time.monotonic() + 600
        while not condition() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)

    wait(panel.has_drawn)
    figures["drawn_mb"] = peak_mb()
    panel.request_full_result()
    wait(panel.full_result_ready)
    figures["statistics_mb"] = peak_mb()
    export = getattr(panel, "export_map_file", None)
    if export is not None:
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "map.png"
            export(target, kernel=0)
            wait(lambda: panel.last_export == target)
        figures["export_png_mb"] = peak_mb()
    panel.shutdown()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
