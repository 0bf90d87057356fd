"""Per-type entity facets and the analysts' time field (transforms/facets.py), and their
place in the indexed article."""

from __future__ import annotations

import pytest

from connectors.elasticsearch import article_source, load_mapping
from connectors.elasticsearch.layout import _recompute_article
from transforms.document import Document, Mention
from transforms.entities import load_knowledge_base
from transforms.facets import (
    ALL_FACET_FIELDS,
    entity_facets,
    event_time,
    facet_field,
    facet_name,
    normalise_surface,
)


def _mention(text: str, label: str, canonical: str | None = None) -> Mention:
    return Mention(text=text, label=label, start=0, end=len(text), canonical=canonical)


def test_each_type_goes_to_its_own_field_and_each_name_once() -> None:
    facets = entity_facets(
        [
            _mention("Haftars", "PER", "Khalifa Haftar"),
            _mention("Libië", "LOC", "Libya"),
            _mention("Hafter", "PER", "Khalifa Haftar"),
            _mention("VN", "ORG", "United Nations"),
            _mention("Libische", "MISC"),
            _mention("Rasmus  Boserup", "PER"),
            _mention("Rasmus Boserup", "PER"),
        ]
    )
    assert facets == {
        "people": ["Khalifa Haftar", "Rasmus Boserup"],
        "organisations": ["United Nations"],
        "places": ["Libya"],
        "other": ["Libische"],
    }


def test_every_facet_field_is_present_even_when_empty() -> None:
    assert entity_facets([]) == {field: [] for field in ALL_FACET_FIELDS}


@pytest.mark.parametrize(
    ("label", "field"),
    [("PER", "people"), ("ORG", "organisations"), ("LOC", "places"), ("MISC", "other"),
     ("per", "people"), ("EVENT", "other")],
)  # fmt: skip
def test_labels_map_to_fields(label: str, field: str) -> None:
    assert facet_field(label) == field


@pytest.mark.parametrize(
    ("surface", "normalised"),
    [
        ("  Froenze\nAcademie ", "Froenze Academie"),
        ("‘Operatie Waardigheid’", "Operatie Waardigheid"),
        ("Hafter’s", "Hafter"),
        ("(LNA)", "LNA"),
        ("al-Sharia", "al-Sharia"),
        ("e\u0301", "\u00e9"),  # decomposed é -> one code point
        ("--", ""),
    ],
)
def test_surface_forms_are_normalised(surface: str, normalised: str) -> None:
    assert normalise_surface(surface) == normalised


def test_the_canonical_name_wins_where_linked() -> None:
    assert facet_name("Khalifa Haftar", "Haftars’") == "Khalifa Haftar"
    assert facet_name(None, "Haftars’") == "Haftars"


@pytest.mark.parametrize(
    ("published", "received", "expected"),
    [
        ("2019-04-05T10:00:00Z", "2026-01-01T00:00:00.000Z", "2019-04-05T10:00:00Z"),
        ("2019-04", "2026-01-01T00:00:00.000Z", "2019-04"),
        ("2019", "2026-01-01T00:00:00.000Z", "2019"),
        ("2019-04-05", "2026-01-01T00:00:00.000Z", "2019-04-05"),
        (None, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
        ("not a date", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
        ("2019-13", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
        # a page dated next month: a wrong date, not a publication time
        ("2026-02-01T00:00:00Z", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
        # a few hours ahead is a time-zone slip, kept
        ("2026-01-01T05:00:00+05:00", "2026-01-01T00:00:00.000Z", "2026-01-01T05:00:00+05:00"),
    ],
)
def test_event_time_is_publication_time_where_usable(
    published: str | None, received: str, expected: str
) -> None:
    assert event_time(published, received) == expected


def _doc() -> Document:
    doc = Document(id="d1", origin="x.txt", content="x", received_at="2026-01-01T00:00:00.000Z")
    doc.text = "Haftars troepen rukken op naar Tripoli; de VN en Rasmus Boserup kijken toe."
    doc.language = "nl"
    doc.published = "2019-04"
    doc.entities = [
        Mention("Haftars", "PER", 0, 7, canonical="Khalifa Haftar", entity_id="khalifa-haftar"),
        Mention("Tripoli", "LOC", 31, 38, canonical="Tripoli"),
        Mention("VN", "ORG", 43, 45, canonical="United Nations"),
        Mention("Rasmus Boserup", "PER", 49, 63),
    ]
    return doc


def test_the_indexed_article_carries_facets_and_event_time_in_the_mapping() -> None:
    source = article_source(_doc(), load_knowledge_base())
    assert source["people"] == ["Khalifa Haftar", "Rasmus Boserup"]
    assert source["places"] == ["Tripoli"]
    assert source["organisations"] == ["United Nations"]
    assert source["other"] == []
    assert source["event_time"] == "2019-04"
    mapping = load_mapping("articles")
    assert mapping["_meta"]["mapping_version"] == 4
    for field in (*ALL_FACET_FIELDS, "event_time"):
        assert field in mapping["properties"], field
    assert mapping["properties"]["people"] == {"type": "keyword"}


def test_migration_rebuilds_the_new_fields_of_an_old_article() -> None:
    kb = load_knowledge_base()
    old = article_source(_doc(), kb)
    for field in (*ALL_FACET_FIELDS, "event_time"):
        del old[field]
    unlinked = next(e for e in old["entities"] if e["canonical"] is None)
    unlinked["name"] = " Rasmus  Boserup,"  # an older index kept the raw surface
    rebuilt = _recompute_article(kb, old)
    assert rebuilt["people"] == ["Khalifa Haftar", "Rasmus Boserup"]
    assert rebuilt["places"] == ["Tripoli"]
    assert rebuilt["event_time"] == "2019-04"
    names = [e["name"] for e in rebuilt["entities"]]
    assert names == ["Khalifa Haftar", "Tripoli", "United Nations", "Rasmus Boserup"]
