"""The streaming ingest pipeline: Kafka -> enrich -> Elasticsearch, dead letters aside.

Offsets are committed only after Elasticsearch (or the dead-letter topic) has
acknowledged a document, and every write is an upsert by document id, so a
crash or restart loses nothing and doubles nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from connectors.elasticsearch import check_access, ensure_indices
from connectors.kafka import CommitOffsets, KafkaRecord, ReadFromKafka, Shard, ensure_topics
from pipelines.alerting import AssignStories, RaiseAlerts
from pipelines.settings import Settings
from pipelines.sinks import WriteResults
from pipelines.stages import EnrichDocuments
from transforms.document import DeadLetter, Document

log = logging.getLogger(__name__)


class _DecodeRecord(beam.DoFn):  # type: ignore[misc]
    def process(self, record: KafkaRecord) -> Iterator[tuple[Any, Document | DeadLetter]]:
        try:
            yield record.position, Document.from_json(record.value)
        except (ValueError, TypeError, KeyError) as exc:
            topic, partition, offset = record.position
            yield (
                record.position,
                DeadLetter(
                    stage="decode",
                    reason="bad_record",
                    message=f"not a newsbeam document: {exc}",
                    origin=f"kafka:{topic}/{partition}/{offset}",
                    document_id=record.key,
                ),
            )


def build(
    pipeline: beam.Pipeline,
    settings: Settings,
    until_idle: bool,
    idle_seconds: float,
    shard: Shard | None = None,
) -> None:
    """Add the ingest graph to ``pipeline``: one chain, fused into one stage.

    Elements are ``(kafka position, Document | DeadLetter)`` from decoding to the
    sink, which emits each position once its article or dead letter is durable.
    Stories come before alerts (an alert names its story) and alerts before the
    sink (a document leaves RaiseAlerts once its alerts are stored), so the commit
    waits for all of them.
    """
    _ = (
        pipeline
        | "ReadRaw"
        >> ReadFromKafka(
            settings.kafka_bootstrap,
            settings.raw_topic,
            settings.consumer_group,
            until_idle=until_idle,
            idle_seconds=idle_seconds,
            batch_size=settings.bulk_size,
            shard=shard,
            security=settings.kafka_options,
        )
        | "Decode" >> beam.ParDo(_DecodeRecord())
        | "Enrich" >> EnrichDocuments(settings.knowledge_base_file, settings.stage_timeout_s)
        | "AssignStories" >> AssignStories(settings)
        | "RaiseAlerts" >> RaiseAlerts(settings)
        | "Write" >> WriteResults(settings)
        | "CommitOffsets"
        >> CommitOffsets(settings.kafka_bootstrap, settings.consumer_group, settings.kafka_options)
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
    shard: Shard | None = None,
) -> None:
    """Run the pipeline to completion (streams forever unless ``until_idle``); with a
    ``shard``, on that shard's partitions only.

    Topics and index aliases are created first: writing to a missing alias would
    make Elasticsearch create a plain index with guessed mappings.
    """
    from pipelines.local_runner import fn_api_runner

    check_access(settings)  # bad credentials or CA file: one clear sentence, no 120 s wait
    ensure_topics(
        settings.kafka_bootstrap,
        [settings.raw_topic, settings.dlq_topic],
        security=settings.kafka_options,
    )
    ensure_indices(settings)

    # The DirectRunner would first try to download Prism; the in-process FnApiRunner needs nothing.
    runner = runner or fn_api_runner()
    with beam.Pipeline(runner=runner, options=options or pipeline_options()) as p:
        build(p, settings, until_idle, idle_seconds, shard)
