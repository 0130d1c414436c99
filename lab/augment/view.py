"""What the Augmentation panel shows, as data: the pipeline (lab.augment's JSON spec), the
draws (how many, which seed, locked or not, the input's dtype), the preset offered and
the selected step (`lab.params.to_data` / `from_data` save and restore it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lab.augment import make_spec


@dataclass(frozen=True)
class AugmentView:
    #: the pipeline in the JSON shape of `lab.augment` (make_spec / spec_to_json)
    spec: dict[str, Any] = field(default_factory=make_spec)
    count: int = 16
    seed: int = 0
    #: locked: the seed stays while parameters change; unlocked: every change re-rolls
    lock: bool = True
    input_dtype: Literal["uint8", "float32"] = "uint8"
    #: the preset Apply would use, and the row of the step being edited (-1: none)
    preset: str = "notes"
    selected_step: int = 0
