"""What a saved HTML page says about itself before extraction: its canonical URL.

Saved pages and crawled responses are identified by the URL the publisher declares
(``<link rel="canonical">``, else ``og:url``), so the same article saved twice, or
crawled under two tracking URLs, gets one document id (``document_id(url=...)``).
Only the ``<head>`` is read: this runs once per page on the reading side.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

# The head of a page ends long before this; the body is not needed to find the URL.
HEAD_CHARS = 65_536
_HEAD_END = re.compile(r"</head\s*>|<body[\s>]", re.IGNORECASE)


def _head(page: str) -> str:
    sample = page[:HEAD_CHARS]
    end = _HEAD_END.search(sample)
    return sample[: end.start()] if end else sample


def canonical_url(page: str, base: str | None = None) -> str | None:
    """The page's declared URL (canonical link, else og:url), absolute, or None.

    ``base`` (the URL the page was fetched from) resolves a relative canonical link; a
    declared URL that is not http(s) is ignored.
    """
    head = _head(page)
    if "canonical" not in head.lower() and "og:url" not in head.lower():
        return None
    try:
        root = lxml_html.fromstring(head or "<html></html>")
    except (etree.ParserError, ValueError):
        return None
    found: list[str] = []
    for link in root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        if "canonical" in rels and link.get("href"):
            found.append(link.get("href", ""))
    for meta in root.iter("meta"):
        if (meta.get("property") or meta.get("name") or "").lower() == "og:url":
            found.append(meta.get("content") or "")
    for value in found:
        url = urljoin(base, value.strip()) if base else value.strip()
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc:
            return url
    return None
