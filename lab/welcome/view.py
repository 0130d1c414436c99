"""What the Welcome page shows, as data: nothing to set (the concept map is fixed), so a
saved Welcome view is an empty object."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WelcomeView:
    pass
