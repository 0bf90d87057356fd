"""The one document model every stage passes on and adds to.

A ``Document`` starts life in a connector as raw content (plain text or HTML)
with where it came from; each transform fills in more fields. It travels
through Kafka and Beam as JSON (``to_json`` / ``from_json``), so every field is
a plain, JSON-friendly type.

A ``DeadLetter`` is what a stage emits instead of a document when it rejects
one: failures are data, never only a log line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CONTENT_TEXT = "text/plain"
CONTENT_HTML = "text/html"


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def document_id(*, url: str | None = None, content: str | None = None) -> str:
    """A stable id: from the canonical URL when there is one, else from the content.

    Re-ingesting the same article therefore overwrites instead of doubling.
    """
    if url:
        key = "url:" + url
    elif content is not None:
        key = "content:" + " ".join(content.split())
    else:
        raise ValueError("a document id needs a url or content")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


@dataclass
class Segment:
    """A piece of the raw text that was removed from the body, kept with its kind."""

    kind: str
    text: str


@dataclass
class Mention:
    """An entity mention: ``text[start:end]`` of the clean text, linked when known."""

    text: str
    label: str  # PER, ORG, LOC, MISC
    start: int
    end: int
    canonical: str | None = None
    entity_id: str | None = None


@dataclass
class Fingerprint:
    """Exact and near-duplicate fingerprints of the clean text."""

    content_hash: str
    simhash: str  # 64-bit SimHash as 16 hex digits


@dataclass
class Document:
    id: str
    origin: str  # the input path or URL it was read from
    content: str  # raw content as received
    content_type: str = CONTENT_TEXT
    url: str | None = None
    received_at: str = field(default_factory=utc_now)
    hints: dict[str, str] = field(default_factory=dict)  # source, language, country
    notes: list[str] = field(default_factory=list)  # e.g. "text from feed summary"

    # Filled in by the transforms.
    source: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    text: str = ""
    # Which extractor setting produced ``text`` from HTML: precision, recall, baseline or
    # pruned (docs/transforms.md, "Collapsed extractions"); None for plain text.
    extraction_method: str | None = None
    boilerplate: list[Segment] = field(default_factory=list)
    language: str = "und"
    language_score: float = 0.0
    entities: list[Mention] = field(default_factory=list)
    fingerprint: Fingerprint | None = None
    story_id: str | None = None

    def as_raw(self) -> Document:
        """The document as a connector published it, without what the transforms added."""
        return Document(
            id=self.id,
            origin=self.origin,
            content=self.content,
            content_type=self.content_type,
            url=self.url,
            received_at=self.received_at,
            hints=dict(self.hints),
            notes=list(self.notes),
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["boilerplate"] = [Segment(**s) for s in values.get("boilerplate") or []]
        values["entities"] = [Mention(**m) for m in values.get("entities") or []]
        if values.get("fingerprint"):
            values["fingerprint"] = Fingerprint(**values["fingerprint"])
        return cls(**values)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Document:
        return cls.from_dict(json.loads(raw))


@dataclass
class DeadLetter:
    """A rejected input or a failed stage, with enough to inspect and replay it."""

    stage: str  # read, decode, metadata, boilerplate, language, entities, index, ...
    reason: str  # a short machine-readable code: empty, binary, too_large, ...
    message: str  # a sentence for the operator
    origin: str
    document_id: str | None = None
    at: str = field(default_factory=utc_now)
    document: dict[str, Any] | None = None  # the document as it was, for replay

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> DeadLetter:
        return cls(**json.loads(raw))


class ReasonedError(Exception):
    """An error that carries what its dead letter records: a short machine ``reason``
    (``bad_url``, ``not_a_feed``…) and a one-sentence ``message`` for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class PoisonInputError(ReasonedError):
    """Raised by a pure transform for input it can never process; becomes a ``DeadLetter``."""
