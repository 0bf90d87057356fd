"""The streaming ingest pipeline: Kafka -> enrich -> Elasticsearch, dead letters aside.

Offsets are committed only after Elasticsearch (or the dead-letter topic) has
acknowledged a document, and every write is an upsert by document id, so a
crash or restart loses nothing and doubles nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from connectors.elasticsearch import (
    IndexRequest,
    WriteToElasticsearch,
    article_source,
    check_access,
    dead_letter_source,
    ensure_indices,
)
from connectors.kafka import (
    CommitOffsets,
    KafkaRecord,
    ReadFromKafka,
    WriteToKafka,
    ensure_topics,
)
from pipelines.alerting import AssignStories, RaiseAlerts
from pipelines.settings import Settings
from pipelines.stages import DEAD_LETTERS, EnrichDocuments
from transforms.document import DeadLetter, Document

log = logging.getLogger(__name__)


class _DecodeRecord(beam.DoFn):  # type: ignore[misc]
    def process(self, record: KafkaRecord) -> Iterator[Any]:
        try:
            yield record.position, Document.from_json(record.value)
        except (ValueError, TypeError, KeyError) as exc:
            topic, partition, offset = record.position
            yield beam.pvalue.TaggedOutput(
                DEAD_LETTERS,
                (
                    record.position,
                    DeadLetter(
                        stage="decode",
                        reason="bad_record",
                        message=f"not a newsbeam document: {exc}",
                        origin=f"kafka:{topic}/{partition}/{offset}",
                        document_id=record.key,
                    ),
                ),
            )


def dead_letter_id(letter: DeadLetter) -> str:
    key = "\x1f".join((letter.stage, letter.reason, letter.origin, letter.document_id or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def build(
    pipeline: beam.Pipeline, settings: Settings, until_idle: bool, idle_seconds: float
) -> None:
    """Add the ingest graph to ``pipeline``."""
    records = pipeline | "ReadRaw" >> ReadFromKafka(
        settings.kafka_bootstrap,
        settings.raw_topic,
        settings.consumer_group,
        until_idle=until_idle,
        idle_seconds=idle_seconds,
        batch_size=settings.bulk_size,
    )
    decoded = records | "Decode" >> beam.ParDo(_DecodeRecord()).with_outputs(
        DEAD_LETTERS, main="docs"
    )
    docs, failed = decoded.docs | "Enrich" >> EnrichDocuments(settings.knowledge_base_file)
    # Stories before indexing (the article carries its story id), alerts before the articles
    # sink (documents leave RaiseAlerts once their alerts are stored, so the commit waits too).
    alerted = (
        docs | "AssignStories" >> AssignStories(settings) | "RaiseAlerts" >> RaiseAlerts(settings)
    )
    indexed = (
        alerted.docs
        | "ToIndexRequests"
        >> beam.MapTuple(lambda ack, doc: IndexRequest(doc.id, article_source(doc), ack))
        | "IndexArticles" >> WriteToElasticsearch(settings, settings.articles_alias)
    )
    dead = (
        decoded[DEAD_LETTERS],
        failed,
        alerted[DEAD_LETTERS],
        indexed[DEAD_LETTERS],
    ) | "AllDeadLetters" >> beam.Flatten()
    dead_acks = (
        dead
        | "ToDlqMessages"
        >> beam.MapTuple(lambda ack, letter: (ack, dead_letter_id(letter), letter.to_json()))
        | "PublishDeadLetters" >> WriteToKafka(settings.kafka_bootstrap, settings.dlq_topic)
    )
    _ = (
        dead
        | "ToDlqIndexRequests"
        >> beam.MapTuple(
            lambda _ack, letter: IndexRequest(
                dead_letter_id(letter), dead_letter_source(letter), None
            )
        )
        | "IndexDeadLetters" >> WriteToElasticsearch(settings, settings.dlq_alias)
    )
    _ = (
        (indexed.acks, dead_acks)
        | "AllAcks" >> beam.Flatten()
        | "CommitOffsets" >> CommitOffsets(settings.kafka_bootstrap, settings.consumer_group)
    )


def pipeline_options(extra: list[str] | None = None) -> PipelineOptions:
    """Options for the local runner; nothing is downloaded at run time."""
    return PipelineOptions(extra or [], save_main_session=False)


def run(
    settings: Settings,
    until_idle: bool,
    idle_seconds: float = 5.0,
    runner: Any = None,
    options: PipelineOptions | None = None,
) -> None:
    """Run the pipeline to completion (streams forever unless ``until_idle``).

    Topics and index aliases are created first: writing to a missing alias would
    make Elasticsearch create a plain index with guessed mappings.
    """
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    check_access(settings)  # bad credentials or CA file: one clear sentence, no 120 s wait
    ensure_topics(settings.kafka_bootstrap, [settings.raw_topic, settings.dlq_topic])
    ensure_indices(settings)

    # The DirectRunner would first try to download Prism; the in-process FnApiRunner needs nothing.
    with beam.Pipeline(runner=runner or FnApiRunner(), options=options or pipeline_options()) as p:
        build(p, settings, until_idle, idle_seconds)
