"""WARC archives (a crawl, a Common Crawl News file) into raw HTML documents.

Every ``response`` record whose HTTP payload is HTML (Content-Type ``text/html`` or
``application/xhtml+xml``, or, without a usable type, a body that starts like HTML)
and whose status is 2xx becomes a raw HTML document: its URL is the page's canonical
URL when it declares one, else ``WARC-Target-URI``; its ``received_at`` is the capture
time (``WARC-Date``); its id comes from that URL, as for every page. Everything else
is counted by reason in a ``ReadTally`` and skipped: non-HTML responses, other statuses,
and ``request``/``revisit``/``metadata``/``warcinfo`` records.

A truncated or corrupt archive keeps every record read before the damage; the rest
of the file becomes one dead letter saying where reading stopped and why. warcio
reads a cut-off archive silently (a short last body, or no last record), so the
reader checks each body against its declared length and the end of the last record
against the file size.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from connectors.decoding import decode
from connectors.pages import canonical_url
from transforms.document import CONTENT_HTML, DeadLetter, Document, document_id

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Types that say nothing about the body: sniff it instead.
_VAGUE_TYPES = ("", "application/octet-stream", "binary/octet-stream", "unk", "text/plain")
_LOOKS_LIKE_HTML = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
SNIFF_BYTES = 1024


@dataclass
class ReadTally:
    """What the readers saw besides documents and dead letters: records read, and skips."""

    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def is_html(content_type: str | None, head: bytes) -> bool:
    """HTML by its declared type, or by its first bytes when the type says nothing."""
    media = _media_type(content_type)
    if media in HTML_TYPES:
        return True
    return media in _VAGUE_TYPES and bool(_LOOKS_LIKE_HTML.match(head[:SNIFF_BYTES]))


def capture_time(value: str | None) -> str | None:
    """``WARC-Date`` (``2024-03-12T09:30:00Z``, maybe with fractions) as newsbeam's format."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _document(record: Any, body: bytes, origin: str, max_bytes: int) -> Document | DeadLetter:
    target = record.rec_headers.get_header("WARC-Target-URI") or origin
    where = f"{target} ({origin})"
    if len(body) > max_bytes:
        return DeadLetter(
            stage="read",
            reason="too_large",
            message=f"the response body has {len(body)} bytes, over the limit of {max_bytes} "
            "(max_document_bytes)",
            origin=where,
        )
    charset = _CHARSET.search(record.http_headers.get_header("Content-Type") or "")
    text, reason, message = decode(body, charset[1] if charset else None)
    if text is None:
        return DeadLetter(stage="decode", reason=reason, message=message, origin=where)
    url = canonical_url(text, base=target) or target
    captured = capture_time(record.rec_headers.get_header("WARC-Date"))
    doc = Document(
        id=document_id(url=url),
        origin=target,
        content=text,
        content_type=CONTENT_HTML,
        url=url,
        hints={"warc_record": origin},
    )
    if captured:
        doc.received_at = captured
    return doc


def _unread_tail(path: Path, offset: int) -> int:
    """Bytes after ``offset`` that are not just padding; 0 when the archive ended cleanly."""
    size = path.stat().st_size
    if offset >= size:
        return 0
    with path.open("rb") as handle:
        handle.seek(offset)
        rest = handle.read(4096)
    return size - offset if rest.strip(b"\r\n\x00 ") else 0


def read_warc(
    path: Path, max_bytes: int, tally: ReadTally | None = None
) -> Iterator[Document | DeadLetter]:
    """Every HTML response of the archive as a raw document; see the module docstring."""
    tally = tally if tally is not None else ReadTally()
    offset = 0
    good = 0
    try:
        with path.open("rb") as handle:
            records = ArchiveIterator(handle)
            for record in records:
                offset = records.offset  # where this record starts (get_record_offset reads it)
                origin = f"{path}@{offset}"
                tally.records += 1
                kind = record.rec_type
                if kind != "response":
                    tally.skip(kind or "unknown_record")
                    continue
                if record.http_headers is None:  # a response that is not HTTP (dns:, ftp:)
                    tally.skip("non_http")
                    continue
                body = record.content_stream().read(max_bytes + 1)
                if record.raw_stream.limit > 0 and len(body) <= max_bytes:
                    # The declared length was not there: the file ends inside this record.
                    raise _TruncatedError(offset, good)
                status = record.http_headers.get_statuscode() or ""
                if not status.startswith("2"):
                    tally.skip(f"http_{status or 'status'}")
                    continue
                if not is_html(record.http_headers.get_header("Content-Type"), body):
                    tally.skip("non_html")
                    continue
                good += 1
                yield _document(record, body, origin, max_bytes)
            end = records.offset
        if _unread_tail(path, end):
            raise _TruncatedError(end, good)
    except _TruncatedError as cut:
        yield DeadLetter(
            stage="read",
            reason="truncated_archive",
            message=f"the archive is truncated at byte {cut.offset}: the record there is "
            f"incomplete; the {cut.good} HTML pages before it were read, the rest is lost",
            origin=f"{path}@{cut.offset}",
        )
    except OSError as exc:
        yield DeadLetter(
            stage="read",
            reason="unreadable",
            message=f"cannot read: {exc.strerror}",
            origin=str(path),
        )
    except Exception as exc:  # noqa: BLE001 - warcio and zlib raise many kinds on bad bytes
        yield DeadLetter(
            stage="read",
            reason="corrupt_archive",
            message=f"the archive is corrupt after byte {offset} ({exc.__class__.__name__}: "
            f"{str(exc)[:200]}); the {good} HTML pages before it were read, the rest is lost",
            origin=f"{path}@{offset}",
        )


class _TruncatedError(Exception):
    def __init__(self, offset: int, good: int) -> None:
        super().__init__(offset)
        self.offset = offset
        self.good = good
