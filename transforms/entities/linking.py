"""Link the spans any recogniser proposes to knowledge-base entities."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from transforms.document import Mention
from transforms.entities.base import Candidate
from transforms.entities.knowledge_base import (
    MAX_UNSUPPORTED_FUZZY_EDITS,
    MIN_FUZZY_LENGTH,
    MIN_UNSUPPORTED_FUZZY_LENGTH,
    KnowledgeBase,
)
from transforms.entities.lexicon import Lexicon
from transforms.entities.tokens import TOKEN, sentence_initial
from transforms.names import skeleton


def link_candidates(
    text: str,
    language: str,
    candidates: Sequence[Candidate],
    knowledge_base: KnowledgeBase,
    lexicon: Lexicon,
) -> list[Mention]:
    """Link unlinked candidates by exact key, surname co-reference, then gated fuzzy match."""
    kb = knowledge_base
    resolved: list[Candidate] = []
    for cand in candidates:
        if cand.entity_id is None:
            words = [m.group(0) for m in TOKEN.finditer(text, cand.start, cand.end)]
            if words:
                ids, _ = kb.lookup(words, language)
                if ids:
                    cand = dataclasses.replace(
                        cand, entity_id=ids[0], label=kb.entity(ids[0]).label
                    )
        resolved.append(cand)

    confident = {c.entity_id for c in resolved if c.entity_id}
    surnames: dict[str, str] = {}  # skeleton of the last name token -> entity linked in this doc
    for cand in resolved:
        if cand.entity_id and kb.entity(cand.entity_id).label == "PER":
            words = TOKEN.findall(text, cand.start, cand.end)
            if words:
                surnames.setdefault(skeleton(words[-1]), cand.entity_id)
    heads = [(h, eid) for eid in sorted(confident) for h in kb.head_skeletons(eid)]
    evidence = ([h for h, _ in heads], [eid for _, eid in heads])

    mentions: list[Mention] = []
    for cand in resolved:
        eid = cand.entity_id
        if eid is None:
            eid = _link_by_context(text, language, cand, kb, lexicon, surnames, evidence)
        surface = text[cand.start : cand.end]
        if eid is None:
            mentions.append(Mention(surface, cand.label, cand.start, cand.end))
        else:
            entity = kb.entity(eid)
            mentions.append(
                Mention(surface, entity.label, cand.start, cand.end, entity.name, entity.entity_id)
            )
    mentions.sort(key=lambda m: (m.start, m.end))
    return mentions


def _link_by_context(
    text: str,
    language: str,
    cand: Candidate,
    kb: KnowledgeBase,
    lexicon: Lexicon,
    surnames: dict[str, str],
    evidence: tuple[list[str], list[str]],
) -> str | None:
    words = TOKEN.findall(text, cand.start, cand.end)
    if len(words) != 1:
        return None
    word = words[0]
    if lexicon.is_common(word, language) or not word[:1].isupper() or lexicon.is_adjective(word):
        return None
    shape = skeleton(word)
    if shape in surnames:
        return surnames[shape]
    if len(shape) < MIN_FUZZY_LENGTH:
        return None
    allowed = 1 if len(shape) <= 7 else 2
    heads, owners = evidence
    if heads:
        near = process.extractOne(shape, heads, scorer=Levenshtein.distance, score_cutoff=allowed)
        if near is not None:
            return owners[near[2]]
    # No evidence in the document: only a long, capitalised word in name position,
    # one edit away from a single entity.
    if len(shape) < MIN_UNSUPPORTED_FUZZY_LENGTH or sentence_initial(text, cand.start):
        return None
    ids, distance = kb.closest(shape)
    if len(ids) == 1 and distance <= MAX_UNSUPPORTED_FUZZY_EDITS:
        return ids[0]
    return None
