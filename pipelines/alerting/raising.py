"""Beam: raising alerts for the watchlist's rules, once per story."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from pipelines.alerting.store import AlertStore, WatchlistFile
from pipelines.settings import Settings
from transforms.alerts import (
    Alert,
    alert_headline,
    raise_alerts,
)
from transforms.document import DeadLetter, Document

log = logging.getLogger(__name__)


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
