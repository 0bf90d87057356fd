"""The physical limits here, with nothing else in front: Kafka produce/consume of the raw
documents, and Elasticsearch bulk indexing of the finished documents.

Also the bench's own topic and index names (``benchmarks.run`` deletes them afterwards).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from benchmarks.measure import rate
from benchmarks.workloads import documents
from connectors.elasticsearch import article_source, client, ensure_index
from connectors.kafka import DocumentProducer, ensure_topics
from pipelines.settings import Settings
from transforms.chain import enrich
from transforms.document import Document
from transforms.entities import load_knowledge_base


def bench_settings(base: Settings, run: str) -> Settings:
    """Topics, indices and consumer group of one part of bench run ``run`` (``<run>-<part>``),
    apart from everyone else's: ``bench.<run>-<part>.*`` and ``bench-<run>-<part>-*``."""
    return base.replace(
        raw_topic=f"bench.{run}.raw",
        dlq_topic=f"bench.{run}.dlq",
        alerts_topic=f"bench.{run}.alerts",
        index_prefix=f"bench-{run}",
        consumer_group=f"bench-{run}",
    )


@dataclass
class LimitResult:
    name: str
    documents: int
    seconds: float
    docs_per_s: float
    mb_per_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def kafka_limit(
    settings: Settings, kind: str, count: int, partitions: int = 1
) -> list[LimitResult]:
    """Publish ``count`` raw documents with the project's producer, then read them back."""
    topic = f"{settings.raw_topic}.limit-{kind}-p{partitions}"
    ensure_topics(
        settings.kafka_bootstrap,
        [topic, settings.dlq_topic],
        partitions=partitions,
        security=settings.kafka_options,
    )
    docs = list(documents(kind, count, seed=3))
    size_mb = sum(len(doc.to_json().encode("utf-8")) for doc in docs) / 2**20
    start = time.perf_counter()
    with DocumentProducer(
        settings.kafka_bootstrap, topic, settings.dlq_topic, **settings.kafka_options
    ) as producer:
        for doc in docs:
            producer.publish(doc)
    produced = time.perf_counter() - start
    del docs

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        max_poll_records=500,
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        # kafka-python 2.x refuses response frames over 1 MB by default, whatever fetch_max_bytes
        # says: the connection is dropped and the fetch retried (see docs/performance.md).
        receive_message_max_bytes=32 * 1024 * 1024,
        **settings.kafka_options,
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        seen = 0
        start = time.perf_counter()
        deadline = start + 300
        while seen < count and time.perf_counter() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                seen += len(records)
        consumed = time.perf_counter() - start
    finally:
        consumer.close()
    label = f"{partitions} partition{'s' if partitions > 1 else ''}"
    return [
        LimitResult(f"Kafka produce ({label})", count, produced, rate(count, produced),
                    size_mb / produced),
        LimitResult(f"Kafka consume ({label})", seen, consumed, rate(seen, consumed),
                    size_mb / consumed),
    ]  # fmt: skip


def finished_sources(kind: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    """``(id, indexed source)`` of ``count`` enriched documents, outside any timer."""
    kb = load_knowledge_base()
    out = []
    for doc in documents(kind, count, seed=4):
        result = enrich(doc)
        if isinstance(result, Document):
            out.append((result.id, article_source(result, kb)))
    return out


def elasticsearch_limit(
    settings: Settings, kind: str, sources: list[tuple[str, dict[str, Any]]], bulk_size: int
) -> LimitResult:
    """Bulk-index finished documents into a fresh index with the articles mapping; the time
    includes the final refresh, so at the end every document is searchable."""
    alias = f"{settings.index_prefix}-limit-{kind}"
    es = client(settings)
    try:
        ensure_index(es, alias, "articles")
        size_mb = sum(len(json.dumps(source).encode("utf-8")) for _, source in sources) / 2**20
        start = time.perf_counter()
        for offset in range(0, len(sources), bulk_size):
            operations: list[dict[str, Any]] = []
            for doc_id, source in sources[offset : offset + bulk_size]:
                operations += [{"index": {"_index": alias, "_id": doc_id}}, source]
            response = es.bulk(operations=operations)
            if response["errors"]:
                raise RuntimeError(f"bulk indexing into {alias} refused some documents")
        es.indices.refresh(index=alias)
        seconds = time.perf_counter() - start
        with contextlib.suppress(Exception):
            es.indices.delete(index=f"{alias}-v1")
    finally:
        es.close()
    return LimitResult(
        f"Elasticsearch bulk ({kind}, {bulk_size}/request)",
        len(sources),
        seconds,
        rate(len(sources), seconds),
        size_mb / seconds,
    )
