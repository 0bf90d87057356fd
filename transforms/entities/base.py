"""What every recogniser hands the linker: ``Candidate`` spans, behind ``Recognizer``.

Kept apart from the rule finder and the linker so a trained model can implement the
protocol without importing either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Candidate:
    """A span a recogniser proposes: ``text[start:end]``, linked when ``entity_id`` is set."""

    start: int
    end: int
    label: str
    entity_id: str | None = None
    fuzzy: bool = False


class Recognizer(Protocol):
    """Finds entity spans in a text; may link them already (a gazetteer can)."""

    def __call__(self, text: str, language: str) -> list[Candidate]: ...
