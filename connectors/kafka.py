"""Kafka, with kafka-python: topics, the raw/dead-letter producer, and the Beam source.

Everything newsbeam writes to Kafka is UTF-8 JSON keyed by document id, so a
partition keeps every version of one document in order.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, NoBrokersAvailable, TopicAlreadyExistsError

from transforms.document import DeadLetter, Document

log = logging.getLogger(__name__)


class KafkaUnavailableError(RuntimeError):
    """The broker did not answer; the message says where and what to do."""


def _unavailable(bootstrap: str, exc: Exception) -> KafkaUnavailableError:
    return KafkaUnavailableError(
        f"Kafka at {bootstrap} did not answer ({exc.__class__.__name__}); "
        "start it with `newsbeam stack up` or set NEWSBEAM_KAFKA_BOOTSTRAP."
    )


def ensure_topics(
    bootstrap: str, topics: Iterable[str], partitions: int = 1, timeout_s: float = 30.0
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="newsbeam-admin")
            break
        except (NoBrokersAvailable, KafkaError) as exc:
            if time.monotonic() > deadline:
                raise _unavailable(bootstrap, exc) from exc
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name=topic, num_partitions=partitions, replication_factor=1)
            for topic in dict.fromkeys(topics)
            if topic not in existing
        ]
        # Another process may create a topic between list and create.
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
    finally:
        admin.close()


class DocumentProducer:
    """Publishes raw documents and dead letters; a context manager that flushes on exit."""

    def __init__(self, bootstrap: str, raw_topic: str, dlq_topic: str, **config: Any) -> None:
        self.raw_topic = raw_topic
        self.dlq_topic = dlq_topic
        self._bootstrap = bootstrap
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=bootstrap,
                client_id="newsbeam-producer",
                acks="all",
                linger_ms=5,
                retries=10,
                max_request_size=8 * 1024 * 1024,
                key_serializer=str.encode,
                value_serializer=str.encode,
                **config,
            )
        except NoBrokersAvailable as exc:
            raise _unavailable(bootstrap, exc) from exc

    def publish(self, doc: Document) -> None:
        self._producer.send(self.raw_topic, key=doc.id, value=doc.to_json())

    def dead_letter(self, letter: DeadLetter) -> None:
        self._producer.send(
            self.dlq_topic, key=letter.document_id or letter.origin, value=letter.to_json()
        )

    def flush(self, timeout_s: float = 60.0) -> None:
        self._producer.flush(timeout=timeout_s)

    def close(self) -> None:
        self._producer.close(timeout=30)

    def __enter__(self) -> DocumentProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.flush()
        finally:
            self.close()
