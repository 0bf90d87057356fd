"""Article pages: decoding a fetched page's bytes into text whatever its server claims."""

from __future__ import annotations

import codecs
import re

HTML_TYPES = ("text/html", "application/xhtml+xml")

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# The byte order marks a browser honours (WHATWG Encoding, "BOM sniff"); UTF-32 is not
# a web encoding, and its little-endian BOM is UTF-16's followed by a NUL character.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Codecs Python knows that are no charset of a web page: ``undefined`` raises on any
# input, ``punycode``/``idna`` are for host names, the escapes and UTF-7 are not text
# encodings servers mean (UTF-7 is an XSS trick). A declaration naming one is ignored.
_NOT_PAGE_CHARSETS = frozenset(
    {"undefined", "punycode", "idna", "unicode-escape", "raw-unicode-escape", "utf-7", "mbcs"}
)


def text_codec(name: str | None) -> str | None:
    """Python's name for a declared charset, or None when it is unknown or no text charset."""
    if not name or len(name) > 40:
        return None
    try:
        info = codecs.lookup(name.strip())
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_PAGE_CHARSETS:
        return None
    return info.name


def _try(body: bytes, name: str) -> str | None:
    try:
        return body.decode(name)
    except (UnicodeError, LookupError, ValueError):
        return None


def decode_page(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """Text of a page and the charset used: BOM, then HTTP header, then <meta>, then guess.

    Servers lie: non-ASCII bytes that are valid UTF-8 are read as UTF-8 whatever
    is declared (Latin-1 text is practically never valid UTF-8), a declared charset
    that is unknown (``undefined``, ``punycode``) or does not decode is ignored, and
    the last guess is charset_normalizer's. Never raises.
    """
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body.decode(bom_codec, errors="replace").lstrip("\ufeff"), bom_codec
    if not body.isascii():
        text = _try(body, "utf-8")
        if text is not None:
            return text, "utf-8"
    meta = _META_CHARSET.search(body[:4096])
    declared = [
        text_codec(header_charset),
        text_codec(meta.group(1).decode("ascii")) if meta else None,
    ]
    for name in [*declared, "utf-8"]:
        if name:
            text = _try(body, name)
            if text is not None:
                return text, name
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    name = text_codec(best.encoding if best is not None else None) or "cp1252"
    return body.decode(name, errors="replace"), name
