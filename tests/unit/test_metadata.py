"""extract_metadata on the seeds and on articles written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.document import Document
from transforms.metadata import extract_metadata, parse_byline, parse_date

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def doc_of(text: str, **fields: object) -> Document:
    text = text.replace("\r\n", "\n").strip()
    return Document(id="t", origin="test", content=text, text=text, **fields)  # type: ignore[arg-type]


def seed(prefix: str) -> Document:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return doc_of(path.read_text(encoding="utf-8"))


def kinds(doc: Document) -> list[str]:
    return [s.kind for s in doc.boilerplate]


def test_seed_000_starts_with_body_so_no_title() -> None:
    before = seed("000")
    after = extract_metadata(before)
    assert after.title is None
    assert after.text == before.text
    assert after.boilerplate == []


def test_seed_001_inline_date_is_lifted_from_first_paragraph() -> None:
    after = extract_metadata(seed("001"))
    assert after.published == "2019-04"
    assert after.text.startswith("Haftar maakte onder Khadafi")
    assert kinds(after) == ["dateline"]


def test_seed_002_date_and_photo_credit() -> None:
    after = extract_metadata(seed("002"))
    assert after.published == "2019-04"
    first = after.text.split("\n")[0]
    assert first.endswith("hangt op een gebouw in Benghazi.")
    assert [(s.kind, s.text) for s in after.boilerplate] == [
        ("dateline", "date 2019-04"),
        ("credit", "Beeld REUTERS"),
    ]


def test_seed_003_outlet_title_byline() -> None:
    after = extract_metadata(seed("003"))
    assert after.source == "Daily Mail"
    assert after.title == "Russia accused as new civil war looms in Libya"
    assert after.authors == ["Larisa Brown"]
    assert "@" not in after.text
    assert after.text.startswith("LIBYA was on the brink")
    assert kinds(after) == ["outlet", "title", "byline"]


def test_seed_004_title_then_outlet() -> None:
    after = extract_metadata(seed("004"))
    assert after.title.startswith("Fears of escalating violence") if after.title else False
    assert after.source == "The Canary"
    assert after.text.startswith("A commander in Libya")


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("3 april 2019", "2019-04-03"),
        ("April 3, 2019", "2019-04-03"),
        ("3. april 2019", "2019-04-03"),
        ("14. März 2021", "2021-03-14"),
        ("le 2 février 2020", None),  # a sentence fragment, not a date line
        ("Publié le 2 février 2020", "2020-02-02"),
        ("5 de mayo de 2018", "2018-05-05"),
        ("Publiceret: 12. december 2022 kl. 14.05", "2022-12-12"),
        ("2019-04-31", None),  # no such day
        ("2019", "2019"),
        ("date 2019-04-03", "2019-04-03"),
        ("Tuesday, 9 July 2024", "2024-07-09"),
        ("Juni 2017", "2017-06"),
    ],
)
def test_parse_date(written: str, iso: str | None) -> None:
    assert parse_date(written) == iso


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("By Anna Holm and Peter Lund", ["Anna Holm", "Peter Lund"]),
        ("Af Mette Kjær Sørensen, udlandsredaktør", ["Mette Kjær Sørensen"]),
        ("Door Jan van der Berg", ["Jan van der Berg"]),
        ("Von Katrin Müller und Jonas Weber", ["Katrin Müller", "Jonas Weber"]),
        ("Par Claire Dubois, envoyée spéciale", ["Claire Dubois"]),
        ("- By Sam Okafor Political Correspondent s.okafor@example.org", ["Sam Okafor"]),
        ("By Tuesday the troops had crossed the river", None),
        ("Door de regering werd niets gezegd", None),
        ("By Reuters", None),
    ],
)
def test_parse_byline(line: str, authors: list[str] | None) -> None:
    assert parse_byline(line) == authors


def test_german_article_with_unknown_outlet_dateline_and_credit() -> None:
    text = """Bremer Morgenpost

Hafen streicht hunderte Stellen

Von Katrin Müller

14. März 2021

Der Hafenbetreiber will 300 Stellen abbauen. Die Gewerkschaft kündigte Proteste an. Foto: dpa

Betroffen sind vor allem die Terminals im Norden der Stadt."""
    after = extract_metadata(doc_of(text))
    assert after.source == "Bremer Morgenpost"
    assert after.title == "Hafen streicht hunderte Stellen"
    assert after.authors == ["Katrin Müller"]
    assert after.published == "2021-03-14"
    assert after.text.startswith("Der Hafenbetreiber will 300 Stellen abbauen.")
    assert "Die Gewerkschaft kündigte Proteste an." in after.text
    assert "Foto: dpa" not in after.text
    assert ("credit", "Foto: dpa") in [(s.kind, s.text) for s in after.boilerplate]


def test_spanish_article_credit_in_parentheses_and_date() -> None:
    text = """El Heraldo Digital

El Gobierno aprueba la nueva ley de vivienda

5 de mayo de 2018

El Consejo de Ministros aprobó este martes el proyecto de ley. (Getty Images)

La oposición anunció que recurrirá la norma."""
    after = extract_metadata(doc_of(text))
    assert after.source == "El Heraldo Digital"
    assert after.published == "2018-05-05"
    assert after.title == "El Gobierno aprueba la nueva ley de vivienda"
    assert "(Getty Images)" not in after.text
    assert after.text.endswith("La oposición anunció que recurrirá la norma.")


def test_fields_already_set_are_not_overwritten() -> None:
    text = "Daily Mail\n\nRussia accused\n\nBy Larisa Brown\n\nThe body starts here and goes on."
    before = doc_of(
        text,
        title="Russia accused",
        source="Mail Online",
        authors=["L. Brown"],
        published="2019-04-05",
    )
    after = extract_metadata(before)
    assert (after.title, after.source, after.authors) == (
        "Russia accused",
        "Mail Online",
        ["L. Brown"],
    )
    assert after.text == "The body starts here and goes on."
    assert kinds(after) == ["outlet", "title", "byline"]


def test_short_body_sentence_first_is_not_a_title() -> None:
    text = "Police arrested two men on Tuesday.\n\nThey were released later that evening."
    after = extract_metadata(doc_of(text))
    assert after.title is None
    assert after.text == text


def test_input_is_not_mutated() -> None:
    before = seed("003")
    snapshot = before.to_json()
    extract_metadata(before)
    assert before.to_json() == snapshot


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_never_raises_and_loses_nothing(text: str) -> None:
    after = extract_metadata(doc_of(text))
    kept = "".join(after.text.split()) + "".join("".join(s.text.split()) for s in after.boilerplate)
    assert sorted(kept) == sorted("".join(doc_of(text).text.split()))
