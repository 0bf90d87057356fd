"""A local news site for the feed tests: feeds, article pages, redirects and failures.

``FeedServer`` listens on 127.0.0.1 on a random port in a thread and serves the
files in ``tests/data/feeds`` and ``tests/data/pages`` with realistic behaviour:
ETag/Last-Modified with 304, a feed that answers 503 + Retry-After before it
recovers, a redirect, a 404, a PDF, a feed served in the wrong charset, a page
that never ends. The tests at the bottom check the server itself.
"""

from __future__ import annotations

import hashlib
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.loopback import LoopbackSite

DATA = Path(__file__).resolve().parent.parent / "data"
FEEDS = DATA / "feeds"
PAGES = DATA / "pages"
LAST_MODIFIED = "Tue, 12 Mar 2024 10:00:00 GMT"

FEED_ROUTES = {
    "/rss2.xml": ("rss2.xml", "application/rss+xml; charset=utf-8"),
    "/atom.xml": ("atom.xml", "application/atom+xml"),
    "/broken.xml": ("broken.xml", "application/rss+xml"),
    "/feed.json": ("jsonfeed.json", "application/feed+json"),
    "/wrong-charset.xml": ("wrong-charset.xml", "application/rss+xml"),
    "/flaky.xml": ("atom.xml", "application/atom+xml"),
}
PAGE_ROUTES = {
    "/world/africa/haftar-forces-pull-back-tripoli": "en-haftar-tripoli.html",
    "/erhverv/havvind-esbjerg": "da-havvind-esbjerg.html",
    "/wirtschaft/bahnstreik": "de-bahnstreik.html",
    "/regio/dijkversterking-lek": "nl-dijkversterking.html",
    "/marseille/greve-eboueurs": "fr-greve-marseille.html",
    "/sociedad/sequia-cataluna": "es-sequia-cataluna.html",
}
REDIRECTS = {"/go/havvind": "/erhverv/havvind-esbjerg?utm_source=redirect"}


class FeedServer(LoopbackSite):
    """The site; ``requests`` logs (path, headers) of every request it answered."""

    def __init__(self, flaky_failures: int = 1, retry_after: str = "120") -> None:
        super().__init__()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.flaky_failures = flaky_failures
        self.retry_after = retry_after

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.requests.append((h.path, {k.lower(): v for k, v in h.headers.items()}))
        self.handle(h)

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if urlsplit(p).path == path)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        if path in FEED_ROUTES:
            name, kind = FEED_ROUTES[path]
            if path == "/flaky.xml" and self.hits(path) <= self.flaky_failures:
                self._send(h, 503, b"busy", "text/plain", {"Retry-After": self.retry_after})
                return
            text = (FEEDS / name).read_text(encoding="utf-8").replace("{base}", self.base)
            encoding = "iso-8859-1" if path == "/wrong-charset.xml" else "utf-8"
            body = text.encode(encoding)
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if h.headers.get("If-None-Match") == etag or (
                not h.headers.get("If-None-Match")
                and h.headers.get("If-Modified-Since") == LAST_MODIFIED
            ):
                self._send(h, 304, b"", None, {"ETag": etag})
                return
            self._send(h, 200, body, kind, {"ETag": etag, "Last-Modified": LAST_MODIFIED})
        elif path in PAGE_ROUTES:
            body = (PAGES / PAGE_ROUTES[path]).read_bytes()
            self._send(h, 200, body, "text/html; charset=utf-8")
        elif path in REDIRECTS:
            self._send(h, 302, b"", None, {"Location": REDIRECTS[path]})
        elif path == "/files/annual-report.pdf":
            self._send(h, 200, b"%PDF-1.4\n" + b"0" * 2000, "application/pdf")
        elif path == "/loop":
            self._send(h, 302, b"", None, {"Location": "/loop"})
        elif path.startswith("/chain/") and path[7:].isdigit():
            self._send(h, 302, b"", None, {"Location": f"/chain/{int(path[7:]) + 1}"})
        elif path == "/big":
            self._send(h, 200, b"<html><body>" + b"<p>word</p>" * 200_000, "text/html")
        elif path == "/slow":
            time.sleep(3)
            self._send(h, 200, b"<html></html>", "text/html")
        else:
            self._send(h, 404, b"not found", "text/plain")

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        kind: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            h.send_response(status)
            if kind:
                h.send_header("Content-Type", kind)
            for key, value in (headers or {}).items():
                h.send_header(key, value)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if body:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (size cap, timeout): that is what some tests want


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), b""


def test_server_answers_304_to_a_matching_etag(feed_server: FeedServer) -> None:
    status, headers, body = _get(feed_server.url("/rss2.xml"))
    assert status == 200
    assert feed_server.base.encode() in body
    status, _, _ = _get(feed_server.url("/rss2.xml"), **{"If-None-Match": headers["ETag"]})
    assert status == 304


def test_flaky_feed_fails_then_recovers(feed_server: FeedServer) -> None:
    status, headers, _ = _get(feed_server.url("/flaky.xml"))
    assert (status, headers["Retry-After"]) == (503, "120")
    assert _get(feed_server.url("/flaky.xml"))[0] == 200
