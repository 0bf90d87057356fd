"""``newsbeam feeds add|list|check|poll``: live RSS/Atom/JSON feeds into the raw topic."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from pipelines.settings import Settings

if TYPE_CHECKING:
    from connectors.feeds import FeedPoller, Sink, Source
    from connectors.http import HttpFetcher


def _fetcher(settings: Settings) -> HttpFetcher:
    from connectors.address_policy import AddressPolicy
    from connectors.http import HttpFetcher

    if settings.allow_private_addresses:
        print(
            "newsbeam feeds: allow_private_addresses is deprecated and now allows loopback and "
            "private ranges only; list the networks or hosts you need in fetch_allow "
            "(docs/feeds.md).",
            file=sys.stderr,
        )
    return HttpFetcher(
        settings.user_agent,
        max_bytes=settings.max_document_bytes,
        timeout_s=settings.fetch_timeout_s,
        address_policy=AddressPolicy.from_setting(
            settings.fetch_allow, settings.allow_private_addresses
        ),
    )


def _sources(settings: Settings) -> list[Source]:
    from connectors.feeds import load_sources, sources_path

    return load_sources(sources_path(settings.sources_file))


def build_poller(settings: Settings, sink: Sink) -> FeedPoller:
    """The poller the settings describe: their sources file, state under data_dir/feeds/."""
    from connectors.feeds import FeedPoller, PollState, state_path

    state = PollState.load(state_path(settings.data_dir))
    return FeedPoller(_sources(settings), state, _fetcher(settings), sink)


def _fail(message: str) -> int:
    print(f"newsbeam feeds: {message}", file=sys.stderr)
    return 2


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.feeds import PollState, SourcesError, format_interval, state_path

    try:
        sources = _sources(settings)
    except SourcesError as exc:
        return _fail(str(exc))
    state = PollState.load(state_path(settings.data_dir))
    print(f"{'SOURCE':<20} {'LANG':<4} {'CC':<3} {'EVERY':<6} {'ITEMS/POLL':>10}  LAST OK / ERROR")
    warned = 0
    for source in sources:
        health = state.health.get(source.name)
        last = "never polled"
        per_poll = "-"
        if health is not None:
            last = f"ok {health.last_success_at or 'never'}"
            if health.last_error:
                last += f"; error {health.last_error_at}: {health.last_error}"
            per_poll = f"{health.items_per_poll:.1f}"
        print(
            f"{source.name:<20} {source.language or '-':<4} {source.country or '-':<3} "
            f"{format_interval(source.interval_s):<6} {per_poll:>10}  {last}"
        )
        for url in source.feeds:
            print(f"{'':<20} {url}")
        if health is not None and health.warning:
            warned += 1
            print(f"{'':<20} WARNING {health.warning}")
    return 1 if warned else 0


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.feeds import Source, SourcesError, append_source, parse_interval

    if not settings.sources_file:
        return _fail(
            "no sources file of your own is set; set NEWSBEAM_SOURCES_FILE=sources.yaml "
            "(or sources_file in newsbeam.toml) and run this again: the file starts as a "
            "copy of the packaged defaults."
        )
    try:
        source = Source(
            name=args.name,
            feeds=tuple(args.url),
            language=(args.language or "").lower(),
            country=(args.country or "").upper(),
            interval_s=parse_interval(args.interval),
        )
        append_source(settings.sources_file, source)
    except (SourcesError, ValueError) as exc:
        return _fail(str(exc))
    print(f"added {source.name} ({', '.join(source.feeds)}) to {settings.sources_file}")
    return 0


def _first_words(text: str, count: int = 25) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def _describe(doc: Any) -> None:
    from transforms.document import PoisonInputError
    from transforms.html import extract_html

    try:
        extracted = extract_html(doc)
    except PoisonInputError as exc:
        print(f"- REJECT {doc.origin}\n    extract/{exc.reason}: {exc.message}")
        return
    text = extracted.text or extracted.content
    print(f"- {extracted.title or '(no title)'}")
    print(f"    url:   {extracted.url or extracted.origin}")
    lang = extracted.hints.get("html_lang") or extracted.hints.get("language") or "?"
    print(f"    lang:  {lang}   published: {extracted.published or '?'}")
    print(f"    text:  {len(text)} characters: {_first_words(text)}")
    for note in extracted.notes:
        print(f"    note:  {note}")


def _check(args: argparse.Namespace, settings: Settings) -> int:
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
    from connectors.http import FetchError
    from transforms.document import CONTENT_HTML, Document, document_id

    fetcher = _fetcher(settings)
    try:
        first = fetcher.get(args.url)
    except FetchError as exc:
        return _fail(f"{args.url}: {exc.reason}: {exc.message}")
    try:
        feed = parse_feed(first.body, first.url, first.headers)
    except FeedParseError as exc:
        if first.media_type not in ("text/html", "application/xhtml+xml"):
            return _fail(f"{args.url} is neither a feed nor an HTML page: {exc.message}")
        url = canonical_url(first.url)
        content, _ = decode_page(first.body, first.charset)
        print(f"{args.url} is an HTML page; this is what would be ingested (nothing published):")
        _describe(
            Document(
                id=document_id(url=url),
                origin=args.url,
                content=content,
                content_type=CONTENT_HTML,
                url=url,
            )
        )
        return 0
    print(f"{args.url}: feed {feed.title!r} with {len(feed.items)} items", end="")
    print(f" (read despite: {feed.warning})" if feed.warning else "")
    print(f"the first {args.limit} as they would be ingested (nothing published):")
    sink = CollectingSink()
    source = Source(name="check", feeds=(args.url,))
    poller = FeedPoller([source], PollState(), fetcher, sink, max_items_per_poll=args.limit)
    report = poller.poll_feed(source, args.url)
    if report.status == "error":
        return _fail(f"{args.url}: {report.error}: {report.message}")
    for doc in sink.documents:
        _describe(doc)
    for letter in sink.dead_letters:
        print(f"- REJECT {letter.origin}\n    {letter.stage}/{letter.reason}: {letter.message}")
    return 0 if sink.documents else 1


def _poll(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.feeds import SourcesError
    from connectors.kafka import DocumentProducer, KafkaUnavailableError, ensure_topics

    try:
        ensure_topics(
            settings.kafka_bootstrap,
            [settings.raw_topic, settings.dlq_topic],
            security=settings.kafka_options,
        )
        producer = DocumentProducer(
            settings.kafka_bootstrap,
            settings.raw_topic,
            settings.dlq_topic,
            **settings.kafka_options,
        )
    except KafkaUnavailableError as exc:
        return _fail(str(exc))
    try:
        with producer:
            poller = build_poller(settings, producer)
            if args.once:
                reports = poller.poll_once(force=args.force)
                for r in reports:
                    detail = f"error {r.error}" if r.error else f"{r.items} items, {r.new} new"
                    if r.backlog:
                        detail += f" ({r.backlog} more next poll)"
                    print(
                        f"{r.source:<20} {r.status:<12} {detail}; published {r.published}, "
                        f"dead letters {r.dead_letters}; next in {r.next_poll_in_s:.0f} s  {r.feed}"
                    )
                    if r.message:
                        print(f"{'':<20} {r.message}")
                if not reports:
                    print("no feed is due; use --force to poll every feed now")
                return 1 if reports and all(r.status == "error" for r in reports) else 0
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            try:
                poller.run(stop)
            except KeyboardInterrupt:
                stop.set()
            return 0
    except SourcesError as exc:
        return _fail(str(exc))


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "feeds",
        help="poll RSS/Atom/JSON feeds and publish their articles to the raw topic",
        description="Live feeds: sources come from the sources file (NEWSBEAM_SOURCES_FILE; "
        "default: the packaged examples); poll state and health live under "
        "data_dir/feeds/.",
    )
    actions = parser.add_subparsers(dest="feeds_action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list", help="show sources and their health (exit 1 when a source needs attention)"
    )
    listing.set_defaults(handler=_list)

    add = actions.add_parser("add", help="append a source to your sources file")
    add.add_argument("url", nargs="+", help="feed URL(s) of the source")
    add.add_argument("--name", required=True, help="unique source name, e.g. libya-observer")
    add.add_argument("--language", help="expected ISO 639-1 language, e.g. en")
    add.add_argument("--country", help="ISO 3166-1 country of the publisher, e.g. LY")
    add.add_argument("--interval", default="15m", help="base poll interval (default 15m)")
    add.set_defaults(handler=_add)

    check = actions.add_parser(
        "check", help="fetch a feed or page once and print what would be ingested"
    )
    check.add_argument("url")
    check.add_argument("--limit", type=int, default=3, help="feed items to fetch (default 3)")
    check.set_defaults(handler=_check)

    poll = actions.add_parser("poll", help="poll feeds and publish new articles to Kafka")
    poll.add_argument("--once", action="store_true", help="poll the due feeds once and exit")
    poll.add_argument("--force", action="store_true", help="with --once: poll every feed now")
    poll.set_defaults(handler=_poll)
