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
paragraphs get cut, and can prune page parts with ``extract_prune_xpath``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any, cast

from htmldate import find_date
from trafilatura import bare_extraction
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import Extractor, set_date_params, use_config
from trafilatura.utils import load_html

from transforms.document import CONTENT_HTML, Document, PoisonInputError

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
    try:
        found = trafilatura_metadata.extract_meta_json(tree, found)
    except Exception as error:  # noqa: BLE001 - broken JSON-LD only loses the JSON-LD
        _LOG.debug("unreadable JSON-LD metadata on %s: %s", url, error)
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


def trafilatura_part(tree: Any, doc: Document) -> tuple[dict[str, str | None], str]:
    """What trafilatura does for ``extract_html``: the page's metadata (``page_metadata``)
    and its main text, one block per line. The benchmark times it as the baseline of
    trafilatura with newsbeam's options."""
    found = page_metadata(tree, doc.url or doc.origin, doc)
    favor = "recall" if doc.hints.get("extract_favor") == "recall" else "precision"
    prune = doc.hints.get("extract_prune_xpath") or None
    result = bare_extraction(tree, options=_EXTRACTORS[favor], prune_xpath=prune)
    return found, (cast(Any, result).text or "") if result is not None else ""


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

    found, body = trafilatura_part(tree, doc)

    def meta(key: str) -> str | None:
        value = found.get(key)
        return (str(value).strip() or None) if value else None

    text = _paragraphs(body)
    title = doc.title or meta("title")
    if title:
        # Many pages put the headline inside the article body; it is metadata, not text.
        first, _, rest = text.partition("\n\n")
        if rest and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
            text = rest
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
    )
