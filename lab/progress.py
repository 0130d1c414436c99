"""What a long lab job yields on the way to its result: a stage name and a fraction done.
Any panel's progress line shows it (widgets.kit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    stage: str
    fraction: float
