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
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from lab.images import DEFAULT_SAMPLE, LabImage, load_sample
from lab.params import Example, first_difference
from lab.progress import Progress
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
    #: part -> parts whose work its updater does too (a full redraw covers a recolour)
    covers: dict[str, tuple[str, ...]] = {}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        wheel.install()  # the wheel changes a control only when it has focus
        self._stale: set[str] = set()
        self._part_problems: dict[str, list[str]] = {}
        self._held = 0
        self._flushing = False
        self.updaters: dict[str, Callable[[], None]] = {}
        self.jobs: dict[str, LatestJob] = {}
        #: how often each part's updater ran (tests and benchmarks count computations)
        self.update_counts: Counter[str] = Counter()
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(0)
        self._update_timer.timeout.connect(self.flush)

    # ------------------------------------------------------------------ coalesced updates
    def request_update(self, *parts: str) -> None:
        """Mark `parts` (no parts: all of them) stale; they are recomputed once, on the next
        turn of the event loop (or at the end of `updates_held()`)."""
        self._stale.update(parts or self.updaters)
        if not self._held and not self._update_timer.isActive():
            self._update_timer.start()

    def flush(self) -> None:
        """Recompute every stale part now, reading the controls as they are."""
        self._update_timer.stop()
        dirty, self._stale = self._stale, set()
        if dirty:
            self._part_problems.pop("params", None)  # a refused view's note is now old
        for part in list(dirty):
            if part in self.updaters:
                dirty.difference_update(p for p in self.covers.get(part, ()) if p != part)
        self._flushing = True  # the banner is told once, at the end
        try:
            for part, update in self.updaters.items():
                if part in dirty:
                    self.update_counts[part] += 1
                    try:
                        update()
                    except Exception as exc:  # noqa: BLE001 - the library's refusal, shown
                        self.update_failed(part, exc)
            self.flushed(dirty)
        finally:
            self._flushing = False
        self.problemsChanged.emit()

    def update_failed(self, part: str, exc: Exception) -> None:
        """An updater raised: the library refused these settings. Shown, not raised; the
        last good result stays on screen."""
        self.set_problems(part, [f"torch refused these settings: {exc}"])

    def flushed(self, parts: set[str]) -> None:
        """Called after `flush` ran the updaters of `parts` (a panel marks its result drawn,
        schedules slower follow-ups); before `problemsChanged`."""

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
        if not self._flushing:
            self.problemsChanged.emit()

    def part_problems(self, part: str) -> list[str]:
        return list(self._part_problems.get(part, []))

    def problems(self) -> list[str]:
        parts = list(self.updaters) + [p for p in self._part_problems if p not in self.updaters]
        return [p for part in parts for p in self._part_problems.get(part, [])]

    # ------------------------------------------------------------------ jobs
    def add_job(self, name: str, on_item: Callable[[Any], None],
                on_idle: Callable[[], None] | None = None, *,
                on_failed: Callable[[str], None] | None = None, overlap: bool = False,
                interval: float = 0.05) -> LatestJob:
        """A newest-wins background job: `job.submit(make)` runs `make(should_stop)` (a lab
        generator) on a worker thread; its items reach `on_item` on the GUI thread; an
        exception becomes this part's problem (or goes to `on_failed`). `overlap` and
        `interval`: see `LatestJob`."""
        job = LatestJob(self, overlap=overlap, interval=interval)
        job.item.connect(on_item)
        if on_failed is not None:
            job.failed.connect(on_failed)
        else:
            job.failed.connect(lambda message, n=name: self.job_failed(n, message))
        if on_idle is not None:
            job.idle.connect(on_idle)
        self.jobs[name] = job
        return job

    def add_file_job(self, name: str, line: Callable[[], Any],
                     tell: Callable[[str], None]) -> LatestJob:
        """A job that writes a file on a worker (an export through the full result): its
        `Progress` items show on `line()` (a ProgressLine), the `Path` it yields last ends it
        as "saved NAME" and is kept in `last_export`; a failure goes to `tell` as
        "Export failed: …"."""
        self.last_export = None

        def arrived(item: Any) -> None:
            if isinstance(item, Progress):
                line().show_progress(item)
                return
            self.last_export = item
            line().done()
            line().label.setText(f"saved {item.name}")
            line().label.setToolTip(str(item))

        def failed(message: str) -> None:
            line().done()
            tell(f"Export failed: {message}")

        return self.add_job(name, arrived, on_failed=failed)

    def export_failed(self, message: str) -> None:
        """A file export's failure (path and reason), kept among the page's problems: a
        `report` for `widgets.kit.files`' writers."""
        self.set_problems("export", [message])

    def exported(self, ok: bool) -> bool:
        """`ok` passed through; a successful export clears the last failure's message."""
        if ok:
            self.set_problems("export", [])
        return ok

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
        """The page's whole state as its frozen view dataclass (lab/<panel>/view.py)."""
        raise NotImplementedError

    def apply_params(self, params: Any) -> None:
        """Put every control in `params`' state (called by `set_params`, updates held;
        may raise ValueError / KeyError for settings the page cannot take)."""
        raise NotImplementedError

    def set_params(self, params: Any) -> bool:
        """Put every control in `params`' state, computing once. Settings the controls
        cannot show (wrong kind, out of range, between steps) are refused: the banner says
        why and nothing changes. True when the page now shows `params`."""
        before = self.params()
        if type(params) is not type(before):
            self.refuse_params(f"these settings are for {type(params).__name__}, "
                               f"not {type(before).__name__}")
            return False
        pages = [self, *self.findChildren(Page)]  # a panel's tabs compute once too
        stale_before = {page: set(page._stale) for page in pages}
        with contextlib.ExitStack() as held:
            for page in pages:
                held.enter_context(page.updates_held())
            try:
                self.apply_params(params)
                problem = first_difference(params, self.params())
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                problem = f"cannot show these settings: {exc}"
            if problem:
                self.apply_params(before)
                for page in pages:  # the same state as before: nothing to recompute
                    page._stale = stale_before[page]
        if problem:
            self.refuse_params(problem)
            return False
        if self._part_problems.pop("params", None):
            self.problemsChanged.emit()
        return True

    def refuse_params(self, message: str) -> None:
        """Say why `set_params` changed nothing (the "params" part, cleared by the next
        computation). Pages with their own banner logic show it there."""
        self.set_problems("params", [message])

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
