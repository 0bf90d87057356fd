"""The pipeline's one terminal write, and the acknowledgements that let offsets be committed.

Every element that reaches the end is ``(ack, Document | DeadLetter)``. Articles
go to Elasticsearch; dead letters (and articles Elasticsearch refuses for good)
go to the dead-letter topic, which is their durable record, and to the
dead-letter index for Kibana. Only then is each ``ack`` emitted.

Why one sink and not one per kind: on Beam's local runner a ``Flatten`` ends the
fused stage, and a stage after it only runs once the (endless) Kafka read has
finished, so a streaming run would never commit an offset. Keeping failures in
the same stream as documents keeps read, enrich, write and commit in one bundle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from connectors.elasticsearch import (
    BulkWriter,
    IndexRequest,
    article_source,
    client,
    dead_letter_source,
)
from connectors.kafka import producer
from pipelines import observability
from pipelines.settings import Settings
from transforms.document import DeadLetter, Document
from transforms.entities import load_knowledge_base

log = logging.getLogger(__name__)


def dead_letter_id(letter: DeadLetter) -> str:
    """Stable per failure, so a replayed or re-read failure overwrites its record."""
    key = "\x1f".join((letter.stage, letter.reason, letter.origin, letter.document_id or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


class _WriteResults(beam.DoFn):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._buffer: list[tuple[Any, Document | DeadLetter]] = []

    def setup(self) -> None:
        self._es = client(self._settings)
        self._writer = BulkWriter(
            self._settings,
            self._es,
            observability.BulkMetrics(self._settings.articles_alias, self._settings.dlq_alias),
        )
        self._producer = producer(
            self._settings.kafka_bootstrap, "newsbeam-pipeline", **self._settings.kafka_options
        )
        # The one the enrich stage linked with (loaded once per process, cached).
        self._kb = load_knowledge_base(self._settings.knowledge_base_file or None)

    def process(self, element: tuple[Any, Document | DeadLetter]) -> Iterator[Any]:
        self._buffer.append(element)
        if len(self._buffer) >= self._settings.bulk_size:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        from apache_beam.transforms.window import GlobalWindow
        from apache_beam.utils.windowed_value import WindowedValue

        for ack in self._flush():
            yield WindowedValue(ack, 0, [GlobalWindow()])

    def teardown(self) -> None:
        self._producer.close(timeout=30)
        self._es.close()

    def _flush(self) -> Iterator[Any]:
        pending, self._buffer = self._buffer, []
        articles = [
            IndexRequest(item.id, article_source(item, self._kb), (ack, item))
            for ack, item in pending
            if isinstance(item, Document)
        ]
        letters = [(ack, item) for ack, item in pending if isinstance(item, DeadLetter)]
        written, refused = self._writer.write(self._settings.articles_alias, articles)
        for request, letter in refused:
            ack, doc = request.ack
            # Keep the raw document, so a replay does not depend on the raw topic's retention.
            letters.append((ack, dataclasses.replace(letter, document=doc.as_raw().to_dict())))
        if letters:
            self._write_dead_letters([letter for _, letter in letters])
        for request in written:
            yield request.ack[0]
        for ack, _ in letters:
            yield ack

    def _write_dead_letters(self, letters: list[DeadLetter]) -> None:
        for letter in letters:
            self._producer.send(
                self._settings.dlq_topic,
                key=dead_letter_id(letter).encode(),
                value=letter.to_json().encode(),
            )
        self._producer.flush(timeout=120)  # the topic is the durable record: before any ack
        _, refused = self._writer.write(
            self._settings.dlq_alias,
            [IndexRequest(dead_letter_id(x), dead_letter_source(x), None) for x in letters],
        )
        for _, why in refused:
            log.error(
                "dead letter kept on %s but not indexed in %s: %s",
                self._settings.dlq_topic,
                self._settings.dlq_alias,
                why.message,
            )


class WriteResults(beam.PTransform):  # type: ignore[misc]
    """Writes ``(ack, Document | DeadLetter)``; outputs each ``ack`` once it is durable."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._fn = _WriteResults(settings)

    def expand(self, results: Any) -> Any:
        return results | "Write" >> beam.ParDo(self._fn)
