"""Keeping secrets out of what newsbeam prints, logs and serves.

One place for the rule, so a URL printed by ``stack status``, an error of ``search`` and
a ``/healthz`` answer hide a password the same way: the credentials of a URL become
``***``, known secret values become ``***``, and ``Authorization`` header values lose
their token. Standard library only, so ``connectors/``, ``pipelines/`` and ``infra/``
can all use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# scheme://user:password@ or scheme://token@ (anything before an @ in the authority).
# A scheme starts where a run of scheme characters starts: from inside a long run of letters
# the search would restart at every letter (quadratic).
_URL_CREDENTIALS = re.compile(
    r"(?<![a-zA-Z0-9+.-])(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*+://)[^/\s@]+@"
)
_AUTH_HEADER = re.compile(
    r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|apikey|bearer|digest)\s+[^\s'\",}]+"
)
_SHORTEST_SECRET = 3  # shorter "secrets" would blank out ordinary words


def redact_url(url: str) -> str:
    """``url`` with any user name and password replaced by ``***`` (host and path kept)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_CREDENTIALS.sub(rf"\g<scheme>{MASK}@", url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{MASK}@{host}"))


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without the given secrets, URL credentials or Authorization header values."""
    for secret in sorted({s for s in secrets if s and len(s) >= _SHORTEST_SECRET}, key=len)[::-1]:
        text = text.replace(secret, MASK)
    text = _URL_CREDENTIALS.sub(rf"\g<scheme>{MASK}@", text)
    return _AUTH_HEADER.sub(rf"\1\2 {MASK}", text)


def server_answer(body: bytes | str, secrets: Iterable[str | None] = (), limit: int = 300) -> str:
    """A server's error body made fit to show: one line, redacted, cut to ``limit`` characters.

    A server may echo our request (headers included) in its error page; this is the only
    way such a body reaches a user.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    text = redact(text, secrets)
    return text if len(text) <= limit else text[: limit - 1] + "…"
