"""Feed sources, parsing, the safe fetcher and the poller, against a local HTTP server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.feeds import (
    PACKAGED_SOURCES,
    SILENT_AFTER_POLLS,
    CollectingSink,
    FeedPoller,
    PollState,
    Source,
    SourceHealth,
    SourcesError,
    append_source,
    canonical_url,
    decode_page,
    load_sources,
    parse_feed,
    parse_sources,
)
from connectors.http import FetchError, HttpFetcher, is_public_address, parse_retry_after
from tests.unit.test_feeds_server import FEEDS, FeedServer
from transforms.document import CONTENT_HTML, CONTENT_TEXT, document_id
from transforms.html import extract_html

UA = "newsbeam-test/0.1 (+https://pypi.org/project/newsbeam/)"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def fetcher(**options: object) -> HttpFetcher:
    settings: dict[str, object] = {
        "allow_private_addresses": True,
        "host_delay_s": 0.0,
        "timeout_s": 5.0,
    }
    settings.update(options)
    return HttpFetcher(UA, **settings)  # type: ignore[arg-type]


def poller(
    server: FeedServer, feeds: list[str], state: PollState, **source: object
) -> tuple[FeedPoller, CollectingSink]:
    sink = CollectingSink()
    src = Source(
        name="local-test",
        feeds=tuple(server.url(f) for f in feeds),
        language="en",
        country="GB",
        interval_s=600,
        **source,  # type: ignore[arg-type]
    )
    return FeedPoller([src], state, fetcher(), sink), sink


# ------------------------------------------------------------------ sources as data


def test_packaged_sources_load_with_several_languages() -> None:
    sources = load_sources(PACKAGED_SOURCES)
    assert {s.language for s in sources} >= {"en", "da", "nl", "de", "fr", "es"}
    assert all(s.feeds and s.feeds[0].startswith("https://") for s in sources)
    assert len({s.name for s in sources}) == len(sources)


def test_sources_file_parses_intervals_hints_and_extraction() -> None:
    [source] = parse_sources(
        """
sources:
  - name: demo
    feeds: https://example.org/rss
    language: DA
    country: dk
    interval: 2h
    extraction: {favor: recall, prune_xpath: "//aside"}
"""
    )
    assert source.feeds == ("https://example.org/rss",)
    assert source.interval_s == 7200
    assert source.hints() == {
        "source": "demo",
        "language": "da",
        "country": "DK",
        "extract_favor": "recall",
        "extract_prune_xpath": "//aside",
    }


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("sources:\n  - name: a\n", "has no feeds"),
        ("sources:\n  - name: a\n    feeds: [ftp://x/y]\n", r"not an http\(s\) URL"),
        ("sources:\n  - name: a\n    feeds: [https://x/]\n    interval: 5s\n", "be polite"),
        ("sources:\n  - name: a\n    feeds: [https://x/]\n    interval: often\n", "interval"),
        ("sources:\n  - {name: a, feeds: [https://x/]}\n  - {name: a, feeds: [https://y/]}\n",
         "more than once"),
        ("sources:\n  - {name: a, feeds: [https://x/], colour: red}\n", "unknown keys"),
        ("sources: [unclosed\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_bad_sources_files_are_refused_with_a_sentence(text: str, complaint: str) -> None:
    with pytest.raises(SourcesError, match=complaint):
        parse_sources(text)


def test_append_source_keeps_comments_and_starts_from_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    new = Source(name="local-paper", feeds=("https://paper.example/rss",), language="nl")
    append_source(path, new)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# newsbeam news sources")
    sources = load_sources(path)
    assert sources[-1] == Source(
        name="local-paper", feeds=("https://paper.example/rss",), language="nl"
    )
    assert len(sources) == len(load_sources(PACKAGED_SOURCES)) + 1
    with pytest.raises(SourcesError, match="already has"):
        append_source(path, new)
    with pytest.raises(SourcesError, match="not for editing"):
        append_source(PACKAGED_SOURCES, new)


# ------------------------------------------------------------------ URLs, feeds, charsets


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTPS://News.Example.COM:443/a?utm_source=rss&id=7&fbclid=x#comments",
         "https://news.example.com/a?id=7"),
        ("http://example.org:80", "http://example.org/"),
        ("http://example.org:8080/p?xtor=RSS-1&page=2", "http://example.org:8080/p?page=2"),
        ("https://example.org/p?q=a+b&gclid=1&mc_cid=2&utm_medium=x", "https://example.org/p?q=a+b"),
    ],
)  # fmt: skip
def test_canonical_url_drops_tracking_fragments_and_default_ports(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


def _feed(name: str, encoding: str = "utf-8") -> bytes:
    text = (FEEDS / name).read_text(encoding="utf-8").replace("{base}", "http://news.test")
    return text.encode(encoding)


def test_rss2_items_carry_guid_link_summary_date_and_author() -> None:
    feed = parse_feed(_feed("rss2.xml"), "http://news.test/rss2.xml")
    assert feed.title == "Meridian World News"
    first = feed.items[0]
    assert first.guid == "meridian-2024-0312-haftar"
    assert first.link.startswith("http://news.test/world/africa/haftar-forces-pull-back-tripoli?")
    assert first.published == "2024-03-12T09:30:00Z"
    assert first.authors == ("Sarah Whitfield",)
    assert feed.warning is None


def test_atom_and_json_feed_parse() -> None:
    atom = parse_feed(_feed("atom.xml"), "u", {"content-type": "application/atom+xml"})
    assert [i.guid for i in atom.items] == [
        "urn:uuid:dijk-lek-2024",
        "urn:uuid:greve-marseille-2024",
        "urn:uuid:sequia-2024",
    ]
    assert atom.items[1].title == "Marseille : les éboueurs reconduisent leur grève"
    assert atom.items[0].published == "2024-02-19T13:00:00Z"
    json_feed = parse_feed(_feed("jsonfeed.json"), "u", {"content-type": "application/feed+json"})
    assert json_feed.items[0].authors == ("Sarah Whitfield",)
    assert json_feed.items[1].published == "2024-02-01T11:05:00Z"
    assert json_feed.items[1].summary_type == CONTENT_TEXT


def test_broken_xml_is_read_leniently_with_a_warning() -> None:
    feed = parse_feed(_feed("broken.xml"), "u")
    assert feed.warning
    assert "not well-formed" in feed.warning
    assert feed.items[0].title == "Tripoli airport reopens & flights resume"


def test_feed_in_the_wrong_charset_still_reads_right() -> None:
    feed = parse_feed(_feed("wrong-charset.xml", "iso-8859-1"), "u")
    assert feed.title == "Nyheder fra Ærø og København"
    assert feed.items[0].title == "Færgen til Ærø sejler igen efter storm på Østersøen"


def test_html_that_is_not_a_feed_is_refused() -> None:
    from connectors.feeds import FeedParseError

    with pytest.raises(FeedParseError):
        parse_feed(b"<html><body><p>hello</p></body></html>", "u")
    with pytest.raises(FeedParseError, match="not a JSON Feed"):
        parse_feed(b'{"hello": 1}', "u", {"content-type": "application/json"})


def test_decode_page_trusts_valid_utf8_over_a_wrong_header_and_uses_meta() -> None:
    text = "<p>Færgen til Ærø</p>"
    assert decode_page(text.encode("utf-8"), "iso-8859-1") == (text, "utf-8")
    latin = f'<meta charset="windows-1252">{text}'.encode("cp1252")
    assert decode_page(latin, None)[0].endswith(text)


# ------------------------------------------------------------------ the fetcher


def test_private_addresses_are_refused_unless_allowed(feed_server: FeedServer) -> None:
    with pytest.raises(FetchError) as refused:
        fetcher(allow_private_addresses=False).get(feed_server.url("/rss2.xml"))
    assert refused.value.reason == "private_address"
    assert feed_server.requests == []
    assert not is_public_address("169.254.169.254")
    assert not is_public_address("::ffff:10.0.0.1")
    assert is_public_address("93.184.216.34")


def test_redirect_into_a_private_address_is_refused() -> None:
    answers = {"public.test": ["93.184.216.34"], "inner.test": ["10.1.2.3"]}
    safe = HttpFetcher(UA, resolver=lambda host, port: answers[host])
    with pytest.raises(FetchError) as refused:
        safe.get("http://inner.test/admin")
    assert refused.value.reason == "private_address"


def test_fetcher_caps_size_redirects_and_time(feed_server: FeedServer) -> None:
    with pytest.raises(FetchError) as big:
        fetcher(max_bytes=100_000).get(feed_server.url("/big"))
    assert big.value.reason == "too_large"
    with pytest.raises(FetchError) as loop:
        fetcher(max_redirects=3).get(feed_server.url("/loop"))
    assert loop.value.reason == "redirect_loop"
    with pytest.raises(FetchError) as chain:
        fetcher(max_redirects=3).get(feed_server.url("/chain/1"))
    assert chain.value.reason == "too_many_redirects"
    assert feed_server.hits("/chain/4") == 1
    assert feed_server.hits("/chain/5") == 0
    with pytest.raises(FetchError) as slow:
        fetcher(timeout_s=0.5).get(feed_server.url("/slow"))
    assert (slow.value.reason, slow.value.transient) == ("timeout", True)


def test_fetcher_sends_user_agent_and_follows_redirects(feed_server: FeedServer) -> None:
    result = fetcher().get(feed_server.url("/go/havvind"))
    assert result.url == feed_server.url("/erhverv/havvind-esbjerg?utm_source=redirect")
    assert result.redirects == (feed_server.url("/go/havvind"),)
    assert all(headers["user-agent"] == UA for _, headers in feed_server.requests)


def test_one_request_at_a_time_per_host_with_a_delay(feed_server: FeedServer) -> None:
    polite = fetcher(host_delay_s=0.3)
    started = time.monotonic()
    for _ in range(3):
        polite.get(feed_server.url("/atom.xml"))
    assert time.monotonic() - started >= 0.6


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412420.0) == 60.0
    assert parse_retry_after("soon") is None


# ------------------------------------------------------------------ the poller


def test_poll_publishes_clean_raw_documents(feed_server: FeedServer, tmp_path: Path) -> None:
    state = PollState.load(tmp_path / "state.json")
    poll, sink = poller(feed_server, ["/rss2.xml"], state)
    [report] = poll.poll_once()
    assert (report.status, report.items, report.published, report.dead_letters) == (
        "ok", 5, 4, 1,
    )  # fmt: skip

    by_title = {d.title: d for d in sink.documents}
    haftar = by_title["Haftar forces pull back from Tripoli outskirts after talks"]
    canonical = feed_server.url("/world/africa/haftar-forces-pull-back-tripoli")
    assert haftar.url == canonical
    assert haftar.id == document_id(url=canonical)
    assert haftar.origin.startswith(canonical + "?utm_source=rss")
    assert haftar.content_type == CONTENT_HTML
    assert "Ain Zara district" in haftar.content
    assert haftar.hints == {
        "source": "local-test",
        "language": "en",
        "country": "GB",
        "feed": feed_server.url("/rss2.xml"),
    }
    assert haftar.published == "2024-03-12T09:30:00Z"
    assert haftar.authors == ["Sarah Whitfield"]

    # A redirected link: the document's URL is where it landed, tracking removed.
    havvind = by_title["Ny havvindmøllepark ud for Esbjerg"]
    assert havvind.url == feed_server.url("/erhverv/havvind-esbjerg")
    assert havvind.notes == [f"redirected from {feed_server.url('/go/havvind')}"]

    # A page that cannot be had: the feed summary, said so in notes.
    sirte = by_title["Libya: ceasefire monitors arrive in Sirte"]
    assert sirte.content_type == CONTENT_TEXT
    assert sirte.content == (
        "Ceasefire monitors from the joint military committee arrived in Sirte on Wednesday."
        "\n\nThey will report to the UN mission within two weeks."
    )
    assert sirte.notes == ["text from feed summary: page fetch failed (http_404)"]

    # A PDF is not an article page: a dead letter with the reason.
    [letter] = sink.dead_letters
    assert (letter.stage, letter.reason) == ("fetch", "not_html")
    assert letter.origin == feed_server.url("/files/annual-report.pdf")

    # The raw page extracts to the article text.
    text = extract_html(haftar).text
    assert text.startswith("Forces loyal to the eastern commander Khalifa Haftar")
    assert "cookies" not in text
    assert "newsletter" not in text.lower()


def test_second_poll_is_conditional_and_fetches_nothing_again(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    state = PollState.load(tmp_path / "state.json")
    poll, sink = poller(feed_server, ["/rss2.xml"], state)
    poll.poll_once()
    fetched = len(feed_server.requests)
    [report] = poll.poll_once(force=True)
    assert report.status == "not_modified"
    assert len(feed_server.requests) == fetched + 1
    assert "if-none-match" in feed_server.requests[-1][1]
    assert len(sink.documents) == 4


def test_state_survives_a_restart(feed_server: FeedServer, tmp_path: Path) -> None:
    path = tmp_path / "feeds" / "state.json"
    first, _ = poller(feed_server, ["/rss2.xml"], PollState.load(path))
    first.poll_once()
    page_hits = feed_server.hits("/world/africa/haftar-forces-pull-back-tripoli")

    restored = PollState.load(path)
    feed = restored.feeds[feed_server.url("/rss2.xml")]
    assert feed.etag
    assert feed.last_modified
    assert feed.next_poll_at > time.time()
    assert restored.health["local-test"].items_total == 5
    # Forget the validators so the feed body comes back: the items are still seen.
    feed.etag = feed.last_modified = None
    second, sink = poller(feed_server, ["/rss2.xml"], restored)
    assert second.poll_once() == []  # not due yet
    [report] = second.poll_once(force=True)
    assert (report.status, report.new) == ("ok", 0)
    assert sink.documents == []
    assert feed_server.hits("/world/africa/haftar-forces-pull-back-tripoli") == page_hits


def test_same_article_in_two_feeds_is_one_document(feed_server: FeedServer, tmp_path: Path) -> None:
    poll, sink = poller(feed_server, ["/rss2.xml", "/feed.json", "/atom.xml"], PollState())
    poll.max_workers = 1
    poll.poll_once()
    urls = [d.url for d in sink.documents]
    assert len(urls) == len(set(urls)) == 7  # 4 from RSS, 1 new in JSON, 2 new in Atom
    assert feed_server.hits("/world/africa/haftar-forces-pull-back-tripoli") == 1
    assert feed_server.hits("/sociedad/sequia-cataluna") == 1
    languages = {extract_html(d).hints.get("html_lang") for d in sink.documents}
    assert languages >= {"en", "da", "de", "nl", "fr", "es"}


def test_503_backs_off_with_retry_after_then_recovers(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    state = PollState.load(tmp_path / "state.json")
    poll, _sink = poller(feed_server, ["/flaky.xml"], state)
    [failed] = poll.poll_once()
    assert (failed.status, failed.error) == ("error", "unavailable")
    assert failed.next_poll_in_s >= 120
    health = state.health["local-test"]
    assert health.last_error
    assert health.last_error.startswith("unavailable")
    assert poll.poll_once() == []  # backing off
    [recovered] = poll.poll_once(force=True)
    assert (recovered.status, recovered.published) == ("ok", 3)
    assert state.health["local-test"].consecutive_errors == 0


def test_broken_and_wrong_charset_feeds_still_yield_documents(feed_server: FeedServer) -> None:
    poll, sink = poller(feed_server, ["/broken.xml", "/wrong-charset.xml"], PollState())
    reports = {r.feed.rsplit("/", 1)[1]: r for r in poll.poll_once()}
    assert reports["broken.xml"].status == "ok"
    assert reports["wrong-charset.xml"].status == "ok"
    titles = {d.title for d in sink.documents}
    assert "Færgen til Ærø sejler igen efter storm på Østersøen" in titles
    assert "Tripoli airport reopens & flights resume" in titles


def test_feed_on_a_private_address_is_a_health_error(feed_server: FeedServer) -> None:
    state = PollState()
    source = Source(name="inner", feeds=(feed_server.url("/rss2.xml"),))
    poll = FeedPoller([source], state, fetcher(allow_private_addresses=False), CollectingSink())
    [report] = poll.poll_once()
    assert report.error == "private_address"
    assert feed_server.requests == []


def test_intervals_adapt_to_how_busy_a_feed_is() -> None:
    from connectors.feeds import FeedState

    source = Source(name="s", feeds=("https://x/",), interval_s=800)
    busy, quiet = FeedState(), FeedState()
    for _ in range(10):
        FeedPoller._adapt(source, busy, 8)
        FeedPoller._adapt(source, quiet, 0)
    assert busy.interval_s == 200  # a quarter of the base
    assert quiet.interval_s == 3200  # four times the base
    assert FeedPoller._adapt(source, FeedState(), 1) == 640


def test_health_warns_when_a_usually_busy_source_goes_silent() -> None:
    health = SourceHealth()
    for _ in range(5):
        health.record_success(4, "t")
    for _ in range(SILENT_AFTER_POLLS - 1):
        health.record_success(0, "t")
    assert health.warning is None
    health.record_success(0, "t")
    assert health.warning
    assert health.warning.startswith("silent")
    quiet = SourceHealth()
    for _ in range(20):
        quiet.record_success(0, "t")
    assert quiet.warning is None  # never yielded: not a change worth a warning
    for _ in range(3):
        quiet.record_error("timeout: slow", "t")
    assert quiet.warning
    assert quiet.warning.startswith("failing")


def test_seen_sets_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import connectors.feeds.state as feeds

    monkeypatch.setattr(feeds, "SEEN_GUIDS_PER_FEED", 3)
    monkeypatch.setattr(feeds, "SEEN_URLS", 4)
    state = PollState()
    for i in range(10):
        state.mark_seen("f", f"g{i}", [f"https://x/{i}"])
    assert state.feeds["f"].guids == ["g7", "g8", "g9"]
    assert not state.seen("f", guid="g6")
    assert state.seen("f", guid="g9")
    assert state.seen("f", url="https://x/6")
    assert not state.seen("f", url="https://x/5")
