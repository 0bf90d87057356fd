"""Did the extraction of a page fail? Signals that its text collapsed or is furniture.

trafilatura picks one container per page; on some page shapes that container is a
reprint notice, a browser banner, a paywall price box, a consent wall or the first
chunk of an article split around ads, and the rest of the article is lost while
the result still looks like text. This module measures, without knowing any page:

- the page's *prose*: visible text blocks outside navigation and page furniture
  (tags such as nav/header/footer/aside/form, and containers whose class or id
  names them: menu, cookie, consent, newsletter, paywall, ...), long enough to be
  sentences and not mostly link text (``profile_page``);
- which blocks of an extracted text read like furniture: the share of their
  sentences with furniture vocabulary in several languages (``rules/furniture.yaml``),
  or a density of currency amounts that makes them a price list (``is_furniture``);
- whether an extracted text *collapsed*: its article blocks cover less than
  ``COVERAGE_MIN`` of the page's prose, or it holds more furniture than article
  (``check_text``).

``transforms/html.py`` uses these to decide when to try the next extractor setting
and which result to keep (docs/transforms.md, "Collapsed extractions").
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

RULES_PATH = Path(__file__).resolve().parent / "rules" / "furniture.yaml"

# An extraction whose article blocks cover less than this share of the page's prose lost
# part of the article; measured on the pinned pages, a good extraction covers >= 0.8 and a
# collapsed one <= 0.4 (docs/transforms.md).
COVERAGE_MIN = 0.6
# Below this much prose on the whole page, coverage says nothing (a brief, a page of links).
MIN_PROSE_CHARS = 300
# A text block shorter than this is a heading, a label or a date, not prose.
MIN_PROSE_BLOCK_CHARS = 80
# More than this share of a block's characters in link text makes it navigation.
MAX_LINK_SHARE = 0.5
# A block whose sentences carrying furniture vocabulary reach this share of its characters.
FURNITURE_SHARE = 0.5
# The pruned fallback reads at most this many characters of element text looking for the
# furniture's containers (a normal page: a few hundred thousand).
MAX_PRUNE_SCAN_CHARS = 20_000_000
# JSON-LD larger than this is not read for a declared article body (see html.py).
MAX_JSON_LD_CHARS = 2_000_000
MAX_JSON_DEPTH = 8
# A video or gallery page with less prose than this has no article, only captions.
MEDIA_MAX_PROSE_CHARS = 400

# Never visible text.
_INVISIBLE_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "head", "title", "meta", "link",
     "iframe", "video", "audio", "picture", "select", "option", "textarea", "button"}
)  # fmt: skip
# Page furniture by its tag.
_SKIP_TAGS = frozenset(
    {"nav", "header", "footer", "aside", "form", "label", "figure", "figcaption", "dialog"}
)  # fmt: skip
# A furniture-named or furniture-tagged element holding more than this share of the page's
# text is a page wrapper, not furniture, and is walked into.
WRAPPER_SHARE = 0.5
_BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "td", "th",
     "tr", "table", "tbody", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "br",
     "hr", "center", "body"}
)  # fmt: skip
# Class or id words that name page furniture, as whole words of the attribute
# ("article-body__consent", "cookie-banner", "ad-slot"; not "head" in "masthead").
_FURNITURE_NAME = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|navigation|menu|footer|sidebar|related|comments?|share|sharing"
    r"|social|cookies?|consent|cmp|gdpr|newsletter|promo|banner|advert|advertisement|ads?"
    r"|breadcrumbs?|paywall|subscribe|subscription|modal|popup|overlay|teaser|recommended"
    r"|most-?read|up-?next)(?:$|[\s_-])",
    re.IGNORECASE,
)
_GALLERY_NAME = re.compile(
    r"(?:^|[\s_-])(?:gallery|slideshow|carousel|diaporama)(?:$|[\s_-])", re.IGNORECASE
)
_PLAYER_SRC = re.compile(r"youtube|vimeo|dailymotion|player|embed|jwplatform|brightcove", re.I)
_TAG = re.compile(r"<[^>]{0,200}>")
_SENTENCE = re.compile(r"[^.!?…]+(?:[.!?…]+[\"'”’»)]*|$)")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class FurnitureRules:
    terms: re.Pattern[str]
    amount: re.Pattern[str]
    min_amounts: int
    words_per_amount: int


def parse_rules(data: dict[str, Any]) -> FurnitureRules:
    """Compile ``rules/furniture.yaml``; raises ``KeyError`` on a missing section."""
    by_letter: dict[str, list[str]] = {}
    for term in (t for group in data["terms"].values() for t in group):
        if not (term[:1].isalpha() and term[:1].islower()) or term[1:2] in ("?", "*", "+", "{"):
            raise ValueError(f"furniture term {term!r} must start with a plain lower-case letter")
        by_letter.setdefault(term[0], []).append(term[1:])
    # One branch per first letter: Python's re tries alternatives one by one, so 140 flat
    # alternatives at every word start cost 40 µs a sentence; grouped, about a fifth.
    branches = "|".join(
        f"{re.escape(letter)}(?:{'|'.join(f'(?:{rest})' for rest in rests)})"
        for letter, rests in sorted(by_letter.items())
    )
    prices = data["prices"]
    return FurnitureRules(
        terms=re.compile(rf"\b(?:{branches})"),
        amount=re.compile(prices["amount"], re.IGNORECASE),
        min_amounts=int(prices["min_amounts"]),
        words_per_amount=int(prices["words_per_amount"]),
    )


@functools.lru_cache(maxsize=2)
def load_rules(path: Path = RULES_PATH) -> FurnitureRules:
    """The compiled vocabulary, read once per process."""
    with path.open(encoding="utf-8") as handle:
        return parse_rules(yaml.safe_load(handle))


def _norm(text: str) -> str:
    return " ".join(text.split())


def furniture_share(block: str, rules: FurnitureRules) -> float:
    """Share of the block's characters in sentences that carry furniture vocabulary."""
    lowered = block.lower()
    if rules.terms.search(lowered) is None:  # most article paragraphs: one scan, done
        return 0.0
    total = hit = 0
    for sentence in _SENTENCE.findall(lowered):
        size = len(sentence.strip())
        total += size
        if size and rules.terms.search(sentence):
            hit += size
    return hit / total if total else 0.0


def is_price_list(block: str, rules: FurnitureRules) -> bool:
    """Many currency amounts for few words: a subscription offer or a shop box."""
    amounts = len(rules.amount.findall(block))
    words = len(_WORD.findall(block))
    return amounts >= rules.min_amounts and amounts * rules.words_per_amount >= words


def is_furniture(block: str, rules: FurnitureRules | None = None) -> bool:
    """A block that reads like page furniture rather than article text."""
    rules = rules or load_rules()
    return furniture_share(block, rules) >= FURNITURE_SHARE or is_price_list(block, rules)


@dataclass(frozen=True)
class PageProfile:
    """What a page offers, measured once before any extraction."""

    # Characters of prose blocks outside navigation and furniture, or of the article body
    # the page declares in its JSON-LD when that is longer (pages that render their body
    # with JavaScript show a teaser in the HTML and carry the article in ``articleBody``).
    prose_chars: int
    link_texts: frozenset[str]  # every link's text, normalised: blocks that are only links
    media: str | None  # "video", "gallery" or None


def _skipped(element: Any, body_chars: int) -> bool:
    """Navigation or furniture by tag, role or name; but never an element holding most of
    the page (ASP.NET pages wrap the whole body in a <form>, themes name page wrappers
    "has-sidebar" or "nav-open")."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _INVISIBLE_TAGS or not tag:
        return True
    furniture = (
        tag in _SKIP_TAGS
        or element.get("role") in ("navigation", "dialog", "banner", "contentinfo")
        or _FURNITURE_NAME.search(f"{element.get('class') or ''} {element.get('id') or ''}")
        is not None
    )
    return furniture and len(element.text_content()) <= WRAPPER_SHARE * body_chars


def _text_blocks(body: Any) -> list[tuple[str, int]]:
    """Visible text blocks outside furniture, each with its count of link characters."""
    blocks: list[tuple[str, int]] = []
    parts: list[str] = []
    link_chars = 0
    in_link: list[bool] = [False]

    def flush() -> None:
        nonlocal link_chars
        text = _norm("".join(parts))
        if text:
            blocks.append((text, link_chars))
        parts.clear()
        link_chars = 0

    skipped: set[Any] = set()
    body_chars = len(body.text_content())
    walker = etree.iterwalk(body, events=("start", "end"))
    for event, element in walker:
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            linked = in_link[-1] or tag == "a"
            in_link.append(linked)
            if element is not body and _skipped(element, body_chars):
                walker.skip_subtree()  # its "end" still comes, for the tail
                skipped.add(element)
                continue
            if tag in _BLOCK_TAGS:
                flush()
            if element.text:
                parts.append(element.text)
                if linked:
                    link_chars += len(_norm(element.text))
            continue
        in_link.pop()
        if element in skipped:
            skipped.discard(element)
        elif tag in _BLOCK_TAGS:
            flush()
        if element.tail and element is not body:
            parts.append(element.tail)
            if in_link[-1]:
                link_chars += len(_norm(element.tail))
    flush()
    return blocks


def _media(tree: Any, body: Any) -> str | None:
    for meta in tree.iterfind(".//meta"):
        if (meta.get("property") or meta.get("name") or "").lower() == "og:type":
            kind = (meta.get("content") or "").lower()
            if kind.startswith("video"):
                return "video"
            if "gallery" in kind:
                return "gallery"
    if body.find(".//video") is not None or any(
        _PLAYER_SRC.search(frame.get("src") or "") for frame in body.iterfind(".//iframe")
    ):
        return "video"
    captions = sum(1 for _ in body.iterfind(".//figcaption"))
    named = any(
        _GALLERY_NAME.search(f"{e.get('class') or ''} {e.get('id') or ''}")
        for e in body.iter("div", "section", "ul")
    )
    return "gallery" if captions >= 3 or named else None


def _article_bodies(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > MAX_JSON_DEPTH:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "articleBody" and isinstance(item, str):
                yield item
            elif isinstance(item, dict | list):
                yield from _article_bodies(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _article_bodies(item, depth + 1)


def _declared_body_chars(tree: Any) -> int:
    """Length of the longest schema.org ``articleBody`` in the page's JSON-LD, tags removed."""
    longest = 0
    for script in tree.iter("script"):
        text = script.text or ""
        kind = (script.get("type") or "").lower()
        if "ld+json" not in kind or '"articleBody"' not in text or len(text) > MAX_JSON_LD_CHARS:
            continue
        try:
            data = json.loads(text, strict=False)
        except ValueError:
            continue
        for body in _article_bodies(data):
            longest = max(longest, len(_norm(_TAG.sub(" ", body))))
    return longest


def profile_page(tree: Any, rules: FurnitureRules | None = None) -> PageProfile:
    """The page's prose size, its link texts and whether it is a video or gallery page."""
    rules = rules or load_rules()
    body = tree.find(".//body")
    if body is None:
        body = tree
    prose = 0
    seen: set[str] = set()
    for text, links in _text_blocks(body):
        if text in seen:
            continue  # a pull quote or a block printed twice; extractors keep it once
        seen.add(text)
        if (
            len(text) >= MIN_PROSE_BLOCK_CHARS
            and links <= MAX_LINK_SHARE * len(text)
            and not is_furniture(text, rules)
        ):
            prose += len(text)
    prose = max(prose, _declared_body_chars(tree))
    link_texts = frozenset(
        text for a in body.iter("a") if len(text := _norm(a.text_content())) >= 3
    )
    return PageProfile(prose_chars=prose, link_texts=link_texts, media=_media(tree, body))


@dataclass(frozen=True)
class TextCheck:
    """How an extracted text measures against its page."""

    article_chars: int  # characters of blocks that read like article text
    furniture_chars: int  # characters of furniture blocks and bare links
    coverage: float  # article_chars / the page's prose (1.0 when the page has little prose)
    collapsed: bool
    reason: str  # "", "short" or "furniture"
    article_blocks: tuple[str, ...]
    furniture_blocks: tuple[str, ...]


def check_text(text: str, page: PageProfile, rules: FurnitureRules | None = None) -> TextCheck:
    """Measure a text (blocks separated by blank lines) against the page it came from."""
    rules = rules or load_rules()
    article: list[str] = []
    furniture: list[str] = []
    for block in (b.strip() for b in text.split("\n\n")):
        if not block:
            continue
        if is_furniture(block, rules) or _norm(block) in page.link_texts:
            furniture.append(block)
        else:
            article.append(block)
    article_chars = sum(map(len, article))
    furniture_chars = sum(map(len, furniture))
    if page.prose_chars >= MIN_PROSE_CHARS:
        coverage = min(1.0, article_chars / page.prose_chars)
    else:
        coverage = 1.0
    reason = ""
    if furniture_chars > article_chars:
        reason = "furniture"
    elif coverage < COVERAGE_MIN:
        reason = "short"
    return TextCheck(
        article_chars=article_chars,
        furniture_chars=furniture_chars,
        coverage=round(coverage, 3),
        collapsed=bool(reason),
        reason=reason,
        article_blocks=tuple(article),
        furniture_blocks=tuple(furniture),
    )


def keeps(candidate: str, blocks: tuple[str, ...]) -> float:
    """Share of the words of ``blocks`` that ``candidate`` also holds (order ignored)."""
    wanted = _WORD.findall(" ".join(blocks).casefold())
    if not wanted:
        return 1.0
    have = set(_WORD.findall(candidate.casefold()))
    return sum(1 for w in wanted if w in have) / len(wanted)


def without_furniture_containers(tree: Any, furniture_blocks: tuple[str, ...]) -> Any | None:
    """A copy of ``tree`` without the outermost elements that hold only the given furniture.

    The element kept for removal is the largest one whose text is the furniture and
    little else, so a consent wall inside the article container goes and the container
    stays. ``None`` when no such element is found.
    """
    snippets = [_norm(b)[:60] for b in furniture_blocks if len(_norm(b)) >= 20]
    if not snippets:
        return None
    budget = int(1.3 * sum(len(_norm(b)) for b in furniture_blocks)) + 200
    pruned = copy.deepcopy(tree)
    targets: dict[str, Any] = {}
    examined = 0  # characters read: nested containers repeat their children's text
    for element in pruned.iter("div", "section", "article", "aside", "p", "ul", "dialog", "form"):
        raw = element.text_content()
        examined += len(raw)
        if examined > MAX_PRUNE_SCAN_CHARS:
            return None  # a deep or huge page: not worth a quadratic search
        if len(raw) > 2 * budget:
            continue
        text = _norm(raw)
        if len(text) > budget:
            continue
        for snippet in snippets:
            if snippet in text:
                current = targets.get(snippet)
                if current is None or len(_norm(current.text_content())) < len(text):
                    targets[snippet] = element
    removed = False
    for element in set(targets.values()):
        if any(ancestor is pruned for ancestor in element.iterancestors()):
            element.drop_tree()
            removed = True
    return pruned if removed else None
