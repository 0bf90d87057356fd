"""The seed connector: article files and folders into raw documents.

Files are decoded as UTF-8 when they are UTF-8, otherwise with the encoding
charset-normalizer finds (latin-1 Danish, cp1252 ...). Empty, binary, oversized
or undecodable files become dead letters with a reason; the rest go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from charset_normalizer import from_bytes

from transforms.document import CONTENT_TEXT, DeadLetter, Document, document_id

TEXT_SUFFIXES = {".txt", ".text", ".md", ""}

# Control characters other than tab, newline, carriage return and form feed.
_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13})


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every file named, and every text file below every folder named, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES and not p.name.startswith(".")
            )
        else:
            yield path


def decode(data: bytes) -> tuple[str | None, str, str]:
    """Decode article bytes; return (text or None, reason code, message)."""
    if not data.strip():
        return None, "empty", "the file is empty or holds only whitespace"
    if b"\x00" in data[:8192] or sum(data[:8192].count(c) for c in _CONTROL) > 8:
        return None, "binary", "the file holds binary data (NUL or control bytes), not text"
    try:
        return data.decode("utf-8-sig"), "", ""
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        return None, "undecodable", "the bytes are not UTF-8 and no other text encoding fits"
    return str(best), "", ""


def read_article(path: Path, max_bytes: int) -> Document | DeadLetter:
    """One file as a raw document, or a dead letter saying why it cannot be one."""
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return DeadLetter(
                stage="read",
                reason="too_large",
                message=f"the file has {size} bytes, over the limit of {max_bytes} "
                "(max_document_bytes)",
                origin=origin,
            )
        data = path.read_bytes()
    except OSError as exc:
        return DeadLetter(
            stage="read", reason="unreadable", message=f"cannot read: {exc.strerror}", origin=origin
        )
    text, reason, message = decode(data)
    if text is None:
        return DeadLetter(stage="decode", reason=reason, message=message, origin=origin)
    if not text.strip():
        return DeadLetter(stage="decode", reason="empty", message="no text", origin=origin)
    return Document(
        id=document_id(content=text),
        origin=origin,
        content=text,
        content_type=CONTENT_TEXT,
    )


def read_articles(paths: Iterable[str | Path], max_bytes: int) -> Iterator[Document | DeadLetter]:
    """Every article below ``paths``: documents, and dead letters for the bad files."""
    for path in iter_files(paths):
        if not path.exists():
            yield DeadLetter(
                stage="read", reason="missing", message="no such file", origin=str(path)
            )
            continue
        yield read_article(path, max_bytes)
