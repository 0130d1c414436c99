"""The concept map (CONCEPTS.md): each idea of the course notes and where the lab shows it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Concept:
    number: int
    idea: str
    where: str
    what: str


@cache
def load_concepts() -> tuple[Concept, ...]:
    """The rows of the concept table shipped in resources/concepts.md."""
    text = (resources.files("resources") / "concepts.md").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        match = re.match(r"^\|\s*(\d+)\s*\|(.*)\|(.*)\|(.*)\|\s*$", line)
        if match:
            number, idea, where, what = match.groups()
            rows.append(Concept(int(number), idea.strip(), where.strip(), what.strip()))
    return tuple(rows)
