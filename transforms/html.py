"""Main text and metadata of an HTML page, with trafilatura.

Pure: ``extract_html(doc)`` returns a new document with ``text`` (paragraphs
separated by blank lines), title, authors, published date, site name, canonical
URL and the page's declared language in ``hints["html_lang"]``. Pages with no
extractable text are poison input; the boilerplate, language and entity stages
run after this one.

Metadata comes from trafilatura's own finders, asked only for what newsbeam keeps
(``page_metadata``), and a field the feed or file already gave is not searched for.

Extraction favours precision (menus, cookie banners, related links and comment
sections out) because later stages trust ``text`` to be the article; a source can
ask for recall instead with the hint ``extract_favor: recall`` when its article
paragraphs get cut, and can prune page parts with ``extract_prune_xpath``. When
that first setting's text collapsed (``transforms/extraction_check.py``), recall,
trafilatura's baseline and a pruned re-run are tried (``main_text``), and
``extraction_method`` records which one produced the text. Video and gallery pages
with almost no prose are poison input ``no_article``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from htmldate import find_date
from lxml import html as lxml_html
from trafilatura import bare_extraction, baseline
from trafilatura import metadata as trafilatura_metadata
from trafilatura.json_metadata import extract_json
from trafilatura.settings import Extractor, set_date_params, use_config
from trafilatura.utils import load_html

from transforms.document import CONTENT_HTML, Document, PoisonInputError, Segment
from transforms.extraction_check import (
    MEDIA_MAX_PROSE_CHARS,
    MIN_PROSE_BLOCK_CHARS,
    PageProfile,
    TextCheck,
    check_text,
    keeps,
    profile_page,
    without_furniture_containers,
)

# JSON-LD scripts longer than this skip trafilatura's regex minifier (see json_ld_metadata).
MAX_JSON_LD_FAST_CHARS = 100_000
# Above this many characters a page is not an article; the fetcher caps bytes too.
MAX_HTML_CHARS = 5_000_000
# trafilatura gives up on trees with more elements than this (HTML bombs, endless lists).
MAX_TREE_SIZE = 200_000
STAGE = "extract"
# Less than this is a menu or a caption, not an article (the shortest wire briefs are longer).
MIN_TEXT_CHARS = 40
# libxml2 compares each attribute of a start tag with every earlier one: 64k attributes on
# one element took 121 s to parse. An element with more than this many loses them all before
# parsing (no article needs them; its text stays), which bounds the parse to linear time.
MAX_ATTRIBUTES = 100
# A fallback replaces the text found so far only with this many times its article text ...
FALLBACK_GAIN = 1.2
# ... and only if it holds this share of the words of that text (docs/transforms.md).
FALLBACK_KEEPS = 0.7

# A private copy of trafilatura's settings; the tree cap lives there, not in arguments.
_CONFIG = use_config()
_CONFIG.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))
_EXTENSIVE_DATE_SEARCH = _CONFIG.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH")
# One set of options per extraction mode, built once: trafilatura copies them before
# changing anything, and building them per page cost 0.1 ms.
_EXTRACTORS = {
    favor: Extractor(
        config=_CONFIG,
        output_format="python",
        precision=favor == "precision",
        recall=favor == "recall",
        comments=False,
        tables=True,
        dedup=False,
        with_metadata=False,
    )
    for favor in ("precision", "recall")
}

_LOG = logging.getLogger(__name__)
_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
# One attribute, taken whole (atomic, possessive: each character is read once per attempt):
# a name, then optionally = and a quoted or bare value; after whitespace or a closing quote.
_ATTRIBUTE = (
    r"""(?>(?:\s++|(?<=["']))[^\s"'=<>/]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s"'>]++))?)"""
)
# A start tag with more than MAX_ATTRIBUTES of them, up to (not including) its end.
_ATTRIBUTE_FLOOD = re.compile(
    rf"<([A-Za-z][^\s/<>\"'=]*+){_ATTRIBUTE}{{{MAX_ATTRIBUTES + 1}}}{_ATTRIBUTE}*+"
)


def bound_attributes(html: str) -> tuple[str, int]:
    """The page with every start tag of more than ``MAX_ATTRIBUTES`` attributes cut to its
    bare name, and how many such tags there were. One pass of the regex engine, no Python
    per tag: the ordinary page pays a scan, not a parse."""
    return _ATTRIBUTE_FLOOD.subn(r"<\1", html)


def _declared_language(tree: Any) -> str | None:
    """The page's own claim: <html lang>, Content-Language meta, or og:locale."""
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in ("content-language", "og:locale", "language", "dc.language"):
            candidates.append(meta.get("content"))
    for value in candidates:
        if isinstance(value, str) and _LANG_RE.match(value.strip()):
            return str(value.strip().replace("_", "-").split("-")[0].lower())
    return None


def page_metadata(tree: Any, url: str | None, known: Document) -> dict[str, str | None]:
    """Title, author, date, site name and canonical URL of a page, found the way
    ``trafilatura.extract_metadata`` finds them, for the fields ``known`` lacks.

    ``extract_metadata`` also searches every page for categories, tags and a licence, which
    newsbeam does not keep (0.43 of its 0.55 ms on the benchmark pages), and runs every
    fallback even when the feed already gave the field (looking for an author in the body
    alone takes 0.76 ms on a page whose meta tags name none).
    tests/unit/test_html.py checks the result equals ``extract_metadata`` on every test page.
    """
    found = trafilatura_metadata.examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None  # a lone word ("admin", "redaktion") is not a byline
    if not (known.authors and known.title and known.source):
        found = json_ld_metadata(tree, found, url)
    if not (known.title or found.title):
        found.title = trafilatura_metadata.extract_title(tree)
    if not (known.authors or found.author):
        found.author = trafilatura_metadata.extract_author(tree)
    found.url = found.url or trafilatura_metadata.extract_url(tree, url)
    if not known.published:
        params = set_date_params(_EXTENSIVE_DATE_SEARCH)
        found.date = find_date(tree, **params, url=found.url)
    if not (known.source or found.sitename):
        found.sitename = trafilatura_metadata.extract_sitename(tree)
    site = (found.sitename or "").lstrip("@")
    if site and "." not in site and not site[0].isupper():
        site = site.title()  # "bbc" from a Twitter handle
    elif not site and found.url and (domain := trafilatura_metadata.META_URL.match(found.url)):
        site = domain[1]
    found.sitename = site or None
    found.clean_and_trim()  # whitespace, entities, length
    return {key: getattr(found, key) for key in ("title", "author", "date", "sitename", "url")}


def json_ld_metadata(tree: Any, found: Any, url: str | None) -> Any:
    """trafilatura's ``extract_meta_json``, bounded for very large JSON-LD.

    trafilatura minifies every JSON-LD script with a Python regex before parsing it and,
    when parsing fails, searches the text for an author with more regexes; both are linear
    but slow per byte, and tabloid pages that embed whole related-article graphs (1-2 MB)
    spent over a second there. A script over ``MAX_JSON_LD_FAST_CHARS`` is parsed directly
    with ``json.loads`` (C, whitespace-tolerant) and walked by trafilatura's own
    ``extract_json``; if it does not parse it is skipped, since the regex search over a
    broken megabyte is both the slow path and the one that picks a related story's author.
    Runs only when the feed left author, title or outlet unknown (``page_metadata``).
    """
    for script in tree.xpath(
        './/script[@type="application/ld+json" or @type="application/settings+json"]'
    ):
        text = script.text
        if not text:
            continue
        try:
            if len(text) <= MAX_JSON_LD_FAST_CHARS:
                found = trafilatura_metadata.extract_meta_json(_only(script), found)
            else:
                found = extract_json(json.loads(text, strict=False), found)
        except Exception as error:  # noqa: BLE001 - broken JSON-LD only loses the JSON-LD
            _LOG.debug("unreadable JSON-LD metadata on %s: %s", url, error)
    return found


def _only(script: Any) -> Any:
    """A tree holding just this script, for trafilatura's per-tree JSON-LD finder."""
    holder = lxml_html.Element("html")
    copied = lxml_html.Element("script", type=script.get("type"))
    copied.text = script.text
    holder.append(copied)
    return holder


def trafilatura_part(tree: Any, doc: Document) -> tuple[dict[str, str | None], str]:
    """What trafilatura does for ``extract_html`` on a page that does not collapse: the
    page's metadata (``page_metadata``) and its main text, one block per line. The
    benchmark times it as the baseline of trafilatura with newsbeam's options."""
    found = page_metadata(tree, doc.url or doc.origin, doc)
    return found, _trafilatura_text(tree, _first_method(doc), doc)


def _first_method(doc: Document) -> str:
    return "recall" if doc.hints.get("extract_favor") == "recall" else "precision"


def _trafilatura_text(tree: Any, favor: str, doc: Document) -> str:
    prune = doc.hints.get("extract_prune_xpath") or None
    result = bare_extraction(tree, options=_EXTRACTORS[favor], prune_xpath=prune)
    return (cast(Any, result).text or "") if result is not None else ""


@dataclass(frozen=True)
class Extraction:
    """One extractor setting's text (paragraphs separated by blank lines) and its check."""

    method: str  # precision, recall, baseline or pruned (docs/transforms.md)
    text: str
    check: TextCheck


def _measured(method: str, body: str, page: PageProfile, title: str | None) -> Extraction:
    text = _without_title(_paragraphs(body), title)
    return Extraction(method, text, check_text(text, page))


def _better(candidate: Extraction, best: Extraction) -> bool:
    """The rule that keeps a fallback: clearly more article text, and most of the article
    text found so far, so a fallback that wandered off to comments or a teaser box does
    not replace the part of the article that was already found."""
    gain = candidate.check.article_chars >= FALLBACK_GAIN * best.check.article_chars + 40
    paragraphs = tuple(b for b in best.check.article_blocks if len(b) >= MIN_PROSE_BLOCK_CHARS)
    return gain and keeps(candidate.text, paragraphs) >= FALLBACK_KEEPS


def main_text(
    tree: Any, doc: Document, title: str | None, page: PageProfile
) -> tuple[Extraction, list[str]]:
    """The article text of a page and the methods tried, in order.

    The first setting (precision, or recall when the source asks for it) is kept unless it
    collapsed (``extraction_check.check_text``); then recall, trafilatura's baseline and
    precision on the page without the furniture containers the first result consisted of
    are tried in turn, each kept by ``_better``, until one no longer collapses.
    """
    first = _first_method(doc)
    # bare_extraction and baseline clean copies (test_html checks the tree is left as it
    # was), so every setting reads the same page.
    best = _measured(first, _trafilatura_text(tree, first, doc), page, title)
    tried = [first]
    if not best.check.collapsed:
        return best, tried
    furniture = best.check.furniture_blocks
    fallbacks: list[tuple[str, Callable[[], str]]] = [
        ("recall", lambda: _trafilatura_text(tree, "recall", doc)),
        ("baseline", lambda: baseline(tree)[1]),
        ("pruned", lambda: _pruned_text(tree, furniture, doc)),
    ]
    for method, run in fallbacks:
        if method == first:
            continue
        tried.append(method)
        candidate = _measured(method, run(), page, title)
        if _better(candidate, best):
            best = candidate
            if not best.check.collapsed:
                break
    return best, tried


def _pruned_text(tree: Any, furniture: tuple[str, ...], doc: Document) -> str:
    pruned = without_furniture_containers(tree, furniture)
    return "" if pruned is None else _trafilatura_text(pruned, "precision", doc)


def _without_title(text: str, title: str | None) -> str:
    """Many pages put the headline inside the article body; it is metadata, not text."""
    if title:
        first, _, rest = text.partition("\n\n")
        if rest and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
            return rest
    return text


def _leading_furniture_out(extraction: Extraction) -> tuple[str, list[Segment]]:
    """Furniture blocks before the article (a reprint notice, a browser banner, a price box)
    leave the text and are kept as ``furniture`` segments. Trailing appeals and footers are
    the boilerplate stage's (``rules/boilerplate.yaml``), which knows their shapes better."""
    blocks = extraction.text.split("\n\n")
    furniture = set(extraction.check.furniture_blocks)
    removed: list[Segment] = []
    while len(blocks) > 1 and blocks[0].strip() in furniture:
        removed.append(Segment("furniture", blocks.pop(0).strip()))
    return "\n\n".join(blocks), removed


def _paragraphs(text: str) -> str:
    """trafilatura puts one block per line; later stages expect blank lines between them."""
    blocks = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(block for block in blocks if block)


def _authors(value: str | None) -> list[str]:
    if not value:
        return []
    # trafilatura already splits bylines ("A and B", "A und B") and joins names with "; ".
    names = (name.strip().strip(" ,") for name in value.split(";"))
    return list(dict.fromkeys(name for name in names if name))


def extract_html(doc: Document) -> Document:
    """Extract the article text and metadata of an HTML document; other documents pass through."""
    if doc.content_type != CONTENT_HTML:
        return doc
    if len(doc.content) > MAX_HTML_CHARS:
        raise PoisonInputError(
            "too_large",
            f"the page has {len(doc.content)} characters, over the {MAX_HTML_CHARS} cap "
            "for one article; it is not an article page.",
        )
    if not doc.content.strip():
        raise PoisonInputError("empty", "the page is empty.")
    content, flooded = bound_attributes(doc.content)
    # load_html returns None for markup lxml cannot make a tree of.
    tree = load_html(content)
    if tree is None:
        raise PoisonInputError("unparseable", "the page is not parseable HTML.")
    html_lang = _declared_language(tree)

    found = page_metadata(tree, doc.url or doc.origin, doc)

    def meta(key: str) -> str | None:
        value = found.get(key)
        return (str(value).strip() or None) if value else None

    title = doc.title or meta("title")
    page = profile_page(tree)
    extraction, _ = main_text(tree, doc, title, page)
    # Both measures must be short: the page's prose misses text inside a furniture-named
    # container, the extraction misses what trafilatura left out.
    prose = max(page.prose_chars, extraction.check.article_chars)
    if page.media is not None and prose < MEDIA_MAX_PROSE_CHARS:
        raise PoisonInputError(
            "no_article",
            f"the page is a {page.media} page with {prose} characters of prose around the "
            "media; it has no article to ingest.",
        )
    text, furniture = _leading_furniture_out(extraction)
    if len(text) < MIN_TEXT_CHARS:
        raise PoisonInputError(
            "no_text",
            f"no article text could be extracted from the page ({len(text)} characters: empty, "
            "all navigation, or too deeply nested); check the URL is an article page.",
        )

    notes = list(doc.notes)
    if flooded:
        notes.append(
            f"extract: attributes dropped from {flooded} element(s) with more than "
            f"{MAX_ATTRIBUTES} each"
        )
    hints = dict(doc.hints)
    if html_lang:
        hints["html_lang"] = html_lang
    return dataclasses.replace(
        doc,
        text=text,
        title=title,
        authors=doc.authors or _authors(meta("author")),
        published=doc.published or meta("date"),
        source=doc.source or meta("sitename"),
        url=doc.url or meta("url"),
        hints=hints,
        notes=notes,
        boilerplate=[*doc.boilerplate, *furniture],
        extraction_method=extraction.method,
    )
