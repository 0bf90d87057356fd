"""A safe, polite HTTP fetcher for feeds and article pages (standard library only).

Safe: every hop of a redirect chain is resolved and checked, private, loopback and
link-local addresses are refused unless allowed, and the connection goes to the
address that was checked (no DNS rebinding between check and connect). Bodies and
decompressed bodies are capped, redirects are capped, every socket has a timeout.

Polite: one request at a time per host, a delay between requests to one host,
conditional GET (ETag / Last-Modified), a User-Agent naming the project, and
``Retry-After`` reported back to the caller so it can back off.

Failures are data: a ``FetchError`` carries a short reason code, a sentence, whether
it is worth retrying, and the server's ``Retry-After`` if any.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

DEFAULT_TIMEOUT_S = 15.0
DEFAULT_MAX_BYTES = 2_000_000
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_HOST_DELAY_S = 1.0
_CHUNK = 64 * 1024


class FetchError(Exception):
    """A fetch that did not yield a usable response.

    ``reason`` is a machine-readable code (timeout, dns, connection, private_address,
    too_large, too_many_redirects, bad_url, rate_limited, unavailable, http_404, ...);
    ``transient`` says whether trying again later may help.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        transient: bool = False,
        retry_after_s: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.transient = transient
        self.retry_after_s = retry_after_s
        self.status = status


@dataclass(frozen=True)
class FetchResult:
    """A response: ``url`` is the final URL after redirects; headers are lower-cased."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    redirects: tuple[str, ...] = field(default=())

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'").lower()
        return None

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def is_public_address(address: str) -> bool:
    """False for private, loopback, link-local, multicast, reserved and unspecified addresses."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """All addresses a host name resolves to (the standard resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, whatever DNS says now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


class HostPoliteness:
    """One request at a time per host, and at least ``delay_s`` between two to one host.

    Shared by every thread of one process; hosts are independent of each other.
    """

    def __init__(self, delay_s: float = DEFAULT_HOST_DELAY_S) -> None:
        self.delay_s = delay_s
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    def _lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def acquire(self, host: str) -> None:
        self._lock(host).acquire()
        wait = self._last.get(host, -1e18) + self.delay_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def release(self, host: str) -> None:
        self._last[host] = time.monotonic()
        self._lock(host).release()


class HttpFetcher:
    """GETs URLs safely and politely; thread-safe, one instance per process."""

    def __init__(
        self,
        user_agent: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        allow_private_addresses: bool = False,
        host_delay_s: float = DEFAULT_HOST_DELAY_S,
        resolver: Resolver = resolve_host,
    ) -> None:
        self.user_agent = user_agent
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow_private_addresses = allow_private_addresses
        self.politeness = HostPoliteness(host_delay_s)
        self._resolve = resolver

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
    ) -> FetchResult:
        """Fetch ``url`` following redirects; 304 is a result, other non-2xx raise."""
        redirects: list[str] = []
        current = url
        while True:
            result = self._one(current, etag=etag, last_modified=last_modified, accept=accept)
            if result.status in (301, 302, 303, 307, 308):
                location = result.headers.get("location")
                if not location:
                    raise FetchError(
                        "bad_redirect", f"{current} answered {result.status} with no Location."
                    )
                if len(redirects) >= self.max_redirects:
                    raise FetchError(
                        "too_many_redirects",
                        f"{url} redirected more than {self.max_redirects} times.",
                    )
                redirects.append(current)
                current = urljoin(current, location)
                # Validators belong to the first URL; do not send them elsewhere.
                etag = last_modified = None
                continue
            return FetchResult(
                url=current,
                status=result.status,
                headers=result.headers,
                body=result.body,
                redirects=tuple(redirects),
            )

    def _check_url(self, url: str) -> tuple[str, str, int, str]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("bad_url", f"{url!r} is not an http(s) URL.")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchError("bad_url", f"{url!r} has an invalid port.") from None
        host = parts.hostname
        try:
            addresses = self._resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError("dns", f"cannot resolve {host}: {exc}.", transient=True) from None
        if not addresses:
            raise FetchError("dns", f"{host} resolves to no address.", transient=True)
        if not self.allow_private_addresses:
            for address in addresses:
                if not is_public_address(address):
                    raise FetchError(
                        "private_address",
                        f"{host} resolves to {address}, a private, loopback or link-local "
                        "address; refused (set allow_private_addresses to permit it).",
                    )
        return parts.scheme, host, port, addresses[0]

    def _one(
        self, url: str, *, etag: str | None, last_modified: str | None, accept: str
    ) -> FetchResult:
        scheme, host, port, address = self._check_url(url)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        headers = {
            "User-Agent": self.user_agent,
            "Accept": accept,
            "Accept-Encoding": "gzip, deflate",
            "Connection": "close",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        politeness_key = f"{host}:{port}"
        self.politeness.acquire(politeness_key)
        connection = connection_class(host, port, address, self.timeout_s)
        try:
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            status = response.status
            got = {k.lower(): v for k, v in response.getheaders()}
            if status in (429, 503):
                raise FetchError(
                    "rate_limited" if status == 429 else "unavailable",
                    f"{url} answered {status}; backing off.",
                    transient=True,
                    retry_after_s=parse_retry_after(got.get("retry-after")),
                    status=status,
                )
            if status >= 400:
                raise FetchError(
                    f"http_{status}",
                    f"{url} answered HTTP {status}.",
                    transient=status >= 500 or status == 408,
                    status=status,
                )
            body = b""
            if status == 200:
                body = self._read(response, url, got.get("content-encoding", ""))
            return FetchResult(url=url, status=status, headers=got, body=body)
        except TimeoutError:
            raise FetchError(
                "timeout", f"{url} did not answer within {self.timeout_s:g} s.", transient=True
            ) from None
        except ssl.SSLError as exc:
            raise FetchError("tls", f"TLS with {host} failed: {exc}.") from None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            raise FetchError(
                "connection",
                f"connection to {host} failed ({exc.__class__.__name__}: {exc}).",
                transient=True,
            ) from None
        finally:
            connection.close()
            self.politeness.release(politeness_key)

    def _read(self, response: http.client.HTTPResponse, url: str, encoding: str) -> bytes:
        declared = response.getheader("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(
                "too_large", f"{url} is {declared} bytes, over the cap of {self.max_bytes}."
            )
        deadline = time.monotonic() + self.timeout_s * 4
        encoding = encoding.strip().lower()
        inflater = None
        if encoding in ("gzip", "x-gzip"):
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            inflater = zlib.decompressobj()
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            raw = response.read(_CHUNK)
            if not raw:
                break
            if inflater is not None:
                # Bounded inflation: a small gzip bomb cannot expand past the cap.
                raw = inflater.decompress(raw, self.max_bytes + 1 - size)
            size += len(raw)
            if size > self.max_bytes:
                raise FetchError("too_large", f"{url} is over the cap of {self.max_bytes} bytes.")
            chunks.append(raw)
        return b"".join(chunks)
