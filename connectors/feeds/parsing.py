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

from connectors.feeds.pages import decode_page, text_codec
from transforms.document import CONTENT_HTML, CONTENT_TEXT, ReasonedError


class FeedParseError(ReasonedError):
    """A feed body that yields no items because it is not a feed we can read."""


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
    """An ISO-8601 UTC timestamp from a feedparser struct_time or an RFC 3339/822 string.

    None for anything else, including dates no ``datetime`` can hold.
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, time.struct_time):
            return datetime(*value[:6], tzinfo=UTC).isoformat().replace("+00:00", "Z")
        if not isinstance(value, str) or len(value) > 100:
            return None
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = parsedate_to_datetime(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _text(value: Any) -> str:
    """A feed field as text: strings and numbers as they are, lists and objects as "".

    Lone surrogates (``"\\ud800"`` in JSON, ``&#xD800;`` in XML) become "?": no
    encoder downstream could write them.
    """
    if isinstance(value, str):
        if value.isascii():
            return value
        return value.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _json_number(digits: str) -> int | float:
    """JSON integers without Python's 4,300-digit ValueError: long ones become floats."""
    return int(digits) if len(digits) <= 30 else float(digits)


def _json_authors(raw: dict[str, Any]) -> tuple[str, ...]:
    authors = raw.get("authors")
    if not isinstance(authors, list):
        authors = [raw.get("author")]  # JSON Feed 1.0 had one author object
    names = (_text(a.get("name")).strip() for a in authors if isinstance(a, dict))
    return tuple(name for name in names if name)


def _json_feed(data: dict[str, Any], url: str) -> ParsedFeed:
    """Items of a JSON Feed; fields of the wrong type are left out, not fatal."""
    raw_items = data.get("items", [])
    if not isinstance(raw_items, list):
        raise FeedParseError(
            "bad_json_feed",
            f"{url} is a JSON Feed whose items are a {type(raw_items).__name__}, not a list.",
        )
    items = []
    for raw in raw_items:
        if not isinstance(raw, dict):
            continue
        link = _text(raw.get("url")) or _text(raw.get("external_url"))
        if _text(raw.get("content_html")):
            summary, kind = _text(raw["content_html"]), CONTENT_HTML
        elif _text(raw.get("summary")):
            summary, kind = _text(raw["summary"]), CONTENT_TEXT
        else:
            summary, kind = _text(raw.get("content_text")), CONTENT_TEXT
        items.append(
            FeedItem(
                guid=_text(raw.get("id")) or link,
                link=link.strip(),
                title=_text(raw.get("title")),
                summary=summary,
                summary_type=kind,
                published=_iso(raw.get("date_published") or raw.get("date_modified")),
                authors=_json_authors(raw),
            )
        )
    return ParsedFeed(title=_text(data.get("title")), items=tuple(items))


def _parse_json(body: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(body, parse_int=_json_number)
    except RecursionError:
        raise FeedParseError("bad_json_feed", f"{url} is JSON nested too deeply to read.") from None
    except (UnicodeError, ValueError) as exc:
        raise FeedParseError("bad_json_feed", f"{url} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict) or "jsonfeed.org" not in _text(data.get("version")):
        raise FeedParseError("not_a_feed", f"{url} is JSON but not a JSON Feed.")
    return _json_feed(data, url)


_XML_DECLARED = re.compile(rb"""^(\s*<\?xml[^>]{0,200}?encoding\s*=\s*["'])([^"']{0,60})(["'])""")


def _readable_xml(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """Body and headers feedparser can decode: an unusable declared charset is replaced.

    ``encoding="undefined"`` (Python's codec that raises on any input) or
    ``charset=punycode`` would make feedparser raise; such a body is decoded as an
    undeclared page would be (valid UTF-8, else a guess) and handed on as UTF-8.
    """
    content_type = headers.get("content-type", "")
    params = [p for p in content_type.split(";")[1:] if p.strip()]
    charset = next(
        (v.strip().strip("\"'") for k, _, v in (p.partition("=") for p in params)
         if k.strip().lower() == "charset"),
        None,
    )  # fmt: skip
    declared = _XML_DECLARED.match(body[:300])
    bad_header = charset is not None and text_codec(charset) is None
    bad_declaration = (
        declared is not None and text_codec(declared.group(2).decode("latin-1")) is None
    )
    if not (bad_header or bad_declaration):
        return body, headers
    if declared is not None:
        body = body[: declared.start(2)] + b"utf-8" + body[declared.end(2) :]
    text, _ = decode_page(body)
    media = content_type.split(";")[0].strip() or "application/xml"
    return text.encode("utf-8"), {**headers, "content-type": f"{media}; charset=utf-8"}


def parse_feed(body: bytes, url: str = "", headers: dict[str, str] | None = None) -> ParsedFeed:
    """RSS 0.9x/1.0/2.0 and Atom with feedparser; JSON Feed with json.

    feedparser reads broken XML with its lenient parser; that is a warning, not a
    failure, as long as items come out. Raises ``FeedParseError`` when none do,
    and for every other way a body can fail to be a feed: it never raises anything else.
    """
    headers = headers or {}
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media.endswith("json") or body[:1000].lstrip()[:1] == b"{":
        return _parse_json(body, url)
    body, headers = _readable_xml(body, headers)
    try:
        parsed = feedparser.parse(body, response_headers=dict(headers), sanitize_html=True)
        items = tuple(_xml_item(entry) for entry in parsed.entries)
        title = _text(parsed.feed.get("title"))
    except Exception as exc:  # noqa: BLE001 - feedparser raises many types on hostile XML
        raise FeedParseError(
            "unparseable_feed",
            f"{url} is not a readable feed ({exc.__class__.__name__}: {str(exc)[:200]}).",
        ) from None
    warning = None
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        warning = f"{problem.__class__.__name__}: {str(problem)[:300]}"
        if not items:
            raise FeedParseError("unparseable_feed", f"{url} is not a readable feed ({warning}).")
    elif not items and not parsed.get("version"):
        raise FeedParseError("not_a_feed", f"{url} is not an RSS, Atom or JSON feed.")
    return ParsedFeed(title=title, items=items, warning=warning)


def _xml_item(entry: Any) -> FeedItem:
    link = _text(entry.get("link")).strip()
    summary_detail = entry.get("summary_detail") or {}
    content = entry.get("content") or []
    summary = _text(entry.get("summary"))
    kind = _text(summary_detail.get("type")) or CONTENT_HTML
    if content and len(_text(content[0].get("value"))) > len(summary):
        summary, kind = _text(content[0].get("value")), _text(content[0].get("type")) or kind
    authors = [_text(a.get("name")) for a in entry.get("authors") or [] if a.get("name")]
    if not authors and entry.get("author"):
        authors = [_text(entry.get("author"))]
    return FeedItem(
        guid=_text(entry.get("id")) or link,
        link=link,
        title=_text(entry.get("title")),
        summary=summary,
        summary_type=CONTENT_HTML if "html" in kind else CONTENT_TEXT,
        # dict.get: feedparser's own get maps missing keys with a DeprecationWarning
        published=_iso(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")),
        authors=tuple(a for a in authors if a),
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
