"""Group near-duplicate articles into stories: ``assign_stories(docs, earlier)``.

A syndicated copy, the same article under another URL, or a lightly edited
version shares its first article's ``story_id``, so a watchlist rule fires once
per story. Candidates come from the articles index (same content hash, or a
shared SimHash band) and from the documents of the same bundle; the real
Hamming distance decides. Articles in different languages are never one story:
a translation is another article about the event, and it alerts.

Pure: the Beam layer (``pipelines/alerting/stories.py``) fetches the candidates.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from transforms.document import Document
from transforms.fingerprint import (
    NEAR_DUPLICATE_MAX_DISTANCE,
    SIMHASH_BITS,
    simhash_bands,
)

# Eight 8-bit bands, indexed as exact terms (``fingerprint.bands``): copies within 7 bits always
# share one (pigeonhole; a light edit of a long article moves 1-5 bits). Copies 8-14 bits apart
# are found when they happen to share a band; the real distance decides. One band term matches
# about 1/256 of the index, so a document's eight match ~3 % of it, nearly all strangers: the
# lookup ranks them and fetches only the likeliest few (``lookup_query``).
STORY_BANDS = 8
STORY_MAX_DISTANCE = NEAR_DUPLICATE_MAX_DISTANCE
_EVERY_BYTE_1 = np.uint64(0x0101010101010101)
_EVERY_BYTE_128 = np.uint64(0x8080808080808080)
assert SIMHASH_BITS // STORY_BANDS == 8, "_Candidates.story_for tests bands as bytes"


@dataclass(frozen=True)
class StoryCandidate:
    """An article already seen, as much of it as grouping needs."""

    document_id: str
    story_id: str
    content_hash: str | None
    simhash: str | None
    language: str = "und"
    received_at: str = ""

    @functools.cached_property
    def bits(self) -> int | None:
        """The SimHash as an integer, parsed once."""
        return int(self.simhash, 16) if self.simhash else None

    @classmethod
    def of(cls, doc: Document) -> StoryCandidate:
        return cls(
            document_id=doc.id,
            story_id=doc.story_id or doc.id,
            content_hash=doc.fingerprint.content_hash if doc.fingerprint else None,
            simhash=doc.fingerprint.simhash if doc.fingerprint else None,
            language=doc.language,
            received_at=doc.received_at,
        )

    @classmethod
    def from_fields(cls, fields: dict[str, list[Any]]) -> StoryCandidate:
        """From a lookup hit's ``fields`` (the doc values of ``LOOKUP_FIELDS``)."""

        def first(name: str) -> Any:
            return (fields.get(name) or [None])[0]

        document_id = str(first("id"))
        return cls(
            document_id=document_id,
            story_id=str(first("story.id") or document_id),
            content_hash=first("fingerprint.content_hash"),
            simhash=first("fingerprint.simhash"),
            language=first("language") or "und",
            received_at=first("@timestamp") or "",
        )


def story_bands(simhash: str) -> list[str]:
    """The band terms an article is indexed under and looked up by."""
    return simhash_bands(simhash, STORY_BANDS)


# A candidate's score in the lookup: one per band it shares with the document, far more for
# the document itself or an exact copy, so when more articles match than a lookup returns,
# the ones left out share a single band (nearly all strangers: each band term matches about
# 1/256 of the index), and among equals the oldest.
_EXACT_MATCH_SCORE = 100.0
# Read from doc values, not _source: a hit's _source is the whole article, and parsing a
# thousand of them per lookup made it the slowest call of the pipeline.
LOOKUP_FIELDS: list[dict[str, str]] = [
    *({"field": name} for name in ("id", "story.id", "language")),
    *({"field": f"fingerprint.{name}"} for name in ("simhash", "content_hash")),
    {"field": "@timestamp", "format": "strict_date_optional_time"},  # as utc_now() writes it
]
LOOKUP_SORT: list[str | dict[str, Any]] = [
    "_score",
    {"@timestamp": {"order": "desc", "unmapped_type": "date"}},
]


def lookup_query(doc: Document) -> dict[str, Any]:
    """An Elasticsearch query for the indexed articles that could share a story with ``doc``,
    scored by how likely they are to: see ``_EXACT_MATCH_SCORE`` and ``LOOKUP_SORT``.

    Also finds the document itself, so a replay keeps the story it was given.
    """

    def scored(query: dict[str, Any], score: float = 1.0) -> dict[str, Any]:
        return {"constant_score": {"filter": query, "boost": score}}

    should = [scored({"term": {"id": doc.id}}, _EXACT_MATCH_SCORE)]
    if doc.fingerprint:
        content_hash = {"term": {"fingerprint.content_hash": doc.fingerprint.content_hash}}
        should.append(scored(content_hash, _EXACT_MATCH_SCORE))
        bands = story_bands(doc.fingerprint.simhash)
        should.extend(scored({"term": {"fingerprint.bands": band}}) for band in bands)
    return {"bool": {"should": should, "minimum_should_match": 1}}


def new_story_id(doc: Document) -> str:
    """The id of a story ``doc`` starts: from its text, so exact copies agree without meeting."""
    return doc.fingerprint.content_hash[:20] if doc.fingerprint else doc.id


class _Candidates:
    """The articles a bundle's documents may join, and the choice among them in one numpy pass.

    The story of ``doc`` is:

    - the story it was indexed with, when it is a candidate itself (a replay keeps its story);
    - else the story of its nearest copy: a candidate in the same language (or either
      undetermined) with the same content hash (distance 0), or sharing a band term and at
      most ``max_distance`` bits away; ties go to the earliest article, then the smallest
      story id, so every worker and every replay picks the same story;
    - else a new story named after its content hash (``new_story_id``).

    The band test is the preselection the index lookup makes, so a copy is found the same
    way whether it came from the index or from this bundle. The SimHashes and languages sit
    in numpy arrays: XOR, popcount and a zero-byte test over every candidate cost microseconds,
    where a Python loop over the same candidates dominated the pipeline's profile.
    """

    def __init__(self, candidates: Iterable[StoryCandidate] = ()) -> None:
        self._items = list(candidates)
        size = max(256, 2 * len(self._items))
        self._bits = np.zeros(size, dtype=np.uint64)
        self._usable = np.zeros(size, dtype=bool)  # has a SimHash and a content hash
        self._language = np.zeros(size, dtype=np.int32)
        self._language_codes: dict[str, int] = {"und": 0}
        self._by_id: dict[str, list[int]] = defaultdict(list)
        self._by_hash: dict[str, list[int]] = defaultdict(list)
        usable = [at for at, c in enumerate(self._items) if c.bits is not None and c.content_hash]
        self._bits[usable] = np.array([self._items[at].bits for at in usable], dtype=np.uint64)
        self._usable[usable] = True
        self._language[: len(self._items)] = [self._code(c.language) for c in self._items]
        for at, candidate in enumerate(self._items):
            self._key(at, candidate)

    def _code(self, language: str) -> int:
        return self._language_codes.setdefault(language, len(self._language_codes))

    def _key(self, at: int, candidate: StoryCandidate) -> None:
        self._by_id[candidate.document_id].append(at)
        if candidate.content_hash:
            self._by_hash[candidate.content_hash].append(at)

    def add(self, candidate: StoryCandidate) -> None:
        at = len(self._items)
        if at == len(self._bits):
            self._bits, self._usable, self._language = (
                np.concatenate([array, np.zeros_like(array)])
                for array in (self._bits, self._usable, self._language)
            )
        self._items.append(candidate)
        if candidate.bits is not None and candidate.content_hash:
            self._bits[at] = candidate.bits
            self._usable[at] = True
        self._language[at] = self._code(candidate.language)
        self._key(at, candidate)

    def story_for(self, doc: Document, max_distance: int = STORY_MAX_DISTANCE) -> str:
        """The story ``doc`` belongs to (the rules are in the class docstring)."""
        own = self._by_id.get(doc.id)
        if own:
            return self._items[own[0]].story_id
        fp = doc.fingerprint
        count = len(self._items)
        if fp is None or count == 0:
            return new_story_id(doc)
        differ = self._bits[:count] ^ np.uint64(int(fp.simhash, 16))
        distance = np.bitwise_count(differ)
        # One band is one byte (STORY_BANDS = 8): a shared band is a zero byte of the XOR,
        # which (x - 0x0101..01) & ~x & 0x8080..80 tests for all eight bytes at once.
        shares_band = ((differ - _EVERY_BYTE_1) & ~differ & _EVERY_BYTE_128) != 0
        copy = (distance <= max_distance) & shares_band
        for at in self._by_hash.get(fp.content_hash, ()):
            copy[at], distance[at] = True, 0
        copy &= self._usable[:count]
        if doc.language != "und":
            language = self._language[:count]
            copy &= (language == self._code(doc.language)) | (language == 0)
        if not copy.any():
            return new_story_id(doc)
        nearest = np.flatnonzero(copy & (distance == distance[copy].min()))
        earliest = min((self._items[at].received_at or "~", self._items[at].story_id)
                       for at in nearest)  # fmt: skip
        return earliest[1]


def assign_stories(
    docs: Sequence[Document],
    earlier: Iterable[StoryCandidate],
    max_distance: int = STORY_MAX_DISTANCE,
) -> list[Document]:
    """Set ``story_id`` on each of ``docs``: copies of indexed articles or of one another.

    Documents of one bundle are taken in arrival order, so the first of two
    copies in the same bundle starts the story and the second joins it.
    """
    seen = _Candidates(earlier)
    out: dict[int, Document] = {}
    order = sorted(range(len(docs)), key=lambda i: (docs[i].received_at, docs[i].id))
    for i in order:
        doc = docs[i]
        placed = dataclasses.replace(doc, story_id=seen.story_for(doc, max_distance))
        out[i] = placed
        seen.add(StoryCandidate.of(placed))
    return [out[i] for i in range(len(docs))]
