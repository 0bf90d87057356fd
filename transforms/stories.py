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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from transforms.document import Document, Fingerprint
from transforms.fingerprint import (
    NEAR_DUPLICATE_MAX_DISTANCE,
    is_near_duplicate,
    simhash_bands,
    simhash_distance,
)

# Eight 8-bit bands, indexed as exact terms (``fingerprint.bands``): copies within 7 bits always
# share one (pigeonhole; a light edit of a long article moves 1-5 bits), and one band term
# matches about 1/256 of the index, so the lookup stays selective as the index grows. Copies
# 8-14 bits apart are found when they happen to share a band; the real distance decides.
STORY_BANDS = 8
STORY_MAX_DISTANCE = NEAR_DUPLICATE_MAX_DISTANCE


@dataclass(frozen=True)
class StoryCandidate:
    """An article already seen, as much of it as grouping needs."""

    document_id: str
    story_id: str
    content_hash: str | None
    simhash: str | None
    language: str = "und"
    received_at: str = ""

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


def same_story(
    doc: Document, other: StoryCandidate, max_distance: int = STORY_MAX_DISTANCE
) -> bool:
    """Is ``other`` a copy of ``doc``: same text, or near text in the same language?"""
    if doc.fingerprint is None:
        return False
    known = {doc.language, other.language} - {"und"}
    if len(known) > 1:
        return False
    if not other.simhash or not other.content_hash:
        return False
    return is_near_duplicate(
        doc.fingerprint, Fingerprint(other.content_hash, other.simhash), max_distance
    )


def story_for(
    doc: Document,
    candidates: Iterable[StoryCandidate],
    max_distance: int = STORY_MAX_DISTANCE,
) -> str:
    """The story ``doc`` belongs to: its own earlier one, else its nearest copy's, else a new one.

    Ties go to the earliest article, then the smallest story id, so every worker
    and every replay picks the same story. A new story is named after the text's
    content hash, so exact copies that no worker has indexed yet (the same wire
    story arriving under several URLs at once) still land in one story.
    """
    best: tuple[int, str, str] | None = None
    for other in candidates:
        if other.document_id == doc.id:
            return other.story_id  # indexed before: keep its story across replays
        if doc.fingerprint is None or not same_story(doc, other, max_distance):
            continue
        if other.content_hash == doc.fingerprint.content_hash or not other.simhash:
            distance = 0
        else:
            distance = simhash_distance(doc.fingerprint.simhash, other.simhash)
        rank = (distance, other.received_at or "~", other.story_id)
        if best is None or rank < best:
            best = rank
    return best[2] if best else new_story_id(doc)


def new_story_id(doc: Document) -> str:
    """The id of a story ``doc`` starts: from its text, so exact copies agree without meeting."""
    return doc.fingerprint.content_hash[:20] if doc.fingerprint else doc.id


class _Candidates:
    """Candidates by document id, content hash and band: a document meets only its possible copies.

    Comparing every document with every candidate made grouping quadratic in the
    bundle and the index; the band preselection is the same one the index lookup uses.
    """

    def __init__(self, candidates: Iterable[StoryCandidate] = ()) -> None:
        self._by_key: dict[str, list[StoryCandidate]] = defaultdict(list)
        for candidate in candidates:
            self.add(candidate)

    def add(self, candidate: StoryCandidate) -> None:
        self._by_key["id:" + candidate.document_id].append(candidate)
        if candidate.content_hash:
            self._by_key["hash:" + candidate.content_hash].append(candidate)
        if candidate.simhash:
            for band in story_bands(candidate.simhash):
                self._by_key["band:" + band].append(candidate)

    def near(self, doc: Document) -> list[StoryCandidate]:
        keys = ["id:" + doc.id]
        if doc.fingerprint:
            keys.append("hash:" + doc.fingerprint.content_hash)
            keys.extend("band:" + band for band in story_bands(doc.fingerprint.simhash))
        found: dict[int, StoryCandidate] = {}
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
        placed = dataclasses.replace(doc, story_id=story_for(doc, seen.near(doc), max_distance))
        out[i] = placed
        seen.add(StoryCandidate.of(placed))
    return [out[i] for i in range(len(docs))]
