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
against the file size. An archive gzipped as one whole file, which warcio refuses, is
read through a gzip stream instead.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

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


def _gzipped(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


class _UntilBroken:
    """A gzip stream that ends where its data breaks off instead of raising: warcio reads
    ahead in blocks and takes an error as the end, which would lose the whole records
    before the break. ``broken`` says it happened."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.broken = False

    def read(self, size: int = -1) -> bytes:
        if self.broken:
            return b""
        try:
            # read1: one decompressed chunk at a time, so a break loses no earlier bytes
            # (read() gathers chunks and drops them all when the next one fails).
            return bytes(self._stream.read1(size if size > 0 else 65536))
        except (EOFError, zlib.error, gzip.BadGzipFile):
            self.broken = True
            return b""


@dataclass
class _Position:
    """How far a read got: for the dead letter of the rest, and to resume after a restart."""

    offset: int = 0  # where the current record starts (in the stream read)
    records: int = 0  # records taken so far, skipped ones included
    pages: int = 0  # HTML pages yielded


def _records(
    records: Any, path: Path, max_bytes: int, tally: ReadTally, at: _Position, skip: int
) -> Iterator[Document | DeadLetter]:
    """The documents of an open archive; the first ``skip`` records were read before."""
    for index, record in enumerate(records):
        at.offset = records.offset  # where this record starts (get_record_offset reads it)
        if index < skip:
            continue
        at.records += 1
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
            raise _TruncatedError(at.offset, at.pages)
        status = record.http_headers.get_statuscode() or ""
        if not status.startswith("2"):
            tally.skip(f"http_{status or 'status'}")
            continue
        if not is_html(record.http_headers.get_header("Content-Type"), body):
            tally.skip("non_html")
            continue
        at.pages += 1
        yield _document(record, body, f"{path}@{at.offset}", max_bytes)
    at.offset = records.offset


def read_warc(
    path: Path, max_bytes: int, tally: ReadTally | None = None
) -> Iterator[Document | DeadLetter]:
    """Every HTML response of the archive as a raw document; see the module docstring.

    A ``.warc.gz`` gzipped as one whole file (``gzip crawl.warc``) instead of record by record
    is read again through a gzip stream from where warcio gave up."""
    tally = tally if tally is not None else ReadTally()
    at = _Position()
    try:
        try:
            with path.open("rb") as handle:
                yield from _records(ArchiveIterator(handle), path, max_bytes, tally, at, 0)
            if _unread_tail(path, at.offset):
                raise _TruncatedError(at.offset, at.pages)
        except ArchiveLoadFailed as exc:
            # warcio reads gzip member by member; a file gzipped whole is one member it
            # rejects ("non-chunked gzip", or an unknown format at the first record).
            if not _gzipped(path):
                raise
            with gzip.open(path, "rb") as whole:
                stream = _UntilBroken(whole)
                yield from _records(ArchiveIterator(stream), path, max_bytes, tally, at, at.records)
                if stream.broken:
                    raise _TruncatedError(at.offset, at.pages) from exc
    except (_TruncatedError, EOFError) as exc:
        offset = exc.offset if isinstance(exc, _TruncatedError) else at.offset
        yield DeadLetter(
            stage="read",
            reason="truncated_archive",
            message=f"the archive is truncated at byte {offset}: the record there is "
            f"incomplete; the {at.pages} HTML pages before it were read, the rest is lost",
            origin=f"{path}@{offset}",
        )
    except OSError as exc:
        if exc.strerror is None:  # gzip.BadGzipFile and kin: the bytes, not the file
            yield _corrupt(path, at, exc)
        else:
            yield DeadLetter(
                stage="read",
                reason="unreadable",
                message=f"cannot read: {exc.strerror}",
                origin=str(path),
            )
    except Exception as exc:  # noqa: BLE001 - warcio and zlib raise many kinds on bad bytes
        yield _corrupt(path, at, exc)


def _corrupt(path: Path, at: _Position, exc: Exception) -> DeadLetter:
    return DeadLetter(
        stage="read",
        reason="corrupt_archive",
        message=f"the archive is corrupt after byte {at.offset} ({exc.__class__.__name__}: "
        f"{' '.join(str(exc).split())[:200]}); the {at.pages} HTML pages before it were "
        "read, the rest is lost",
        origin=f"{path}@{at.offset}",
    )


class _TruncatedError(Exception):
    def __init__(self, offset: int, good: int) -> None:
        super().__init__(offset)
        self.offset = offset
        self.good = good
