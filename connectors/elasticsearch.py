"""Elasticsearch: the client, index templates behind aliases, and the Beam sink.

Indices are versioned (``news-articles-v1``) behind an alias (``news-articles``)
that every reader and writer uses, so a mapping change is a reindex and an alias
swap. Documents are written with their own id, so a re-run overwrites.
Everything here works on the core-only node the local stack runs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any, NamedTuple

import apache_beam as beam
from elasticsearch import ApiError, Elasticsearch, TransportError

from pipelines.settings import Settings
from transforms.document import DeadLetter, Document, utc_now

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 502, 503, 504}
MAX_BACKOFF_S = 30.0


class ElasticsearchUnavailableError(RuntimeError):
    """Elasticsearch did not answer; the message says where and what to do."""


def client(settings: Settings) -> Elasticsearch:
    """A client for ``settings.es_url`` with the configured credentials and CA file."""
    options: dict[str, Any] = {"request_timeout": 30}
    if settings.es_username:
        options["basic_auth"] = (settings.es_username, settings.es_password or "")
    if settings.es_api_key:
        options["api_key"] = settings.es_api_key
    if settings.es_ca_file:
        options["ca_certs"] = settings.es_ca_file
    return Elasticsearch(settings.es_url, **options)


def wait_until_ready(es: Elasticsearch, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            es.cluster.health(wait_for_status="yellow", timeout="5s")
            return
        except (TransportError, ApiError) as exc:
            if time.monotonic() > deadline:
                raise ElasticsearchUnavailableError(
                    f"Elasticsearch at {url} did not answer in {timeout_s:.0f} s "
                    f"({exc.__class__.__name__}); start it with `newsbeam stack up` "
                    "or set NEWSBEAM_ES_URL."
                ) from exc
            time.sleep(1)


def load_mapping(name: str) -> dict[str, Any]:
    text = resources.files("connectors.mappings").joinpath(f"{name}.json").read_text("utf-8")
    mapping: dict[str, Any] = json.loads(text)
    return mapping


def ensure_index(es: Elasticsearch, alias: str, mapping_name: str, version: int = 1) -> str:
    """Install the index template for ``alias`` and create its first index if none exists.

    Returns the name of the index the alias writes to.
    """
    es.indices.put_index_template(
        name=alias,
        index_patterns=[f"{alias}-v*"],
        template={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": load_mapping(mapping_name),
        },
        priority=100,
    )
    if es.indices.exists_alias(name=alias):
        current = es.indices.get_alias(name=alias)
        for index, spec in current.items():
            if spec["aliases"][alias].get("is_write_index", len(current) == 1):
                return str(index)
    index = f"{alias}-v{version}"
    if not es.indices.exists(index=index):
        es.indices.create(index=index, aliases={alias: {"is_write_index": True}})
    else:
        es.indices.put_alias(index=index, name=alias, is_write_index=True)
    return index


def ensure_indices(settings: Settings) -> None:
    """Make sure the articles and dead-letter aliases exist; wait for the node first."""
    es = client(settings)
    try:
        wait_until_ready(es, settings.es_url, settings.startup_timeout_s)
        ensure_index(es, settings.articles_alias, "articles")
        ensure_index(es, settings.dlq_alias, "dead_letters")
    finally:
        es.close()


def article_source(doc: Document) -> dict[str, Any]:
    """The indexed form of an enriched document (fields documented in docs/index.md)."""
    entities: dict[str, dict[str, Any]] = {}
    for mention in doc.entities:
        key = mention.canonical or mention.text
        entry = entities.setdefault(
            key,
            {
                "name": key,
                "canonical": mention.canonical,
                "id": mention.entity_id,
                "type": mention.label,
                "variants": [],
                "count": 0,
            },
        )
        entry["count"] += 1
        if mention.text not in entry["variants"]:
            entry["variants"].append(mention.text)
    return {
        "@timestamp": doc.received_at,
        "event": {"ingested": utc_now()},
        "id": doc.id,
        "title": doc.title,
        "text": doc.text,
        "language": doc.language,
        "language_score": doc.language_score,
        "source": {"name": doc.source or doc.hints.get("source")},
        "authors": doc.authors,
        "published": doc.published,
        "url": doc.url,
        "origin": doc.origin,
        "notes": doc.notes,
        "entities": list(entities.values()),
        "mentions": [
            {"text": m.text, "start": m.start, "end": m.end, "canonical": m.canonical}
            for m in doc.entities
        ],
        "story": {"id": doc.story_id or doc.id},
        "fingerprint": (
            {"content_hash": doc.fingerprint.content_hash, "simhash": doc.fingerprint.simhash}
            if doc.fingerprint
            else None
        ),
        "boilerplate": [{"kind": s.kind, "text": s.text} for s in doc.boilerplate],
    }


def dead_letter_source(letter: DeadLetter) -> dict[str, Any]:
    source = letter.to_dict()
    source["@timestamp"] = source.pop("at")
    return source


class IndexRequest(NamedTuple):
    """One document to write: its id, its source, and what to acknowledge when it is in."""

    doc_id: str
    source: dict[str, Any]
    ack: Any  # e.g. a KafkaPosition; emitted on the main output once indexed


class _BulkIndex(beam.DoFn):  # type: ignore[misc]
    """Buffers requests, writes them with the bulk API, acknowledges each one written.

    Transport failures and retryable item statuses (429, 5xx) are retried with
    capped exponential backoff until Elasticsearch answers: an outage pauses the
    pipeline instead of losing documents. Items Elasticsearch refuses for good
    (mapping errors ...) go to the ``dead_letters`` output with the reason.
    """

    DEAD_LETTERS = "dead_letters"

    def __init__(self, settings: Settings, alias: str) -> None:
        self._settings = settings
        self._alias = alias
        self._buffer: list[IndexRequest] = []

    def setup(self) -> None:
        self._es = client(self._settings)

    def process(self, request: IndexRequest) -> Iterator[Any]:
        self._buffer.append(request)
        if len(self._buffer) >= self._settings.bulk_size:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        from apache_beam.transforms.window import GlobalWindow
        from apache_beam.utils.windowed_value import WindowedValue

        for output in self._flush():
            yield WindowedValue(output, 0, [GlobalWindow()])

    def teardown(self) -> None:
        self._es.close()

    def _flush(self) -> Iterator[Any]:
        pending, self._buffer = self._buffer, []
        attempt = 0
        while pending:
            operations: list[dict[str, Any]] = []
            for request in pending:
                operations.append({"index": {"_index": self._alias, "_id": request.doc_id}})
                operations.append(request.source)
            try:
                response = self._es.bulk(operations=operations)
            except (TransportError, ApiError) as exc:
                status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
                if isinstance(exc, ApiError) and status not in RETRYABLE_STATUS:
                    raise
                attempt += 1
                self._back_off(attempt, f"bulk request failed: {exc.__class__.__name__}")
                continue
            retry: list[IndexRequest] = []
            for request, item in zip(pending, response["items"], strict=True):
                result = item["index"]
                status = result.get("status", 500)
                if status < 300:
                    yield request.ack
                elif status in RETRYABLE_STATUS:
                    retry.append(request)
                else:
                    error = result.get("error", {})
                    yield beam.pvalue.TaggedOutput(
                        self.DEAD_LETTERS,
                        (
                            request.ack,
                            DeadLetter(
                                stage="index",
                                reason=str(error.get("type", f"http_{status}")),
                                message=str(error.get("reason", "Elasticsearch refused it")),
                                origin=str(request.source.get("origin", "")),
                                document_id=request.doc_id,
                            ),
                        ),
                    )
            if retry:
                attempt += 1
                self._back_off(attempt, f"{len(retry)} items were refused for now (429/5xx)")
            pending = retry

    def _back_off(self, attempt: int, why: str) -> None:
        delay = min(MAX_BACKOFF_S, 0.5 * 2 ** min(attempt, 10))
        log.warning(
            "Elasticsearch at %s: %s; retrying in %.1f s (attempt %d)",
            self._settings.es_url,
            why,
            delay,
            attempt,
        )
        time.sleep(delay)


class WriteToElasticsearch(beam.PTransform):  # type: ignore[misc]
    """Writes ``IndexRequest`` elements to ``alias``.

    Returns a tuple-like result: ``.acks`` (the ``ack`` of every request written) and
    ``.dead_letters`` (``(ack, DeadLetter)`` for every request refused for good).
    """

    def __init__(self, settings: Settings, alias: str) -> None:
        super().__init__()
        self._fn = _BulkIndex(settings, alias)

    def expand(self, requests: Any) -> Any:
        return requests | "Bulk" >> beam.ParDo(self._fn).with_outputs(
            _BulkIndex.DEAD_LETTERS, main="acks"
        )
