"""Feed bodies into items: RSS 0.9x/1.0/2.0 and Atom with feedparser, JSON Feed with json."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from transforms.document import CONTENT_HTML, CONTENT_TEXT


class FeedParseError(Exception):
    """A feed body that yields no items because it is not a feed we can read."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


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
