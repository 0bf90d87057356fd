"""Group near-duplicate articles into stories: ``assign_stories(docs, earlier)``.

A syndicated copy, the same article under another URL, or a lightly edited
version shares its first article's ``story_id``, so a watchlist rule fires once
per story. Candidates come from the articles index (same content hash, or a
shared SimHash band) and from the documents of the same bundle; the real
Hamming distance decides. Articles in different languages are never one story:
a translation is another article about the event, and it alerts.

Pure: the Beam layer (``pipelines/alerting.py``) fetches the candidates.
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
# share one (pigeonhole; a light edit of a long article moves 1-5 bits), and one band term
# matches about 1/256 of the index, so the lookup stays selective as the index grows. Copies
# 8-14 bits apart are found when they happen to share a band; the real distance decides.
STORY_BANDS = 8
STORY_MAX_DISTANCE = NEAR_DUPLICATE_MAX_DISTANCE
_BAND_BYTES_PER_HASH = SIMHASH_BITS // 8
assert SIMHASH_BITS // STORY_BANDS == 8, "_Candidates.near tests bands as bytes"


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
    def from_source(cls, source: dict[str, Any]) -> StoryCandidate:
        """From an indexed article (``connectors.elasticsearch.article_source``)."""
        fp = source.get("fingerprint") or {}
        return cls(
            document_id=str(source["id"]),
            story_id=str((source.get("story") or {}).get("id") or source["id"]),
            content_hash=fp.get("content_hash"),
            simhash=fp.get("simhash"),
            language=source.get("language") or "und",
            received_at=source.get("@timestamp") or "",
        )


def story_bands(simhash: str) -> list[str]:
    """The band terms an article is indexed under and looked up by."""
    return simhash_bands(simhash, STORY_BANDS)


def lookup_query(docs: Sequence[Document]) -> dict[str, Any] | None:
    """An Elasticsearch query for every indexed article that could share a story with ``docs``.

    Also finds the documents themselves, so a replay keeps the story it was given.
    """
    should: list[dict[str, Any]] = [{"terms": {"id": sorted({d.id for d in docs})}}]
    hashes = sorted({d.fingerprint.content_hash for d in docs if d.fingerprint})
    if hashes:
        should.append({"terms": {"fingerprint.content_hash": hashes}})
    simhashes = sorted({d.fingerprint.simhash for d in docs if d.fingerprint})
    bands = sorted({band for h in simhashes for band in story_bands(h)})
    if bands:
        should.append({"terms": {"fingerprint.bands": bands}})
    if not docs:
        return None
    return {"bool": {"should": should, "minimum_should_match": 1}}


def story_for(
    doc: Document,
    candidates: Iterable[StoryCandidate],
    max_distance: int = STORY_MAX_DISTANCE,
) -> str:
    """The story ``doc`` belongs to: its own earlier one, else its nearest copy's, else a new one.

    A copy has the same text, or near text (SimHashes at most ``max_distance``
    bits apart) in the same language: a translation is another article. Ties go
    to the earliest article, then the smallest story id, so every worker and
    every replay picks the same story. A new story is named after the text's
    content hash, so exact copies that no worker has indexed yet (the same wire
    story arriving under several URLs at once) still land in one story.
    """
    fp = doc.fingerprint
    mine = int(fp.simhash, 16) if fp else 0
    best: tuple[int, str, str] | None = None
    for other in candidates:
        if other.document_id == doc.id:
            return other.story_id  # indexed before: keep its story across replays
        if fp is None or other.bits is None or not other.content_hash:
            continue
        if other.language != doc.language and "und" not in (other.language, doc.language):
            continue
        distance = 0 if other.content_hash == fp.content_hash else (mine ^ other.bits).bit_count()
        if distance > max_distance:
            continue
        rank = (distance, other.received_at or "~", other.story_id)
        if best is None or rank < best:
            best = rank
    return best[2] if best else new_story_id(doc)


def new_story_id(doc: Document) -> str:
    """The id of a story ``doc`` starts: from its text, so exact copies agree without meeting."""
    return doc.fingerprint.content_hash[:20] if doc.fingerprint else doc.id


class _Candidates:
    """The candidates of one bundle, searched for a document's possible copies in one pass.

    A candidate is possible when it is the document itself, has the same content
    hash, or shares a band and lies within ``max_distance`` bits: the same
    preselection the index lookup makes, so a copy is found the same way whether
    it came from the index or from this bundle. The SimHashes sit in one numpy
    array; XOR, popcount and a zero-byte test over it cost microseconds where a
    Python loop over the same candidates dominated the pipeline's profile.
    """

    def __init__(self, candidates: Iterable[StoryCandidate] = ()) -> None:
        self._items: list[StoryCandidate] = []
        self._bits = np.zeros(256, dtype=np.uint64)
        self._has_bits = np.zeros(256, dtype=bool)
        self._by_key: dict[str, list[StoryCandidate]] = defaultdict(list)
        for candidate in candidates:
            self.add(candidate)

    def add(self, candidate: StoryCandidate) -> None:
        at = len(self._items)
        if at == len(self._bits):
            self._bits = np.concatenate([self._bits, np.zeros_like(self._bits)])
            self._has_bits = np.concatenate([self._has_bits, np.zeros_like(self._has_bits)])
        self._items.append(candidate)
        if candidate.bits is not None:
            self._bits[at] = candidate.bits
            self._has_bits[at] = True
        self._by_key["id:" + candidate.document_id].append(candidate)
        if candidate.content_hash:
            self._by_key["hash:" + candidate.content_hash].append(candidate)

    def near(self, doc: Document, max_distance: int = STORY_MAX_DISTANCE) -> list[StoryCandidate]:
        keys = ["id:" + doc.id]
        found: dict[int, StoryCandidate] = {}
        if doc.fingerprint:
            keys.append("hash:" + doc.fingerprint.content_hash)
            count = len(self._items)
            differ = self._bits[:count] ^ np.uint64(int(doc.fingerprint.simhash, 16))
            close = np.bitwise_count(differ) <= max_distance
            # One band is one byte (STORY_BANDS = 8): a shared band is a zero byte of the XOR.
            shares_band = (differ.view(np.uint8).reshape(count, _BAND_BYTES_PER_HASH) == 0).any(1)
            for index in np.flatnonzero(close & shares_band & self._has_bits[:count]):
                candidate = self._items[index]
                found[id(candidate)] = candidate
        for key in keys:
            for candidate in self._by_key.get(key, ()):
                found.setdefault(id(candidate), candidate)
        return list(found.values())


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
        placed = dataclasses.replace(
            doc, story_id=story_for(doc, seen.near(doc, max_distance), max_distance)
        )
        out[i] = placed
        seen.add(StoryCandidate.of(placed))
    return [out[i] for i in range(len(docs))]
