"""Reading the dead-letter topic back: list, show and replay what was rejected.

The dead-letter topic is the full record (the dead-letter index only holds what
the pipeline rejected; connectors publish theirs straight to the topic), so the
reader scans the topic from its beginning to its current end, without a consumer
group: looking never moves anything.

Replay republishes a letter's raw ``document`` to the raw topic under its own id,
so it takes the same path as any document: upsert by id, offsets committed after
the sinks. A letter without a ``document`` (the index sink only knows the indexed
form) is replayed from the raw topic's latest record with the letter's
``document_id`` as key, when the topic still holds it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from connectors.kafka import DocumentProducer, KafkaUnavailableError, _unavailable
from pipelines.settings import Settings
from transforms.document import DeadLetter, Document

POLL_MS = 1000


@dataclass(frozen=True)
class StoredLetter:
    """A dead letter as found in the topic, with where it is."""

    partition: int
    offset: int
    letter: DeadLetter
    copies: int = 1  # how many times the same (stage, reason, origin, document) was rejected

    @property
    def ref(self) -> str:
        """What ``show``/``replay --ref`` accept: partition:offset."""
        return f"{self.partition}:{self.offset}"

    @property
    def letter_id(self) -> str:
        """The id the pipeline indexes the letter under (same key as ``ingest.dead_letter_id``)."""
        letter = self.letter
        key = "\x1f".join((letter.stage, letter.reason, letter.origin, letter.document_id or ""))
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


class DeadLetterError(RuntimeError):
    """A dead letter that cannot be found or replayed; the message says why and what to do."""


def _open(bootstrap: str, security: Mapping[str, Any] | None = None) -> KafkaConsumer:
    from kafka.errors import NoBrokersAvailable

    try:
        return KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            client_id="newsbeam-dlq",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 * 1024 * 1024,
            **(security or {}),
        )
    except NoBrokersAvailable as exc:
        raise _unavailable(bootstrap, exc) from exc


def scan_topic(
    bootstrap: str, topic: str, security: Mapping[str, Any] | None = None
) -> Iterator[tuple[int, int, bytes | None, bytes]]:
    """Every record of ``topic`` up to its end at call time: (partition, offset, key, value)."""
    consumer = _open(bootstrap, security)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        todo = {tp for tp in tps if ends[tp] > consumer.position(tp)}
        while todo:
            batches = consumer.poll(timeout_ms=POLL_MS, max_records=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield tp.partition, record.offset, record.key, record.value
                if consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
            for tp in list(todo):
                if consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
    finally:
        consumer.close()


def _parse(value: bytes) -> DeadLetter | None:
    try:
        data = json.loads(value)
        known = set(DeadLetter.__dataclass_fields__)
        return DeadLetter(**{k: v for k, v in data.items() if k in known})
    except (ValueError, TypeError):
        return None


def read_letters(
    settings: Settings,
    stage: str | None = None,
    reason: str | None = None,
    latest_only: bool = True,
) -> list[StoredLetter]:
    """The dead letters in the topic, oldest first, filtered by stage and reason.

    With ``latest_only`` a letter rejected several times for the same thing (e.g. a
    replay that failed again) is listed once, at its latest position, with ``copies``.
    """
    found: list[StoredLetter] = []
    for partition, offset, _key, value in scan_topic(
        settings.kafka_bootstrap, settings.dlq_topic, settings.kafka_options
    ):
        letter = _parse(value)
        if letter is None:
            letter = DeadLetter(
                stage="dlq",
                reason="unreadable_letter",
                message="this record of the dead-letter topic is not a dead letter",
                origin=f"kafka:{settings.dlq_topic}/{partition}/{offset}",
            )
        if stage and letter.stage != stage:
            continue
        if reason and letter.reason != reason:
            continue
        found.append(StoredLetter(partition, offset, letter))
    if not latest_only:
        return found
    latest: dict[str, StoredLetter] = {}
    counts: dict[str, int] = {}
    for stored in found:
        counts[stored.letter_id] = counts.get(stored.letter_id, 0) + 1
        latest[stored.letter_id] = stored
    ordered = sorted(latest.values(), key=lambda s: (s.letter.at, s.partition, s.offset))
    return [StoredLetter(s.partition, s.offset, s.letter, counts[s.letter_id]) for s in ordered]


def find_letter(settings: Settings, ref: str) -> StoredLetter:
    """One letter by ``partition:offset``, letter id, or document id (its latest letter)."""
    matches = [
        stored
        for stored in read_letters(settings, latest_only=False)
        if ref in (stored.ref, stored.letter_id, stored.letter.document_id)
    ]
    if not matches:
        raise DeadLetterError(
            f"no dead letter {ref!r} in {settings.dlq_topic}; `newsbeam dlq list` shows the "
            "refs (partition:offset), letter ids and document ids."
        )
    return matches[-1]


def indexed_ids(settings: Settings, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are in the articles index now (e.g. after a successful replay)."""
    from connectors.elasticsearch import client

    wanted = sorted({i for i in ids if i})
    if not wanted:
        return set()
    es = client(settings)
    try:
        if not es.indices.exists_alias(name=settings.articles_alias):
            return set()
        found: set[str] = set()
        for start in range(0, len(wanted), 1000):
            response = es.mget(
                index=settings.articles_alias, ids=wanted[start : start + 1000], source=False
            )
            found |= {doc["_id"] for doc in response["docs"] if doc.get("found")}
        return found
    finally:
        es.close()


def raw_document(settings: Settings, letter: DeadLetter) -> Document:
    """The raw document to replay: the letter's own copy, else the raw topic's latest one."""
    if letter.document and "alert" in letter.document:
        raise DeadLetterError(
            f"letter for document {letter.document_id} holds an alert, not a document; "
            "alerts are raised again with `newsbeam alerts backfill`."
        )
    if letter.document:
        try:
            return Document.from_dict(letter.document)
        except (TypeError, ValueError, KeyError) as exc:
            raise DeadLetterError(
                f"the document in the letter for {letter.origin} is not a newsbeam document "
                f"({exc}); publish it again from its origin with `newsbeam publish`."
            ) from None
    if letter.document_id:
        latest: bytes | None = None
        key = letter.document_id.encode()
        for _p, _o, record_key, value in scan_topic(
            settings.kafka_bootstrap, settings.raw_topic, settings.kafka_options
        ):
            if record_key == key:
                latest = value
        if latest is not None:
            try:
                return Document.from_json(latest)
            except (ValueError, TypeError, KeyError):
                pass
    what = f"document {letter.document_id}" if letter.document_id else f"input {letter.origin}"
    raise DeadLetterError(
        f"{what} cannot be replayed: the letter carries no document and the raw topic "
        f"{settings.raw_topic} no longer holds it; publish it again from its origin "
        f"({letter.origin}) with `newsbeam publish`."
    )


@dataclass
class ReplayResult:
    replayed: list[StoredLetter]
    skipped: list[tuple[StoredLetter, str]]  # with the reason


def replay(settings: Settings, letters: Iterable[StoredLetter]) -> ReplayResult:
    """Republish each letter's raw document to the raw topic (same id: upsert, not a copy)."""
    from connectors.kafka import ensure_topics

    ensure_topics(
        settings.kafka_bootstrap,
        [settings.raw_topic, settings.dlq_topic],
        security=settings.kafka_options,
    )
    result = ReplayResult([], [])
    documents: list[tuple[StoredLetter, Document]] = []
    for stored in letters:
        try:
            documents.append((stored, raw_document(settings, stored.letter)))
        except DeadLetterError as exc:
            result.skipped.append((stored, str(exc)))
    if not documents:
        return result
    try:
        with DocumentProducer(
            settings.kafka_bootstrap,
            settings.raw_topic,
            settings.dlq_topic,
            **settings.kafka_options,
        ) as producer:
            for stored, doc in documents:
                doc.notes = [*doc.notes, f"replayed from dead letter {stored.ref}"]
                producer.publish(doc)
                result.replayed.append(stored)
    except KafkaUnavailableError:
        raise
    return result


def letter_summary(stored: StoredLetter) -> dict[str, Any]:
    letter = stored.letter
    return {
        "ref": stored.ref,
        "letter_id": stored.letter_id,
        "at": letter.at,
        "stage": letter.stage,
        "reason": letter.reason,
        "document_id": letter.document_id,
        "origin": letter.origin,
        "message": letter.message,
        "copies": stored.copies,
        "replayable": bool(letter.document or letter.document_id),
    }
