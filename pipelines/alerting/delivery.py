"""Delivery: one consumer group per sink, committing only after the sink accepted; and tailing."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from elasticsearch import Elasticsearch

from connectors.elasticsearch import client
from connectors.kafka import consumer as kafka_consumer
from connectors.kafka import ensure_topics
from connectors.kafka import producer as kafka_producer
from pipelines.alerting.store import WatchlistFile
from pipelines.settings import Settings
from transforms.alerts import (
    SINK_CONSOLE,
    SINK_WEBHOOK,
    Alert,
    Sink,
    alert_headline,
)
from transforms.document import DeadLetter

log = logging.getLogger(__name__)


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
