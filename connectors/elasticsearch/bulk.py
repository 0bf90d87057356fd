"""Bulk writes that end each request written or refused for good, never lost."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from elasticsearch import ApiError, Elasticsearch, TransportError

from connectors.elasticsearch.client import MAX_BACKOFF_S, RETRYABLE_STATUS, ElasticsearchSettings
from connectors.redaction import redact_url
from transforms.document import DeadLetter

log = logging.getLogger(__name__)

BULK_ANSWER = ["items.*.status", "items.*.error"]


class IndexRequest(NamedTuple):
    """One document to write: its id, its source, and what to acknowledge when it is in."""

    doc_id: str
    source: dict[str, Any]
    ack: Any  # e.g. a KafkaPosition; emitted on the main output once indexed


class BulkObserver(Protocol):
    """What a bulk writer tells its owner: the pipeline turns it into metrics and health."""

    def answered(self, alias: str, seconds: float, *, failed: bool) -> None:
        """A bulk request got an answer (``failed``: a transport or API error) after ``seconds``."""

    def written(self, alias: str, requests: Sequence[IndexRequest]) -> None:
        """These requests are in the index."""

    def retrying(self, alias: str, kind: str, problem: str) -> None:
        """Writes are paused and retried; ``kind`` is request_failed or items_refused and
        ``problem`` one sentence (with an ``{age}`` field for how long it has lasted)."""


class _Unobserved:
    def answered(self, alias: str, seconds: float, *, failed: bool) -> None:
        pass

    def written(self, alias: str, requests: Sequence[IndexRequest]) -> None:
        pass

    def retrying(self, alias: str, kind: str, problem: str) -> None:
        pass


class BulkWriter:
    """Bulk writes that never lose a request: each one ends written or refused for good.

    Transport failures and retryable item statuses (429, 5xx) are retried with
    capped exponential backoff until Elasticsearch answers, so an outage pauses
    the caller instead of losing documents. Items Elasticsearch refuses for good
    (mapping errors ...) come back with a dead letter saying why.
    """

    def __init__(
        self,
        settings: ElasticsearchSettings,
        es: Elasticsearch,
        observer: BulkObserver | None = None,
    ) -> None:
        self._settings = settings
        self._es = es
        self._observer: BulkObserver = observer or _Unobserved()

    def write(
        self, alias: str, requests: Sequence[IndexRequest]
    ) -> tuple[list[IndexRequest], list[tuple[IndexRequest, DeadLetter]]]:
        """Index ``requests`` into ``alias``; return (written, refused with their dead letter)."""
        written: list[IndexRequest] = []
        refused: list[tuple[IndexRequest, DeadLetter]] = []
        pending = list(requests)
        attempt = 0
        while pending:
            operations: list[dict[str, Any]] = []
            for request in pending:
                operations.append({"index": {"_index": alias, "_id": request.doc_id}})
                operations.append(request.source)
            started = time.monotonic()
            try:
                response = self._es.bulk(operations=operations, filter_path=BULK_ANSWER)
            except (TransportError, ApiError) as exc:
                self._observer.answered(alias, time.monotonic() - started, failed=True)
                status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
                if isinstance(exc, ApiError) and status not in RETRYABLE_STATUS:
                    raise
                attempt += 1
                self._back_off(alias, attempt, f"bulk request failed: {exc.__class__.__name__}")
                continue
            self._observer.answered(alias, time.monotonic() - started, failed=False)
            retry: list[IndexRequest] = []
            answered = len(written)
            for request, item in zip(pending, response["items"], strict=True):
                result = item["index"]
                status = result.get("status", 500)
                if status < 300:
                    written.append(request)
                elif status in RETRYABLE_STATUS:
                    retry.append(request)
                else:
                    error = result.get("error", {})
                    letter = DeadLetter(
                        stage="index",
                        reason=str(error.get("type", f"http_{status}")),
                        message=str(error.get("reason", "Elasticsearch refused it")),
                        origin=str(request.source.get("origin", "")),
                        document_id=request.doc_id,
                    )
                    log.warning(
                        "Elasticsearch refused %s for good: %s",
                        request.doc_id,
                        letter.reason,
                        extra={"document_id": request.doc_id, "stage": "index"},
                    )
                    refused.append((request, letter))
            self._observer.written(alias, written[answered:])
            if retry:
                attempt += 1
                self._back_off(alias, attempt, f"{len(retry)} items were refused for now (429/5xx)")
            pending = retry
        return written, refused

    def _back_off(self, alias: str, attempt: int, why: str) -> None:
        delay = min(MAX_BACKOFF_S, 0.5 * 2 ** min(attempt, 10))
        kind = "request_failed" if why.startswith("bulk request failed") else "items_refused"
        self._observer.retrying(
            alias,
            kind,
            f"Elasticsearch at {redact_url(self._settings.es_url)} has refused bulk writes to "
            f"{alias} for {{age}} s ({why}); the pipeline is waiting and retrying, "
            "nothing is lost.",
        )
        log.warning(
            "Elasticsearch at %s: %s; retrying in %.1f s (attempt %d)",
            redact_url(self._settings.es_url),
            why,
            delay,
            attempt,
        )
        time.sleep(delay)
