"""Collapsed extractions: the pinned page shapes in tests/data/pages/collapse/, gated.

Each page was written for this test (not taken from the rules' development), with the
article text it should give (``.expected.txt``) or the reason it has no article
(``.reject.txt``). Word-level precision and recall are averaged over the article pages;
the floors sit below what was measured (docs/transforms.md, "Collapsed extractions").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from trafilatura.utils import load_html

from tests.golden.regenerate_pages import PAGES, page_document
from tests.unit.test_html import precision_recall
from transforms.document import PoisonInputError
from transforms.extraction_check import (
    check_text,
    is_furniture,
    is_price_list,
    load_rules,
    profile_page,
)
from transforms.html import extract_html

COLLAPSE = PAGES / "collapse"
ARTICLES = sorted(p for p in COLLAPSE.glob("*.html") if p.with_suffix(".expected.txt").exists())
NO_ARTICLE = sorted(p for p in COLLAPSE.glob("*.html") if p.with_suffix(".reject.txt").exists())
# Measured 0.968 / 0.993 on these 13 pages; trafilatura's precision setting alone gives
# 0.79 / 0.73 (the cookie wall, the split body, the consent <article> and the JSON-LD body
# collapse). The last two pages were written after the checks were designed, as a hold-out:
# the consent page passed as it was; the JSON-LD page did not, and led to reading the
# declared articleBody as a prose measure (docs/transforms.md).
PRECISION_FLOOR = 0.94
RECALL_FLOOR = 0.97
PAGE_FLOOR = 0.75


def test_the_set_covers_the_shapes_and_languages() -> None:
    assert len(ARTICLES) >= 10
    assert len(NO_ARTICLE) >= 2
    assert {p.name[:2] for p in ARTICLES} >= {
        "en", "de", "fr", "es", "nl", "da", "it", "sv", "pl", "nb"
    }  # fmt: skip


def test_collapse_set_quality_gate() -> None:
    scores = {}
    for page in ARTICLES:
        expected = page.with_suffix(".expected.txt").read_text(encoding="utf-8")
        scores[page.stem] = precision_recall(extract_html(page_document(page)).text, expected)
    precision = sum(p for p, _ in scores.values()) / len(scores)
    recall = sum(r for _, r in scores.values()) / len(scores)
    assert precision >= PRECISION_FLOOR, scores
    assert recall >= RECALL_FLOOR, scores
    assert all(min(p, r) >= PAGE_FLOOR for p, r in scores.values()), scores


@pytest.mark.parametrize("page", NO_ARTICLE, ids=lambda p: p.stem)
def test_pages_without_an_article_are_dead_letters(page: Path) -> None:
    with pytest.raises(PoisonInputError) as rejected:
        extract_html(page_document(page))
    assert rejected.value.reason == page.with_suffix(".reject.txt").read_text().strip()


def test_collapsed_pages_record_the_fallback_that_rescued_them() -> None:
    methods = {p.stem: extract_html(page_document(p)).extraction_method for p in ARTICLES}
    rescued = {"en-split-body", "da-cookie-wall", "nb-consent-article", "en-json-ld-body"}
    for stem in rescued:
        assert methods[stem] in {"recall", "baseline", "pruned"}, stem
    # Pages that extract well keep the first setting: the fallback is not a default.
    assert {stem for stem, method in methods.items() if method != "precision"} == rescued


def test_golden_pages_keep_the_first_setting() -> None:
    for page in sorted(PAGES.glob("*.html")):
        assert extract_html(page_document(page)).extraction_method == "precision", page.name


def test_furniture_is_read_from_vocabulary_and_prices_not_from_known_strings() -> None:
    rules = load_rules()
    # Sentences written here, not on any test page.
    assert is_furniture("We and our advertising partners store cookies on your device.", rules)
    assert is_furniture("Diese Seite unterstützt Ihren Browser nicht mehr.", rules)
    assert is_furniture("Digital: 4,99 € im ersten Monat, danach 12,99 € monatlich.", rules)
    assert is_price_list("Print £4.50 a week, digital £2 a week, both £5.25 a week.", rules)
    article = (
        "The ministry said the new rules would apply from March. Shops that break them face "
        "fines. Consumer groups welcomed the change but asked for clearer cookie labelling."
    )
    assert not is_furniture(article, rules)
    assert not is_price_list("The bridge cost €410 million and took six years to build.", rules)


def test_a_text_of_two_of_many_paragraphs_is_collapsed() -> None:
    paragraph = "The council met on Monday and agreed to a new budget for the harbour. " * 3
    page = "<html><body><div>" + "".join(f"<p>{paragraph}{n}</p>" for n in range(12))
    profile = profile_page(load_html(page + "</div></body></html>"))
    two = "\n\n".join([paragraph] * 2)
    assert check_text(two, profile).reason == "short"
    all_twelve = "\n\n".join([paragraph] * 12)
    assert not check_text(all_twelve, profile).collapsed


def test_plain_text_has_no_extraction_method() -> None:
    from transforms.chain import extract_text
    from transforms.document import Document

    doc = extract_text(Document(id="t", origin="a.txt", content="One two three four words."))
    assert doc.extraction_method is None


def test_every_setting_reads_the_page_as_it_was() -> None:
    """main_text gives each fallback the same tree: none of them may change it."""
    from lxml import html as lxml_html
    from trafilatura import baseline

    from transforms.html import _trafilatura_text

    for page in (COLLAPSE / "da-cookie-wall.html", COLLAPSE / "en-split-body.html"):
        doc = page_document(page)
        tree = load_html(doc.content)
        before = lxml_html.tostring(tree)
        _trafilatura_text(tree, "precision", doc)
        _trafilatura_text(tree, "recall", doc)
        baseline(tree)
        assert lxml_html.tostring(tree) == before, page.name


def _article_paragraphs() -> str:
    text = (PAGES / "en-haftar-tripoli.expected.txt").read_text(encoding="utf-8")
    return "".join(f"<p>{p}</p>" for p in text.split("\n\n"))


@pytest.mark.parametrize(
    "page",
    [
        # ASP.NET wraps the whole body in a <form>; themes name wrappers after the sidebar.
        "<html><body><form id='aspnetForm'><div class='layout has-sidebar'><video src='v.mp4'>"
        "</video><article>{article}</article><aside>Most read</aside></div></form></body></html>",
        "<html><body><article><iframe src='https://player.example/embed/1'></iframe>{article}"
        "</article></body></html>",
        "<html><body><main>" + "<figure><img src='a.jpg'><figcaption>A caption.</figcaption>"
        "</figure>" * 4 + "{article}</main></body></html>",
    ],
    ids=["form-wrapper", "embedded-player", "photos-in-article"],
)
def test_an_article_with_media_is_not_mistaken_for_a_media_page(page: str) -> None:
    from tests.unit.test_html import html_doc

    doc = extract_html(html_doc(page.format(article=_article_paragraphs())))
    assert doc.extraction_method == "precision"
    assert doc.text.startswith("Forces loyal to the eastern commander Khalifa Haftar")


def test_a_paragraph_printed_twice_does_not_count_as_lost_text() -> None:
    from tests.unit.test_html import html_doc

    quote = "<p>" + "The council will vote on the budget in February, the mayor said. " * 2
    page = f"<html><body><article>{_article_paragraphs()}{quote}</p>{quote}</p></article></body>"
    assert extract_html(html_doc(page + "</html>")).extraction_method == "precision"


def test_an_article_about_cookies_keeps_its_lead() -> None:
    from tests.unit.test_html import html_doc

    lead = (
        "The new cookie consent rules take effect across the EU today. Regulators in Brussels "
        "said websites would have six months to comply before the first fines are issued."
    )
    page = f"<html><body><article><p>{lead}</p>{_article_paragraphs()}</article></body></html>"
    doc = extract_html(html_doc(page))
    assert doc.text.startswith("The new cookie consent rules")
    assert not [s for s in doc.boilerplate if s.kind == "furniture"]
