"""Alert precision and recall on namesakes and inflected mentions: 32 short articles.

The articles (tests/data/entities/alerts/, listed with the expected outcome in
``manifest.tsv``) are news-style texts in 19 languages written for this test: Khalifa
Haftar under case endings, clitics and titles (must alert), and namesakes and
homographs — a Swiss skier Anna Hafter, a dentist Mohammed Haftar, his son Saddam
Haftar, a footballer, the Turkish word "hafta" (week) — that must not. Each article
goes through the real text chain (``transforms.chain.enrich``: language detection,
entity tagging) and the packaged watchlist.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from transforms.alerts import load_watchlist, raise_alerts
from transforms.chain import enrich
from transforms.document import Document

ARTICLES = Path(__file__).resolve().parents[1] / "data" / "entities" / "alerts"


def _manifest() -> list[tuple[str, str, bool]]:
    rows = []
    for line in (ARTICLES / "manifest.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, language, expected = line.split("\t")
            assert expected in ("alert", "none"), line
            rows.append((name, language, expected == "alert"))
    return rows


def _alerts(name: str) -> tuple[Document, bool]:
    text = (ARTICLES / name).read_text(encoding="utf-8")
    doc = enrich(Document(id=name, origin=str(ARTICLES / name), content=text))
    assert isinstance(doc, Document), doc
    return doc, bool(raise_alerts(load_watchlist(), doc))


def test_the_set_is_multilingual_and_balanced() -> None:
    rows = _manifest()
    assert len(rows) >= 24
    assert len({language for _, language, _ in rows}) >= 12
    assert sum(alert for *_, alert in rows) >= 12
    assert sum(not alert for *_, alert in rows) >= 8


def test_alert_precision_and_recall_are_one() -> None:
    true_positive = false_positive = false_negative = 0
    wrong = []
    for name, _, expected in _manifest():
        doc, fired = _alerts(name)
        true_positive += fired and expected
        false_positive += fired and not expected
        false_negative += expected and not fired
        if fired != expected:
            mentions = [(m.text, m.canonical) for m in doc.entities if m.label == "PER"]
            wrong.append((name, doc.language, "fired" if fired else "silent", mentions))
    precision = true_positive / (true_positive + false_positive or 1)
    recall = true_positive / (true_positive + false_negative or 1)
    assert (precision, recall) == (1.0, 1.0), wrong


@pytest.mark.parametrize(("name", "language", "expected"), _manifest())
def test_each_article(name: str, language: str, expected: bool) -> None:
    doc, fired = _alerts(name)
    assert fired == expected, [(m.text, m.canonical) for m in doc.entities]
    if expected:  # every Haftar mention as written is in the alert's variants
        assert any(m.canonical == "Khalifa Haftar" for m in doc.entities)
