"""A safe, polite HTTP fetcher for feeds and article pages, on urllib3.

Safe: the connection class resolves the host itself and checks every address
against an ``AddressPolicy`` at connect time, then connects to the address it
checked (no DNS rebinding between check and connect); every redirect hop is a new
connection and so is checked again. Each ``get`` has one deadline that covers
connecting, the response headers and the body, across redirects: a watchdog
shuts the socket down when it passes, so a server dripping one byte a second is
cut off on time. Bodies and inflated bodies are capped; links are IRIs made ASCII
(``connectors.iri``); ``Content-Encoding`` gzip, deflate (zlib or raw) are decoded
here, bounded, and a body that lies about its encoding is a ``FetchError``.

Polite: one request at a time per host, a delay between requests to one host,
conditional GET (ETag / Last-Modified), a User-Agent naming the project, and
``Retry-After`` reported back to the caller so it can back off.

Failures are data: a ``FetchError`` carries a short reason code, a sentence, whether
it is worth retrying, and the server's ``Retry-After`` if any.
"""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import http.client
import ipaddress
import itertools
import logging
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import urllib3
import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection

from connectors.address_policy import AddressPolicy, is_public_address
from connectors.iri import BadURLError, URIParts, header_text, split_uri
from transforms.document import ReasonedError

__all__ = [
    "AddressPolicy",
    "FetchError",
    "FetchResult",
    "HttpFetcher",
    "is_public_address",
    "parse_retry_after",
    "resolve_host",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 15.0
DEFAULT_MAX_BYTES = 2_000_000
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_HOST_DELAY_S = 1.0
_CHUNK = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(ReasonedError):
    """A fetch that did not yield a usable response.

    ``reason`` is a machine-readable code (timeout, dns, connection, private_address,
    too_large, too_many_redirects, redirect_loop, bad_url, bad_redirect,
    bad_content_encoding, unsupported_encoding, truncated, bad_response, tls,
    rate_limited, unavailable, http_404, ...); ``transient`` says whether trying
    again later may help.
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
        super().__init__(reason, message)
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
    elapsed_s: float = 0.0

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
        return float(value[:12])
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    try:
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    except (OverflowError, ValueError, OSError):
        return None


Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """All addresses a host name resolves to (the standard resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# ---------------------------------------------------------------- deadlines


class _Watchdog:
    """One daemon thread firing callbacks at deadlines (cheaper than a Timer per fetch)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, at: float, fire: Callable[[], None]) -> int:
        with self._cond:
            token = next(self._tokens)
            heapq.heappush(self._heap, (at, token, fire))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines")
                self._thread.daemon = True
                self._thread.start()
            self._cond.notify()
            return token

    def cancel(self, token: int) -> None:
        with self._cond:
            if any(t == token for _, t, _ in self._heap):
                self._cancelled.add(token)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                at, token, fire = self._heap[0]
                if token in self._cancelled:
                    heapq.heappop(self._heap)
                    self._cancelled.discard(token)
                    continue
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            try:
                fire()
            except Exception as exc:  # noqa: BLE001 - the watchdog must outlive any one fetch
                log.error("fetch deadline callback failed: %r", exc)


_WATCHDOG = _Watchdog()


def _resolve_within(resolver: Resolver, host: str, port: int, timeout_s: float) -> list[str]:
    """``resolver(host, port)`` or TimeoutError after ``timeout_s``.

    getaddrinfo cannot be interrupted, so it runs in a daemon thread (which neither
    holds the fetch past its deadline nor the process at exit).
    """
    outcome: list[list[str] | Exception] = []

    def lookup() -> None:
        try:
            outcome.append(resolver(host, port))
        except Exception as exc:  # noqa: BLE001 - handed to the fetching thread below
            outcome.append(exc)

    thread = threading.Thread(target=lookup, name=f"resolve {host[:40]}", daemon=True)
    thread.start()
    thread.join(max(0.0, timeout_s))
    if not outcome:
        raise TimeoutError
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


class _Deadline:
    """The time budget of one ``get``: it runs while talking to servers, not while queueing.

    When it runs out the watchdog shuts down every socket of the fetch, which ends
    any read blocked on a server that sends headers or body a byte at a time.
    """

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.spent_s = 0.0
        self.expired = False
        self.phase = "connecting"
        self.body_bytes = 0
        self._since: float | None = None
        self._token: int | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        running = time.monotonic() - self._since if self._since is not None else 0.0
        return self.budget_s - self.spent_s - running

    def resume(self) -> None:
        self._since = time.monotonic()
        self._token = _WATCHDOG.schedule(self._since + max(0.0, self.remaining()), self._fire)

    def pause(self) -> None:
        if self._token is not None:
            _WATCHDOG.cancel(self._token)
            self._token = None
        if self._since is not None:
            self.spent_s += time.monotonic() - self._since
            self._since = None

    def watch(self, sock: socket.socket) -> None:
        """Keep a duplicate of ``sock`` so the watchdog can shut the connection down."""
        with self._lock:
            if self.expired:
                raise TimeoutError
            self._sockets.append(sock.dup())

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.pause()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def check(self) -> None:
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise TimeoutError


# ---------------------------------------------------------------- connections


@dataclass
class _ConnectGuard:
    """Resolves, checks every address against the policy, connects to a checked one."""

    policy: AddressPolicy
    resolver: Resolver
    deadline: _Deadline

    def connect(self, host: str, port: int) -> socket.socket:
        host = host.strip("[]")
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = _resolve_within(self.resolver, host, port, self.deadline.remaining())
            except TimeoutError:
                self.deadline.phase = f"resolving {host}"
                raise
            except (OSError, UnicodeError) as exc:
                raise FetchError("dns", f"cannot resolve {host}: {exc}.", transient=True) from None
        if not addresses:
            raise FetchError("dns", f"{host} resolves to no address.", transient=True)
        for address in addresses:
            if not self.policy.allows(host, address):
                raise FetchError("private_address", self.policy.refusal(host, address))
        last: OSError | None = None
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(max(0.05, self.deadline.remaining()))
                self.deadline.watch(sock)
                sock.connect((address, port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
                if isinstance(exc, TimeoutError) or self.deadline.expired:
                    raise TimeoutError from None
        assert last is not None
        raise last


class _GuardedConnection:
    """What both connection classes add: the guarded connect, and closing what urllib3 drops.

    When urllib3 refuses a response's headers (two different Content-Lengths) after
    http.client parsed them, nobody holds the http.client response any more; its
    file object would keep the socket open. Each one is kept here and closed.
    """

    _guard: _ConnectGuard
    _raw_responses: list[http.client.HTTPResponse]
    response_class: Any  # http.client's hook: it builds responses with it

    def _setup_guard(self, guard: _ConnectGuard) -> None:
        self._guard = guard
        self._raw_responses = []
        self.response_class = self._raw_response

    def _raw_response(self, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:
        raw = http.client.HTTPResponse(*args, **kwargs)
        self._raw_responses.append(raw)
        return raw

    def _new_conn(self) -> socket.socket:
        return self._guard.connect(self.host, self.port)  # type: ignore[attr-defined]

    def close_all(self) -> None:
        for raw in self._raw_responses:
            raw.close()
        self.close()  # type: ignore[attr-defined]


class _GuardedHTTPConnection(_GuardedConnection, HTTPConnection):
    def __init__(self, *args: Any, guard: _ConnectGuard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_guard(guard)


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    def __init__(self, *args: Any, guard: _ConnectGuard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_guard(guard)


# ---------------------------------------------------------------- content decoding


class _Inflater:
    """One Content-Encoding layer (gzip, or deflate with or without its zlib header)."""

    def __init__(self, coding: str, url: str) -> None:
        self.coding = coding
        self.url = url
        self._z: Any = None

    def _error(self, detail: object) -> FetchError:
        return FetchError(
            "bad_content_encoding",
            f"{self.url} says Content-Encoding: {self.coding}, but its body is not "
            f"{self.coding} data ({detail}).",
        )

    def feed(self, data: bytes, limit: int) -> bytes:
        """Inflate ``data``, returning at most ``limit + 1`` bytes (more means too large)."""
        if not data:
            return b""
        if self._z is None:
            if self.coding == "gzip":
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:  # deflate: zlib-wrapped per the RFC, raw from many servers
                wrapped = (
                    len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
                )
                self._z = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        out: list[bytes] = []
        size = 0
        pending = data
        try:
            while pending and size <= limit:
                if self._z.eof:
                    rest = pending.lstrip(b"\0")
                    if self.coding == "gzip" and rest.startswith(b"\x1f\x8b"):
                        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
                        pending = rest
                        continue
                    break  # padding or junk after the stream: ignored, as browsers do
                chunk = self._z.decompress(pending, limit + 1 - size)
                out.append(chunk)
                size += len(chunk)
                pending = self._z.unused_data if self._z.eof else self._z.unconsumed_tail
        except zlib.error as exc:
            raise self._error(exc) from None
        return b"".join(out)

    def finish(self) -> None:
        if self._z is not None and not self._z.eof:
            raise FetchError(
                "truncated",
                f"{self.url} ended in the middle of its {self.coding} body; not used.",
                transient=True,
            )


def _inflaters(header: str, url: str) -> list[_Inflater]:
    """Decoders for a Content-Encoding header, outermost encoding last."""
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    layers = []
    for coding in codings:
        name = {"x-gzip": "gzip"}.get(coding, coding)
        if name not in ("gzip", "deflate"):
            raise FetchError(
                "unsupported_encoding",
                f"{url} sent Content-Encoding {coding[:40]!r}, which was not asked for.",
            )
        layers.append(_Inflater(name, url))
    if len(layers) > 2:
        raise FetchError("unsupported_encoding", f"{url} stacks {len(layers)} content encodings.")
    return layers[::-1]


# ---------------------------------------------------------------- the fetcher


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
    """GETs URLs safely and politely; thread-safe, one instance per process.

    ``address_policy`` decides which addresses may be connected to; without one,
    public addresses only, or (deprecated) ``allow_private_addresses`` for
    loopback and private ranges as well.
    """

    def __init__(
        self,
        user_agent: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        allow_private_addresses: bool = False,
        address_policy: AddressPolicy | None = None,
        host_delay_s: float = DEFAULT_HOST_DELAY_S,
        resolver: Resolver = resolve_host,
    ) -> None:
        self.user_agent = user_agent
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.policy = address_policy or AddressPolicy.from_setting("", allow_private_addresses)
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
        """Fetch ``url`` following redirects; 304 is a result, other non-2xx raise.

        One deadline of ``timeout_s`` covers every hop's connect, headers and body.
        """
        try:
            target = split_uri(url)
        except BadURLError as exc:
            raise FetchError(exc.reason, exc.message) from None
        deadline = _Deadline(self.timeout_s)
        redirects: list[str] = []
        visited = {target.uri(fragment=False)}
        try:
            while True:
                current = target.uri(fragment=False)
                result = self._one(
                    target, deadline, etag=etag, last_modified=last_modified, accept=accept
                )
                if result.status not in REDIRECTS:
                    return FetchResult(
                        url=current,
                        status=result.status,
                        headers=result.headers,
                        body=result.body,
                        redirects=tuple(redirects),
                        elapsed_s=deadline.spent_s,
                    )
                target = self._redirect_target(url, current, result)
                following = target.uri(fragment=False)
                if following in visited:
                    raise FetchError(
                        "redirect_loop", f"{url} redirects in a loop (back to {following})."
                    )
                if len(redirects) >= self.max_redirects:
                    raise FetchError(
                        "too_many_redirects",
                        f"{url} redirected more than {self.max_redirects} times.",
                    )
                visited.add(following)
                redirects.append(current)
                # Validators belong to the first URL; do not send them elsewhere.
                etag = last_modified = None
        finally:
            deadline.close()

    @staticmethod
    def _redirect_target(url: str, current: str, result: FetchResult) -> URIParts:
        location = result.headers.get("location", "").strip()
        if not location:
            raise FetchError(
                "bad_redirect", f"{current} answered {result.status} with no Location."
            )
        try:
            return split_uri(urljoin(current, header_text(location)))
        except (BadURLError, ValueError) as exc:
            detail = exc.message if isinstance(exc, BadURLError) else str(exc)
            raise FetchError(
                "bad_redirect", f"{current} redirects to a URL that cannot be fetched: {detail}"
            ) from None

    def _timeout(self, url: str, deadline: _Deadline) -> FetchError:
        phase = deadline.phase
        if phase == "reading the body":
            phase += f" ({deadline.body_bytes:,} bytes so far)"
        return FetchError(
            "timeout",
            f"{url} did not finish within {self.timeout_s:g} s; cut off while {phase} after "
            f"{deadline.budget_s - deadline.remaining():.1f} s of talking to the server.",
            transient=True,
        )

    def _one(
        self,
        target: URIParts,
        deadline: _Deadline,
        *,
        etag: str | None,
        last_modified: str | None,
        accept: str,
    ) -> FetchResult:
        url = target.uri(fragment=False)
        port = target.port or target.default_port
        request_target = (target.path or "/") + (f"?{target.query}" if target.query else "")
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
        politeness_key = f"{target.host}:{port}"
        if deadline.remaining() <= 0:
            raise self._timeout(url, deadline)
        self.politeness.acquire(politeness_key)
        deadline.resume()
        deadline.phase = "connecting"
        connection: _GuardedHTTPConnection | _GuardedHTTPSConnection | None = None
        response: Any = None
        try:
            guard = _ConnectGuard(self.policy, self._resolve, deadline)
            kind = _GuardedHTTPSConnection if target.scheme == "https" else _GuardedHTTPConnection
            timeout = max(0.05, min(self.timeout_s, deadline.remaining()))
            connection = kind(target.host.strip("[]"), port, timeout=timeout, guard=guard)
            connection.request(
                "GET",
                request_target,
                headers=headers,
                preload_content=False,
                decode_content=False,
            )
            deadline.phase = "waiting for the response headers"
            response = connection.getresponse()
            deadline.check()
            status = response.status
            got = {k.lower(): v for k, v in response.headers.items()}
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
            if 200 <= status < 300:
                deadline.phase = "reading the body"
                body = self._read(response, url, got, deadline)
            return FetchResult(url=url, status=status, headers=got, body=body)
        except FetchError:
            if deadline.expired:
                raise self._timeout(url, deadline) from None
            raise
        except (TimeoutError, urllib3.exceptions.TimeoutError):
            raise self._timeout(url, deadline) from None
        except (ssl.SSLError, urllib3.exceptions.SSLError) as exc:
            if deadline.expired:
                raise self._timeout(url, deadline) from None
            raise FetchError("tls", f"TLS with {target.host} failed: {exc}.") from None
        except (
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
            ValueError,
            UnicodeError,
        ) as exc:
            if deadline.expired:
                raise self._timeout(url, deadline) from None
            incomplete = "IncompleteRead" in repr(exc) or isinstance(
                exc, http.client.IncompleteRead
            )
            if incomplete:
                raise FetchError(
                    "truncated",
                    f"{url} closed the connection before sending all of its body; not used.",
                    transient=True,
                ) from None
            raise FetchError(
                "connection",
                f"connection to {target.host} failed ({exc.__class__.__name__}: {str(exc)[:300]}).",
                transient=True,
            ) from None
        finally:
            if response is not None:
                response.close()  # its file object holds the socket open otherwise
            if connection is not None:
                connection.close_all()
            deadline.pause()
            self.politeness.release(politeness_key)

    def _read(self, response: Any, url: str, headers: dict[str, str], deadline: _Deadline) -> bytes:
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared[:20]) > self.max_bytes:
            raise FetchError(
                "too_large", f"{url} is {declared} bytes, over the cap of {self.max_bytes}."
            )
        layers = _inflaters(headers.get("content-encoding", ""), url)
        chunks: list[bytes] = []
        size = 0
        while True:
            deadline.check()
            raw = response.read1(_CHUNK, decode_content=False)
            deadline.check()
            if not raw:
                break
            deadline.body_bytes += len(raw)
            for layer in layers:
                raw = layer.feed(raw, self.max_bytes - size)
            size += len(raw)
            if size > self.max_bytes:
                raise FetchError("too_large", f"{url} is over the cap of {self.max_bytes} bytes.")
            chunks.append(raw)
        for layer in layers:
            layer.finish()
        return b"".join(chunks)
