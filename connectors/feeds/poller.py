"""The poller: fetch due feeds, turn their new items into raw documents, keep state.

``FeedPoller`` polls each feed when it is due (conditional GET, backoff on errors
and on 429/503 with Retry-After), fetches the page of every item it has not seen
(by GUID and by canonical URL), and hands raw ``Document``s (or ``DeadLetter``s)
to a sink such as ``connectors.kafka.DocumentProducer``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from connectors.feeds.pages import HTML_TYPES, decode_page, text_codec
from connectors.feeds.parsing import FeedItem, FeedParseError, _summary_text, parse_feed
from connectors.feeds.sources import MIN_INTERVAL_S, Source
from connectors.feeds.state import FeedState, PollState
from connectors.feeds.urls import CanonicalURL, canonical_url, canonicalize
from connectors.http import FetchError, FetchResult, HttpFetcher
from transforms.document import (
    CONTENT_HTML,
    CONTENT_TEXT,
    DeadLetter,
    Document,
    document_id,
)

log = logging.getLogger(__name__)

STAGE = "fetch"
MAX_BACKOFF_S = 6 * 3600.0
MAX_RETRY_AFTER_S = 24 * 3600.0
MAX_ITEMS_PER_POLL = 100
PAGE_RETRIES = 3  # transient page failures retried on later polls before the summary is used

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


class Sink(Protocol):
    """Where polled documents go: ``DocumentProducer`` or a list in ``feeds check``."""

    def publish(self, doc: Document) -> None: ...

    def dead_letter(self, letter: DeadLetter) -> None: ...


@dataclass
class CollectingSink:
    """A sink that keeps what it is given (``feeds check``, tests)."""

    documents: list[Document] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def publish(self, doc: Document) -> None:
        self.documents.append(doc)

    def dead_letter(self, letter: DeadLetter) -> None:
        self.dead_letters.append(letter)


@dataclass(frozen=True)
class FeedPollReport:
    source: str
    feed: str
    status: str  # ok, not_modified, error
    items: int = 0  # items in the feed
    new: int = 0  # new items published or dead-lettered
    published: int = 0
    dead_letters: int = 0
    error: str | None = None  # the reason code of a failed poll
    message: str | None = None  # ... and its sentence
    next_poll_in_s: float = 0.0
    backlog: int = 0  # new items left for the next poll by the per-poll cap


def _seen_key(item: FeedItem) -> str:
    """The item's GUID; for an item with neither GUID nor link, a digest of its text.

    Without it such an item (a summary-only entry) would be new on every poll.
    """
    if item.guid:
        return item.guid
    return "text:" + document_id(content=f"{item.title}\n{item.summary}")


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _Ingested:
    """What became of one new item: the record to hand on (if any) and what to mark seen.

    ``mark`` is None when the item must be looked at again on a later poll (a
    transient page failure); otherwise its GUID and these URLs are marked seen,
    but only after the record reached the sink, so a crash cannot lose an item.
    """

    record: Document | DeadLetter | None
    mark: tuple[str, ...] | None
    retry: bool = False  # a transient page failure: look again on the next poll


class FeedPoller:
    """Polls due feeds and hands new items to a sink, keeping ``PollState`` up to date.

    Whatever one feed or page does, it ends as data: a dead letter for an item, a
    health error with a reason and a backoff for a feed. ``poll_feed`` never raises
    for a feed's content, and ``run`` never stops for one source.
    """

    def __init__(
        self,
        sources: Sequence[Source],
        state: PollState,
        fetcher: HttpFetcher,
        sink: Sink,
        *,
        clock: Callable[[], float] = time.time,
        max_workers: int = 4,
        max_items_per_poll: int = MAX_ITEMS_PER_POLL,
    ) -> None:
        self.sources = list(sources)
        self.state = state
        self.fetcher = fetcher
        self.sink = sink
        self.clock = clock
        self.max_workers = max_workers
        self.max_items_per_poll = max_items_per_poll
        self._sink_lock = threading.Lock()
        self._in_flight: set[str] = set()  # canonical URLs being ingested by some feed
        self._in_flight_lock = threading.Lock()

    def due(self, now: float | None = None) -> list[tuple[Source, str]]:
        now = self.clock() if now is None else now
        return [
            (source, url)
            for source in self.sources
            for url in source.feeds
            if self.state.feed(url).next_poll_at <= now
        ]

    def poll_once(self, *, force: bool = False) -> list[FeedPollReport]:
        """Poll every due feed (every feed with ``force``) once, hosts in parallel."""
        todo = [(s, url) for s in self.sources for url in s.feeds] if force else self.due()
        if not todo:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(self.max_workers, len(todo)))) as pool:
            reports = list(pool.map(lambda pair: self.poll_feed(*pair), todo))
        return reports

    def run(self, stop: threading.Event, idle_sleep_s: float = 30.0) -> None:
        """Poll until ``stop`` is set, sleeping until the next feed is due."""
        while not stop.is_set():
            try:
                for report in self.poll_once():
                    log.info("feed %s: %s", report.feed, report)
            except Exception as exc:  # noqa: BLE001 - the poller outlives any one cycle
                log.error("poll cycle failed (%s: %s); carrying on", type(exc).__name__, exc)
            upcoming = [self.state.feed(url).next_poll_at for s in self.sources for url in s.feeds]
            wait = min(upcoming, default=self.clock() + idle_sleep_s) - self.clock()
            stop.wait(max(1.0, min(idle_sleep_s, wait)))

    def poll_feed(self, source: Source, feed_url: str) -> FeedPollReport:
        """Poll one feed; any failure, even a bug, is a health error and a backoff."""
        now = self.clock()
        try:
            return self._poll_feed(source, feed_url, now)
        except (FetchError, FeedParseError) as exc:
            return self._failed(source, feed_url, exc.reason, exc.message, now, exc)
        except Exception as exc:  # the crash guard: one feed never stops the rest
            message = f"{type(exc).__name__}: {str(exc)[:300]}"
            log.warning("feed %s of %s failed unexpectedly: %s", feed_url, source.name, message)
            log.debug("the failure of %s in full", feed_url, exc_info=True)
            return self._failed(source, feed_url, "internal_error", message, now, None)

    def _poll_feed(self, source: Source, feed_url: str, now: float) -> FeedPollReport:
        fs = self.state.feed(feed_url)
        health = self.state.source_health(source.name)
        result = self.fetcher.get(
            feed_url, etag=fs.etag, last_modified=fs.last_modified, accept=FEED_ACCEPT
        )
        parsed = (
            None if result.not_modified else parse_feed(result.body, result.url, result.headers)
        )
        if parsed is not None and parsed.warning:
            log.warning("feed %s read despite errors: %s", feed_url, parsed.warning)
        unseen = [item for item in (parsed.items if parsed else ()) if self._is_new(feed_url, item)]
        todo, backlog = unseen[: self.max_items_per_poll], len(unseen) - self.max_items_per_poll
        published = dead = new = deferred = 0
        for item in todo:
            link = canonical_url(item.link) if item.link else ""
            if not self._claim(link):
                deferred += 1  # another feed is ingesting the same article right now
                continue
            try:
                outcome = self._ingest_guarded(source, feed_url, item)
                deferred += outcome.retry
                if outcome.record is not None:
                    new += 1
                    with self._sink_lock:
                        if isinstance(outcome.record, Document):
                            self.sink.publish(outcome.record)
                            published += 1
                        else:
                            self.sink.dead_letter(outcome.record)
                            dead += 1
                if outcome.mark is not None:
                    self.state.mark_seen(feed_url, _seen_key(item), outcome.mark)
            finally:
                self._release(link)
        backlog = max(0, backlog)
        if parsed is not None:
            # Validators only once every item was handled: a 304 must not hide the items
            # left by the cap or a page to retry.
            pending = backlog or deferred
            fs.etag = None if pending else result.etag
            fs.last_modified = None if pending else result.last_modified
        health.record_success(new, _stamp(now))
        fs.errors = 0
        delay = self._adapt(source, fs, new)
        if backlog:
            delay = max(MIN_INTERVAL_S, source.interval_s / 4)  # come back soon for the rest
            log.info("feed %s: %d new items left for the next poll", feed_url, backlog)
        fs.next_poll_at = now + delay
        self.state.save()
        return FeedPollReport(
            source=source.name,
            feed=feed_url,
            status="not_modified" if parsed is None else "ok",
            items=len(parsed.items) if parsed else 0,
            new=new,
            published=published,
            dead_letters=dead,
            next_poll_in_s=delay,
            backlog=backlog,
        )

    def _claim(self, link: str) -> bool:
        """Reserve an article for one feed: two feeds polled at once fetch it once."""
        if not link:
            return True
        with self._in_flight_lock:
            if link in self._in_flight:
                return False
            self._in_flight.add(link)
            return True

    def _release(self, link: str) -> None:
        with self._in_flight_lock:
            self._in_flight.discard(link)

    def _is_new(self, feed_url: str, item: FeedItem) -> bool:
        if not item.key and not item.summary.strip():
            return False  # an empty entry of a broken feed: nothing to ingest or to report
        link = canonical_url(item.link) if item.link else ""
        return not self.state.seen(feed_url, guid=_seen_key(item), url=link)

    @staticmethod
    def _adapt(source: Source, fs: FeedState, new_items: int) -> float:
        """Busy feeds are polled more often, quiet ones less, within [base/4, base*4]."""
        interval = fs.interval_s or source.interval_s
        if new_items >= 5:
            interval *= 0.5
        elif new_items > 0:
            interval *= 0.8
        else:
            interval *= 1.25
        low, high = max(MIN_INTERVAL_S, source.interval_s / 4), source.interval_s * 4
        fs.interval_s = min(high, max(low, interval))
        return fs.interval_s

    def _failed(
        self,
        source: Source,
        feed_url: str,
        reason: str,
        message: str,
        now: float,
        exc: Exception | None,
    ) -> FeedPollReport:
        """Record a failed poll in the source's health, back off, and save the state."""
        fs = self.state.feed(feed_url)
        fs.errors += 1
        delay = min(MAX_BACKOFF_S, source.interval_s * 2 ** min(fs.errors - 1, 30))
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after is not None:
            delay = max(delay, min(MAX_RETRY_AFTER_S, retry_after))
        fs.next_poll_at = now + delay
        self.state.source_health(source.name).record_error(f"{reason}: {message}", _stamp(now))
        try:
            self.state.save()
        except OSError as error:
            log.error("cannot save the poll state (%s); it is kept in memory", error)
        return FeedPollReport(
            source=source.name,
            feed=feed_url,
            status="error",
            error=reason,
            message=message,
            next_poll_in_s=delay,
        )

    def _ingest_guarded(self, source: Source, feed_url: str, item: FeedItem) -> _Ingested:
        """``_ingest``, with any surprise turned into a dead letter for this item alone."""
        try:
            return self._ingest(source, feed_url, item)
        except Exception as exc:  # one item never stops its feed
            log.warning("item %r of %s failed unexpectedly: %r", item.key, feed_url, exc)
            log.debug("the failure of item %r in full", item.key, exc_info=True)
            return _Ingested(
                DeadLetter(
                    stage=STAGE,
                    reason="bad_item",
                    message=(
                        f"the feed item could not be ingested ({type(exc).__name__}: "
                        f"{str(exc)[:300]})."
                    ),
                    origin=item.link[:2000] or feed_url,
                    document_id=document_id(content=item.key or item.summary),
                ),
                (canonical_url(item.link),),
            )

    def _ingest(self, source: Source, feed_url: str, item: FeedItem) -> _Ingested:
        """The raw document (or dead letter) for a new feed item, and what to mark seen."""
        link = canonicalize(item.link) if item.link else CanonicalURL("")
        if self.state.seen(feed_url, guid=_seen_key(item), url=link.url):
            return _Ingested(None, None)  # a duplicate earlier in this same feed
        hints = {**source.hints(), "feed": feed_url}
        if link.problem is not None:
            why = f"its link cannot be fetched ({link.problem})"
            return self._from_summary(feed_url, item, "", hints, why, reason="bad_link")
        if not item.link or not source.fetch_pages:
            why = "the item has no link" if not item.link else "the source does not fetch pages"
            return self._from_summary(feed_url, item, link.url, hints, why)
        fs = self.state.feed(feed_url)
        try:
            page = self.fetcher.get(item.link, accept=HTML_ACCEPT)
        except FetchError as exc:
            tries = fs.retries.get(item.key, 0) + 1
            if exc.transient and tries < PAGE_RETRIES:
                fs.retries[item.key] = tries  # try the page again on the next poll
                return _Ingested(None, None, retry=True)
            fs.retries.pop(item.key, None)
            why = f"page fetch failed ({exc.reason})"
            return self._from_summary(feed_url, item, link.url, hints, why)
        fs.retries.pop(item.key, None)
        final = canonical_url(page.url) or link.url
        if final != link.url and self.state.seen(feed_url, url=final):
            return _Ingested(None, (link.url,))
        return _Ingested(self._page_document(item, page, final, hints), (link.url, final))

    def _page_document(
        self, item: FeedItem, page: FetchResult, final: str, hints: dict[str, str]
    ) -> Document | DeadLetter:
        doc_id = document_id(url=final)
        if page.media_type and page.media_type not in HTML_TYPES:
            return DeadLetter(
                stage=STAGE,
                reason="not_html",
                message=f"{page.url} is {page.media_type[:100]}, not an HTML page; not ingested.",
                origin=item.link,
                document_id=doc_id,
            )
        content, charset = decode_page(page.body, page.charset)
        notes = [f"redirected from {item.link}"] if page.redirects else []
        if page.charset and charset != text_codec(page.charset):
            notes.append(f"decoded as {charset}: the declared {page.charset[:40]} did not fit")
        return Document(
            id=doc_id,
            origin=item.link,
            content=content,
            content_type=CONTENT_HTML,
            url=final,
            hints=hints,
            notes=notes,
            title=item.title or None,
            authors=list(item.authors),
            published=item.published,
        )

    def _from_summary(
        self,
        feed_url: str,
        item: FeedItem,
        link: str,
        hints: dict[str, str],
        why: str,
        *,
        reason: str = "page_unavailable",
    ) -> _Ingested:
        text = _summary_text(item.summary, item.summary_type)
        doc_id = document_id(url=link) if link else document_id(content=text or item.key)
        mark = (link,) if link else ()
        if not text:
            letter = DeadLetter(
                stage=STAGE,
                reason=reason,
                message=f"{why[0].upper()}{why[1:]}, and the feed item has no summary to fall "
                "back on.",
                origin=item.link[:2000] or feed_url,
                document_id=doc_id,
            )
            return _Ingested(letter, mark)
        document = Document(
            id=doc_id,
            origin=item.link[:2000] or feed_url,
            content=text,
            content_type=CONTENT_TEXT,
            url=link or None,
            hints=hints,
            notes=[f"text from feed summary: {why}"],
            title=item.title or None,
            authors=list(item.authors),
            published=item.published,
        )
        return _Ingested(document, mark)
