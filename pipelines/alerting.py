"""Alerts in the pipeline: ``AssignStories``, ``RaiseAlerts``, and the delivery worker.

The state that makes an alert "new" lives in Elasticsearch, never in a worker's
memory: an alert's ``_id`` is hash(rule, story) and it is written with
op_type=create, so a second copy of a story, a replay or a second worker gets
409 and raises nothing. A created alert is then published to the alerts topic
and marked ``queued``; an alert found unqueued (a crash between the two) is
published again. Delivery to webhooks and the console is a separate worker with
one consumer group per sink, committing only after the sink accepted (or the
alert was dead-lettered), so a sink that is down delays only itself and loses
nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

import apache_beam as beam
from elasticsearch import ApiError, Elasticsearch, TransportError

from connectors.elasticsearch import RETRYABLE_STATUS, client, ensure_index
from connectors.kafka import consumer as kafka_consumer
from connectors.kafka import ensure_topics
from connectors.kafka import producer as kafka_producer
from pipelines.settings import Settings
from transforms.alerts import (
    SINK_CONSOLE,
    SINK_WEBHOOK,
    Alert,
    AlertRule,
    Sink,
    Watchlist,
    WatchlistError,
    alert_headline,
    load_watchlist,
    raise_alerts,
)
from transforms.document import DeadLetter, Document, Mention, utc_now
from transforms.stories import (
    LOOKUP_FIELDS,
    LOOKUP_SORT,
    StoryCandidate,
    assign_stories,
    lookup_query,
)

log = logging.getLogger(__name__)

WATCHLIST_CHECK_S = 3.0
LOOKUP_CHUNK = 50  # documents per story multi-search
LOOKUP_SIZE = 10  # candidates per document, the likeliest first (transforms/stories.py)
# Every answer keeps its status, so the filtered answers stay one per search, in order.
LOOKUP_ANSWER = ["responses.status", "responses.error", "responses.hits.hits.fields"]
MAX_BACKOFF_S = 30.0


def _backoff_s(attempt: int) -> float:
    return min(MAX_BACKOFF_S, 0.25 * (1 << min(attempt, 10)))


def _retrying(what: str, call: Callable[[], Any]) -> Any:
    """Run ``call`` until Elasticsearch answers; an outage pauses instead of losing alerts."""
    attempt = 0
    while True:
        try:
            return call()
        except (TransportError, ApiError) as exc:
            status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
            if isinstance(exc, ApiError) and status not in RETRYABLE_STATUS:
                raise
            attempt += 1
            delay = _backoff_s(attempt)
            log.warning("%s failed (%s); retrying in %.1f s", what, exc.__class__.__name__, delay)
            time.sleep(delay)


# --- The watchlist, reloaded when its file changes -------------------------------------------


class WatchlistFile:
    """The current watchlist, re-read when the file's mtime changes (checked every few seconds).

    A broken edit keeps the rules that were working and logs why; a broken file at
    start-up raises, so a bad deploy fails loudly.
    """

    def __init__(self, path: str = "", check_every_s: float = WATCHLIST_CHECK_S) -> None:
        self.path = path
        self.check_every_s = check_every_s
        self._checked = 0.0
        self._mtime = self._stat()
        self._watchlist = load_watchlist(path or None)

    def _stat(self) -> float:
        from transforms.alerts import DEFAULT_WATCHLIST_FILE

        try:
            return Path(self.path or DEFAULT_WATCHLIST_FILE).stat().st_mtime_ns / 1e9
        except OSError:
            return -1.0

    def current(self) -> Watchlist:
        now = time.monotonic()
        if now - self._checked >= self.check_every_s:
            self._checked = now
            mtime = self._stat()
            if mtime != self._mtime:
                try:
                    self._watchlist = load_watchlist(self.path or None)
                    log.info(
                        "watchlist %s reloaded: %d rules", self.path, len(self._watchlist.rules)
                    )
                except WatchlistError as exc:
                    log.error("watchlist edit ignored, keeping the previous rules: %s", exc)
                self._mtime = mtime
        return self._watchlist


# --- The alert store: Elasticsearch (dedup) + the alerts topic (delivery queue) -------------


def ensure_alerts(settings: Settings, es: Elasticsearch | None = None) -> str:
    """The alerts alias and topic exist; returns the alias's write index."""
    ensure_topics(
        settings.kafka_bootstrap,
        [settings.alerts_topic, settings.dlq_topic],
        security=settings.kafka_options,
    )
    own = es is None
    es = es or client(settings)
    try:
        return ensure_index(es, settings.alerts_alias, "alerts")
    finally:
        if own:
            es.close()


def alert_source(alert: Alert) -> dict[str, Any]:
    source = alert.to_dict()
    source["@timestamp"] = alert.alerted_at
    source["queued"] = False
    return source


class AlertStore:
    """Creates alerts once in Elasticsearch, then queues them on the alerts topic.

    ``record`` returns the alerts that are new (raised now) and dead letters for
    alerts Elasticsearch refused for good. Transient failures are retried.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.es = client(settings)
        ensure_alerts(settings, self.es)
        self.producer = kafka_producer(
            settings.kafka_bootstrap, "newsbeam-alerts", linger_ms=0, **settings.kafka_options
        )

    def close(self) -> None:
        self.producer.close(timeout=30)
        self.es.close()

    def record(self, alerts: Sequence[Alert]) -> tuple[list[Alert], list[Alert], list[DeadLetter]]:
        """Returns (raised now, already raised before, refused)."""
        alias = self.settings.alerts_alias
        alerts = list({a.id: a for a in alerts}.values())
        if not alerts:
            return [], [], []
        # Older (rolled-over) indices behind the alias: a fixed _id only dedups within one index.
        found = _retrying(
            "alert lookup",
            lambda: self.es.search(
                index=alias,
                query={"ids": {"values": [a.id for a in alerts]}},
                source_includes=["queued"],
                size=len(alerts),
            ),
        )
        existing = {
            h["_id"]: (h["_index"], h["_source"].get("queued")) for h in found["hits"]["hits"]
        }
        fresh: list[Alert] = []
        raised: list[Alert] = []
        duplicates: list[Alert] = []
        to_queue: list[tuple[str, Alert]] = []  # (concrete index, alert)
        for alert in alerts:
            if alert.id not in existing:
                fresh.append(alert)
            elif existing[alert.id][1]:
                duplicates.append(alert)
            else:
                to_queue.append((existing[alert.id][0], alert))  # created, never queued
        refused: list[DeadLetter] = []
        if fresh:
            operations: list[dict[str, Any]] = []
            for alert in fresh:
                operations.append({"create": {"_index": alias, "_id": alert.id}})
                operations.append(alert_source(alert))
            response = _retrying("alert create", lambda: self.es.bulk(operations=operations))
            for alert, item in zip(fresh, response["items"], strict=True):
                result = item["create"]
                status = result.get("status", 500)
                if status < 300:
                    raised.append(alert)
                    to_queue.append((result["_index"], alert))
                elif status == 409:
                    got = _retrying(
                        "alert get",
                        functools.partial(
                            self.es.get,
                            index=result["_index"],
                            id=result["_id"],
                            source_includes=["queued"],
                        ),
                    )
                    if got["_source"].get("queued"):
                        duplicates.append(alert)
                    else:
                        to_queue.append((result["_index"], alert))
                else:
                    error = result.get("error", {})
                    refused.append(
                        DeadLetter(
                            stage="alerts",
                            reason=str(error.get("type", f"http_{status}")),
                            message=str(error.get("reason", "Elasticsearch refused the alert")),
                            origin=alert.origin,
                            document_id=alert.document_id,
                            document={"alert": alert.to_dict()},
                        )
                    )
        if to_queue:
            self._queue(to_queue)
        return raised, duplicates, refused

    def _queue(self, items: Sequence[tuple[str, Alert]]) -> None:
        for _, alert in items:
            self.producer.send(
                self.settings.alerts_topic,
                key=alert.story_id.encode(),
                value=alert.to_json().encode(),
            )
        self.producer.flush(timeout=120)
        at = utc_now()
        operations: list[dict[str, Any]] = []
        for index, alert in items:
            operations.append({"update": {"_index": index, "_id": alert.id}})
            operations.append({"doc": {"queued": True, "queued_at": at}})
        _retrying("alert mark queued", lambda: self.es.bulk(operations=operations))


# --- Beam: stories ------------------------------------------------------------------------------


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
            response = _retrying(
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
            time.sleep(_backoff_s(attempt))
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
                _retrying,
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


# --- Beam: alerts -------------------------------------------------------------------------------


class _RaiseAlerts(beam.DoFn):  # type: ignore[misc]
    """Evaluates the watchlist per document; creates and queues the bundle's alerts at its end.

    Documents are passed on only after their alerts are durable, so the articles
    sink, and with it the offset commit, waits for the alerts.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._docs: list[tuple[Any, Document]] = []
        self._alerts: list[tuple[Any, Alert]] = []
        self._raised = beam.metrics.Metrics.counter("alerts", "raised")
        self._duplicates = beam.metrics.Metrics.counter("alerts", "already_raised")

    def setup(self) -> None:
        self._watchlist = WatchlistFile(self._settings.watchlist_file)
        self._store = AlertStore(self._settings)

    def process(self, element: tuple[Any, Document | DeadLetter]) -> Iterator[Any]:
        ack, doc = element
        if isinstance(doc, DeadLetter):
            yield element
            return
        try:
            self._alerts.extend(
                (ack, alert) for alert in raise_alerts(self._watchlist.current(), doc)
            )
        except Exception as exc:  # noqa: BLE001 - a rule bug is recorded, the article still indexed
            yield (
                ack,
                DeadLetter(
                    stage="alerts",
                    reason="rule_error",
                    message=f"{exc.__class__.__name__}: {exc}",
                    origin=doc.origin,
                    document_id=doc.id,
                    document=doc.as_raw().to_dict(),
                ),
            )
        self._docs.append((ack, doc))
        if len(self._docs) >= self._settings.bulk_size:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        from apache_beam.transforms.window import GlobalWindow
        from apache_beam.utils.windowed_value import WindowedValue

        for output in self._flush():
            yield WindowedValue(output, 0, [GlobalWindow()])

    def teardown(self) -> None:
        self._store.close()

    def _flush(self) -> Iterator[Any]:
        docs, self._docs = self._docs, []
        alerts, self._alerts = self._alerts, []
        if alerts:
            acks = {alert.id: ack for ack, alert in alerts}
            raised, duplicates, refused = self._store.record([alert for _, alert in alerts])
            self._raised.inc(len(raised))
            self._duplicates.inc(len(duplicates))
            for alert in raised:
                log.info("ALERT %s (story %s)", alert_headline(alert), alert.story_id)
            for letter in refused:
                alert_id = letter.document["alert"]["id"] if letter.document else ""
                yield acks[alert_id], letter
        yield from docs


class RaiseAlerts(beam.PTransform):  # type: ignore[misc]
    """Watchlist rules over ``(ack, Document)``; alerts created once per rule per story.

    Every document is passed on after its alerts are stored and queued; rule errors
    and refused alerts join the stream as ``(ack, DeadLetter)``, dead letters pass.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._fn = _RaiseAlerts(settings)

    def expand(self, docs: Any) -> Any:
        return docs | "Raise" >> beam.ParDo(self._fn)


# --- Delivery: one consumer group per sink ------------------------------------------------------


def delivery_group(settings: Settings, sink: Sink) -> str:
    return f"{settings.consumer_group}-deliver-{sink.key}"


def format_alert(alert: Alert, copies: int | None = None) -> str:
    """The console form: headline, snippet, story and (when known) how many copies it has."""
    story = f"story {alert.story_id}"
    if copies is not None:
        story += f" ({copies} article{'s' if copies != 1 else ''})"
    return (
        f"{alert.alerted_at} {alert_headline(alert)}\n"
        f"    {alert.snippet}\n"
        f"    {alert.url or alert.origin} · published {alert.published or '?'} · {story}"
    )


def story_sizes(es: Elasticsearch, alias: str, story_ids: Iterable[str]) -> dict[str, int]:
    """How many indexed articles each story has now (copies are counted at read time)."""
    ids = sorted(set(story_ids))
    if not ids:
        return {}
    response = es.search(
        index=alias,
        size=0,
        query={"terms": {"story.id": ids}},
        aggs={"stories": {"terms": {"field": "story.id", "size": len(ids)}}},
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    buckets = (response.get("aggregations") or {}).get("stories", {}).get("buckets", [])
    sizes = {b["key"]: int(b["doc_count"]) for b in buckets}
    return {i: sizes.get(i, 0) for i in ids}


class SinkWorker(threading.Thread):
    """Delivers the alerts topic to one sink, committing after each accepted (or dead) alert."""

    def __init__(
        self,
        settings: Settings,
        sink: Sink,
        stop: threading.Event,
        out: TextIO = sys.stdout,
        retry_budget_s: float = 300.0,
        on_delivered: Callable[[Sink, Alert], None] | None = None,
    ) -> None:
        super().__init__(name=f"deliver-{sink.key}", daemon=True)
        from connectors.webhook import WebhookSender

        self.settings = settings
        self.sink = sink
        self.stop = stop
        self.out = out
        self.sender = WebhookSender(retry_budget_s=retry_budget_s, stop=stop)
        self.on_delivered = on_delivered
        self.delivered = 0
        self.dead_lettered = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc
            log.exception("delivery to %s stopped", self.sink.key)

    def _run(self) -> None:
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        consumer = kafka_consumer(
            self.settings.kafka_bootstrap,
            f"newsbeam-{self.name}",
            delivery_group(self.settings, self.sink),
            self.settings.alerts_topic,
            max_poll_records=50,
            max_poll_interval_ms=max(300_000, int(self.sender.retry_budget_s * 2000)),
            **self.settings.kafka_options,
        )
        producer = kafka_producer(
            self.settings.kafka_bootstrap, f"newsbeam-{self.name}", **self.settings.kafka_options
        )
        try:
            while not self.stop.is_set():
                batches = consumer.poll(timeout_ms=200)
                for tp, records in batches.items():
                    for record in records:
                        if not self._handle(record.value, producer):
                            # Stopped mid-retry: seek back so nothing after it is skipped.
                            consumer.seek(tp, record.offset)
                            return
                        consumer.commit(
                            {
                                TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(
                                    record.offset + 1, "", -1
                                )
                            }
                        )
        finally:
            consumer.close(autocommit=False)
            producer.close(timeout=10)

    def _handle(self, value: bytes, producer: Any) -> bool:
        """Deliver one record; False when stopped before it was delivered or dead-lettered."""
        from connectors.webhook import WebhookError

        try:
            alert = Alert.from_json(value)
        except (ValueError, TypeError, KeyError) as exc:
            self._dead_letter(producer, "bad_alert", f"not an alert: {exc}", None)
            return True
        if self.sink.key not in {s.get("key") for s in alert.sinks}:
            return True
        try:
            if self.sink.kind == SINK_CONSOLE:
                print(format_alert(alert), file=self.out, flush=True)
            elif self.sink.kind == SINK_WEBHOOK:
                self.sender.deliver(self.sink, alert)
        except WebhookError as exc:
            if self.stop.is_set():
                return False
            self._dead_letter(producer, exc.reason, exc.message, alert)
            return True
        self.delivered += 1
        if self.on_delivered:
            self.on_delivered(self.sink, alert)
        return True

    def _dead_letter(self, producer: Any, reason: str, message: str, alert: Alert | None) -> None:
        letter = DeadLetter(
            stage=f"deliver:{self.sink.key}",
            reason=reason,
            message=message,
            origin=alert.url or alert.origin if alert else self.settings.alerts_topic,
            document_id=alert.document_id if alert else None,
            document={"alert": alert.to_dict(), "sink": self.sink.to_dict()} if alert else None,
        )
        producer.send(
            self.settings.dlq_topic,
            key=(alert.id if alert else "alert").encode(),
            value=letter.to_json().encode(),
        )
        producer.flush(timeout=60)
        self.dead_lettered += 1
        log.error(
            "alert %s not delivered to %s: %s", alert.id if alert else "?", self.sink.key, message
        )


def deliver_alerts(
    settings: Settings,
    stop: threading.Event,
    out: TextIO = sys.stdout,
    retry_budget_s: float = 300.0,
    on_delivered: Callable[[Sink, Alert], None] | None = None,
) -> list[SinkWorker]:
    """Deliver until ``stop`` is set: one worker per sink named in the watchlist.

    The watchlist is re-read every few seconds; a sink that appears gets its
    worker (and consumer group) then. Returns the workers, stopped.
    """
    ensure_topics(
        settings.kafka_bootstrap,
        [settings.alerts_topic, settings.dlq_topic],
        security=settings.kafka_options,
    )
    watchlist = WatchlistFile(settings.watchlist_file)
    workers: dict[str, SinkWorker] = {}
    while True:
        for rule in watchlist.current().rules:
            for sink in rule.sinks:
                if sink.key not in workers:
                    worker = SinkWorker(settings, sink, stop, out, retry_budget_s, on_delivered)
                    workers[sink.key] = worker
                    worker.start()
                    log.info("delivering alerts to %s (%s)", sink.key, sink.url or "stdout")
        if stop.wait(1.0):
            break
    for worker in workers.values():
        worker.join(timeout=30)
    return list(workers.values())


# --- Retroactive alerting ---------------------------------------------------------------------


def document_from_article(source: dict[str, Any]) -> Document:
    """An indexed article back as a ``Document``, as far as rule evaluation needs it."""
    kinds = {
        e.get("canonical"): (e.get("type") or "MISC", e.get("id"))
        for e in source.get("entities") or []
        if e.get("canonical")
    }
    mentions = [
        Mention(
            text=m["text"],
            label=kinds.get(m.get("canonical"), ("MISC", None))[0],
            start=int(m["start"]),
            end=int(m["end"]),
            canonical=m.get("canonical"),
            entity_id=kinds.get(m.get("canonical"), ("MISC", None))[1],
        )
        for m in source.get("mentions") or []
    ]
    return Document(
        id=str(source["id"]),
        origin=str(source.get("origin") or ""),
        content="",
        url=source.get("url"),
        received_at=str(source.get("@timestamp") or utc_now()),
        source=(source.get("source") or {}).get("name"),
        title=source.get("title"),
        published=source.get("published"),
        text=source.get("text") or "",
        language=source.get("language") or "und",
        entities=mentions,
        story_id=(source.get("story") or {}).get("id"),
    )


def backfill_query(rule: AlertRule) -> dict[str, Any]:
    """The articles a rule could fire on; the rule itself then decides, as in the pipeline."""
    if rule.entity:
        match: dict[str, Any] = {
            "bool": {
                "should": [
                    {"term": {"entities.canonical": rule.entity}},
                    {"term": {"entities.id": rule.entity}},
                ],
                "minimum_should_match": 1,
            }
        }
    else:
        match = {
            "bool": {
                "should": [{"match_phrase": {"text": phrase}} for phrase in rule.query],
                "minimum_should_match": 1,
            }
        }
    filters: list[dict[str, Any]] = [match]
    if rule.languages:
        filters.append({"terms": {"language": sorted(rule.languages)}})
    return {"bool": {"filter": filters}}


def backfill(
    settings: Settings, rule_name: str, out: TextIO = sys.stdout, page_size: int = 500
) -> tuple[int, int]:
    """Evaluate one rule over everything indexed; alerts are still once per story.

    Returns (alerts raised, stories that had already alerted).
    """
    rule = load_watchlist(settings.watchlist_file or None).rule(rule_name)
    store = AlertStore(settings)
    raised_total = duplicate_total = 0
    try:
        es = store.es
        es.indices.refresh(index=settings.articles_alias, ignore_unavailable=True)
        after: list[Any] | None = None
        while True:
            page = es.search(
                index=settings.articles_alias,
                query=backfill_query(rule),
                size=page_size,
                sort=[{"@timestamp": "asc"}, {"id": "asc"}],
                search_after=after,
                source_excludes=["boilerplate", "search_text"],
            )["hits"]["hits"]
            if not page:
                break
            after = page[-1]["sort"]
            alerts = [
                alert
                for hit in page
                for alert in raise_alerts([rule], document_from_article(hit["_source"]))
            ]
            raised, duplicates, refused = store.record(alerts)
            raised_total += len(raised)
            duplicate_total += len(duplicates)
            for alert in raised:
                print(format_alert(alert), file=out)
            for letter in refused:
                print(f"refused: {letter.reason}: {letter.message}", file=out)
    finally:
        store.close()
    print(
        f"backfill of {rule.name!r}: {raised_total} alerts raised, "
        f"{duplicate_total} stories had already alerted",
        file=out,
    )
    return raised_total, duplicate_total


def tail_alerts(
    settings: Settings,
    stop: threading.Event,
    out: TextIO = sys.stdout,
    from_beginning: bool = False,
    as_json: bool = False,
) -> int:
    """Print alerts from the alerts topic as they arrive, with each story's size now."""
    from kafka import TopicPartition

    ensure_topics(
        settings.kafka_bootstrap, [settings.alerts_topic], security=settings.kafka_options
    )
    consumer = kafka_consumer(
        settings.kafka_bootstrap, "newsbeam-alerts-tail", **settings.kafka_options
    )
    es = client(settings)
    shown = 0
    try:
        partitions = [
            TopicPartition(settings.alerts_topic, p)
            for p in sorted(consumer.partitions_for_topic(settings.alerts_topic) or ())
        ]
        consumer.assign(partitions)
        if from_beginning:
            consumer.seek_to_beginning(*partitions)
        else:
            consumer.seek_to_end(*partitions)
        while not stop.is_set():
            records = [r for batch in consumer.poll(timeout_ms=500).values() for r in batch]
            alerts = []
            for record in records:
                try:
                    alerts.append(Alert.from_json(record.value))
                except (ValueError, TypeError, KeyError):
                    print(f"(not an alert at offset {record.offset})", file=out)
            if not alerts:
                continue
            sizes = story_sizes(es, settings.articles_alias, (a.story_id for a in alerts))
            for alert in alerts:
                if as_json:
                    body = alert.to_dict() | {"story_articles": sizes.get(alert.story_id)}
                    print(json.dumps(body, ensure_ascii=False), file=out, flush=True)
                else:
                    print(format_alert(alert, sizes.get(alert.story_id)), file=out, flush=True)
                shown += 1
    finally:
        consumer.close()
        es.close()
    return shown
