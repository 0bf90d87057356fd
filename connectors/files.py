"""The file connector: article files, saved HTML pages and WARC archives into raw documents.

Plain-text files (``.txt``, ``.md``, no suffix) become text documents with an id from
their content. Saved pages (``.html``, ``.htm``, and the same gzipped) become HTML
documents whose URL, and so id, comes from the page's canonical link or ``og:url``
when it declares one (``connectors/pages.py``), else from their content. WARC files
(``.warc``, ``.warc.gz``) yield one HTML document per HTML response
(``connectors/warc.py``). Bytes are decoded by ``connectors/decoding.py``. Empty,
binary, oversized or undecodable inputs become dead letters with a reason; the rest go on.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from connectors.decoding import decode
from connectors.pages import canonical_url
from connectors.warc import ReadTally, read_warc
from transforms.document import CONTENT_HTML, CONTENT_TEXT, DeadLetter, Document, document_id

__all__ = ["ReadTally", "decode", "iter_files", "read_article", "read_articles"]

TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz")
WARC_SUFFIXES = (".warc", ".warc.gz")


def kind_of(path: Path) -> str:
    """ "warc", "html" or "text", by the file's name."""
    name = path.name.lower()
    if name.endswith(WARC_SUFFIXES):
        return "warc"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    return "text"


def _readable(path: Path) -> bool:
    if path.name.startswith(".") or not path.is_file():
        return False
    return path.suffix.lower() in TEXT_SUFFIXES or kind_of(path) != "text"


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every file named, and every readable file below every folder named, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if _readable(p))
        else:
            yield path


def _too_large(origin: str, size: int, max_bytes: int) -> DeadLetter:
    return DeadLetter(
        stage="read",
        reason="too_large",
        message=f"the file has {size} bytes, over the limit of {max_bytes} (max_document_bytes)",
        origin=origin,
    )


def _read_bytes(path: Path, max_bytes: int) -> bytes | DeadLetter:
    """The file's bytes (gunzipped for ``.gz``), or why they cannot be had."""
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return _too_large(origin, size, max_bytes)
        data = path.read_bytes()
    except OSError as exc:
        return DeadLetter(
            stage="read", reason="unreadable", message=f"cannot read: {exc.strerror}", origin=origin
        )
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            return DeadLetter(
                stage="decode",
                reason="bad_gzip",
                message=f"the file is not valid gzip ({exc}); save the page again or unzip it",
                origin=origin,
            )
        if len(data) > max_bytes:
            return _too_large(origin, len(data), max_bytes)
    return data


def read_article(path: Path, max_bytes: int) -> Document | DeadLetter:
    """One text or HTML file as a raw document, or a dead letter saying why it cannot be one."""
    origin = str(path)
    data = _read_bytes(path, max_bytes)
    if isinstance(data, DeadLetter):
        return data
    text, reason, message = decode(data)
    if text is None:
        return DeadLetter(stage="decode", reason=reason, message=message, origin=origin)
    if not text.strip():
        return DeadLetter(stage="decode", reason="empty", message="no text", origin=origin)
    if kind_of(path) == "html":
        url = canonical_url(text)
        return Document(
            id=document_id(url=url) if url else document_id(content=text),
            origin=origin,
            content=text,
            content_type=CONTENT_HTML,
            url=url,
        )
    return Document(
        id=document_id(content=text),
        origin=origin,
        content=text,
        content_type=CONTENT_TEXT,
    )


def read_articles(
    paths: Iterable[str | Path], max_bytes: int, tally: ReadTally | None = None
) -> Iterator[Document | DeadLetter]:
    """Every article below ``paths``: documents, and dead letters for the bad inputs.

    ``tally`` counts WARC records read and what was skipped (non-HTML, revisits, ...)."""
    tally = tally if tally is not None else ReadTally()
    for path in iter_files(paths):
        if not path.exists():
            yield DeadLetter(
                stage="read", reason="missing", message="no such file", origin=str(path)
            )
            continue
        if kind_of(path) == "warc":
            yield from read_warc(path, max_bytes, tally)
            continue
        tally.records += 1
        yield read_article(path, max_bytes)
