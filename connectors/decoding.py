"""Bytes of an article, a page or a crawled response into text, or a reason why not.

UTF-8 when the bytes are UTF-8, otherwise the encoding charset-normalizer finds
(latin-1 Danish, cp1252, ...). Shared by the file and WARC readers.
"""

from __future__ import annotations

from charset_normalizer import from_bytes

# Control characters other than tab, newline, carriage return and form feed.
_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13})


def decode(data: bytes, declared: str | None = None) -> tuple[str | None, str, str]:
    """Decode article bytes; return (text or None, reason code, message).

    ``declared`` is a charset the container named (an HTTP Content-Type header); it is
    tried after UTF-8 and before guessing.
    """
    if not data.strip():
        return None, "empty", "the file is empty or holds only whitespace"
    if b"\x00" in data[:8192] or sum(data[:8192].count(c) for c in _CONTROL) > 8:
        return None, "binary", "the file holds binary data (NUL or control bytes), not text"
    try:
        return data.decode("utf-8-sig"), "", ""
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared), "", ""
        except (UnicodeDecodeError, LookupError):
            pass
    best = from_bytes(data).best()
    if best is None:
        return None, "undecodable", "the bytes are not UTF-8 and no other text encoding fits"
    return str(best), "", ""
