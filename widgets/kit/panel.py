"""What every panel and tab is built on.

- `AppState`: what all panels share — the current image and the compute device's label.
- `Page`: a widget with coalesced updates, newest-wins background jobs, problems for the
  error banner and parameters both ways (`params()` / `set_params()`). The Architectures
  tabs are Pages.
- `Panel`: a Page in the registry (widgets/app.py): it sees the `AppState`, says when its
  first result is on screen (`--screenshot`, tests) and stops its own work on close.

Coalescing: controls call `request_update(part)`, which marks a part stale and starts a
zero-delay single-shot timer; `flush()` reads the controls *then* and runs each stale
part's updater once, in the order of `updaters`. A burst of 50 slider changes is one or
two computations, never a queue. `set_params(p)` puts every control in `p`'s state under
`updates_held()`, so the whole change is one computation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from lab.images import DEFAULT_SAMPLE, LabImage, load_sample
from lab.params import Example
from widgets.kit import wheel
from widgets.kit.jobs import LatestJob


class AppState(QObject):
    """State shared by all panels: the current image, the compute device's label, and
    per-channel Normalize values one panel offers another (panels never import each
    other: the Normalization panel offers, the Augmentation panel takes)."""

    imageChanged = Signal(object)   # LabImage
    deviceChanged = Signal(str)
    normalizeOffered = Signal(object)  # (mean list, std list)

    def __init__(self, image: LabImage | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._image = image or load_sample(DEFAULT_SAMPLE)
        self._device_label = ""
        self._pending_normalize: tuple[list[float], list[float]] | None = None

    @property
    def image(self) -> LabImage:
        return self._image

    def set_image(self, image: LabImage) -> None:
        self._image = image
        self.imageChanged.emit(image)

    @property
    def device_label(self) -> str:
        return self._device_label

    def set_device_label(self, label: str) -> None:
        self._device_label = label
        self.deviceChanged.emit(label)

    def offer_normalize(self, mean: list[float], std: list[float]) -> None:
        """Per-channel mean and std for a Normalize step; kept until a panel takes them
        (the Augmentation panel may not be built yet)."""
        self._pending_normalize = (list(mean), list(std))
        self.normalizeOffered.emit(self._pending_normalize)

    def take_normalize(self) -> tuple[list[float], list[float]] | None:
        values, self._pending_normalize = self._pending_normalize, None
        return values


class Page(QWidget):
    """A widget with coalesced updates, jobs, problems and parameters both ways.

    Subclasses fill `updaters` (part name -> method, in the order they must run), call
    `request_update(part)` from their controls, report problems per part with
    `set_problems`, start long work with `add_job(...).submit(make_generator)`, emit
    `drawn` after each drawn result, and implement `params()` / `set_params()`.
    """

    problemsChanged = Signal()
    drawn = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        wheel.install()  # the wheel changes a control only when it has focus
        self._stale: set[str] = set()
        self._part_problems: dict[str, list[str]] = {}
        self._held = 0
        self.updaters: dict[str, Callable[[], None]] = {}
        self.jobs: dict[str, LatestJob] = {}
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(0)
        self._update_timer.timeout.connect(self.flush)

    # ------------------------------------------------------------------ coalesced updates
    def request_update(self, *parts: str) -> None:
        """Mark `parts` stale; they are recomputed once, on the next turn of the event loop
        (or at the end of `updates_held()`)."""
        self._stale.update(parts)
        if not self._held and not self._update_timer.isActive():
            self._update_timer.start()

    def flush(self) -> None:
        """Recompute every stale part now, reading the controls as they are."""
        self._update_timer.stop()
        dirty, self._stale = self._stale, set()
        for part, update in self.updaters.items():
            if part in dirty:
                update()
        self.problemsChanged.emit()

    @contextlib.contextmanager
    def updates_held(self) -> Iterator[None]:
        """Hold requested updates until the block ends (many control changes, one
        computation): `set_params` uses it."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held and self._stale and not self._update_timer.isActive():
                self._update_timer.start()

    def pending_parts(self) -> set[str]:
        return set(self._stale)

    # ------------------------------------------------------------------ problems
    def set_problems(self, part: str, problems: list[str]) -> None:
        self._part_problems[part] = list(problems)
        self.problemsChanged.emit()

    def problems(self) -> list[str]:
        parts = list(self.updaters) + [p for p in self._part_problems if p not in self.updaters]
        return [p for part in parts for p in self._part_problems.get(part, [])]

    # ------------------------------------------------------------------ jobs
    def add_job(self, name: str, on_item: Callable[[Any], None],
                on_idle: Callable[[], None] | None = None) -> LatestJob:
        """A newest-wins background job: `job.submit(make)` runs `make(should_stop)` (a lab
        generator) on a worker thread; its items reach `on_item` on the GUI thread; an
        exception becomes this part's problem."""
        job = LatestJob(self)
        job.item.connect(on_item)
        job.failed.connect(lambda message, n=name: self.job_failed(n, message))
        if on_idle is not None:
            job.idle.connect(on_idle)
        self.jobs[name] = job
        return job

    def job_failed(self, part: str, message: str) -> None:
        """A job's exception, shown in the banner ("ValueError: x" shows as "x")."""
        known = ("GraphError", "InputTooSmallError", "ValueError")
        self.set_problems(part, [message.split(": ", 1)[1] if message.startswith(known)
                                 else message])

    def is_idle(self) -> bool:
        """Nothing stale, no job running or waiting (tests, benchmarks)."""
        return not self._stale and not any(job.busy() for job in self.jobs.values())

    # ------------------------------------------------------------------ parameters
    def params(self) -> Any:
        """The page's whole state as its frozen params dataclass."""
        raise NotImplementedError

    def set_params(self, params: Any) -> None:
        """Put every control in `params`' state, computing once (use `updates_held()`)."""
        raise NotImplementedError

    def examples(self) -> dict[int, Example]:
        """Prepared views by concept number (rows of CONCEPTS.md): the Welcome map opens the
        panel with `set_params(example.params)`. Each panel keeps its own in
        `lab/<panel>/examples.py`."""
        return {}

    # ------------------------------------------------------------------ lifetime
    def shutdown(self) -> None:
        """Stop and join any background work. Called on close; must be idempotent."""
        self._update_timer.stop()
        for job in self.jobs.values():
            job.shutdown()


class Panel(Page):
    """A page in the registry: sees the `AppState`; `mark_drawn()` after each drawn result
    (`--screenshot` waits for the first)."""

    resultDrawn = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._drawn = False

    def mark_drawn(self) -> None:
        self._drawn = True
        self.resultDrawn.emit()
        self.drawn.emit()

    def has_drawn(self) -> bool:
        return self._drawn
