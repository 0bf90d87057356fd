"""Fuzzing harness (hypothesis) for everything a feed server controls: feed bodies, page
bytes and charsets, links, and raw HTTP responses.

Bounded in count and time (about ten seconds in all): each property runs a fixed number
of examples with no per-example deadline; ``NEWSBEAM_FUZZ_EXAMPLES=5000`` runs longer
searches locally. What they assert: no exception escapes but
the documented ones (``FeedParseError``, ``FetchError``), and the outputs keep their
invariants (text fields are text that can be written, dates are ISO UTC, canonical
URLs are ASCII, idempotent and fragment-free, bodies stay under the cap).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import socket
import threading
import zlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.address_policy import AddressPolicy, is_public_address
from connectors.feeds import (
    CollectingSink,
    FeedItem,
    FeedParseError,
    FeedPoller,
    ParsedFeed,
    PollState,
    Source,
    decode_page,
    parse_feed,
)
from connectors.feeds.pages import text_codec
from connectors.feeds.urls import canonicalize
from connectors.http import FetchError, HttpFetcher
from connectors.iri import BadURLError, split_uri
from transforms.document import DeadLetter, Document

EXAMPLES = int(os.environ.get("NEWSBEAM_FUZZ_EXAMPLES", "150"))
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ISO_UTC = re.compile(r"^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
CHARSETS = [
    "utf-8", "UTF8", "latin-1", "iso-8859-2", "cp1251", "utf-16", "utf-32", "shift_jis",
    "undefined", "punycode", "idna", "unicode_escape", "rot13", "hex", "base64", "x-unknown",
    "utf-7", "", " ", "é", "utf-8\x00",
]  # fmt: skip

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ITEM_KEYS = [
    "id", "url", "external_url", "title", "content_html", "content_text", "summary",
    "date_published", "date_modified", "authors", "author",
]  # fmt: skip
json_items = st.dictionaries(st.sampled_from(ITEM_KEYS), json_values, max_size=8)
json_feeds = st.fixed_dictionaries(
    {
        "version": st.sampled_from(
            ["https://jsonfeed.org/version/1.1", "https://jsonfeed.org/version/1"]
        )
    },
    optional={
        "title": json_values,
        "items": st.lists(json_items | json_values, max_size=5) | json_values,
        "authors": json_values,
    },
)


def _check_feed(feed: ParsedFeed) -> None:
    """Invariants of a parsed feed: text that can be written, ISO UTC dates."""
    assert isinstance(feed.title, str)
    feed.title.encode("utf-8")
    for item in feed.items:
        assert isinstance(item, FeedItem)
        for text in (item.guid, item.link, item.title, item.summary, *item.authors):
            assert isinstance(text, str)
            text.encode("utf-8")  # no lone surrogates
        assert item.published is None or ISO_UTC.match(item.published), item.published


def _parse(body: bytes, headers: dict[str, str]) -> None:
    try:
        feed = parse_feed(body, "http://fuzz.test/feed", headers)
    except FeedParseError as exc:
        error = exc
    else:
        _check_feed(feed)
        return
    assert re.fullmatch(r"[a-z_]+", error.reason)
    assert error.message


@FAST
@given(feed=json_feeds, content_type=st.sampled_from(["application/feed+json", "", "text/plain"]))
def test_fuzz_json_feeds(feed: dict[str, object], content_type: str) -> None:
    _parse(json.dumps(feed).encode(), {"content-type": content_type})


@FAST
@given(
    body=st.binary(max_size=3000),
    content_type=st.sampled_from(["application/rss+xml", "application/json", "text/html", ""]),
    charset=st.sampled_from(CHARSETS),
)
def test_fuzz_arbitrary_feed_bytes(body: bytes, content_type: str, charset: str) -> None:
    _parse(body, {"content-type": f"{content_type}; charset={charset}"})


xml_text = st.text(max_size=40)


@FAST
@given(
    declared=st.sampled_from([*CHARSETS, None]),
    header_charset=st.sampled_from([*CHARSETS, None]),
    kind=st.sampled_from(["rss", "atom"]),
    title=xml_text,
    link=xml_text,
    date=xml_text,
    summary=xml_text,
    author=xml_text,
    body_codec=st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1251"]),
)
def test_fuzz_rss_and_atom_fields(
    declared: str | None,
    header_charset: str | None,
    kind: str,
    title: str,
    link: str,
    date: str,
    summary: str,
    author: str,
    body_codec: str,
) -> None:
    """Field text goes in raw (not escaped): markup, entities and junk included."""
    prolog = f'<?xml version="1.0" encoding="{declared}"?>' if declared is not None else ""
    if kind == "rss":
        doc = (
            f'{prolog}<rss version="2.0"><channel><title>{title}</title><item>'
            f"<title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{date}</pubDate><description>{summary}</description>"
            f"<author>{author}</author></item></channel></rss>"
        )
    else:
        doc = (
            f'{prolog}<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title><entry>'
            f'<title>{title}</title><link href="{link}"/><id>{link}</id><updated>{date}</updated>'
            f"<summary>{summary}</summary><author><name>{author}</name></author></entry></feed>"
        )
    headers = {
        "content-type": "application/xml"
        + (f"; charset={header_charset}" if header_charset else "")
    }
    _parse(doc.encode(body_codec, errors="replace"), headers)


@FAST
@given(
    body=st.binary(max_size=4000),
    charset=st.one_of(st.none(), st.sampled_from(CHARSETS), st.text(max_size=12)),
)
def test_fuzz_decode_page(body: bytes, charset: str | None) -> None:
    text, used = decode_page(body, charset)
    assert isinstance(text, str)
    assert text_codec(used) is not None, used
    text.encode("utf-8", errors="surrogatepass")
    if not body.isascii() and body[:3] != b"\xef\xbb\xbf":
        with contextlib.suppress(UnicodeDecodeError):
            assert text == body.decode("utf-8")  # valid UTF-8 always wins over a declaration


@FAST
@given(text=st.text(st.characters(blacklist_categories=["Cs"]), max_size=80))
def test_fuzz_decode_page_round_trips_utf8_and_bom_text(text: str) -> None:
    assert decode_page(text.encode("utf-8"))[0] == text or text.startswith("\ufeff")
    for codec in ("utf-16", "utf-8-sig"):
        assert decode_page(text.encode(codec))[0] == text.lstrip("\ufeff"), codec
    big_endian = ("\ufeff" + text).encode("utf-16-be")
    assert decode_page(big_endian)[0] == text.lstrip("\ufeff")


url_parts = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}{path}{query}{fragment}"
    ),
    st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", ""]),
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(["example.org", "bücher.de", "[::1]", "[::1", "127.0.0.1", "xn--", "a..b"]),
        st.from_regex(r"[a-zæøå0-9-]{1,12}(\.[a-z0-9-]{1,8}){0,3}", fullmatch=True),
    ),
    st.one_of(
        st.just(""),
        st.integers(-5, 100_000).map(lambda p: f":{p}"),
        st.text(max_size=6).map(lambda t: ":" + t),
    ),
    st.text(max_size=30).map(lambda t: "/" + t),
    st.one_of(st.just(""), st.text(max_size=30).map(lambda t: "?" + t)),
    st.one_of(st.just(""), st.text(max_size=10).map(lambda t: "#" + t)),
)


@FAST
@given(url=st.one_of(url_parts, st.text(max_size=100)))
def test_fuzz_canonical_urls(url: str) -> None:
    result = canonicalize(url)
    if not result.url:
        assert result.problem
        assert result.reason == "bad_url"
        return
    assert result.problem is None
    canonical = result.url
    assert canonical.isascii()
    assert canonical.startswith(("http://", "https://"))
    assert "#" not in canonical
    assert canonicalize(canonical).url == canonical  # idempotent
    assert split_uri(canonical).uri() == canonical


@FAST
@given(url=st.one_of(url_parts, st.text(max_size=100)))
def test_fuzz_split_uri_raises_only_bad_url(url: str) -> None:
    try:
        parts = split_uri(url)
    except BadURLError as exc:
        message = exc.message
    else:
        uri = parts.uri()
        assert uri.isascii()
        assert split_uri(uri).uri() == uri
        return
    assert message


@FAST
@given(
    link=st.one_of(url_parts, st.text(max_size=60)),
    guid=st.text(max_size=20),
    summary=st.text(max_size=200),
    summary_type=st.sampled_from(["text/html", "text/plain"]),
)
def test_fuzz_poller_items_become_documents_or_dead_letters(
    link: str, guid: str, summary: str, summary_type: str
) -> None:
    """The poller's own handling of an item (no page fetch) never raises."""
    source = Source(name="fuzz", feeds=("http://fuzz.test/feed",), fetch_pages=False)
    poller = FeedPoller([source], PollState(), HttpFetcher("fuzz"), CollectingSink())
    item = FeedItem(guid=guid, link=link, summary=summary, summary_type=summary_type)
    outcome = poller._ingest(source, "http://fuzz.test/feed", item)
    assert outcome.record is None or isinstance(outcome.record, Document | DeadLetter)
    if outcome.record is not None:
        outcome.record.to_json()


@FAST
@given(address=st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_fuzz_address_policy(address: object) -> None:
    text = str(address)
    public = is_public_address(text)
    assert AddressPolicy().allows("h", text) == public
    if public:
        assert not address.is_private  # type: ignore[attr-defined]
        assert not address.is_loopback  # type: ignore[attr-defined]


# ------------------------------------------------------------------ raw HTTP responses


class RawServer:
    """Loopback server answering every request with ``response`` bytes, then closing."""

    def __init__(self) -> None:
        self.response = b""
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    data = b""
                    while b"\r\n\r\n" not in data and len(data) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(self.response)
                    conn.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop = True
        self.listener.close()


@pytest.fixture(scope="module")
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


header_names = st.sampled_from(
    ["Content-Type", "Content-Encoding", "Content-Length", "Transfer-Encoding", "Location",
     "ETag", "Last-Modified", "Retry-After", "Set-Cookie", "X-Junk", "content-length"]
)  # fmt: skip
header_values = st.one_of(
    st.sampled_from(
        ["gzip", "deflate", "br", "gzip, deflate", "identity", "chunked",
         "text/html; charset=undefined", "application/rss+xml; charset=punycode", "0", "5",
         "999999999", "-1", "abc", "/loop", "/nyheder/æbler", "http://[::1/x", "http://h:99999/",
         "120", "Wed, 21 Oct 2015 07:28:00 GMT"]
    ),
    st.text(max_size=30).map(lambda t: t.replace("\r", "").replace("\n", "")),
)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=3000),
    st.binary(max_size=3000).map(gzip.compress),
    st.binary(max_size=3000).map(zlib.compress),
    st.binary(max_size=3000).map(lambda b: gzip.compress(b)[: max(1, len(b) // 3)]),
)


@settings(
    max_examples=max(10, EXAMPLES * 2 // 5),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    status=st.sampled_from([b"200 OK", b"204 No", b"301 M", b"302 F", b"304 N", b"404 N", b"429 T",
                            b"503 U", b"500 E", b"999 W", b"abc", b"", b"200"]),
    headers=st.lists(st.tuples(header_names, header_values), max_size=6),
    body=bodies,
    version=st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"ICY"]),
)  # fmt: skip
def test_fuzz_http_responses(
    raw_server: RawServer,
    status: bytes,
    headers: list[tuple[str, str]],
    body: bytes,
    version: bytes,
) -> None:
    lines = [version + b" " + status]
    lines += [f"{k}: ".encode() + v.encode("utf-8") for k, v in headers]
    raw_server.response = b"\r\n".join(lines) + b"\r\n\r\n" + body
    fetcher = HttpFetcher(
        "fuzz",
        timeout_s=2.0,
        max_bytes=10_000,
        max_redirects=2,
        host_delay_s=0.0,
        address_policy=AddressPolicy.from_entries(["127.0.0.1/32"]),
    )
    try:
        result = fetcher.get(f"http://127.0.0.1:{raw_server.port}/feed")
    except FetchError as exc:
        error = exc
    else:
        error = None
    if error is not None:
        assert re.fullmatch(r"[a-z_0-9]+", error.reason), error.reason
        assert error.message
        return
    assert len(result.body) <= 10_000
    assert 200 <= result.status < 400
    assert result.url.isascii()
    assert result.elapsed_s < 3.0
