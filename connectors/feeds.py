"""Live feeds: sources as data, RSS/Atom/JSON Feed polling, poll state and health.

An operator lists sources in a YAML file (the packaged ``sources.yaml`` is the
default)::

    sources:
      - name: example-news
        feeds: [https://example.org/rss.xml]
        language: en
        country: GB
        interval: 15m          # base poll interval; adapted to how busy the feed is
        extraction: {favor: precision, prune_xpath: "//aside"}

``FeedPoller`` polls each feed when it is due (conditional GET, backoff on errors
and on 429/503 with Retry-After), fetches the page of every item it has not seen
(by GUID and by canonical URL), and hands raw ``Document``s (or ``DeadLetter``s)
to a sink such as ``connectors.kafka.DocumentProducer``. Its ``PollState`` — HTTP
validators, bounded seen sets, schedule and per-source health — is a JSON file
under ``data_dir/feeds/`` so a restart neither refetches nor forgets a sick source.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import yaml

from connectors.http import FetchError, FetchResult, HttpFetcher
from transforms.document import (
    CONTENT_HTML,
    CONTENT_TEXT,
    DeadLetter,
    Document,
    document_id,
)

log = logging.getLogger(__name__)

PACKAGED_SOURCES = Path(__file__).with_name("sources.yaml")
STAGE = "fetch"
MIN_INTERVAL_S = 60.0
MAX_BACKOFF_S = 6 * 3600.0
MAX_RETRY_AFTER_S = 24 * 3600.0
SEEN_GUIDS_PER_FEED = 2_000
SEEN_URLS = 50_000
MAX_ITEMS_PER_POLL = 100
PAGE_RETRIES = 3  # transient page failures retried on later polls before the summary is used
SILENT_AFTER_POLLS = 6
HISTORY = 20

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml+xml")

# Query parameters that only track the reader; removed so one article has one URL.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ocid", "cmpid", "xtor", "smid",
        "ito", "ref_src", "ref_url", "ns_mchannel", "ns_source", "ns_campaign",
        "ns_linkname", "ns_fee", "at_medium", "at_campaign", "at_link", "at_ptr",
        "_ga", "_gl", "spm", "sr_share", "fromrss",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "at_custom", "pk_", "mtm_", "hmb_")


class SourcesError(ValueError):
    """A bad sources file; the message says which entry and what to fix."""


class FeedParseError(Exception):
    """A feed body that yields no items because it is not a feed we can read."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# ---------------------------------------------------------------- sources as data


@dataclass(frozen=True)
class Source:
    """One publisher: its feeds, what language/country to expect, how often to look."""

    name: str
    feeds: tuple[str, ...]
    language: str = ""
    country: str = ""
    interval_s: float = 900.0
    extraction: dict[str, str] = field(default_factory=dict)
    fetch_pages: bool = True

    def hints(self) -> dict[str, str]:
        hints = {"source": self.name}
        if self.language:
            hints["language"] = self.language
        if self.country:
            hints["country"] = self.country
        for key, value in self.extraction.items():
            hints[f"extract_{key}"] = value
        return hints

    def to_yaml_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "feeds": list(self.feeds)}
        if self.language:
            entry["language"] = self.language
        if self.country:
            entry["country"] = self.country
        entry["interval"] = format_interval(self.interval_s)
        if self.extraction:
            entry["extraction"] = dict(self.extraction)
        if not self.fetch_pages:
            entry["fetch_pages"] = False
        return entry


_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EXTRACTION_KEYS = {"favor", "prune_xpath"}


def parse_interval(value: Any) -> float:
    """Seconds from ``900``, ``"90s"``, ``"15m"``, ``"2h"`` or ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an interval")
    if isinstance(value, int | float):
        return float(value)
    match = _INTERVAL.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not an interval like 900, 90s, 15m, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def format_interval(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def _source_from_entry(entry: Any, where: str) -> Source:
    if not isinstance(entry, dict):
        raise SourcesError(f"{where} is not a mapping with name and feeds.")
    name = str(entry.get("name") or "")
    if not _NAME.match(name):
        raise SourcesError(
            f"{where} has name {name!r}; use letters, digits, '-', '_' or '.' (max 64)."
        )
    where = f"{where} ({name})"
    feeds = entry.get("feeds", entry.get("feed"))
    if isinstance(feeds, str):
        feeds = [feeds]
    if not feeds or not isinstance(feeds, list):
        raise SourcesError(f"{where} has no feeds; add `feeds: [https://...]`.")
    for url in feeds:
        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourcesError(f"{where} feed {url!r} is not an http(s) URL.")
    try:
        interval = parse_interval(entry.get("interval", 900))
    except ValueError as exc:
        raise SourcesError(f"{where}: interval {exc}.") from None
    if interval < MIN_INTERVAL_S:
        raise SourcesError(
            f"{where}: interval {interval:g} s is below {MIN_INTERVAL_S:g} s; be polite."
        )
    extraction = entry.get("extraction") or {}
    if not isinstance(extraction, dict) or set(extraction) - _EXTRACTION_KEYS:
        raise SourcesError(
            f"{where}: extraction may only set {sorted(_EXTRACTION_KEYS)}, got {extraction!r}."
        )
    if extraction.get("favor", "precision") not in ("precision", "recall"):
        raise SourcesError(f"{where}: extraction favor must be precision or recall.")
    unknown = set(entry) - {
        "name", "feeds", "feed", "language", "country", "interval", "extraction", "fetch_pages"
    }  # fmt: skip
    if unknown:
        raise SourcesError(f"{where} has unknown keys {sorted(unknown)}.")
    return Source(
        name=name,
        feeds=tuple(str(url) for url in feeds),
        language=str(entry.get("language") or "").lower(),
        country=str(entry.get("country") or "").upper(),
        interval_s=interval,
        extraction={str(k): str(v) for k, v in extraction.items()},
        fetch_pages=bool(entry.get("fetch_pages", True)),
    )


def parse_sources(text: str, where: str = "sources file") -> list[Source]:
    """Sources from YAML text; raises ``SourcesError`` saying what to fix."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourcesError(f"{where} is not valid YAML: {exc}.") from None
    if data is None:
        return []
    entries = data.get("sources") if isinstance(data, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise SourcesError(f"{where} must have a top-level `sources:` list.")
    sources = [_source_from_entry(e, f"{where} entry {i + 1}") for i, e in enumerate(entries)]
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourcesError(f"{where} names {duplicates} more than once; names must be unique.")
    return sources


def sources_path(sources_file: str) -> Path:
    """The operator's sources file, or the packaged default when the setting is empty."""
    return Path(sources_file) if sources_file else PACKAGED_SOURCES


def load_sources(path: str | Path) -> list[Source]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesError(
            f"cannot read sources file {path}: {exc.strerror}; set NEWSBEAM_SOURCES_FILE."
        ) from None
    return parse_sources(text, where=str(path))


def append_source(path: str | Path, source: Source) -> None:
    """Add a source to an operator's file, keeping its comments; start it from the defaults."""
    path = Path(path)
    if path.resolve() == PACKAGED_SOURCES.resolve():
        raise SourcesError(
            "the packaged sources file is not for editing; set NEWSBEAM_SOURCES_FILE to your "
            "own file (it starts as a copy of the defaults)."
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PACKAGED_SOURCES.read_text(encoding="utf-8"), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    existing = parse_sources(text, where=str(path))
    if any(s.name == source.name for s in existing):
        raise SourcesError(f"{path} already has a source named {source.name!r}.")
    _source_from_entry(source.to_yaml_entry(), "the new source")
    if not existing and "sources:" not in text:
        text = text.rstrip("\n") + ("\n" if text.strip() else "") + "sources:\n"
    block = yaml.safe_dump([source.to_yaml_entry()], allow_unicode=True, sort_keys=False)
    indented = "".join(f"  {line}\n" for line in block.splitlines())
    if re.search(r"^sources:\s*\[\]\s*$", text, flags=re.MULTILINE):
        text = re.sub(r"^sources:\s*\[\]\s*$", "sources:", text, flags=re.MULTILINE)
    path.write_text(text.rstrip("\n") + "\n" + indented, encoding="utf-8")
    if len(parse_sources(path.read_text(encoding="utf-8"), str(path))) != len(existing) + 1:
        raise SourcesError(f"could not append to {path}; add the source by hand.")


# ---------------------------------------------------------------- URLs and items


def canonical_url(url: str) -> str:
    """One spelling per article: lower-case host, no default port, fragment or tracking."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


@dataclass(frozen=True)
class FeedItem:
    guid: str
    link: str
    title: str = ""
    summary: str = ""
    summary_type: str = CONTENT_HTML
    published: str | None = None
    authors: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.guid or self.link


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    items: tuple[FeedItem, ...]
    warning: str | None = None  # e.g. broken XML that was still readable


def _iso(value: Any) -> str | None:
    """An ISO-8601 UTC timestamp from a feedparser struct_time or an RFC 3339/822 string."""
    if value is None or value == "":
        return None
    if isinstance(value, time.struct_time):
        return datetime(*value[:6], tzinfo=UTC).isoformat().replace("+00:00", "Z")
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json_feed(data: dict[str, Any], base_url: str) -> ParsedFeed:
    items = []
    for raw in data.get("items") or []:
        if not isinstance(raw, dict):
            continue
        link = str(raw.get("url") or raw.get("external_url") or "")
        authors = raw.get("authors") or ([raw["author"]] if raw.get("author") else [])
        if raw.get("content_html"):
            summary, kind = str(raw["content_html"]), CONTENT_HTML
        elif raw.get("summary"):
            summary, kind = str(raw["summary"]), CONTENT_TEXT
        else:
            summary, kind = str(raw.get("content_text") or ""), CONTENT_TEXT
        items.append(
            FeedItem(
                guid=str(raw.get("id") or link),
                link=link,
                title=str(raw.get("title") or ""),
                summary=summary,
                summary_type=kind,
                published=_iso(raw.get("date_published") or raw.get("date_modified")),
                authors=tuple(
                    str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")
                ),
            )
        )
    return ParsedFeed(title=str(data.get("title") or ""), items=tuple(items))


def parse_feed(body: bytes, url: str = "", headers: dict[str, str] | None = None) -> ParsedFeed:
    """RSS 0.9x/1.0/2.0 and Atom with feedparser; JSON Feed with json.

    feedparser reads broken XML with its lenient parser; that is a warning, not a
    failure, as long as items come out. Raises ``FeedParseError`` when none do.
    """
    headers = headers or {}
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media.endswith("json") or body.lstrip()[:1] == b"{":
        try:
            data = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FeedParseError("bad_json_feed", f"{url} is not valid JSON: {exc}.") from None
        if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
            raise FeedParseError("not_a_feed", f"{url} is JSON but not a JSON Feed.")
        return _json_feed(data, url)
    parsed = feedparser.parse(
        body, response_headers={k: v for k, v in headers.items()}, sanitize_html=True
    )
    items = []
    for entry in parsed.entries:
        link = str(entry.get("link") or "")
        summary_detail = entry.get("summary_detail") or {}
        content = entry.get("content") or []
        summary = str(entry.get("summary") or "")
        kind = str(summary_detail.get("type") or CONTENT_HTML)
        if content and len(str(content[0].get("value") or "")) > len(summary):
            summary, kind = str(content[0].get("value")), str(content[0].get("type") or kind)
        authors = [str(a.get("name")) for a in entry.get("authors") or [] if a.get("name")]
        if not authors and entry.get("author"):
            authors = [str(entry.get("author"))]
        items.append(
            FeedItem(
                guid=str(entry.get("id") or link),
                link=link,
                title=str(entry.get("title") or ""),
                summary=summary,
                summary_type=CONTENT_HTML if "html" in kind else CONTENT_TEXT,
                published=_iso(entry.get("published_parsed") or entry.get("updated_parsed")),
                authors=tuple(authors),
            )
        )
    warning = None
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        warning = f"{problem.__class__.__name__}: {problem}"
        if not items:
            raise FeedParseError("unparseable_feed", f"{url} is not a readable feed ({warning}).")
    elif not items and not parsed.get("version"):
        raise FeedParseError("not_a_feed", f"{url} is not an RSS, Atom or JSON feed.")
    return ParsedFeed(
        title=str(parsed.feed.get("title") or ""), items=tuple(items), warning=warning
    )


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_page(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """Text of a page and the charset used: BOM, then HTTP header, then <meta>, then guess.

    Servers lie: non-ASCII bytes that are valid UTF-8 are read as UTF-8 whatever
    is declared (Latin-1 text is practically never valid UTF-8), a declared charset
    that does not decode is ignored, and the last guess is charset_normalizer's.
    """
    for bom, bom_codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16")):
        if body.startswith(bom):
            return body.decode(bom_codec, errors="replace").lstrip("\ufeff"), bom_codec
    if not body.isascii():
        with contextlib.suppress(UnicodeDecodeError):
            return body.decode("utf-8"), "utf-8"
    meta = _META_CHARSET.search(body[:4096])
    declared = [_codec(header_charset), _codec(meta.group(1).decode("ascii")) if meta else None]
    for name in [*declared, "utf-8"]:
        if name:
            with contextlib.suppress(UnicodeDecodeError, LookupError):
                return body.decode(name), name
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    name = (best.encoding if best is not None else None) or "cp1252"
    return body.decode(name, errors="replace"), name


def _summary_text(summary: str, kind: str) -> str:
    """Plain text of a feed summary, one paragraph per block (lxml, not regexes)."""
    if kind != CONTENT_HTML:
        return "\n\n".join(p.strip() for p in summary.split("\n\n") if p.strip())
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(summary, create_parent="div")
    except Exception:  # noqa: BLE001 - lxml raises several types on garbage; summary unusable
        return ""
    for element in root.iter("p", "div", "li", "br", "h1", "h2", "h3", "blockquote"):
        element.tail = "\n\n" + (element.tail or "")
    text = str(root.text_content())
    blocks = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return "\n\n".join(b for b in blocks if b)


# ---------------------------------------------------------------- poll state


@dataclass
class SourceHealth:
    """How a source has been doing; ``warning`` says when an operator should look."""

    last_success_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    consecutive_errors: int = 0
    polls: int = 0
    polls_with_items: int = 0
    polls_since_new: int = 0
    items_total: int = 0
    recent_items: list[int] = field(default_factory=list)  # new items per poll, newest last

    @property
    def items_per_poll(self) -> float:
        return sum(self.recent_items) / len(self.recent_items) if self.recent_items else 0.0

    @property
    def warning(self) -> str | None:
        if self.consecutive_errors >= 3:
            return f"failing: {self.consecutive_errors} polls in a row failed ({self.last_error})"
        usually_yields = self.polls_with_items >= 3 and self.polls_with_items * 3 >= self.polls
        if usually_yields and self.polls_since_new >= SILENT_AFTER_POLLS:
            return (
                f"silent: no new items in the last {self.polls_since_new} polls, though it "
                f"yielded items in {self.polls_with_items} of {self.polls}; check the feed URL"
            )
        return None

    def record_success(self, new_items: int, at: str) -> None:
        self.last_success_at = at
        self.consecutive_errors = 0
        self.polls += 1
        self.items_total += new_items
        self.recent_items = [*self.recent_items, new_items][-HISTORY:]
        if new_items:
            self.polls_with_items += 1
            self.polls_since_new = 0
        else:
            self.polls_since_new += 1

    def record_error(self, message: str, at: str) -> None:
        self.last_error = message
        self.last_error_at = at
        self.consecutive_errors += 1


@dataclass
class FeedState:
    """What one feed URL needs between polls: validators, schedule, seen GUIDs."""

    etag: str | None = None
    last_modified: str | None = None
    interval_s: float | None = None
    next_poll_at: float = 0.0
    errors: int = 0
    guids: list[str] = field(default_factory=list)
    retries: dict[str, int] = field(default_factory=dict)  # item key -> transient page failures


class PollState:
    """All feeds' state and every source's health, saved atomically as one JSON file.

    Seen canonical URLs are shared by all feeds (one article in two feeds is one
    document); both seen sets are bounded, oldest forgotten first.
    """

    VERSION = 1

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.feeds: dict[str, FeedState] = {}
        self.health: dict[str, SourceHealth] = {}
        self._urls: dict[str, None] = {}
        self._guid_sets: dict[str, set[str]] = {}
        self._lock = threading.RLock()

    @classmethod
    def load(cls, path: str | Path) -> PollState:
        """The saved state, or a fresh one when there is none or it is unreadable."""
        state = cls(Path(path))
        try:
            data = json.loads(state.path.read_text(encoding="utf-8"))  # type: ignore[union-attr]
        except FileNotFoundError:
            return state
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            log.warning("poll state %s is unreadable (%s); starting afresh", path, exc)
            return state
        if data.get("version") != cls.VERSION:
            return state
        known = {f.name for f in dataclasses.fields(FeedState)}
        for url, raw in (data.get("feeds") or {}).items():
            state.feeds[url] = FeedState(**{k: v for k, v in raw.items() if k in known})
        known = {f.name for f in dataclasses.fields(SourceHealth)}
        for name, raw in (data.get("health") or {}).items():
            state.health[name] = SourceHealth(**{k: v for k, v in raw.items() if k in known})
        state._urls = dict.fromkeys(data.get("seen_urls") or [])
        return state

    def save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            data = {
                "version": self.VERSION,
                "feeds": {url: dataclasses.asdict(fs) for url, fs in self.feeds.items()},
                "health": {name: dataclasses.asdict(h) for name, h in self.health.items()},
                "seen_urls": list(self._urls),
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".json")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False)
            os.replace(tmp, self.path)

    def feed(self, url: str) -> FeedState:
        with self._lock:
            return self.feeds.setdefault(url, FeedState())

    def source_health(self, name: str) -> SourceHealth:
        with self._lock:
            return self.health.setdefault(name, SourceHealth())

    def seen(self, feed_url: str, guid: str = "", url: str = "") -> bool:
        with self._lock:
            if url and url in self._urls:
                return True
            if guid:
                guids = self._guid_sets.get(feed_url)
                if guids is None:
                    guids = self._guid_sets[feed_url] = set(self.feed(feed_url).guids)
                return guid in guids
            return False

    def mark_seen(self, feed_url: str, guid: str = "", urls: Iterable[str] = ()) -> None:
        with self._lock:
            if guid:
                fs = self.feed(feed_url)
                self.seen(feed_url, guid)  # builds the set
                if guid not in self._guid_sets[feed_url]:
                    fs.guids.append(guid)
                    self._guid_sets[feed_url].add(guid)
                if len(fs.guids) > SEEN_GUIDS_PER_FEED:
                    dropped = fs.guids[: len(fs.guids) - SEEN_GUIDS_PER_FEED]
                    del fs.guids[: len(dropped)]
                    self._guid_sets[feed_url].difference_update(dropped)
            for url in urls:
                if url:
                    self._urls.pop(url, None)
                    self._urls[url] = None
            while len(self._urls) > SEEN_URLS:
                del self._urls[next(iter(self._urls))]


def state_path(data_dir: str) -> Path:
    return Path(data_dir) / "feeds" / "state.json"


# ---------------------------------------------------------------- the poller


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
    error: str | None = None
    next_poll_in_s: float = 0.0


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class FeedPoller:
    """Polls due feeds and hands new items to a sink, keeping ``PollState`` up to date."""

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
            for report in self.poll_once():
                log.info("feed %s: %s", report.feed, report)
            upcoming = [self.state.feed(url).next_poll_at for s in self.sources for url in s.feeds]
            wait = min(upcoming, default=self.clock() + idle_sleep_s) - self.clock()
            stop.wait(max(1.0, min(idle_sleep_s, wait)))

    def poll_feed(self, source: Source, feed_url: str) -> FeedPollReport:
        fs = self.state.feed(feed_url)
        health = self.state.source_health(source.name)
        now = self.clock()
        try:
            result = self.fetcher.get(
                feed_url, etag=fs.etag, last_modified=fs.last_modified, accept=FEED_ACCEPT
            )
            if result.not_modified:
                parsed = None
            else:
                parsed = parse_feed(result.body, result.url, result.headers)
        except (FetchError, FeedParseError) as exc:
            return self._failed(source, feed_url, exc, now)
        if parsed is not None:
            fs.etag, fs.last_modified = result.etag, result.last_modified
            if parsed.warning:
                log.warning("feed %s read despite errors: %s", feed_url, parsed.warning)
        published = dead = new = 0
        for item in (parsed.items if parsed else ())[: self.max_items_per_poll]:
            outcome = self._ingest(source, feed_url, item)
            if outcome is None:
                continue
            new += 1
            with self._sink_lock:
                if isinstance(outcome, Document):
                    self.sink.publish(outcome)
                    published += 1
                else:
                    self.sink.dead_letter(outcome)
                    dead += 1
        health.record_success(new, _stamp(now))
        fs.errors = 0
        delay = self._adapt(source, fs, new)
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
        )

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
        self, source: Source, feed_url: str, exc: FetchError | FeedParseError, now: float
    ) -> FeedPollReport:
        fs = self.state.feed(feed_url)
        fs.errors += 1
        delay = min(MAX_BACKOFF_S, source.interval_s * 2 ** (fs.errors - 1))
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after is not None:
            delay = max(delay, min(MAX_RETRY_AFTER_S, retry_after))
        fs.next_poll_at = now + delay
        self.state.source_health(source.name).record_error(
            f"{exc.reason}: {exc.message}", _stamp(now)
        )
        self.state.save()
        return FeedPollReport(
            source=source.name,
            feed=feed_url,
            status="error",
            error=exc.reason,
            next_poll_in_s=delay,
        )

    def _ingest(
        self, source: Source, feed_url: str, item: FeedItem
    ) -> Document | DeadLetter | None:
        """The raw document (or dead letter) for a feed item, or None when already seen."""
        if not item.key and not item.summary.strip():
            return None  # an empty entry of a broken feed: nothing to ingest or to report
        link = canonical_url(item.link) if item.link else ""
        if self.state.seen(feed_url, guid=item.guid, url=link):
            return None
        hints = {**source.hints(), "feed": feed_url}
        if not item.link or not source.fetch_pages:
            why = "the item has no link" if not item.link else "the source does not fetch pages"
            return self._from_summary(source, feed_url, item, link, hints, why)
        try:
            page = self.fetcher.get(item.link, accept=HTML_ACCEPT)
        except FetchError as exc:
            fs = self.state.feed(feed_url)
            tries = fs.retries.get(item.key, 0) + 1
            if exc.transient and tries < PAGE_RETRIES:
                fs.retries[item.key] = tries  # try the page again on the next poll
                return None
            fs.retries.pop(item.key, None)
            return self._from_summary(
                source, feed_url, item, link, hints, f"page fetch failed ({exc.reason})"
            )
        self.state.feed(feed_url).retries.pop(item.key, None)
        final = canonical_url(page.url)
        if final != link and self.state.seen(feed_url, url=final):
            self.state.mark_seen(feed_url, item.guid, [link])
            return None
        self.state.mark_seen(feed_url, item.guid, [link, final])
        return self._page_document(item, page, final, hints)

    def _page_document(
        self, item: FeedItem, page: FetchResult, final: str, hints: dict[str, str]
    ) -> Document | DeadLetter:
        doc_id = document_id(url=final)
        if page.media_type and page.media_type not in HTML_TYPES:
            return DeadLetter(
                stage=STAGE,
                reason="not_html",
                message=f"{page.url} is {page.media_type}, not an HTML page; not ingested.",
                origin=item.link,
                document_id=doc_id,
            )
        content, charset = decode_page(page.body, page.charset)
        notes = [f"redirected from {item.link}"] if page.redirects else []
        if page.charset and charset != _codec(page.charset):
            notes.append(f"decoded as {charset}: the declared {page.charset} did not fit")
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
        source: Source,
        feed_url: str,
        item: FeedItem,
        link: str,
        hints: dict[str, str],
        why: str,
    ) -> Document | DeadLetter:
        self.state.mark_seen(feed_url, item.guid, [link])
        text = _summary_text(item.summary, item.summary_type)
        doc_id = document_id(url=link) if link else document_id(content=text or item.key)
        if not text:
            return DeadLetter(
                stage=STAGE,
                reason="page_unavailable",
                message=f"{why} and the feed item has no summary to fall back on.",
                origin=item.link or feed_url,
                document_id=doc_id,
            )
        return Document(
            id=doc_id,
            origin=item.link or feed_url,
            content=text,
            content_type=CONTENT_TEXT,
            url=link or None,
            hints=hints,
            notes=[f"text from feed summary: {why}"],
            title=item.title or None,
            authors=list(item.authors),
            published=item.published,
        )
