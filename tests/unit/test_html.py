"""extract_html: golden files, a precision/recall gate, and pages that must not crash it."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.golden.regenerate_pages import GOLDEN, PAGES, golden_record, page_document
from transforms.document import CONTENT_HTML, CONTENT_TEXT, Document, PoisonInputError
from transforms.html import MAX_HTML_CHARS, extract_html

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
