"""Poll state and source health, kept in one JSON file so a restart forgets nothing."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SEEN_GUIDS_PER_FEED = 2_000
SEEN_URLS = 50_000
SILENT_AFTER_POLLS = 6
HISTORY = 20


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
