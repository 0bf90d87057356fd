"""Link the spans any recogniser proposes to knowledge-base entities.

In order: the exact alias key; the key without a case ending or clitic
(``kb/inflection.yaml``); a full name as given name + known surname of one person;
then the namesake rules of ``transforms.entities.namesakes`` decide every one-word
surname; last, a gated fuzzy match for typos. Spans from the rule gazetteer and
from a trained model go through the same steps, so both refuse namesakes alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

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
from transforms.entities.namesakes import (
    SENTENCE_START_LANGUAGES,
    context_near,
    given_name_before,
    is_role,
    title_before,
)
from transforms.entities.tokens import TOKEN, sentence_initial
from transforms.names import fold, name_key, skeleton


@dataclass(slots=True)
class _Resolved:
    """A candidate on its way through linking."""

    cand: Candidate
    entity_id: str | None = None
    surname: str | None = None  # key of a one-word surname that still needs support
    namesake: str | None = None  # surname key of a full name that is not the entity's


@dataclass(frozen=True, slots=True)
class _FullName:
    """A full name in the document a later (or earlier) bare surname can refer to."""

    position: int
    surnames: frozenset[str]
    entity_id: str | None  # None: a namesake


def link_candidates(
    text: str,
    language: str,
    candidates: Sequence[Candidate],
    knowledge_base: KnowledgeBase,
    lexicon: Lexicon,
) -> list[Mention]:
    """Link candidates by key, full name and supported surname, then gated fuzzy match."""
    kb = knowledge_base
    resolved = [_resolve(text, language, c, kb, lexicon) for c in candidates]
    _decide_surnames(text, language, resolved, kb, lexicon)

    confident = {r.entity_id for r in resolved if r.entity_id}
    surnames: dict[str, str | None] = {}  # skeleton of a last name token -> entity or namesake
    for item in resolved:
        person = item.entity_id is not None and kb.entity(item.entity_id).label == "PER"
        if not (person or item.namesake or item.surname):
            continue
        words = TOKEN.findall(text, item.cand.start, item.cand.end)
        if not words:
            continue
        if person:
            surnames.setdefault(skeleton(words[-1]), item.entity_id)
        else:
            surnames[skeleton(words[-1])] = None
    heads = [(h, eid) for eid in sorted(confident) for h in kb.head_skeletons(eid)]
    evidence = ([h for h, _ in heads], [eid for _, eid in heads])

    mentions: list[Mention] = []
    for item in resolved:
        cand = item.cand
        eid = item.entity_id
        if eid is None and item.namesake is None and item.surname is None and cand.linkable:
            eid = _link_by_context(text, language, cand, kb, lexicon, surnames, evidence)
        surface = text[cand.start : cand.end]
        if eid is None and cand.only_if_linked:
            continue
        if eid is None:
            label = "PER" if item.namesake or item.surname else cand.label
            mentions.append(Mention(surface, label, cand.start, cand.end))
        else:
            entity = kb.entity(eid)
            mentions.append(
                Mention(surface, entity.label, cand.start, cand.end, entity.name, entity.entity_id)
            )
    mentions.sort(key=lambda m: (m.start, m.end))
    return mentions


def _resolve(
    text: str, language: str, cand: Candidate, kb: KnowledgeBase, lexicon: Lexicon
) -> _Resolved:
    """What the span itself says: an entity, a namesake, or a surname needing support."""
    if cand.entity_id is not None and not kb.has_full_name(cand.entity_id):
        return _Resolved(cand, cand.entity_id)  # an organisation, place, one-name person
    words = [m.group(0) for m in TOKEN.finditer(text, cand.start, cand.end)]
    if not words or (cand.entity_id is None and not cand.linkable):
        return _Resolved(cand, cand.entity_id)
    if cand.entity_id is not None and sum(1 for w in words if name_key(w)) > 1:
        return _Resolved(cand, cand.entity_id)  # a full name the recogniser linked
    found = kb.match(words, language)
    eid = cand.entity_id or (found.ids[0] if found else None)
    if eid is None:
        if len(words) == 1:
            return _Resolved(cand)
        return _full_name(text, words, language, cand, kb, lexicon)
    if found is not None and eid in found.ids:
        one_word = found.words == 1
    else:  # linked by the recogniser itself
        one_word = sum(1 for w in words if name_key(w)) == 1
    if not one_word or not kb.has_full_name(eid):
        return _Resolved(cand, eid)
    surname = found.key if found is not None and eid in found.ids else name_key(words[-1])
    given = given_name_before(text, cand.start, language, kb, lexicon, eid)
    if given is not None:
        if name_key(given.text) in kb.person_keys(eid)[0]:
            return _Resolved(cand, eid)  # "Khalifa" before "Haftar" in a span cut short
        return _Resolved(cand, None, namesake=surname)
    return _Resolved(cand, eid, surname=surname)


def _full_name(
    text: str,
    words: list[str],
    language: str,
    cand: Candidate,
    kb: KnowledgeBase,
    lexicon: Lexicon,
) -> _Resolved:
    """An unknown multi-word name ending in a person's surname: the person, or a namesake.

    Titles and roles in front ("Marshal", "General") are not given names, nor is an
    unknown capitalised word that starts a sentence where the lexicon cannot tell common
    words from names (as in ``given_name_before``: a trained model may take Russian
    "Voyska" (troops) into a name). What is left before the surname must all be given
    names of the one person to link to it.
    """
    found = kb.match(words[-1:], language)
    if found is None:
        return _Resolved(cand)
    people = [eid for eid in found.ids if kb.has_full_name(eid)]
    if not people:
        return _Resolved(cand)
    eid = people[0]
    uncertain_start = (
        sentence_initial(text, cand.start) and language not in SENTENCE_START_LANGUAGES
    )
    given = [
        w
        for i, w in enumerate(words[:-1])
        if name_key(w)
        and fold(w) not in lexicon.titles
        and not lexicon.is_common(w, language)
        and not any(is_role(w, p, kb, language) for p in people)
        and not (
            i == 0
            and uncertain_start
            and not (kb.is_given_name(w) or fold(w) in lexicon.given_names)
        )
    ]
    if not given:
        # Only titles (or an unknown sentence start) in front ("General Haftar" as one
        # span): the surname alone, linked at once when a title is one of the person's
        # roles, else a bare surname that needs support.
        surname = _last_word(text, cand)
        if any(is_role(w, eid, kb, language) for w in words[:-1]):
            return _Resolved(surname, eid)
        return _Resolved(surname, eid, surname=found.key)
    for person in people:
        if all(name_key(w) in kb.person_keys(person)[0] for w in given):
            return _Resolved(cand, person)
    return _Resolved(cand, None, namesake=found.key)


def _last_word(text: str, cand: Candidate) -> Candidate:
    """The candidate cut down to its last word: a surname without the title before it."""
    starts = [m.start() for m in TOKEN.finditer(text, cand.start, cand.end)]
    return dataclasses.replace(cand, start=starts[-1]) if starts else cand


def _decide_surnames(
    text: str, language: str, resolved: list[_Resolved], kb: KnowledgeBase, lexicon: Lexicon
) -> None:
    """Link or refuse every one-word surname, in place.

    1. One of the entity's roles as a title right before it links it ("Marshal Haftar").
    2. Else a full name with that surname in the article decides: the nearest one
       before it, else the nearest after it — the entity, or a namesake (no link).
    3. Else its context terms within ``SUPPORT_WINDOW`` support it; support for one
       mention carries to every bare mention of that entity in the article (it is the
       same story).
    4. Without support the surname stays an unlinked PER mention: recall is traded for
       precision, since a stray surname would raise a false alert.
    """
    full_names: list[_FullName] = []
    for item in resolved:
        if item.namesake:
            full_names.append(_FullName(item.cand.start, frozenset({item.namesake}), None))
        elif item.entity_id and item.surname is None and kb.has_full_name(item.entity_id):
            words = TOKEN.findall(text, item.cand.start, item.cand.end)
            if len(words) > 1:
                surnames = kb.person_keys(item.entity_id)[1]
                full_names.append(_FullName(item.cand.start, surnames, item.entity_id))
    supported: set[str] = set()
    undecided: list[_Resolved] = []
    for item in resolved:
        if item.surname is None or item.entity_id is None:
            continue
        cand, eid = item.cand, item.entity_id
        if title_before(text, cand.start, language, kb, lexicon, eid):
            item.surname = None  # "Marshal Haftar": the title names him, whoever else is here
            continue
        referent = _nearest_full_name(item, full_names)
        if referent is not None:
            item.entity_id = referent.entity_id
            if referent.entity_id is None:
                item.namesake = item.surname
            item.surname = None
            continue
        if (
            eid in supported
            or not kb.needs_support(eid)
            or context_near(text, cand.start, cand.end, language, kb, eid)
        ):
            supported.add(eid)
        undecided.append(item)
    for item in undecided:
        if item.entity_id in supported:
            item.surname = None
        else:
            item.entity_id = None


def _nearest_full_name(item: _Resolved, full_names: list[_FullName]) -> _FullName | None:
    same = [f for f in full_names if item.surname in f.surnames]
    if not same:
        return None
    before = [f for f in same if f.position <= item.cand.start]
    if before:
        return max(before, key=lambda f: f.position)
    return min(same, key=lambda f: f.position)


def _link_by_context(
    text: str,
    language: str,
    cand: Candidate,
    kb: KnowledgeBase,
    lexicon: Lexicon,
    surnames: dict[str, str | None],
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
    # one edit away from a single entity, and for a person's surname only with support.
    if len(shape) < MIN_UNSUPPORTED_FUZZY_LENGTH or sentence_initial(text, cand.start):
        return None
    ids, distance = kb.closest(shape)
    if len(ids) != 1 or distance > MAX_UNSUPPORTED_FUZZY_EDITS:
        return None
    eid = ids[0]
    if kb.has_full_name(eid) and given_name_before(text, cand.start, language, kb, lexicon, eid):
        return None
    if kb.needs_support(eid) and not (
        title_before(text, cand.start, language, kb, lexicon, eid)
        or context_near(text, cand.start, cand.end, language, kb, eid)
    ):
        return None
    return eid
