"""The transform chain: the ordered stages every raw document goes through.

Beam (``pipelines/stages.py``) and the offline ``newsbeam process`` command run
the same list, so a document comes out the same whichever way it went.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable
from itertools import islice
from typing import NamedTuple

from transforms.boilerplate import strip_boilerplate
from transforms.budget import time_limit
from transforms.document import (
    CONTENT_HTML,
    DeadLetter,
    Document,
    PoisonInputError,
    document_id,
)
from transforms.entities import EntityTagger
from transforms.fingerprint import fingerprint
from transforms.html import extract_html
from transforms.language import detect_language, warm_up_language
from transforms.metadata import extract_metadata

# A word: two or more letters. Decodable input with fewer than MIN_WORDS of them (a 1 MB run
# of one "word", a page of nothing but entities or digits) is not an article.
_WORD = re.compile(r"[^\W\d_]{2,}")
MIN_WORDS = 3


def extract_text(doc: Document) -> Document:
    """Set the body text: trafilatura for HTML, normalised lines for plain text."""
    if doc.content_type == CONTENT_HTML:
        extracted = extract_html(doc)
    else:
        text = unicodedata.normalize("NFC", doc.content.replace("\r\n", "\n").replace("\r", "\n"))
        text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
        if not text:
            raise PoisonInputError("empty", "the document has no text")
        extracted = dataclasses.replace(doc, text=text)
    if sum(1 for _ in islice(_WORD.finditer(extracted.text), MIN_WORDS)) < MIN_WORDS:
        raise PoisonInputError(
            "no_words", f"the text has fewer than {MIN_WORDS} words; it is not an article"
        )
    return extracted


class Stage(NamedTuple):
    name: str
    apply: Callable[[Document], Document]
    # Loads what the stage needs for any document, so a worker pays for it in ``setup()``
    # at start rather than on its first document. Only what every document may need: a
    # warm-up that loads more delays the first document instead (docs/transforms.md).
    warm_up: Callable[[], None] | None = None


def build_stages(knowledge_base_file: str = "") -> tuple[Stage, ...]:
    """The stages in order; ``knowledge_base_file`` replaces the packaged knowledge base."""
    return (
        Stage("extract", extract_text),
        Stage("metadata", extract_metadata),
        Stage("boilerplate", strip_boilerplate),
        Stage("language", detect_language, warm_up_language),
        Stage("entities", EntityTagger(knowledge_base_file)),
        Stage("fingerprint", fingerprint),
    )


STAGES = build_stages()


def dead_letter(stage: str, doc: Document, exc: Exception) -> DeadLetter:
    """A stage's failure as data: poison input keeps its reason, a bug is ``stage_error``."""
    if isinstance(exc, PoisonInputError):
        reason, message = exc.reason, exc.message
    else:
        reason, message = "stage_error", f"{exc.__class__.__name__}: {exc}"
    return DeadLetter(
        stage=stage,
        reason=reason,
        message=message,
        origin=doc.origin,
        document_id=doc.id,
        document=doc.as_raw().to_dict(),  # replay starts the chain afresh
    )


def apply_stage(stage: Stage, doc: Document, limit_s: float | None = None) -> Document | DeadLetter:
    """One stage on one document; a failure, or running past ``limit_s`` seconds
    (``transforms/budget.py``), becomes the document's dead letter."""
    try:
        with time_limit(limit_s, stage.name):
            return stage.apply(doc)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded as data
        return dead_letter(stage.name, doc, exc)


def enrich(
    doc: Document, stages: tuple[Stage, ...] = STAGES, limit_s: float | None = None
) -> Document | DeadLetter:
    """Run every stage in order, each within ``limit_s`` seconds when given; the first
    failure becomes the document's dead letter."""
    for stage in stages:
        result = apply_stage(stage, doc, limit_s)
        if isinstance(result, DeadLetter):
            return result
        doc = result
    return doc


# Long and plainly English: rules, knowledge base and CLD2 load; lingua's models load when
# a text first needs them, off the budget (transforms/language.py), and only then.
_WARM_UP_TEXT = (
    "Khalifa Haftar met United Nations officials in Tripoli on Monday, the ministry said. "
    "The talks on the ceasefire and the elections went on until late in the evening.\n\n"
    "Reuters reported that the delegations would meet again in Geneva next week, and that "
    "the ministers of both governments had asked for more time to study the proposals."
)
_warmed: set[int] = set()


def warm_up(stages: tuple[Stage, ...] = STAGES) -> None:
    """Each stage's own warm-up, then the chain once, without a time budget, on a sample
    text: rules, the knowledge base and models load here, not inside the first document's
    budget. Once per process and chain."""
    if id(stages) in _warmed:
        return
    for stage in stages:
        if stage.warm_up is not None:
            stage.warm_up()
    text = _WARM_UP_TEXT
    enrich(Document(id=document_id(content=text), origin="warm-up", content=text), stages)
    _warmed.add(id(stages))
