"""Live feeds: sources as data, RSS/Atom/JSON Feed polling, poll state and health.

One module per responsibility:

- ``sources``: the operator's YAML file of publishers (``Source``);
- ``urls``: canonical article URLs;
- ``parsing``: feed bodies into ``FeedItem``s (RSS, Atom, JSON Feed);
- ``pages``: decoding a fetched page's bytes;
- ``state``: ``PollState`` (validators, seen sets, schedule) and ``SourceHealth``;
- ``poller``: ``FeedPoller``, which ties them to ``connectors.http.HttpFetcher``.

The names below are re-exported so callers import from ``connectors.feeds``.
"""

from connectors.feeds.pages import HTML_TYPES, decode_page
from connectors.feeds.parsing import FeedItem, FeedParseError, ParsedFeed, parse_feed
from connectors.feeds.poller import (
    FEED_ACCEPT,
    HTML_ACCEPT,
    MAX_ITEMS_PER_POLL,
    STAGE,
    CollectingSink,
    FeedPoller,
    FeedPollReport,
    Sink,
)
from connectors.feeds.sources import (
    PACKAGED_SOURCES,
    Source,
    SourcesError,
    append_source,
    format_interval,
    load_sources,
    parse_interval,
    parse_sources,
    sources_path,
)
from connectors.feeds.state import (
    SILENT_AFTER_POLLS,
    FeedState,
    PollState,
    SourceHealth,
    state_path,
)
from connectors.feeds.urls import canonical_url

__all__ = [
    "FEED_ACCEPT",
    "HTML_ACCEPT",
    "HTML_TYPES",
    "MAX_ITEMS_PER_POLL",
    "PACKAGED_SOURCES",
    "SILENT_AFTER_POLLS",
    "STAGE",
    "CollectingSink",
    "FeedItem",
    "FeedParseError",
    "FeedPollReport",
    "FeedPoller",
    "FeedState",
    "ParsedFeed",
    "PollState",
    "Sink",
    "Source",
    "SourceHealth",
    "SourcesError",
    "append_source",
    "canonical_url",
    "decode_page",
    "format_interval",
    "load_sources",
    "parse_feed",
    "parse_interval",
    "parse_sources",
    "sources_path",
    "state_path",
]
