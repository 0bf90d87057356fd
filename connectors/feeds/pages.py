"""Article pages: decoding a fetched page's bytes into text whatever its server claims."""

from __future__ import annotations

import codecs
import contextlib
import re

HTML_TYPES = ("text/html", "application/xhtml+xml")

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_page(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """Text of a page and the charset used: BOM, then HTTP header, then <meta>, then guess.

    Servers lie: non-ASCII bytes that are valid UTF-8 are read as UTF-8 whatever
    is declared (Latin-1 text is practically never valid UTF-8), a declared charset
    that does not decode is ignored, and the last guess is charset_normalizer's.
    """
    for bom, bom_codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16")):
        if body.startswith(bom):
            return body.decode(bom_codec, errors="replace").lstrip("\ufeff"), bom_codec
    if not body.isascii():
        with contextlib.suppress(UnicodeDecodeError):
            return body.decode("utf-8"), "utf-8"
    meta = _META_CHARSET.search(body[:4096])
    declared = [_codec(header_charset), _codec(meta.group(1).decode("ascii")) if meta else None]
    for name in [*declared, "utf-8"]:
        if name:
            with contextlib.suppress(UnicodeDecodeError, LookupError):
                return body.decode(name), name
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    name = (best.encoding if best is not None else None) or "cp1252"
    return body.decode(name, errors="replace"), name
