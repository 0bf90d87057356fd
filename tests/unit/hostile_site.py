"""A hostile news site on 127.0.0.1 for the poller's robustness tests (issue 18).

``HostileSite`` listens on loopback on a random port and answers every route in
``FEED_CASES`` and ``PAGE_CASES`` the way a broken or malicious server would: links
with non-ASCII paths, bad ports and IPv6 literals; gzip that is not gzip, raw
deflate, truncated bodies; ``charset=undefined``/``punycode`` and XML
``encoding="undefined"``; JSON Feeds with ``"items": 5``, ``"authors": 5``, a
5,000-digit number, 100,000 levels of nesting; redirects to non-ASCII paths, in
loops, to 127.0.0.2 and to a name that resolves to a cloud metadata address;
headers and bodies dripped a byte at a time. Every loop is bounded (a drip stops
after ``DRIP_BYTES`` or when the client hangs up), and it never connects anywhere.

Responses are written as raw bytes, so headers can carry what http.server would
refuse (UTF-8 in ``Location``, a ``Content-Length`` that lies).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit

from tests.loopback import LoopbackSite

DRIP_BYTES = 200  # at DRIP_DELAY_S a byte: 40 s if nobody cut the client off
DRIP_DELAY_S = 0.2
IDN_HOST = "bücher.test"  # the test resolver maps its IDNA form to 127.0.0.1
METADATA_HOST = "metadata.test"  # ... and this one to 100.100.100.200

# feed path -> what the poller must record for it: "ok" or the health error's reason
FEED_CASES: dict[str, str] = {
    "/feed/nonascii-links.xml": "ok",
    "/feed/bad-links.xml": "ok",
    "/feed/hostile-pages.xml": "ok",
    "/feed/raw-deflate.xml": "ok",
    "/feed/charset-undefined.xml": "ok",
    "/feed/charset-punycode.xml": "ok",
    "/feed/xml-encoding-undefined.xml": "ok",
    "/feed/authors-number.json": "ok",
    "/feed/huge-number.json": "ok",
    "/feed/surrogates.json": "ok",
    "/feed/bad-dates.xml": "ok",
    "/feed/redirect-nonascii.xml": "ok",
    "/feed/gzip-lie.xml": "bad_content_encoding",
    "/feed/gzip-truncated.xml": "truncated",
    "/feed/short-body.xml": "truncated",
    "/feed/brotli-unasked.xml": "unsupported_encoding",
    "/feed/items-number.json": "bad_json_feed",
    "/feed/deep.json": "bad_json_feed",
    "/feed/slow-headers.xml": "timeout",
    "/feed/slow-body.xml": "timeout",
    "/feed/redirect-loop.xml": "redirect_loop",
    "/feed/redirect-private.xml": "private_address",
    "/feed/redirect-metadata.xml": "private_address",
    "/feed/redirect-bad-port.xml": "bad_redirect",
    "/feed/not-a-feed.html": "unparseable_feed",
    "/feed/binary.xml": "unparseable_feed",
    "/feed/http-500.xml": "http_500",
    "/feed/reset.xml": "connection",
    "/feed/bad-status-line.xml": "connection",
    "/feed/too-big.xml": "too_large",
    "/feed/gzip-bomb.xml": "too_large",
}

# page path -> "document" (the page itself), "summary" (the feed summary, page unusable),
# or "dead_letter"; all are linked from /feed/hostile-pages.xml
PAGE_CASES: dict[str, str] = {
    "/page/charset-undefined": "document",
    "/page/charset-punycode": "document",
    "/page/raw-deflate": "document",
    "/page/redirect-nonascii": "document",
    "/page/gzip-lie": "summary",
    "/page/slow-body": "summary",  # transient: retried on later polls, then the summary
    "/page/redirect-private": "summary",
    "/page/redirect-loop": "summary",
    "/page/pdf": "dead_letter",
}

PAGE_HTML = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    "<p>{text}</p><p>Second paragraph of the article, long enough to be kept by "
    "extraction as real text about the news of the day.</p></article></body></html>"
)
NONASCII_PAGES = {
    "/nyheder/æbler": ("Æbler fra Fyn", "Æblehøsten på Fyn blev rekordstor i år."),
    "/أخبار/ليبيا-اليوم": ("ليبيا اليوم", "عاد الهدوء إلى طرابلس بعد المحادثات."),
    "/nyheder/pærer": ("Pærer", "Pærehøsten er sen i år efter en kold forår."),
    "/buch": ("Bücher", "Der Buchhandel meldet ein gutes Jahr."),
}


def _rss(items: list[dict[str, str]], title: str = "Hostile", declaration: str = "") -> str:
    entries = "".join(
        "<item>"
        + (f"<guid>{i['guid']}</guid>" if "guid" in i else "")
        + (f"<link>{i['link']}</link>" if "link" in i else "")
        + f"<title>{i.get('title', i.get('guid', 'item'))}</title>"
        + (f"<description>{i['summary']}</description>" if "summary" in i else "")
        + (f"<pubDate>{i['date']}</pubDate>" if "date" in i else "")
        + "</item>"
        for i in items
    )
    return (
        f'{declaration}<rss version="2.0"><channel><title>{title}</title>{entries}</channel></rss>'
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class HostileSite(LoopbackSite):
    """The site; ``requests`` lists every request path it saw, decoded."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(h.path).path)
        with self.lock:
            self.requests.append(path)
        h.close_connection = True
        # The client giving up (timeouts, size caps) is what the slow cases want.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
            self.route(path)(h)

    def hits(self, path: str) -> int:
        return self.requests.count(path)

    # ------------------------------------------------------------ responses

    @staticmethod
    def raw(h: BaseHTTPRequestHandler, data: bytes) -> None:
        h.wfile.write(data)
        h.wfile.flush()

    def send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str | None = "text/html; charset=utf-8",
        headers: dict[str, str | bytes] | None = None,
        *,
        length: int | None = None,
    ) -> None:
        head = [f"HTTP/1.1 {status} X".encode()]
        if content_type:
            head.append(f"Content-Type: {content_type}".encode())
        for key, value in (headers or {}).items():
            head.append(
                key.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
            )
        head.append(f"Content-Length: {len(body) if length is None else length}".encode())
        head.append(b"Connection: close")
        self.raw(h, b"\r\n".join(head) + b"\r\n\r\n" + body)

    def drip(self, h: BaseHTTPRequestHandler, data: bytes) -> None:
        for i in range(min(len(data), DRIP_BYTES)):
            self.raw(h, data[i : i + 1])
            time.sleep(DRIP_DELAY_S)

    def slow_body(self, h: BaseHTTPRequestHandler, content_type: str, body: bytes) -> None:
        """Headers at once, then the body a byte at a time (no Content-Length)."""
        self.raw(h, f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n".encode())
        self.drip(h, body)

    def feed(self, h: BaseHTTPRequestHandler, text: str, **kw: object) -> None:
        self.send(h, 200, text.encode("utf-8"), "application/rss+xml; charset=utf-8", **kw)  # type: ignore[arg-type]

    def page(self, title: str, text: str) -> bytes:
        return PAGE_HTML.format(title=title, text=text).encode("utf-8")

    def redirect(self, h: BaseHTTPRequestHandler, location: str | bytes) -> None:
        self.send(h, 302, b"", None, {"Location": location})

    # ------------------------------------------------------------ routes

    def route(self, path: str) -> Callable[[BaseHTTPRequestHandler], None]:
        b = self.base
        good = [{"guid": "good-page", "link": f"{b}/page/good", "summary": "A good item."}]
        plain_rss = _rss(good)
        routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
            # --- feeds that must be read
            "/feed/nonascii-links.xml": lambda h: self.feed(
                h,
                _rss(
                    [
                        {"guid": "da", "link": f"{b}/nyheder/æbler", "summary": "æbler"},
                        {"guid": "ar", "link": f"{b}/أخبار/ليبيا-اليوم", "summary": "ليبيا"},
                        {
                            "guid": "idn",
                            "link": f"http://{IDN_HOST}:{self.port}/buch",
                            "summary": "x",
                        },
                    ]
                ),
            ),
            "/feed/bad-links.xml": lambda h: self.feed(
                h,
                _rss(
                    [
                        {"guid": "port", "link": "http://h.test:99999/a", "summary": "Bad port."},
                        {"guid": "v6", "link": "http://[::1/x", "summary": "Unclosed IPv6."},
                        {"guid": "zero", "link": "http://127.0.0.1:0/", "summary": "Port 0."},
                        {"guid": "space", "link": "http://exa mple.test/", "summary": "Space."},
                        {"guid": "js", "link": "javascript:alert(1)", "summary": "Script."},
                        {"guid": "nosummary", "link": "http://h.test:70000/"},
                        *good,
                    ]
                ),
            ),
            "/feed/hostile-pages.xml": lambda h: self.feed(
                h,
                _rss(
                    [
                        {"guid": p, "link": f"{b}{p}", "summary": f"Summary of {p}."}
                        for p in PAGE_CASES
                    ]
                ),
            ),
            "/feed/raw-deflate.xml": lambda h: self.send(
                h,
                200,
                _raw_deflate(_rss([{"guid": "deflated", "link": f"{b}/page/good?d"}]).encode()),
                "application/rss+xml",
                {"Content-Encoding": "deflate"},
            ),
            "/feed/charset-undefined.xml": lambda h: self.send(
                h,
                200,
                _rss([{"guid": "cu", "link": f"{b}/page/good?cu", "title": "Ærø"}]).encode(),
                "application/rss+xml; charset=undefined",
            ),
            "/feed/charset-punycode.xml": lambda h: self.send(
                h,
                200,
                _rss([{"guid": "cp", "link": f"{b}/page/good?cp"}]).encode(),
                "text/xml; charset=punycode",
            ),
            "/feed/xml-encoding-undefined.xml": lambda h: self.send(
                h,
                200,
                _rss(
                    [{"guid": "xu", "link": f"{b}/page/good?xu", "title": "Ærø"}],
                    declaration='<?xml version="1.0" encoding="undefined"?>',
                ).encode(),
                "application/rss+xml",
            ),
            "/feed/authors-number.json": lambda h: self._json(
                h,
                {
                    "version": "https://jsonfeed.org/version/1.1",
                    "title": 5,
                    "authors": 5,
                    "items": [
                        {"id": "an", "url": f"{b}/page/good?an", "authors": 5, "author": 7},
                        {"id": 12, "url": ["not", "a", "url"], "content_text": "No URL."},
                        5,
                        "text",
                    ],
                },
            ),
            "/feed/huge-number.json": lambda h: self.send(
                h,
                200,
                (
                    '{"version": "https://jsonfeed.org/version/1.1", "size": '
                    + "9" * 5000
                    + ', "items": [{"id": "hn", "url": "'
                    + f"{b}/page/good?hn"
                    + '", "date_published": '
                    + "1" * 5000
                    + "}]}"
                ).encode(),
                "application/feed+json",
            ),
            "/feed/surrogates.json": lambda h: self.send(
                h,
                200,
                (
                    b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "sg", '
                    b'"title": "Broken \\ud800 title", "content_text": "Text \\udfff here.", '
                    b'"date_published": "0001-01-01T00:00:00+05:00"}]}'
                ),
                "application/feed+json",
            ),
            "/feed/bad-dates.xml": lambda h: self.feed(
                h,
                _rss(
                    [
                        {
                            "guid": "d1",
                            "link": f"{b}/page/good?d1",
                            "date": "Mon, 99 Foo 99999 99:99",
                        },
                        {"guid": "d2", "link": f"{b}/page/good?d2", "date": "9" * 300},
                    ]
                ),
            ),
            "/feed/redirect-nonascii.xml": lambda h: self.redirect(
                h, "/feed/æbler-feed.xml".encode()
            ),
            "/feed/æbler-feed.xml": lambda h: self.feed(
                h, _rss([{"guid": "rn", "link": f"{b}/page/good?rn"}])
            ),
            # --- feeds that must fail, each with its reason
            "/feed/gzip-lie.xml": lambda h: self.send(
                h, 200, plain_rss.encode(), "application/rss+xml", {"Content-Encoding": "gzip"}
            ),
            "/feed/gzip-truncated.xml": lambda h: self.send(
                h,
                200,
                gzip.compress(plain_rss.encode() * 20)[:150],
                "application/rss+xml",
                {"Content-Encoding": "gzip"},
            ),
            "/feed/short-body.xml": lambda h: self.send(
                h, 200, plain_rss.encode()[:60], "application/rss+xml", length=5000
            ),
            "/feed/brotli-unasked.xml": lambda h: self.send(
                h, 200, b"\x8b\x03\x80abc\x03", "application/rss+xml", {"Content-Encoding": "br"}
            ),
            "/feed/items-number.json": lambda h: self._json(
                h, {"version": "https://jsonfeed.org/version/1", "items": 5}
            ),
            "/feed/deep.json": lambda h: self.send(
                h,
                200,
                b'{"version": "https://jsonfeed.org/version/1", "items": '
                + b"[" * 100_000
                + b"]" * 100_000
                + b"}",
                "application/feed+json",
            ),
            "/feed/slow-headers.xml": lambda h: self.drip(
                h, b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" + b"X: y\r\n" * 50
            ),
            "/feed/slow-body.xml": lambda h: self.slow_body(
                h, "application/rss+xml", plain_rss.encode() * 5
            ),
            "/feed/redirect-loop.xml": lambda h: self.redirect(h, "/feed/redirect-loop-b.xml"),
            "/feed/redirect-loop-b.xml": lambda h: self.redirect(h, f"{b}/feed/redirect-loop.xml"),
            "/feed/redirect-private.xml": lambda h: self.redirect(
                h, f"http://127.0.0.2:{self.port}/feed/nonascii-links.xml"
            ),
            "/feed/redirect-metadata.xml": lambda h: self.redirect(
                h, f"http://{METADATA_HOST}/latest/meta-data/"
            ),
            "/feed/redirect-bad-port.xml": lambda h: self.redirect(h, "http://h.test:99999/"),
            "/feed/not-a-feed.html": lambda h: self.send(h, 200, self.page("Home", "Welcome.")),
            "/feed/binary.xml": lambda h: self.send(
                h, 200, bytes(range(256)) * 20, "application/rss+xml"
            ),
            "/feed/http-500.xml": lambda h: self.send(h, 500, b"oops", "text/plain"),
            "/feed/reset.xml": lambda h: None,
            "/feed/bad-status-line.xml": lambda h: self.raw(h, b"HTTP/1.1 abc\r\n\r\n"),
            "/feed/too-big.xml": lambda h: self.send(
                h, 200, b"<rss>", "application/rss+xml", length=50_000_000
            ),
            "/feed/gzip-bomb.xml": lambda h: self.send(
                h,
                200,
                gzip.compress(b"<rss>" + b" " * 20_000_000, compresslevel=9),
                "application/rss+xml",
                {"Content-Encoding": "gzip"},
            ),
            # --- pages
            "/page/good": lambda h: self.send(h, 200, self.page("Good", "A good page.")),
            "/page/charset-undefined": lambda h: self.send(
                h,
                200,
                self.page("Færgen", "Færgen sejler igen til Ærø efter stormen."),
                "text/html; charset=undefined",
            ),
            "/page/charset-punycode": lambda h: self.send(
                h,
                200,
                self.page("Ærø", "Stormen på Østersøen er ovre.").decode().encode("cp1252"),
                "text/html; charset=punycode",
            ),
            "/page/raw-deflate": lambda h: self.send(
                h,
                200,
                _raw_deflate(self.page("Deflate", "Raw deflate without a zlib header.")),
                "text/html",
                {"Content-Encoding": "deflate"},
            ),
            "/page/redirect-nonascii": lambda h: self.redirect(h, "/nyheder/pærer".encode()),
            "/page/gzip-lie": lambda h: self.send(
                h, 200, self.page("Lie", "Not gzip."), "text/html", {"Content-Encoding": "gzip"}
            ),
            "/page/slow-body": lambda h: self.slow_body(h, "text/html", self.page("Slow", "Slow.")),
            "/page/redirect-private": lambda h: self.redirect(
                h, f"http://[::ffff:127.0.0.2]:{self.port}/page/good"
            ),
            "/page/redirect-loop": lambda h: self.redirect(h, "/page/redirect-loop"),
            "/page/pdf": lambda h: self.send(h, 200, b"%PDF-1.4\n" + b"0" * 100, "application/pdf"),
        }
        for page_path, (title, text) in NONASCII_PAGES.items():
            routes[page_path] = lambda h, t=title, x=text: self.send(h, 200, self.page(t, x))
        return routes.get(path, lambda h: self.send(h, 404, b"not found", "text/plain"))

    def _json(self, h: BaseHTTPRequestHandler, data: object) -> None:
        self.send(h, 200, json.dumps(data).encode(), "application/feed+json")


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def site_resolver(host: str, port: int) -> list[str]:
    """Names the hostile site uses, on loopback (and one metadata address never dialled)."""
    known = {
        IDN_HOST.encode("idna").decode(): ["127.0.0.1"],
        METADATA_HOST: ["100.100.100.200"],
    }
    if host in known:
        return known[host]
    raise OSError(f"{host} is not a name of the test site")
