"""The watchlist file; the alert store: dedup in Elasticsearch, the alerts topic as queue."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from connectors.elasticsearch import client, ensure_index
from connectors.kafka import ensure_topics
from connectors.kafka import producer as kafka_producer
from pipelines.alerting.retrying import retrying
from pipelines.settings import Settings
from transforms.alerts import (
    Alert,
    Watchlist,
    WatchlistError,
    load_watchlist,
)
from transforms.document import DeadLetter, utc_now

log = logging.getLogger(__name__)

WATCHLIST_CHECK_S = 3.0


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
        found = retrying(
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
            response = retrying("alert create", lambda: self.es.bulk(operations=operations))
            for alert, item in zip(fresh, response["items"], strict=True):
                result = item["create"]
                status = result.get("status", 500)
                if status < 300:
                    raised.append(alert)
                    to_queue.append((result["_index"], alert))
                elif status == 409:
                    got = retrying(
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
        retrying("alert mark queued", lambda: self.es.bulk(operations=operations))
