"""The hand-written news check set (tests/data/ner/news): well-formed, and kept apart
from training."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.ner import NEWS_DIR, news_documents, render
from tests.data.ner.news.generate import LANGUAGES, MarkupError, conll_text, sentence_lines
from transforms.ner.corpus import CorpusError, corpus_files, read_documents, spans
from transforms.ner.scoring import SpanScores

KINDS = ("PER", "ORG", "LOC", "MISC")


def _iob2_errors(path: Path) -> list[str]:
    """Every line that is not ``token<TAB>tag`` with a valid IOB2 tag over KINDS."""
    errors: list[str] = []
    previous = "O"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line or line == "-DOCSTART-":
            previous = "O"
            continue
        token, sep, tag = line.partition("\t")
        if not sep or not token or "\t" in tag:
            errors.append(f"line {number}: not token<TAB>tag")
        elif tag != "O" and (tag[:2] not in ("B-", "I-") or tag[2:] not in KINDS):
            errors.append(f"line {number}: tag {tag!r}")
        elif tag.startswith("I-") and previous[2:] != tag[2:]:
            errors.append(f"line {number}: {tag} does not continue {previous}")
        previous = tag
    return errors


@pytest.mark.parametrize("language", LANGUAGES)
def test_news_files_are_iob2_with_every_type(language: str) -> None:
    path = NEWS_DIR / f"{language}.conll"
    assert _iob2_errors(path) == []
    articles = read_documents(path, keep_misc=True)
    sentences = [s for article in articles for s in article]
    counts = Counter(kind for s in sentences for *_, kind in spans(s.tags))
    assert len(articles) >= 12
    assert len(sentences) >= 100
    assert all(counts[kind] > 0 for kind in KINDS), counts


@pytest.mark.parametrize("language", LANGUAGES)
def test_news_files_are_the_markup_converted(language: str) -> None:
    markup = (NEWS_DIR / f"{language}.txt").read_text(encoding="utf-8")
    assert (NEWS_DIR / f"{language}.conll").read_text(encoding="utf-8") == conll_text(markup)


def test_markup_conversion_and_its_errors() -> None:
    assert sentence_lines("[PER Haftar]'s men left [LOC Sirte].", "x") == [
        "Haftar\tB-PER",
        "'s\tO",
        "men\tO",
        "left\tO",
        "Sirte\tB-LOC",
        ".\tO",
    ]
    # The sentence is tokenised whole, so an elided article is cut off as the tagger cuts it.
    assert sentence_lines("reçu à l'[LOC Élysée]", "x") == [
        "reçu\tO",
        "à\tO",
        "l'\tO",
        "Élysée\tB-LOC",
    ]
    with pytest.raises(MarkupError, match="runs across a name's edge"):
        sentence_lines("the [ORG EU]-backed plan", "x")
    with pytest.raises(MarkupError, match="unknown type 'GPE'"):
        sentence_lines("[GPE Libya]", "x")
    with pytest.raises(MarkupError, match="unbalanced"):
        sentence_lines("[PER Haftar left", "x")


def test_news_documents_are_whole_articles_with_gold_spans() -> None:
    docs = news_documents(NEWS_DIR / "en.conll", "en")
    assert len(docs) == len(read_documents(NEWS_DIR / "en.conll"))
    first = docs[0]
    assert first.text.startswith("LIBYA : HAFTAR")
    names = {first.text[first.offsets[a][0] : first.offsets[b - 1][1]] for a, b, _ in first.gold}
    assert {"Khalifa Haftar", "Reuters", "Libyan National Army"} <= names


def test_news_set_is_out_of_reach_of_training() -> None:
    # Training reads only <lang>/<source>.<split>.conll.gz files: even pointed at this
    # folder it finds nothing to train on.
    with pytest.raises(CorpusError):
        corpus_files(NEWS_DIR)


def test_report_has_news_rows_with_types() -> None:
    scores = SpanScores()
    scores.add({(0, 1, "PER"), (2, 3, "ORG")}, {(0, 1, "PER"), (2, 3, "LOC")})
    report = render({"scores": {"after": {"en": scores.summary(), "news/en": scores.summary()}}})
    assert "| news/en | 0.500 (0.500) |" in report
    assert "| news/en PER | 1.000 |" in report
    assert "| news/en ORG | 0.000 |" in report


def test_readme_counts_are_the_files() -> None:
    # The README's table is what the docs quote: it must say what the files hold.
    rows = {}
    for line in (NEWS_DIR / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[0] in LANGUAGES:
            rows[cells[0]] = [int(c.replace(",", "")) for c in cells[1:]]
    assert set(rows) == set(LANGUAGES)
    for language in LANGUAGES:
        articles = read_documents(NEWS_DIR / f"{language}.conll", keep_misc=True)
        sentences = [s for article in articles for s in article]
        counts = Counter(kind for s in sentences for *_, kind in spans(s.tags))
        tokens = sum(len(s.tokens) for s in sentences)
        found = [len(articles), len(sentences), tokens, *(counts[kind] for kind in KINDS)]
        assert rows[language] == found, language
