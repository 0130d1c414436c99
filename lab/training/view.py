"""What the Training lab's form shows, as data: the next run's whole configuration
(`lab.params.to_data` / `from_data` save and restore it). The runs themselves are kept
in the run history, not in a view."""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.training import TrainConfig


@dataclass(frozen=True)
class TrainingView:
    config: TrainConfig = field(default_factory=TrainConfig)
