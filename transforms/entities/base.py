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
    # False: the recogniser checked the knowledge base and rejected its match (the
    # trained model's type disagrees with the entity's), so linking must not redo it.
    linkable: bool = True
    # True: not a name by itself, only worth a mention if linking finds its entity
    # (a capitalised word the trained model left untagged: "Hafta", a typo of Haftar).
    only_if_linked: bool = False


class Recognizer(Protocol):
    """Finds entity spans in a text; may link them already (a gazetteer can)."""

    def __call__(self, text: str, language: str) -> list[Candidate]: ...
