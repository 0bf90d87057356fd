"""extract_html: golden files, a precision/recall gate, and pages that must not crash it."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from trafilatura import extract_metadata
from trafilatura.utils import load_html

from benchmarks.workloads import documents
from tests.golden.regenerate_pages import GOLDEN, PAGES, golden_record, page_document
from transforms.document import CONTENT_HTML, CONTENT_TEXT, Document, PoisonInputError
from transforms.html import MAX_HTML_CHARS, extract_html, page_metadata

PAGE_FILES = sorted(PAGES.glob("*.html"))
PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.9
PAGE_FLOOR = 0.8  # no single page may be far worse than the average


def html_doc(content: str, **fields: object) -> Document:
    return Document(
        id="t", origin="https://pages.test/x", content=content, content_type=CONTENT_HTML,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.casefold()))


def precision_recall(extracted: str, expected: str) -> tuple[float, float]:
    got, want = tokens(extracted), tokens(expected)
    overlap = sum((got & want).values())
    return overlap / max(1, sum(got.values())), overlap / max(1, sum(want.values()))


def test_there_are_pages_in_six_languages() -> None:
    languages = {golden_record(p)["html_lang"] for p in PAGE_FILES}
    assert languages >= {"en", "da", "nl", "de", "fr", "es"}


@pytest.mark.parametrize("page", PAGE_FILES, ids=lambda p: p.stem)
def test_extraction_matches_golden_file(page: Path) -> None:
    golden = json.loads((GOLDEN / f"{page.stem}.json").read_text(encoding="utf-8"))
    assert golden_record(page) == golden, (
        "extraction changed; if deliberate, run tests/golden/regenerate_pages.py, review the diff"
    )


def test_extraction_quality_gate() -> None:
    """Token precision and recall against the article text written for each page."""
    scores = {}
    for page in PAGE_FILES:
        expected = page.with_suffix(".expected.txt").read_text(encoding="utf-8")
        scores[page.stem] = precision_recall(extract_html(page_document(page)).text, expected)
    precision = sum(p for p, _ in scores.values()) / len(scores)
    recall = sum(r for _, r in scores.values()) / len(scores)
    assert precision >= PRECISION_FLOOR, scores
    assert recall >= RECALL_FLOOR, scores
    assert all(min(p, r) >= PAGE_FLOOR for p, r in scores.values()), scores


def test_furniture_is_left_out_and_paragraphs_kept() -> None:
    doc = extract_html(page_document(PAGES / "en-haftar-tripoli.html"))
    paragraphs = doc.text.split("\n\n")
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("Forces loyal to the eastern commander Khalifa Haftar")
    assert paragraphs[-1].endswith("his forces hold around the capital.")
    for furniture in ("cookies", "Related stories", "libyawatcher", "Subscribe", "Privacy"):
        assert furniture not in doc.text


def test_metadata_fills_title_authors_date_site_url_and_language() -> None:
    doc = extract_html(page_document(PAGES / "de-bahnstreik.html"))
    assert doc.title == "Bahnstreik: Fernverkehr bundesweit weitgehend eingestellt"
    assert doc.authors == ["Julia Becker", "Thomas Krüger"]
    assert doc.published == "2024-01-10"
    assert doc.source == "Rheinische Rundschau"
    assert doc.hints["html_lang"] == "de"
    en = extract_html(page_document(PAGES / "en-haftar-tripoli.html"))
    assert en.url == "https://meridian.example/world/africa/haftar-forces-pull-back-tripoli"


def test_values_already_set_by_the_connector_win() -> None:
    raw = dataclasses.replace(
        page_document(PAGES / "fr-greve-marseille.html"),
        url="https://courrier.example/a",
        title="Titre du flux",
        hints={"source": "courrier", "language": "fr"},
    )
    doc = extract_html(raw)
    assert (doc.url, doc.title) == ("https://courrier.example/a", "Titre du flux")
    assert doc.hints == {"source": "courrier", "language": "fr", "html_lang": "fr"}


def test_extract_is_pure() -> None:
    raw = page_document(PAGES / "nl-dijkversterking.html")
    before = copy.deepcopy(raw)
    doc = extract_html(raw)
    assert raw == before
    assert doc is not raw
    assert doc.text
    assert extract_html(raw) == doc


def test_plain_text_documents_pass_through() -> None:
    doc = Document(id="t", origin="a.txt", content="Hello.", content_type=CONTENT_TEXT)
    assert extract_html(doc) is doc


def test_prune_xpath_hint_removes_page_parts() -> None:
    page = page_document(PAGES / "es-sequia-cataluna.html")
    assert "boletín" in extract_html(page).text
    pruned = dataclasses.replace(page, hints={"extract_prune_xpath": "//div[@class='boletin']"})
    assert "boletín" not in extract_html(pruned).text


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("<html><body><nav><a href='/'>Home</a> <a href='/n'>News</a></nav></body></html>",
         "no_text"),
        ("<html><body>" + "<div>" * 100_000 + "<p>deep</p>" + "</div>" * 100_000 + "</body></html>",
         "no_text"),
        ("\x00\x01\x02 binary garbage \xff\xfe", "unparseable"),
    ],
    ids=["empty", "blank", "navigation-only", "html-bomb", "garbage"],
)  # fmt: skip
def test_pages_without_text_are_poison_with_a_reason(content: str, reason: str) -> None:
    with pytest.raises(PoisonInputError) as rejected:
        extract_html(html_doc(content))
    assert rejected.value.reason == reason


def test_huge_pages_are_refused_before_parsing() -> None:
    huge = "<html><body>" + "<p>word word word</p>" * (MAX_HTML_CHARS // 20 + 1) + "</body></html>"
    with pytest.raises(PoisonInputError) as rejected:
        extract_html(html_doc(huge))
    assert rejected.value.reason == "too_large"


def test_broken_markup_still_extracts() -> None:
    article = (PAGES / "da-havvind-esbjerg.expected.txt").read_text(encoding="utf-8")
    paragraphs = "".join(f"<p>{p}" for p in article.split("\n\n"))  # no closing tags
    broken = (
        f"<html lang=da><head><title>Havvind</title><body><div><article>{paragraphs}</div></span>"
    )
    doc = extract_html(html_doc(broken))
    precision, recall = precision_recall(doc.text, article)
    assert precision >= 0.95
    assert recall >= 0.95
    assert doc.hints["html_lang"] == "da"


_ARTICLE = "<p>" + "The harbour reopened on Tuesday after the storm. " * 6 + "</p>"
# Pages whose metadata is found by trafilatura's fallbacks, not by meta tags.
METADATA_PAGES = {
    "no-meta": f"""<html><head><title>Storm closes harbour | Coastal Times</title></head>
        <body><h1>Storm closes harbour</h1><p class="byline">By Anna Berg</p>
        <p>Published 12 March 2021</p>{_ARTICLE}</body></html>""",
    "lower-case-twitter-site": f"""<html><head><meta name="twitter:site" content="@harbournews">
        <meta property="og:title" content="Harbour reopens"></head>
        <body><article>{_ARTICLE}</article></body></html>""",
    "one-word-author-and-json-ld": f"""<html><head><meta name="author" content="admin">
        <script type="application/ld+json">{{"@context": "https://schema.org",
        "@type": "NewsArticle", "headline": "Harbour",
        "author": {{"@type": "Person", "name": "Jonas Lindqvist"}},
        "datePublished": "2022-05-03T08:00:00Z"}}</script></head>
        <body><article>{_ARTICLE}</article></body></html>""",
    "broken-json-ld": f"""<html><head><script type="application/ld+json">{{"@type": "News
        </script><meta property="og:site_name" content="Kystposten"></head>
        <body><time datetime="2020-01-07">7. januar</time>
        <article>{_ARTICLE}</article></body></html>""",
    "canonical-link": f"""<html><head><link rel="canonical" href="https://kyst.example/a/1">
        </head><body><article>{_ARTICLE}</article></body></html>""",
}  # fmt: skip


def _metadata_pages() -> list[tuple[str, str]]:
    pages = [(p.stem, p.read_text(encoding="utf-8")) for p in PAGE_FILES]
    pages += [(f"bench-{d.id[:6]}", d.content) for d in documents("html", 10, seed=11)]
    return pages + list(METADATA_PAGES.items())


@pytest.mark.parametrize(("name", "page"), _metadata_pages(), ids=lambda v: v[:24])
def test_page_metadata_equals_trafilaturas_own(name: str, page: str) -> None:
    """page_metadata calls trafilatura's finders itself: it must agree with extract_metadata.

    When it does not after a trafilatura upgrade, follow trafilatura's new steps."""
    url = "https://pages.test/a"
    ours = page_metadata(load_html(page), url, html_doc(page))
    theirs = extract_metadata(load_html(page), url).as_dict()
    assert ours == {key: theirs[key] for key in ours}
    assert any(ours.values())


def test_the_fallbacks_ran_on_the_pages_without_meta_tags() -> None:
    found = page_metadata(load_html(METADATA_PAGES["no-meta"]), "https://kyst.example/a",
                          html_doc(""))  # fmt: skip
    assert found["title"] == "Storm closes harbour"
    assert found["author"] == "Anna Berg"
    assert found["date"] == "2021-03-12"
    assert found["sitename"] == "kyst.example"
    twitter = page_metadata(load_html(METADATA_PAGES["lower-case-twitter-site"]), None,
                            html_doc(""))  # fmt: skip
    assert twitter["sitename"] == "Harbournews"
    ld = page_metadata(load_html(METADATA_PAGES["one-word-author-and-json-ld"]), None,
                       html_doc(""))  # fmt: skip
    assert (ld["author"], ld["date"]) == ("Jonas Lindqvist", "2022-05-03")


def test_fields_the_feed_gave_are_not_searched_for() -> None:
    page = METADATA_PAGES["no-meta"]
    known = html_doc(page, title="Feed title", authors=["Feed Author"], published="2021-03-12",
                     source="Coastal Times")  # fmt: skip
    found = page_metadata(load_html(page), "https://kyst.example/a", known)
    assert (found["title"], found["author"], found["date"]) == (None, None, None)
    doc = extract_html(known)
    assert (doc.title, doc.authors, doc.published, doc.source) == (
        "Feed title",
        ["Feed Author"],
        "2021-03-12",
        "Coastal Times",
    )
