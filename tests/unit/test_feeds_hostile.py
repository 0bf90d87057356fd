"""Issue 18: one bad feed never stops the poller, slow servers are cut off, the address
policy holds, and the per-poll cap limits new items. Everything runs on loopback.

The first test runs the real ``FeedPoller`` (its ``run`` loop in a thread, then two
more cycles) over ``HostileSite`` beside three good sources, and checks that the
poller is alive, every good source's documents arrived exactly as they do without
the hostile neighbours, and every hostile feed is recorded in health with its
reason. The tests after it pin each trigger on its own.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.address_policy import AddressPolicy, AllowListError, is_public_address
from connectors.feeds import (
    CollectingSink,
    FeedParseError,
    FeedPoller,
    PollState,
    Source,
    canonical_url,
    decode_page,
    parse_feed,
)
from connectors.feeds.urls import canonicalize
from connectors.http import FetchError, HttpFetcher
from tests.unit.hostile_site import (
    FEED_CASES,
    IDN_HOST,
    NONASCII_PAGES,
    PAGE_CASES,
    HostileSite,
    site_resolver,
)
from tests.unit.test_feeds_server import FeedServer
from transforms.document import CONTENT_TEXT, DeadLetter, Document

UA = "newsbeam-test/0.1"
LOOPBACK_ONLY = AddressPolicy.from_entries(["127.0.0.1/32"])


def fetcher(timeout_s: float = 1.0, **options: object) -> HttpFetcher:
    settings: dict[str, object] = {
        "timeout_s": timeout_s,
        "host_delay_s": 0.0,
        "address_policy": LOOPBACK_ONLY,
        "resolver": site_resolver,
    }
    settings.update(options)
    return HttpFetcher(UA, **settings)  # type: ignore[arg-type]


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """A safety net under the address policy: any connect off loopback is recorded and refused."""
    violations: list[object] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        ip = ipaddress.ip_address(host.split("%")[0])
        mapped = getattr(ip, "ipv4_mapped", None)
        if not (ip.is_loopback or (mapped is not None and mapped.is_loopback)):
            violations.append(address)
            raise ConnectionRefusedError(f"test: {address} is off loopback")
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield violations
    assert violations == [], f"connections off loopback were attempted: {violations}"


@pytest.fixture
def hostile() -> Iterator[HostileSite]:
    with HostileSite() as site:
        yield site


# ------------------------------------------------------------------ the real poller


def _good_sources(good: FeedServer) -> list[Source]:
    return [
        Source(name="good-rss", feeds=(good.url("/rss2.xml"),), interval_s=600),
        Source(name="good-atom", feeds=(good.url("/atom.xml"),), interval_s=600),
        Source(name="good-json", feeds=(good.url("/feed.json"),), interval_s=600),
    ]


def test_real_poller_survives_a_hostile_site_and_every_good_source_arrives(
    tmp_path: Path, hostile: HostileSite, loopback_only: list[object]
) -> None:
    started = time.monotonic()
    with FeedServer() as good:
        baseline = CollectingSink()
        FeedPoller(_good_sources(good), PollState(), fetcher(), baseline).poll_once()
        assert len(baseline.documents) >= 7

        hostile_sources = [
            Source(name=f"hostile-{i:02d}", feeds=(hostile.url(path),), interval_s=600)
            for i, path in enumerate(FEED_CASES)
        ]
        sources = hostile_sources[:10] + _good_sources(good) + hostile_sources[10:]
        state_file = tmp_path / "feeds" / "state.json"
        sink = CollectingSink()
        poller = FeedPoller(sources, PollState(state_file), fetcher(), sink, max_workers=4)

        # Cycle 1: the long-lived loop, in a thread, exactly as `feeds poll` runs it.
        stop = threading.Event()
        loop = threading.Thread(target=poller.run, args=(stop, 0.5), daemon=True)
        loop.start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(poller.state.health) < len(sources):
            time.sleep(0.2)
        time.sleep(0.5)
        alive_after_cycle = loop.is_alive()
        stop.set()
        loop.join(timeout=10)
        assert alive_after_cycle, "the poller's run loop died"
        assert not loop.is_alive(), "the poller did not stop when asked"
        assert len(poller.state.health) == len(sources)

        # Cycles 2 and 3: as if time had passed, so transient page failures are retried.
        for _ in range(2):
            poller.poll_once(force=True)

    # Every good source's documents arrived, exactly as without hostile neighbours.
    good_urls = {good.url(p) for p in ("/rss2.xml", "/atom.xml", "/feed.json")}
    good_docs = {d.id for d in sink.documents if d.hints.get("feed") in good_urls}
    assert good_docs == {d.id for d in baseline.documents}
    for run in (baseline, sink):  # an article in two feeds polled at once is fetched once
        assert len({d.id for d in run.documents}) == len(run.documents)
    baseline_letters = {(d.document_id, d.reason) for d in baseline.dead_letters}
    assert baseline_letters <= {(d.document_id, d.reason) for d in sink.dead_letters}

    # Every hostile feed is in health with its reason, backed off, and saved to disk.
    saved = PollState.load(state_file)
    for source, (path, expected) in zip(hostile_sources, FEED_CASES.items(), strict=True):
        health = saved.health[source.name]
        feed_state = saved.feeds[hostile.url(path)]
        if expected == "ok":
            assert health.consecutive_errors == 0, (path, health.last_error)
            assert health.last_success_at, path
        else:
            assert health.last_error is not None, path
            assert health.last_error.startswith(f"{expected}: "), (path, health.last_error)
            assert health.consecutive_errors == 3, path
            assert feed_state.errors == 3
            assert feed_state.next_poll_at > time.time() + 600  # backed off past the interval

    # The hostile feeds that are readable yielded their items; none was lost.
    by_origin: dict[str, Document | DeadLetter] = {}
    for record in [*sink.documents, *sink.dead_letters]:
        assert record.origin not in by_origin or record.origin.startswith(good.base), record
        by_origin.setdefault(record.origin, record)
    for page_path, (title, _) in NONASCII_PAGES.items():
        if page_path == "/nyheder/pærer":
            continue  # reached only through /page/redirect-nonascii
        link = (
            f"http://{IDN_HOST}:{hostile.port}{page_path}"
            if page_path == "/buch"
            else (hostile.url(page_path))
        )
        doc = by_origin[link]
        assert isinstance(doc, Document)
        assert doc.url == canonical_url(link)
        assert doc.url.isascii()
        assert title in doc.content
        assert hostile.hits(page_path) >= 1
    assert by_origin[hostile.url("/page/redirect-nonascii")].url == hostile.url(  # type: ignore[union-attr]
        "/nyheder/p%C3%A6rer"
    )
    for page_path, outcome in PAGE_CASES.items():
        record = by_origin[hostile.url(page_path)]
        if outcome == "dead_letter":
            assert isinstance(record, DeadLetter)
        else:
            assert isinstance(record, Document), (page_path, record)
            is_summary = record.content_type == CONTENT_TEXT
            assert is_summary == (outcome == "summary"), (page_path, record.notes)
    assert hostile.hits("/page/slow-body") == 3  # tried on three polls, then the summary

    bad_links = [r for r in by_origin.values() if "link cannot be fetched" in str(r)]
    assert len(bad_links) == 6
    assert sum(isinstance(r, DeadLetter) and r.reason == "bad_link" for r in bad_links) == 1
    surrogate = next(d for d in sink.documents if d.title and d.title.startswith("Broken"))
    surrogate.to_json()  # lone surrogates were replaced: the document can be serialised

    errors = sum(1 for expected in FEED_CASES.values() if expected != "ok")
    print(
        f"\nhostile run: {len(FEED_CASES)} feed cases ({errors} must fail) + "
        f"{len(PAGE_CASES)} page cases + 6 bad links, beside 3 good sources; "
        f"{len(sink.documents)} documents and {len(sink.dead_letters)} dead letters over 3 "
        f"cycles; good documents {len(good_docs)}/{len(baseline.documents)}; "
        f"poller alive after cycle 1: {alive_after_cycle}; {time.monotonic() - started:.1f} s"
    )


# ------------------------------------------------------------------ finding 1, one trigger each


@pytest.mark.parametrize(
    "link",
    [
        "http://h.test:99999/a",
        "http://[::1/x",
        "http://h.test:-1/",
        "http://h.test:0/",
        "http://[fe80::1%25eth0]/",
        "http://exa mple.test/",
        "javascript:alert(1)",
        "http://[zz]/",
        "http://" + "a" * 70 + ".test/",
        "http://h.test/\x00",
    ],
)
def test_canonicalize_gives_a_reason_instead_of_raising(link: str) -> None:
    result = canonicalize(link)
    assert result.url == ""
    assert result.reason == "bad_url"
    assert result.problem
    assert canonical_url(link) == ""


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        ("https://x.dk/nyheder/æbler", "https://x.dk/nyheder/%C3%A6bler"),
        ("https://x.ly/أخبار/خبر", "https://x.ly/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/%D8%AE%D8%A8%D8%B1"),
        ("http://Bücher.Example/a b", "http://xn--bcher-kva.example/a%20b"),
        ("https://x.dk/nyheder/%c3%a6bler#top", "https://x.dk/nyheder/%C3%A6bler"),
        ("http://[::1]:8080/p", "http://[::1]:8080/p"),
        ("http://user:pw@x.test/p?q=æ", "http://x.test/p?q=%C3%A6"),
        ("http://x.test/100%", "http://x.test/100%25"),
    ],
)  # fmt: skip
def test_canonical_urls_are_ascii_iris_encoded(link: str, canonical: str) -> None:
    assert canonical_url(link) == canonical
    assert canonical_url(canonical) == canonical


def test_non_ascii_item_links_are_fetched_percent_encoded(hostile: HostileSite) -> None:
    for path in NONASCII_PAGES:
        result = fetcher().get(hostile.url(path))
        assert result.status == 200
        assert result.url.isascii()
    assert hostile.requests == list(NONASCII_PAGES)
    idn = fetcher().get(f"http://{IDN_HOST}:{hostile.port}/buch")
    assert idn.url == f"http://xn--bcher-kva.test:{hostile.port}/buch"


def test_json_feed_oddities_are_read_or_refused_with_a_reason() -> None:
    version = '"version": "https://jsonfeed.org/version/1.1"'
    with pytest.raises(FeedParseError, match="items are a int") as items:
        parse_feed(("{" + version + ', "items": 5}').encode(), "u")
    assert items.value.reason == "bad_json_feed"
    with pytest.raises(FeedParseError, match="nested too deeply"):
        parse_feed(b"{" + version.encode() + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    feed = parse_feed(
        (
            "{" + version + ', "title": {"a": 1}, "authors": 5, "size": ' + "7" * 5000 + ", "
            '"items": [{"id": 5, "url": "http://x.test/a", "authors": 5, "title": ["t"], '
            '"date_published": ' + "1" * 5000 + '}, 5, null, {"url": {}}]}'
        ).encode(),
        "u",
    )
    assert feed.title == ""
    assert [(i.guid, i.link, i.title, i.authors, i.published) for i in feed.items] == [
        ("5", "http://x.test/a", "", (), None),
        ("", "", "", (), None),
    ]


def test_xml_encoding_undefined_and_unusable_charsets_still_parse() -> None:
    rss = (
        '<rss version="2.0"><channel><title>Ærø</title><item><guid>g</guid></item></channel></rss>'
    )
    declared = f'<?xml version="1.0" encoding="undefined"?>{rss}'.encode()
    assert parse_feed(declared, "u").title == "Ærø"
    for charset in ("undefined", "punycode", "rot13", "x-unknown", "idna"):
        feed = parse_feed(rss.encode(), "u", {"content-type": f"text/xml; charset={charset}"})
        assert feed.title == "Ærø", charset


def test_decode_page_ignores_charsets_that_cannot_decode_a_page() -> None:
    page = (
        "<p>Færgen til Ærø sejler igen efter stormen på Østersøen. Passagererne på øen "
        "har ventet i tre dage, og færgeselskabet undskylder forsinkelserne.</p>"
    )
    for charset in ("undefined", "punycode", "idna", "unicode_escape", "hex", "x-nonsense", "é"):
        assert decode_page(page.encode(), charset) == (page, "utf-8"), charset
        text, used = decode_page(page.encode("cp1252"), charset)
        assert "Færgen til Ærø" in text, (charset, used)
        assert used not in ("undefined", "punycode")
    meta = b'<meta charset="undefined"><p>caf\xe9</p>'
    assert "café" in decode_page(meta)[0]


def test_lying_and_truncated_encodings_are_clear_errors_raw_deflate_is_read(
    hostile: HostileSite,
) -> None:
    with pytest.raises(FetchError, match="not gzip data") as lie:
        fetcher().get(hostile.url("/page/gzip-lie"))
    assert (lie.value.reason, lie.value.transient) == ("bad_content_encoding", False)
    assert b"Raw deflate" in fetcher().get(hostile.url("/page/raw-deflate")).body
    with pytest.raises(FetchError) as cut:
        fetcher().get(hostile.url("/feed/gzip-truncated.xml"))
    assert cut.value.reason == "truncated"
    with pytest.raises(FetchError) as short:
        fetcher().get(hostile.url("/feed/short-body.xml"))
    assert short.value.reason == "truncated"
    with pytest.raises(FetchError) as bomb:
        fetcher(max_bytes=100_000).get(hostile.url("/feed/gzip-bomb.xml"))
    assert bomb.value.reason == "too_large"


def test_redirect_to_a_non_ascii_location_is_followed(hostile: HostileSite) -> None:
    result = fetcher().get(hostile.url("/page/redirect-nonascii"))
    assert result.url == hostile.url("/nyheder/p%C3%A6rer")
    assert result.redirects == (hostile.url("/page/redirect-nonascii"),)
    assert "Pærer".encode() in result.body


# ------------------------------------------------------------------ finding 3: deadlines


@pytest.mark.parametrize(
    ("path", "phase"),
    [("/feed/slow-headers.xml", "headers"), ("/feed/slow-body.xml", "body")],
)
def test_a_server_dripping_bytes_is_cut_off_at_the_deadline(
    hostile: HostileSite, path: str, phase: str
) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as slow:
        fetcher(timeout_s=1.0).get(hostile.url(path))
    elapsed = time.monotonic() - started
    assert slow.value.reason == "timeout"
    assert slow.value.transient
    assert "within 1 s" in slow.value.message
    assert phase in slow.value.message
    assert 0.9 <= elapsed < 1.8, elapsed  # the drip would last 40 s


def test_the_deadline_covers_every_redirect_hop(hostile: HostileSite) -> None:
    """A redirect into a slow body does not restart the clock."""

    class Hop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(0.6)
            self.send_response(302)
            self.send_header("Location", hostile.url("/feed/slow-body.xml"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hop)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(FetchError) as slow:
            fetcher(timeout_s=1.2).get(f"http://127.0.0.1:{server.server_address[1]}/")
        assert slow.value.reason == "timeout"
        assert time.monotonic() - started < 2.0
    finally:
        server.shutdown()
        server.server_close()


def test_feeds_check_reports_the_true_reason_and_time(
    hostile: HostileSite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipelines.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBEAM_FETCH_ALLOW", "127.0.0.1/32")
    monkeypatch.setenv("NEWSBEAM_FETCH_TIMEOUT_S", "1")
    started = time.monotonic()
    assert main(["feeds", "check", hostile.url("/feed/slow-body.xml")]) == 2
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert "timeout" in err
    assert "did not finish within 1 s" in err
    assert "reading the body" in err
    assert "Traceback" not in err
    assert elapsed < 2.5


# ------------------------------------------------------------------ finding 4: addresses


@pytest.mark.parametrize(
    "address",
    [
        "100.64.0.1", "100.100.100.200", "100.127.255.254",  # carrier-grade NAT, metadata
        "169.254.169.254", "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "0.0.0.0",
        "192.0.0.8", "192.0.2.1", "198.18.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255",
        "::1", "::", "fe80::1", "fec0::1", "fc00::1", "fd12::1", "ff02::1", "ff0e::1",
        "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:100.100.100.200",
        "2002:0a00:0001::1", "2002:a9fe:a9fe::1", "2002:7f00:0001::",  # 6to4 of private v4
        "64:ff9b::10.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::127.0.0.1",  # NAT64 of private
        "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8::1", "::10.0.0.1",
    ],
)  # fmt: skip
def test_non_public_addresses_and_their_ipv6_disguises_are_refused(address: str) -> None:
    assert not is_public_address(address)
    assert not AddressPolicy().allows("news.example", address)


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2002:0808:0808::1",
     "64:ff9b::8.8.8.8"],
)  # fmt: skip
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(address)


def test_allow_list_takes_networks_and_host_names_and_nothing_more() -> None:
    policy = AddressPolicy.from_setting(
        "127.0.0.1/32, 10.20.0.0/16 feeds.intranet.test *.corp.test"
    )
    assert policy.allows("anything", "127.0.0.1")
    assert policy.allows("anything", "::ffff:127.0.0.1")
    assert not policy.allows("anything", "127.0.0.2")
    assert policy.allows("anything", "10.20.3.4")
    assert not policy.allows("anything", "10.21.0.1")
    assert not policy.allows("anything", "169.254.169.254")
    assert policy.allows("feeds.intranet.test", "10.9.9.9")
    assert policy.allows("a.b.corp.test", "10.9.9.9")
    assert not policy.allows("corp.test.evil", "10.9.9.9")
    for bad in ("http://x/", "10.0.0.0/33", "a..b", "*"):
        with pytest.raises(AllowListError):
            AddressPolicy.from_setting(bad)


def test_deprecated_allow_private_addresses_means_loopback_and_private_only() -> None:
    legacy = AddressPolicy.from_setting("", allow_private_addresses=True)
    for allowed in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "::1", "fd00::1"):
        assert legacy.allows("h", allowed), allowed
    for refused in ("169.254.169.254", "100.100.100.200", "fe80::1", "fec0::1", "0.0.0.0"):
        assert not legacy.allows("h", refused), refused


def test_allowing_one_address_does_not_let_redirects_go_elsewhere(
    hostile: HostileSite, loopback_only: list[object]
) -> None:
    for path in (
        "/feed/redirect-private.xml",
        "/page/redirect-private",
        "/feed/redirect-metadata.xml",
    ):
        with pytest.raises(FetchError) as refused:
            fetcher().get(hostile.url(path))
        assert refused.value.reason == "private_address"
        assert "fetch_allow" in refused.value.message
    assert "/feed/nonascii-links.xml" not in hostile.requests


def test_the_address_is_checked_at_connect_time_once_per_connection(hostile: HostileSite) -> None:
    """DNS rebinding: the address that was checked is the one connected to."""
    answers = [["127.0.0.1"], ["100.100.100.200"]]
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls) - 1, 1)]

    result = fetcher(resolver=rebinding).get(f"http://rebind.test:{hostile.port}/page/good")
    assert result.status == 200
    assert calls == ["rebind.test"]
    with pytest.raises(FetchError) as second:
        fetcher(resolver=rebinding).get(f"http://rebind.test:{hostile.port}/page/good")
    assert second.value.reason == "private_address"


# ------------------------------------------------------------------ finding 6 and no loss


class _OldestFirstFeed:
    """A 150-item RSS feed, oldest item first, with an ETag; items have no page."""

    def __init__(self, items: int = 150) -> None:
        entries = "".join(
            f"<item><guid>item-{i:03d}</guid><title>Item {i}</title>"
            f"<description>Text of item {i}.</description></item>"
            for i in range(items)
        )
        self.body = (
            f'<rss version="2.0"><channel><title>Old</title>{entries}</channel></rss>'.encode()
        )
        self.etag = '"' + hashlib.sha1(self.body).hexdigest()[:12] + '"'
        self.conditional: list[bool] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                matched = self.headers.get("If-None-Match") == feed.etag
                feed.conditional.append(matched)
                self.send_response(304 if matched else 200)
                self.send_header("ETag", feed.etag)
                self.send_header("Content-Type", "application/rss+xml")
                body = b"" if matched else gzip.compress(feed.body)
                if body:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/old.xml"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_the_cap_limits_new_items_so_a_150_item_feed_drains_over_polls(tmp_path: Path) -> None:
    feed = _OldestFirstFeed(150)
    try:
        source = Source(name="old", feeds=(feed.url,), interval_s=600, fetch_pages=False)
        sink = CollectingSink()
        state = PollState(tmp_path / "state.json")
        poller = FeedPoller([source], state, fetcher(), sink, max_items_per_poll=100)
        first = poller.poll_once(force=True)[0]
        assert (first.new, first.backlog) == (100, 50)
        assert first.next_poll_in_s == 150  # a quarter of the interval: come back for the rest
        second = poller.poll_once(force=True)[0]
        assert (second.status, second.new, second.backlog) == ("ok", 50, 0)
        third = poller.poll_once(force=True)[0]
        assert (third.status, third.new) == ("not_modified", 0)
    finally:
        feed.close()
    assert feed.conditional == [False, False, True]  # no validators while a backlog was left
    titles = [d.title for d in sink.documents]
    assert titles == [f"Item {i}" for i in range(150)]


class _FlakySink(CollectingSink):
    """A sink that fails on its Nth publish, like Kafka going away mid-poll."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.calls = 0

    def publish(self, doc: Document) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("the broker went away")
        super().publish(doc)


def test_an_item_is_marked_seen_only_after_the_sink_took_it(tmp_path: Path) -> None:
    feed = _OldestFirstFeed(5)
    try:
        source = Source(name="old", feeds=(feed.url,), interval_s=600, fetch_pages=False)
        state_file = tmp_path / "state.json"
        sink = _FlakySink(fail_at=3)
        poller = FeedPoller([source], PollState(state_file), fetcher(), sink)
        [failed] = poller.poll_once(force=True)
        assert (failed.status, failed.error) == ("error", "internal_error")
        assert "the broker went away" in (failed.message or "")
        restarted = FeedPoller([source], PollState.load(state_file), fetcher(), sink)
        [recovered] = restarted.poll_once(force=True)
        assert (recovered.status, recovered.new) == ("ok", 3)
    finally:
        feed.close()
    assert [d.title for d in sink.documents] == [f"Item {i}" for i in range(5)]


def test_the_crash_guard_turns_any_failure_into_health_and_backoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile: HostileSite
) -> None:
    import connectors.feeds.poller as poller_module

    real_parse = poller_module.parse_feed

    def parse_or_crash(body: bytes, url: str = "", headers: object = None) -> object:
        if "raw-deflate" in url:
            raise RecursionError("a bug somewhere deep")
        return real_parse(body, url, headers)  # type: ignore[arg-type]

    monkeypatch.setattr(poller_module, "parse_feed", parse_or_crash)
    broken = Source(name="broken", feeds=(hostile.url("/feed/raw-deflate.xml"),), interval_s=600)
    fine = Source(name="fine", feeds=(hostile.url("/feed/charset-undefined.xml"),), interval_s=600)
    state_file = tmp_path / "state.json"
    sink = CollectingSink()
    reports = FeedPoller([broken, fine], PollState(state_file), fetcher(), sink).poll_once()
    by_source = {r.source: r for r in reports}
    assert by_source["broken"].error == "internal_error"
    assert by_source["broken"].next_poll_in_s == 600
    assert by_source["fine"].status == "ok"
    assert len(sink.documents) == 1
    saved = PollState.load(state_file)
    assert (
        saved.health["broken"].last_error == "internal_error: RecursionError: a bug somewhere deep"
    )
    assert saved.feeds[hostile.url("/feed/raw-deflate.xml")].next_poll_at > time.time() + 500


def test_the_run_loop_outlives_a_failing_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    poller = FeedPoller([], PollState(), fetcher(), CollectingSink())
    cycles: list[int] = []
    stop = threading.Event()

    def poll_once(force: bool = False) -> list[object]:
        cycles.append(1)
        if len(cycles) == 1:
            raise OSError("disk full")
        stop.set()
        return []

    monkeypatch.setattr(poller, "poll_once", poll_once)
    monkeypatch.setattr(poller, "clock", lambda: 0.0)
    thread = threading.Thread(target=poller.run, args=(stop, 0.01), daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert len(cycles) == 2


def test_the_deadline_bounds_a_name_lookup_that_hangs() -> None:
    def hanging(host: str, port: int) -> list[str]:
        time.sleep(5)
        return ["127.0.0.1"]

    started = time.monotonic()
    with pytest.raises(FetchError) as slow:
        fetcher(timeout_s=0.5, resolver=hanging).get("http://slow-dns.test/feed")
    assert slow.value.reason == "timeout"
    assert "resolving slow-dns.test" in slow.value.message
    assert time.monotonic() - started < 1.2


def test_an_item_without_guid_or_link_is_ingested_once() -> None:
    from connectors.http import FetchResult

    class OneFeed:
        def get(self, url: str, **_: object) -> FetchResult:
            body = (
                b'{"version": "https://jsonfeed.org/version/1.1", "items": '
                b'[{"content_text": "Only text, no id and no url."}]}'
            )
            return FetchResult(url, 200, {"content-type": "application/feed+json"}, body)

    source = Source(name="s", feeds=("http://feed.test/f.json",), interval_s=600)
    sink = CollectingSink()
    poller = FeedPoller([source], PollState(), OneFeed(), sink)  # type: ignore[arg-type]
    poller.poll_once(force=True)
    poller.poll_once(force=True)
    assert [d.content for d in sink.documents] == ["Only text, no id and no url."]


def test_a_page_to_retry_keeps_the_feed_from_answering_304(hostile: HostileSite) -> None:
    """Validators are stored only when no item waits for a retry, or it would never come."""
    from connectors.http import FetchResult

    body = _rss_with_one_item(hostile.url("/page/slow-body"))

    class ConditionalFeed:
        def __init__(self) -> None:
            self.real = fetcher(timeout_s=0.5)
            self.conditional: list[bool] = []

        def get(self, url: str, *, etag: str | None = None, **kw: object) -> FetchResult:
            if url.endswith("/page/slow-body"):
                return self.real.get(url)
            self.conditional.append(etag == '"v1"')
            if etag == '"v1"':
                return FetchResult(url, 304, {"etag": '"v1"'})
            return FetchResult(
                url, 200, {"etag": '"v1"', "content-type": "application/rss+xml"}, body
            )

    feed = ConditionalFeed()
    source = Source(name="s", feeds=("http://feed.test/rss",), interval_s=600)
    sink = CollectingSink()
    poller = FeedPoller([source], PollState(), feed, sink)  # type: ignore[arg-type]
    for _ in range(4):
        poller.poll_once(force=True)
    assert feed.conditional == [False, False, False, True]
    [doc] = sink.documents
    assert doc.notes == ["text from feed summary: page fetch failed (timeout)"]


def _rss_with_one_item(link: str) -> bytes:
    return (
        '<rss version="2.0"><channel><title>T</title><item><guid>slow</guid>'
        f"<link>{link}</link><description>The summary.</description></item></channel></rss>"
    ).encode()
