"""Child process of bench_startup: the real window opened on a panel (argv[1], as
`main.py --panel ID` opens it), prints the seconds from this script's start to the panel's
first drawn result, then quits. With `--bare-torch` it prints how long a bare `import torch`
takes from the same starting point instead, so both figures leave out the interpreter's own
start and exit."""

import os
import sys
import time
from pathlib import Path

START = time.perf_counter()

if sys.argv[1] == "--bare-torch":
    import torch  # noqa: F401

    print(f"seconds={time.perf_counter() - START:.3f}", flush=True)
    sys.exit(0)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's code

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from widgets.app import MainWindow  # noqa: E402
from widgets.kit.settings import TRAINER_ENV  # noqa: E402

os.environ.setdefault(TRAINER_ENV, "process")  # as run() does: the trainer is pre-started too
app = QApplication(sys.argv[:1])
window = MainWindow(save_settings=False)
window.show()
panel = window.show_panel(sys.argv[1])


def report() -> None:
    print(f"seconds={time.perf_counter() - START:.3f}", flush=True)
    app.quit()


if panel.has_drawn():
    QTimer.singleShot(0, report)
else:
    panel.resultDrawn.connect(report)
QTimer.singleShot(120_000, app.quit)
app.exec()
window.close()
