"""One name, one reading per document: a run-time pass over a document's CRF tags.

The CRF tags each sentence on its own, so the same name can be found in one sentence and
missed in the next, or found as "Lotte Wilms" and missed as a later bare "Wilms".
Sentence-level taggers gain from document evidence (Krishnan & Manning 2006; Ratinov &
Roth 2009, "prediction aggregation"); this pass uses it without a second model, over the
tags of all sentences of one document, before they become candidates:

- **parts** (on): the words of a multi-word person name ("Lotte Wilms") vote PER for the
  same word alone ("Wilms"); a bare mention typed otherwise is retyped when the full
  names outvote its own tags, so a later bare surname is read as that person;
- **propagate** (on): a form typed somewhere in the document is tagged where the CRF left
  it untagged — only written exactly the same way, where no other span touches it, not a
  common word or title of the language, not an initial, and not written in lower case
  anywhere in the document ("May" the month, "Will"); sentence starts included;
- **vote** (off): every span with the same words gets the majority type of its mentions.
  On the dev splits the majority was wrong about as often as right ("Coron" PER nine
  times, LOC only in "Coron Island"), and metonymy gives one form two types.

A tie leaves each sentence's own reading. Votes count 1 per span, or the tagger's
confidence when it gives one. The cost is a few dict and set operations per document
(~3 % of the entity stage). Which rules run is a ``ConsistencyRules`` value; docs/entities.md
("Document consistency") has what each bought on the dev splits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

# Tokens that may stand before a sentence's first word (quotes, dashes, bullets).
_LEAD = frozenset("\"'“”‘’«»„‹›(-–—•*")


@dataclass(frozen=True)
class ConsistencyRules:
    """Which document-level rules run (see the module docstring)."""

    vote: bool = False
    parts: bool = True
    propagate: bool = True
    # Words of multi-word ORG/LOC names also vote for the word alone ("Harrow School").
    org_loc_parts: bool = False
    # Propagate to a sentence's first word too (its capital says nothing, the document does).
    into_sentence_start: bool = True

    @property
    def active(self) -> bool:
        return self.vote or self.parts or self.propagate


NO_RULES = ConsistencyRules(vote=False, parts=False, propagate=False)


@dataclass
class TaggedSentence:
    """One sentence's words and IOB2 tags; the pass rewrites ``tags`` in place."""

    words: list[str]
    tags: list[str]
    # How sure the tagger is of each tag, e.g. crfsuite's marginal probability (None:
    # every span weighs 1; the packaged recogniser passes None, see docs/entities.md).
    confidence: list[float] | None = None


def tag_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(first, end, type)`` of each span of an IOB2 sequence, in order (an ``I-`` that
    continues nothing starts a span, as in ``corpus.spans``)."""
    found: list[tuple[int, int, str]] = []
    start, end, kind = -1, -1, ""
    for i, tag in [(i, tag) for i, tag in enumerate(tags) if tag != "O"]:
        if i == end and tag[0] == "I" and tag[2:] == kind:
            end = i + 1
            continue
        if start >= 0:
            found.append((start, end, kind))
        start, end, kind = i, i + 1, tag[2:]
    if start >= 0:
        found.append((start, end, kind))
    return found


def make_consistent(
    sentences: Sequence[TaggedSentence],
    is_common: Callable[[str], bool],
    rules: ConsistencyRules,
) -> int:
    """Apply ``rules`` to the tags of one document's sentences in place; returns how many
    spans were retyped or added. ``is_common(word)``: a common word of the language."""
    if not rules.active:
        return 0
    mentions: list[tuple[TaggedSentence, int, int, str, tuple[str, ...]]] = []
    votes: dict[tuple[str, ...], dict[str, float]] = {}
    part_votes: dict[tuple[str, ...], dict[str, float]] = {}
    part_kinds = ("PER", "ORG", "LOC") if rules.org_loc_parts else ("PER",)
    for sentence in sentences:
        if sentence.tags.count("O") == len(sentence.tags):
            continue  # most sentences: skipped at C speed
        for first, end, kind in tag_spans(sentence.tags):
            form = tuple(sentence.words[first:end])
            if not (_name_word(form[0]) or any(_name_word(word) for word in form[1:])):
                continue  # "@" of a handle, a number: no name to agree on
            weight = 1.0 if sentence.confidence is None else min(sentence.confidence[first:end])
            mentions.append((sentence, first, end, kind, form))
            tally = votes.setdefault(form, {})
            tally[kind] = tally.get(kind, 0.0) + weight
            if rules.parts and end - first > 1 and kind in part_kinds:
                for word in form:
                    if _name_word(word) and not is_common(word):
                        tally = part_votes.setdefault((word,), {})
                        tally[kind] = tally.get(kind, 0.0) + weight
    types: dict[tuple[str, ...], str] = {}
    for form in votes.keys() | part_votes.keys():
        tally = votes.get(form, {})
        if form in part_votes:
            tally = dict(tally)
            for kind, weight in part_votes[form].items():
                tally[kind] = tally.get(kind, 0.0) + weight
        if len(tally) == 1:
            types[form] = next(iter(tally))  # the common case: one type, nothing to settle
            continue
        best = max(tally.values())
        winners = [kind for kind, weight in tally.items() if weight == best]
        if len(winners) == 1:
            types[form] = winners[0]
    changed = 0
    if rules.vote or part_votes:
        for sentence, first, end, kind, form in mentions:
            chosen = types.get(form)
            if chosen is None or chosen == kind:
                continue
            if not rules.vote and form not in part_votes:
                continue  # parts alone: only bare words of full names are retyped
            _set(sentence.tags, first, end, chosen)
            changed += 1
    if rules.propagate:
        changed += _propagate(sentences, types, is_common, rules)
    return changed


def _propagate(
    sentences: Sequence[TaggedSentence],
    types: dict[tuple[str, ...], str],
    is_common: Callable[[str], bool],
    rules: ConsistencyRules,
) -> int:
    """Tag the untagged occurrences of the document's typed forms (longest form first)."""
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for form in types:
        if (
            _name_word(form[0]) and not is_common(form[0])
            if len(form) == 1
            else form[0][:1].isupper()  # "J. Smith", "The Times": written out in full
        ):
            by_first.setdefault(form[0], []).append(form)
    if not by_first:
        return 0
    for forms in by_first.values():
        forms.sort(key=len, reverse=True)
    written = set(chain.from_iterable(s.words for s in sentences))
    changed = 0
    for sentence in sentences:
        words, tags = sentence.words, sentence.tags
        if by_first.keys().isdisjoint(words):  # C speed: no Python step per token
            continue
        present = by_first.keys() & words
        start = -1 if rules.into_sentence_start else _first_word(words)
        for i in sorted(_positions(words, present)):  # left to right: "Gary Player" first
            if tags[i] == "O" and i != start:
                changed += _tag_form(words, tags, i, by_first[words[i]], types, written)
    return changed


def _positions(words: list[str], present: set[str]) -> list[int]:
    """Where the words of ``present`` stand in ``words`` (found by C-speed ``index``)."""
    found: list[int] = []
    for word in present:
        i = -1
        for _ in range(words.count(word)):
            i = words.index(word, i + 1)
            found.append(i)
    return found


def _tag_form(
    words: list[str],
    tags: list[str],
    i: int,
    forms: list[tuple[str, ...]],
    types: dict[tuple[str, ...], str],
    written: set[str],
) -> int:
    """Tag the longest of ``forms`` written at ``i`` where nothing is tagged; 1 if one was."""
    for form in forms:
        end = i + len(form)
        if (
            tuple(words[i:end]) == form
            and tags[i:end].count("O") == len(form)
            and _apart(tags, i, end)
            # a word also written in lower case in the document is a word: "May", "Will"
            and not (len(form) == 1 and form[0].lower() in written)
        ):
            _set(tags, i, end, types[form])
            return 1
    return 0


def _apart(tags: Sequence[str], first: int, end: int) -> bool:
    """No span touches ``first:end`` (a name written next to another is not this one)."""
    return (first == 0 or tags[first - 1] == "O") and (end == len(tags) or tags[end] == "O")


def _name_word(word: str) -> bool:
    """Could stand for a name alone: capitalised (or a caseless script), two letters or
    more, no dot (initials "J." and abbreviations say too little on their own)."""
    return len(word) > 1 and word[0].isalpha() and not word[0].islower() and "." not in word


def _first_word(words: Sequence[str]) -> int:
    """Index of a sentence's first word (after opening quotes and dashes)."""
    i = 0
    while i < len(words) and words[i] in _LEAD:
        i += 1
    return i


def _set(tags: list[str], first: int, end: int, kind: str) -> None:
    tags[first] = f"B-{kind}"
    for k in range(first + 1, end):
        tags[k] = f"I-{kind}"
