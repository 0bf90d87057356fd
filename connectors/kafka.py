"""Kafka, with kafka-python: topics, the raw/dead-letter producer, and the Beam source.

Everything newsbeam writes to Kafka is UTF-8 JSON keyed by document id, so a
partition keeps every version of one document in order.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewPartitions, NewTopic
from kafka.errors import KafkaError, NoBrokersAvailable, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from transforms.document import DeadLetter, Document

log = logging.getLogger(__name__)


class KafkaUnavailableError(RuntimeError):
    """The broker did not answer; the message says where and what to do."""


def _unavailable(bootstrap: str, exc: Exception) -> KafkaUnavailableError:
    return KafkaUnavailableError(
        f"Kafka at {bootstrap} did not answer ({exc.__class__.__name__}); "
        "start it with `newsbeam stack up` or set NEWSBEAM_KAFKA_BOOTSTRAP."
    )


Security = Mapping[str, Any]  # SASL/TLS options: Settings.kafka_options (connectors/kafka_security)


def producer(bootstrap: str, client_id: str, **overrides: Any) -> KafkaProducer:
    """A producer that waits for every in-sync replica and retries transient errors.

    Pass ``**settings.kafka_options`` for a secured broker."""
    options: dict[str, Any] = {
        "acks": "all",
        "linger_ms": 5,
        "retries": 10,
        "max_request_size": 8 * 1024 * 1024,
        **overrides,
    }
    try:
        return KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, **options)
    except NoBrokersAvailable as exc:
        raise _unavailable(bootstrap, exc) from exc


def consumer(
    bootstrap: str, client_id: str, group_id: str | None = None, *topics: str, **overrides: Any
) -> KafkaConsumer:
    """A consumer that never commits by itself and starts at the earliest offset.

    Pass ``**settings.kafka_options`` for a secured broker."""
    options: dict[str, Any] = {
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": 8 << 20,  # the broker's message.max.bytes (infra/)
        "fetch_max_bytes": 16 << 20,
        **overrides,
    }
    # A fetch answer is one network frame: allow the largest one asked for, or kafka-python
    # drops the connection with "Invalid frame length" (its default limit is 1 MB).
    options.setdefault("receive_message_max_bytes", options["fetch_max_bytes"] + (1 << 20))
    try:
        return KafkaConsumer(
            *topics, bootstrap_servers=bootstrap, client_id=client_id, group_id=group_id, **options
        )
    except NoBrokersAvailable as exc:
        raise _unavailable(bootstrap, exc) from exc


def admin_client(bootstrap: str, client_id: str, security: Security | None = None) -> Any:
    """An admin client with the broker's security options."""
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, **(security or {}))


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int = 1,
    timeout_s: float = 30.0,
    *,
    security: Security | None = None,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = admin_client(bootstrap, "newsbeam-admin", security)
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


def ensure_partitions(
    bootstrap: str, topic: str, partitions: int, *, security: Security | None = None
) -> int:
    """Grow ``topic`` to at least ``partitions`` partitions; returns how many it has now.

    Kafka can add partitions but never remove them. Keys published after the change
    may map to another partition than before, so per-key order holds only from then on.
    """
    admin = admin_client(bootstrap, "newsbeam-admin", security)
    try:
        (described,) = admin.describe_topics([topic])
        have = len(described.get("partitions") or ())
        if have >= partitions:
            return have
        log.warning("growing topic %s from %d to %d partitions", topic, have, partitions)
        admin.create_partitions({topic: NewPartitions(total_count=partitions)})
        return partitions
    finally:
        admin.close()


@dataclass(frozen=True)
class Shard:
    """Which partitions one of ``count`` reader processes owns: those with
    ``partition % count == index``. ``Shard(0, 1)`` reads them all."""

    index: int = 0
    count: int = 1

    def owns(self, partition: int) -> bool:
        return partition % self.count == self.index


class DocumentProducer:
    """Publishes raw documents and dead letters; a context manager that flushes on exit."""

    def __init__(self, bootstrap: str, raw_topic: str, dlq_topic: str, **config: Any) -> None:
        self.raw_topic = raw_topic
        self.dlq_topic = dlq_topic
        self._producer = producer(
            bootstrap,
            "newsbeam-producer",
            key_serializer=str.encode,
            value_serializer=str.encode,
            **config,
        )

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


# --- The Beam source -------------------------------------------------------------------------
#
# Kafka is read with kafka-python inside a splittable DoFn (not Beam's Java-backed
# ReadFromKafka): one element per partition, whose restriction is the offset range still to
# read. The DoFn claims offsets as it emits records and checkpoints (defer_remainder) after
# each batch, so the runner can commit its progress and resume elsewhere. Offsets are
# committed to the consumer group only by ``CommitOffsets``, after the sinks acknowledged.


class KafkaPosition(NamedTuple):
    topic: str
    partition: int
    offset: int


class KafkaRecord(NamedTuple):
    position: KafkaPosition
    key: str | None
    value: bytes


_END = sys.maxsize  # the stop of an unbounded partition restriction


class _PartitionTracker(OffsetRestrictionTracker):  # type: ignore[misc]
    """An offset tracker that only checkpoints: a Kafka offset range has no middle to split at."""

    def try_split(self, fraction_of_remainder: float) -> tuple[OffsetRange, OffsetRange] | None:
        if fraction_of_remainder != 0:
            return None
        split: tuple[OffsetRange, OffsetRange] | None = super().try_split(0)
        return split

    def is_bounded(self) -> bool:
        return bool(self.current_restriction().stop != _END)


def _consumer(bootstrap: str, group_id: str | None, security: Security | None) -> KafkaConsumer:
    return consumer(
        bootstrap, "newsbeam-reader", group_id, max_poll_records=500, **(security or {})
    )


class _ListPartitions(beam.DoFn):  # type: ignore[misc]
    def __init__(
        self, bootstrap: str, topic: str, shard: Shard, security: Security | None = None
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._shard = shard
        self._security = dict(security or {})

    def process(self, _: bytes) -> Iterator[tuple[str, int]]:
        consumer = _consumer(self._bootstrap, None, self._security)
        try:
            partitions = consumer.partitions_for_topic(self._topic)
        finally:
            consumer.close()
        if not partitions:
            raise KafkaUnavailableError(
                f"topic {self._topic!r} does not exist on {self._bootstrap}; "
                "create it with `newsbeam stack up` or `newsbeam publish`."
            )
        owned = [p for p in sorted(partitions) if self._shard.owns(p)]
        if not owned:
            log.warning(
                "reader %d of %d owns none of the %d partitions of %s; it has nothing to read",
                self._shard.index + 1, self._shard.count, len(partitions), self._topic,
            )  # fmt: skip
        for partition in owned:
            yield self._topic, partition


# The DoFn below is its own restriction provider (Beam uses the DoFn when the param has none).
_OWN_RESTRICTIONS = beam.DoFn.RestrictionParam()


class _ReadPartition(beam.DoFn, RestrictionProvider):  # type: ignore[misc]
    """Reads one partition from its restriction's start, one batch per call.

    Restrictions start at the group's committed offset (else the earliest) and never
    stop: ``until_idle`` ends one by claiming its stop once the partition is quiet.
    """

    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        until_idle: bool,
        idle_seconds: float,
        batch_size: int,
        security: Security | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._security = dict(security or {})
        self._group_id = group_id
        self._until_idle = until_idle
        self._idle_seconds = idle_seconds
        self._batch_size = batch_size
        self._consumers: dict[TopicPartition, KafkaConsumer] = {}

    def initial_restriction(self, element: tuple[str, int]) -> OffsetRange:
        tp = TopicPartition(*element)
        consumer = _consumer(self._bootstrap, self._group_id, self._security)
        try:
            committed = consumer.committed(tp)
            start = committed if committed is not None else consumer.beginning_offsets([tp])[tp]
        finally:
            consumer.close()
        return OffsetRange(start, _END)

    def create_tracker(self, restriction: OffsetRange) -> _PartitionTracker:
        return _PartitionTracker(restriction)

    def restriction_size(self, element: tuple[str, int], restriction: OffsetRange) -> int:
        return 1  # the backlog is unknown here; every partition weighs the same

    def split(self, element: tuple[str, int], restriction: OffsetRange) -> Iterator[OffsetRange]:
        yield restriction

    def teardown(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()
        self._consumers.clear()

    def _positioned(self, tp: TopicPartition, offset: int) -> KafkaConsumer:
        consumer = self._consumers.get(tp)
        if consumer is None:
            consumer = self._consumers[tp] = _consumer(self._bootstrap, None, self._security)
            consumer.assign([tp])
        if consumer.position(tp) != offset:
            consumer.seek(tp, offset)
        return consumer

    @beam.DoFn.unbounded_per_element()  # type: ignore[untyped-decorator]
    def process(
        self,
        element: tuple[str, int],
        tracker: Any = _OWN_RESTRICTIONS,
    ) -> Iterator[KafkaRecord]:
        topic, partition = element
        tp = TopicPartition(topic, partition)
        restriction: OffsetRange = tracker.current_restriction()
        consumer = self._positioned(tp, restriction.start)
        emitted = 0
        quiet_since = time.monotonic()
        while True:
            batch = consumer.poll(timeout_ms=500, max_records=self._batch_size).get(tp, [])
            for record in batch:
                if not tracker.try_claim(record.offset):
                    return
                key = record.key.decode("utf-8", "replace") if record.key is not None else None
                yield KafkaRecord(KafkaPosition(topic, partition, record.offset), key, record.value)
                emitted += 1
            if emitted:
                tracker.defer_remainder()  # a checkpoint: the bundle ends, sinks flush
                return
            if not self._until_idle:
                tracker.defer_remainder(Duration(seconds=1))
                return
            if time.monotonic() - quiet_since >= self._idle_seconds:
                # Quiet for long enough; done only if nothing is left (an empty poll can
                # also mean a slow broker), else keep reading.
                if consumer.position(tp) >= consumer.end_offsets([tp])[tp]:
                    tracker.try_claim(restriction.stop)
                    return
                quiet_since = time.monotonic()


class ReadFromKafka(beam.PTransform):  # type: ignore[misc]
    """Reads every partition of a topic as ``KafkaRecord`` elements, with kafka-python.

    Streams forever, or with ``until_idle`` stops once every partition has been quiet
    for ``idle_seconds``. Resumes from the consumer group's committed offsets. With a
    ``shard``, reads only the partitions that shard owns (one of several processes).
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        until_idle: bool = False,
        idle_seconds: float = 5.0,
        batch_size: int = 500,
        shard: Shard | None = None,
        security: Security | None = None,
    ) -> None:
        super().__init__()
        self._bootstrap = bootstrap
        self._topic = topic
        self._shard = shard or Shard()
        self._security = dict(security or {})
        self._read = _ReadPartition(
            bootstrap, group_id, until_idle, idle_seconds, batch_size, self._security
        )

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "Impulse" >> beam.Impulse()
            | "ListPartitions"
            >> beam.ParDo(
                _ListPartitions(self._bootstrap, self._topic, self._shard, self._security)
            )
            | "ReadPartitions" >> beam.ParDo(self._read)
        )


class _CommitOffsets(beam.DoFn):  # type: ignore[misc]
    """Commits, per partition, the offset after the highest one acknowledged in the bundle.

    Records are read, enriched and written in one fused bundle, and the sinks flush
    before this DoFn's ``finish_bundle``: every offset below the committed one is in
    Elasticsearch or the dead-letter topic.
    """

    def __init__(self, bootstrap: str, group_id: str, security: Security | None = None) -> None:
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._security = dict(security or {})
        self._pending: dict[TopicPartition, int] = {}

    def setup(self) -> None:
        self._consumer = _consumer(self._bootstrap, self._group_id, self._security)

    def process(self, position: KafkaPosition) -> None:
        tp = TopicPartition(position.topic, position.partition)
        self._pending[tp] = max(self._pending.get(tp, -1), position.offset)

    def finish_bundle(self) -> None:
        if self._pending:
            self._consumer.commit(
                {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in self._pending.items()}
            )
            self._pending.clear()

    def teardown(self) -> None:
        self._consumer.close()


class CommitOffsets(beam.PTransform):  # type: ignore[misc]
    """Commits acknowledged ``KafkaPosition`` elements to the consumer group."""

    def __init__(self, bootstrap: str, group_id: str, security: Security | None = None) -> None:
        super().__init__()
        self._fn = _CommitOffsets(bootstrap, group_id, security)

    def expand(self, positions: beam.PCollection) -> beam.PCollection:
        return positions | "Commit" >> beam.ParDo(self._fn)


def committed_offsets(
    bootstrap: str, topic: str, group_id: str, *, security: Security | None = None
) -> dict[int, int | None]:
    """The group's committed offset per partition (None where nothing was committed)."""
    consumer = _consumer(bootstrap, group_id, security)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        return {p: consumer.committed(TopicPartition(topic, p)) for p in sorted(partitions)}
    finally:
        consumer.close()


def end_offsets(bootstrap: str, topic: str, *, security: Security | None = None) -> dict[int, int]:
    """The next offset to be written, per partition."""
    consumer = _consumer(bootstrap, None, security)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


class KafkaAccessError(RuntimeError):
    """The broker answered but refused us (credentials, TLS); the message says what to fix."""


def check_access(bootstrap: str, security: Security | None, timeout_s: float = 10.0) -> None:
    """Fail fast, with a sentence, when a secured broker refuses the credentials or its
    certificate is not trusted. A broker that does not answer is not an error here (the
    clients wait for it and say so). Never names the password."""
    import socket
    import ssl

    from kafka.conn import BrokerConnection

    options = dict(security or {})
    if not options:
        return
    server = bootstrap.split(",")[0].strip()
    host, _, port = server.rpartition(":")
    host = host.strip("[]")
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    conn_log = logging.getLogger("kafka.conn")
    keeper, propagate = _Keep(logging.ERROR), conn_log.propagate
    conn_log.addHandler(keeper)
    conn_log.propagate = False  # its own lines would repeat what our sentence says
    conn = BrokerConnection(host, int(port), socket.AF_UNSPEC, **options)
    try:
        connected = conn.connect_blocking(timeout_s)
    except ssl.SSLCertVerificationError as exc:
        ca = options.get("ssl_cafile") or "the system CA store (set NEWSBEAM_KAFKA_CA_FILE)"
        raise KafkaAccessError(
            f"Kafka at {server} presented a TLS certificate that {ca} does not verify "
            f"({exc.verify_message}); point NEWSBEAM_KAFKA_CA_FILE at the CA that signed it."
        ) from None
    except ssl.SSLError as exc:
        raise KafkaAccessError(
            f"the TLS handshake with Kafka at {server} failed ({exc.reason}); check "
            "kafka_security_protocol and that this port is the broker's TLS listener."
        ) from None
    except OSError:
        return
    finally:
        conn.close()
        conn_log.removeHandler(keeper)
        conn_log.propagate = propagate
    if connected:
        return
    said = " ".join(record.getMessage() for record in records)
    if "Authentication" in said or "SaslAuthenticat" in said:
        user = options.get("sasl_plain_username")
        raise KafkaAccessError(
            f"Kafka at {server} refused user {user!r} with SASL mechanism "
            f"{options.get('sasl_mechanism')}; check NEWSBEAM_KAFKA_USERNAME, "
            "NEWSBEAM_KAFKA_PASSWORD and NEWSBEAM_KAFKA_SASL_MECHANISM."
        )
    if "SSL" in said or "ssl" in said:
        raise KafkaAccessError(
            f"the TLS handshake with Kafka at {server} failed; check kafka_security_protocol "
            "and that this port is the broker's TLS listener."
        )
