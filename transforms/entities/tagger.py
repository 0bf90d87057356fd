"""The entity stage as a document transform: recognise, then link."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from transforms.document import Document
from transforms.entities.base import Candidate, Recognizer
from transforms.entities.knowledge_base import KnowledgeBase, load_knowledge_base
from transforms.entities.lexicon import default_lexicon
from transforms.entities.linking import link_candidates


def tag_entities(
    doc: Document,
    *,
    knowledge_base: KnowledgeBase | None = None,
    recognizer: Recognizer | None = None,
) -> Document:
    """A new document whose ``entities`` are the tagged and linked mentions of ``doc.text``."""
    kb = knowledge_base or load_knowledge_base()
    lexicon = default_lexicon()
    if recognizer is None:
        from transforms.ner.recognizer import default_recognizer  # imports this package

        recognizer = default_recognizer(kb)
    recognise = recognizer
    language = (doc.language or "und").lower()
    candidates = _non_overlapping(recognise(doc.text, language))
    mentions = link_candidates(doc.text, language, candidates, kb, lexicon)
    return dataclasses.replace(doc, entities=mentions)


@dataclass(frozen=True)
class EntityTagger:
    """``tag_entities`` bound to a knowledge-base file (settings ``knowledge_base_file``).

    Holds only the path, so it pickles small for Beam workers; each process loads
    (and caches) the knowledge base the first time it tags.
    """

    knowledge_base_file: str = ""

    def __call__(self, doc: Document) -> Document:
        kb = load_knowledge_base(self.knowledge_base_file or None)
        return tag_entities(doc, knowledge_base=kb)


def _non_overlapping(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Resolve overlaps a recogniser may propose: linked spans win, then longer ones."""
    chosen: list[Candidate] = []
    for cand in sorted(candidates, key=lambda c: (c.start, -c.end)):
        if cand.start >= cand.end:
            continue
        if chosen and cand.start < chosen[-1].end:
            last = chosen[-1]
            rank = (cand.entity_id is not None, cand.end - cand.start)
            if rank > (last.entity_id is not None, last.end - last.start):
                chosen[-1] = cand
            continue
        chosen.append(cand)
    return chosen
