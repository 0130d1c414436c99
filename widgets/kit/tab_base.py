"""What the Architectures panel's tabs share: form helpers, and `LabTab`, a page that
coalesces updates (like the Pooling panel), runs its long work as `LatestJob`s, and tells
its panel about problems and first results."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QWidget,
)

from lab.progress import Progress
from widgets.kit.controls import QuietProgressBar
from widgets.kit.jobs import LatestJob


class ProgressLine(QWidget):
    """"tracing DenseNet-121… ▰▰▰▱▱" — hidden while nothing runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QuietProgressBar()
        self.bar.setFixedSize(140, 10)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self.done()

    def show_progress(self, progress: Progress) -> None:
        self.bar.setVisible(True)
        self.bar.set_fraction(progress.fraction)
        self.bar.setToolTip(f"{100 * progress.fraction:.0f} %")
        self.label.setText(progress.stage + "…")

    def done(self) -> None:
        self.bar.setVisible(False)
        self.label.setText("")


class LabTab(QWidget):
    """A tab with coalesced updates: `request_update(part)` marks a part stale; `flush()`
    recomputes each stale part once, reading the controls then. Subclasses map parts to
    methods in `updaters`, keep their problems per part, and emit `drawn` after results."""

    problemsChanged = Signal()
    drawn = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dirty: set[str] = set()
        self._problems: dict[str, list[str]] = {}
        self.updaters: dict[str, Callable[[], None]] = {}
        self.jobs: dict[str, LatestJob] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush)

    def add_job(self, name: str, on_item: Callable, on_idle: Callable[[], None]) -> LatestJob:
        job = LatestJob(self)
        job.item.connect(on_item)
        job.failed.connect(lambda message, n=name: self.job_failed(n, message))
        job.idle.connect(on_idle)
        self.jobs[name] = job
        return job

    def request_update(self, *parts: str) -> None:
        self._dirty.update(parts)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        dirty, self._dirty = self._dirty, set()
        for part, update in self.updaters.items():
            if part in dirty:
                update()
        self.problemsChanged.emit()

    def set_problems(self, part: str, problems: list[str]) -> None:
        self._problems[part] = list(problems)
        self.problemsChanged.emit()

    def problems(self) -> list[str]:
        return [p for part in self.updaters for p in self._problems.get(part, [])]

    def job_failed(self, part: str, message: str) -> None:
        """A job's exception: shown in the banner (torch's message names the layer)."""
        known = ("GraphError", "InputTooSmallError", "ValueError")
        self.set_problems(part, [message.split(": ", 1)[1] if message.startswith(known)
                                 else message])

    def is_idle(self) -> bool:
        return not self._dirty and not any(job.busy() for job in self.jobs.values())

    def shutdown(self) -> None:
        self._timer.stop()
        for job in self.jobs.values():
            job.shutdown()


ALIGN_TOP_CENTER = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
