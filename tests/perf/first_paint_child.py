"""Child process of bench_startup / the first-paint test: the real window, as `run()` builds
it, prints the seconds since the process started and whether torch was imported when its
first frame was painted, then quits."""

import sys
import time
from pathlib import Path

START = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's code

from PySide6.QtCore import QEvent, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from widgets.app import MainWindow  # noqa: E402


class FirstFrame(QObject):
    def __init__(self, window, app) -> None:
        super().__init__()
        self.window, self.app, self.seen = window, app, False

    def eventFilter(self, watched, event):  # noqa: N802 (Qt API)
        if watched is self.window and not self.seen and \
                event.type() == QEvent.Type.UpdateRequest:
            self.seen = True
            torch_loaded = "torch" in sys.modules  # before this frame was painted
            QTimer.singleShot(0, lambda: self.report(torch_loaded))
        return False

    def report(self, torch_loaded: bool) -> None:
        print(f"first_paint_s={time.perf_counter() - START:.3f} torch={torch_loaded}",
              flush=True)
        self.app.quit()


app = QApplication(sys.argv[:1])
window = MainWindow(save_settings=False)
frame = FirstFrame(window, app)
window.installEventFilter(frame)
window.show()
window.show_panel(window.restore_settings())
app.exec()
window.close()
