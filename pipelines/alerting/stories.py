"""Beam: story assignment, with the candidates looked up in the index in chunks."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import apache_beam as beam
from elasticsearch import Elasticsearch

from connectors.elasticsearch import RETRYABLE_STATUS, client
from pipelines.alerting.retrying import backoff_s, retrying
from pipelines.settings import Settings
from transforms.document import DeadLetter, Document
from transforms.stories import (
    LOOKUP_FIELDS,
    LOOKUP_SORT,
    StoryCandidate,
    assign_stories,
    lookup_query,
)

log = logging.getLogger(__name__)

LOOKUP_CHUNK = 50  # documents per story multi-search
LOOKUP_SIZE = 10  # candidates per document, the likeliest first (transforms/stories.py)
# Every answer keeps its status, so the filtered answers stay one per search, in order.
LOOKUP_ANSWER = ["responses.status", "responses.error", "responses.hits.hits.fields"]


def find_story_candidates(
    es: Elasticsearch, alias: str, docs: Sequence[Document], per_document: int = LOOKUP_SIZE
) -> list[StoryCandidate]:
    """Indexed articles that could be copies of ``docs`` (or are ``docs``, on a replay): each
    document's ``per_document`` likeliest (``transforms.stories.lookup_query``), in one
    multi-search per ``LOOKUP_CHUNK`` documents.

    One search per document, not one for all: a hit costs Elasticsearch far more to fetch
    than to match, and each document gets its own likeliest copies instead of sharing a
    limit with a document that has hundreds.
    """
    candidates: list[StoryCandidate] = []
    pending = list(docs)
    attempt = 0
    while pending:
        retry: list[Document] = []
        for start in range(0, len(pending), LOOKUP_CHUNK):
            chunk = pending[start : start + LOOKUP_CHUNK]
            searches: list[dict[str, Any]] = []
            for doc in chunk:
                searches.append({"index": alias, "ignore_unavailable": True})
                searches.append(
                    {
                        "query": lookup_query(doc),
                        "size": per_document,
                        "sort": LOOKUP_SORT,
                        "_source": False,
                        "docvalue_fields": LOOKUP_FIELDS,
                        "track_total_hits": False,
                    }
                )
            response = retrying(
                "story lookup",
                functools.partial(es.msearch, searches=searches, filter_path=LOOKUP_ANSWER),
            )
            for doc, answer in zip(chunk, response["responses"], strict=True):
                if "error" not in answer:
                    hits = answer.get("hits", {}).get("hits", [])
                    candidates.extend(StoryCandidate.from_fields(h.get("fields", {})) for h in hits)
                elif answer.get("status") in RETRYABLE_STATUS:
                    retry.append(doc)  # e.g. 429: the node's search queue is full
                else:
                    raise RuntimeError(f"Elasticsearch refused the story lookup: {answer['error']}")
        if retry:
            attempt += 1
            log.warning("story lookup: %d searches refused for now; retrying", len(retry))
            time.sleep(backoff_s(attempt))
        pending = retry
    return candidates


class _AssignStories(beam.DoFn):  # type: ignore[misc]
    """Buffers a bundle, looks up earlier copies, emits each document with its story.

    The lookups overlap the enrichment: every ``LOOKUP_CHUNK`` documents go to a
    background thread that searches while the next ones are enriched (a single thread, so
    the index refresh that makes the previous bundle's articles searchable runs first).
    Only the story choice waits for them, at the end of the buffer; copies within the
    buffer are found there, in memory.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._buffer: list[tuple[Any, Document | DeadLetter]] = []
        self._chunk: list[Document] = []
        self._lookups: list[Future[list[StoryCandidate]]] = []
        self._refreshed: Future[Any] | None = None

    def setup(self) -> None:
        self._es = client(self._settings)
        self._searcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="story-lookup")

    def process(
        self, element: tuple[Any, Document | DeadLetter]
    ) -> Iterator[tuple[Any, Document | DeadLetter]]:
        self._buffer.append(element)
        if isinstance(element[1], Document):
            self._chunk.append(element[1])
            if len(self._chunk) >= LOOKUP_CHUNK:
                self._look_up()
        if len(self._buffer) >= self._settings.bulk_size:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        from apache_beam.transforms.window import GlobalWindow
        from apache_beam.utils.windowed_value import WindowedValue

        for output in self._flush():
            yield WindowedValue(output, 0, [GlobalWindow()])

    def teardown(self) -> None:
        self._searcher.shutdown(wait=True, cancel_futures=True)
        self._es.close()

    def _look_up(self) -> None:
        chunk, self._chunk = self._chunk, []
        alias = self._settings.articles_alias
        if self._refreshed is None:
            # Articles of the previous buffer must be searchable before we look for copies.
            self._refreshed = self._searcher.submit(
                retrying,
                "articles refresh",
                lambda: self._es.indices.refresh(
                    index=alias, ignore_unavailable=True, allow_no_indices=True
                ),
            )
        self._lookups.append(self._searcher.submit(find_story_candidates, self._es, alias, chunk))

    def _flush(self) -> Iterator[tuple[Any, Document | DeadLetter]]:
        if self._chunk:
            self._look_up()
        pending, self._buffer = self._buffer, []
        lookups, self._lookups = self._lookups, []
        refreshed, self._refreshed = self._refreshed, None
        if refreshed is not None:
            refreshed.result()  # raises what the refresh raised
        docs = [doc for _, doc in pending if isinstance(doc, Document)]
        earlier = [candidate for lookup in lookups for candidate in lookup.result()]
        placed = iter(assign_stories(docs, earlier))
        for ack, item in pending:
            yield ack, next(placed) if isinstance(item, Document) else item


class AssignStories(beam.PTransform):  # type: ignore[misc]
    """Sets ``story_id`` on ``(ack, Document)``: copies of earlier articles join their story.

    Dead letters in the stream pass through untouched.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._fn = _AssignStories(settings)

    def expand(self, docs: Any) -> Any:
        return docs | "Assign" >> beam.ParDo(self._fn)
