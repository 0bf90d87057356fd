"""IRIs into ASCII URIs, with a sentence instead of an exception for a URL that cannot be one.

Feeds carry links as people type them: ``/nyheder/æbler``, Arabic slugs, IDN hosts
(``bücher.example``), spaces, stray ``%``. HTTP needs ASCII, so the path, query
and fragment are percent-encoded as UTF-8 (existing ``%XX`` escapes are kept and
upper-cased), and the host goes through IDNA 2008 with UTS #46 mapping (what
browsers do), falling back to IDNA 2003 for names only it accepts. A link that
cannot be a URL (bad port, unclosed IPv6 bracket, no host, not http(s)) raises
``BadURLError`` with ``reason`` and a one-sentence ``message``; callers turn that
into data.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import idna

from transforms.document import ReasonedError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STRIPPED = str.maketrans("", "", "\t\n\r")  # browsers drop these anywhere in a URL
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE = re.compile(r"%[0-9a-f]{2}|%[0-9A-F][a-f]|%[a-f][0-9A-F]")
_ASCII_HOST = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
# RFC 3986 sub-delims, ':' and '@' are legal in paths; '/' separates segments.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"
MAX_URL_CHARS = 8_192


class BadURLError(ReasonedError, ValueError):
    """A link that cannot be fetched; ``message`` is one sentence naming it."""


@dataclass(frozen=True)
class URIParts:
    """An http(s) URL split and made ASCII: ``host`` is IDNA or a bracketed IPv6 literal."""

    scheme: str
    host: str
    port: int | None
    path: str
    query: str
    fragment: str

    @property
    def default_port(self) -> int:
        return 443 if self.scheme == "https" else 80

    @property
    def netloc(self) -> str:
        if self.port is None or self.port == self.default_port:
            return self.host
        return f"{self.host}:{self.port}"

    def uri(self, *, fragment: bool = True) -> str:
        return urlunsplit(
            (
                self.scheme,
                self.netloc,
                self.path or "/",
                self.query,
                self.fragment if fragment else "",
            )
        )


_USERINFO = re.compile(r"(//)[^/?#@]*@")


def _short(url: str) -> str:
    """``url`` for a message: at most 200 characters, any user:password@ masked."""
    url = _USERINFO.sub(r"\1***@", url[:400])
    return repr(url if len(url) <= 200 else url[:200] + "…")


def _encode(part: str, safe: str) -> str:
    part = _LONE_PERCENT.sub("%25", part)
    encoded = quote(part, safe=safe, encoding="utf-8", errors="surrogatepass")
    return _ESCAPE.sub(lambda m: m.group(0).upper(), encoded)


def ascii_host(host: str, url: str = "") -> str:
    """The host as it goes on the wire: lower-case ASCII (IDNA) or ``[v6]``; raises BadURLError."""
    host = host.rstrip(".").lower()
    if not host:
        raise BadURLError("bad_url", f"{_short(url)} has no host name.")
    if ":" in host:
        try:
            ip6 = ipaddress.IPv6Address(host)
        except ValueError:
            raise BadURLError("bad_url", f"{_short(url)} has an invalid IPv6 address.") from None
        if ip6.scope_id:
            raise BadURLError("bad_url", f"{_short(url)} has an IPv6 zone, which is not fetched.")
        return f"[{ip6.compressed}]"
    if host.isascii():
        encoded = host
    else:
        try:
            encoded = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            try:
                encoded = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise BadURLError(
                    "bad_url", f"{_short(url)} has a host name that is not valid: {host!r}."
                ) from None
        encoded = encoded.lower()
    if (
        len(encoded) > 253
        or not _ASCII_HOST.match(encoded)
        or any(len(label) > 63 for label in encoded.split("."))
    ):
        raise BadURLError("bad_url", f"{_short(url)} has a host name that is not valid: {host!r}.")
    return encoded


def split_uri(url: str) -> URIParts:
    """``url`` split into ASCII parts; raises ``BadURLError`` with a sentence when it cannot be."""
    if not isinstance(url, str):
        raise BadURLError("bad_url", f"{url!r} is not a URL.")
    text = url.strip().translate(_STRIPPED)
    if len(text) > MAX_URL_CHARS:
        raise BadURLError("bad_url", f"a link of {len(text):,} characters is too long to fetch.")
    if _CONTROL.search(text):
        raise BadURLError("bad_url", f"{_short(url)} contains control characters.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise BadURLError("bad_url", f"{_short(url)} is malformed ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadURLError("bad_url", f"{_short(url)} is not an http(s) URL.")
    if port == 0:
        raise BadURLError("bad_url", f"{_short(url)} has port 0, which cannot be fetched.")
    netloc = parts.netloc.rpartition("@")[2]
    if "[" in netloc and not netloc.startswith("["):
        raise BadURLError("bad_url", f"{_short(url)} is malformed (a stray '[' in the host).")
    host = ascii_host(parts.hostname or "", url)
    return URIParts(
        scheme=scheme,
        host=host,
        port=port,
        path=_encode(parts.path, _PATH_SAFE),
        query=_encode(parts.query, _QUERY_SAFE),
        fragment=_encode(parts.fragment, _QUERY_SAFE),
    )


def to_uri(url: str) -> str:
    """An ASCII URI for ``url`` (an IRI or a sloppy URL); raises ``BadURLError``."""
    return split_uri(url).uri()


def header_text(value: str) -> str:
    """A header value as the server meant it: UTF-8 bytes that http.client read as Latin-1."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value
