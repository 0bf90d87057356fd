"""Entity tagging and linking: variants across languages link, look-alikes do not."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.document import Document
from transforms.entities import (
    Candidate,
    KnowledgeBase,
    KnowledgeBaseError,
    load_knowledge_base,
    tag_entities,
)
from transforms.names import inflection_variants, name_key, skeleton

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
DATA = ROOT / "tests" / "data" / "entities"


def tag(text: str, language: str = "en") -> Document:
    doc = Document(id="t", origin="test", content=text, text=text, language=language)
    return tag_entities(doc)


def linked(text: str, language: str = "en") -> list[tuple[str, str | None]]:
    return [(m.text, m.canonical) for m in tag(text, language).entities]


def canonicals(text: str, language: str = "en") -> set[str | None]:
    return {m.canonical for m in tag(text, language).entities}


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("variants", "expected_same"),
    [
        (["Qaddafi", "Kadhafi", "Khadafi"], True),
        (["Libya", "Libië", "Libye", "Libia"], True),
        (["al-Serraj", "el-Serraj", "Serraj"], True),
        (["Khalifa", "Chalifa"], True),
        (["Guterres", "Guteres"], True),
        (["Haftar", "Hafta"], False),
        (["Mali", "Male"], False),
    ],
)
def test_name_keys_unify_transliterations(variants: list[str], expected_same: bool) -> None:
    keys = {name_key(v) for v in variants}
    assert (len(keys) == 1) is expected_same, keys


def test_inflection_endings_per_language() -> None:
    assert "Haftar" in inflection_variants("Haftars", "da")
    assert "Haftar" in inflection_variants("Haftar’s", "en")
    assert "Haftar" in inflection_variants("Haftar'ın", "tr")
    assert inflection_variants("Haftars", "fr") == ()
    assert skeleton("Égypte") == "egipte"


# --------------------------------------------------------------------------- linking


@pytest.mark.parametrize(
    ("text", "language", "surface"),
    [
        ("Forhandlingerne i Libyen strandede, fordi Haftar afviste planen.", "da", "Haftar"),
        ("De troepen van Hafter rukten verder op richting Tripoli.", "nl", "Hafter"),
        ("Til sidst afviste Haftars talsmand i Benghazi forslaget.", "da", "Haftars"),
        ("Critics say Haftar's campaign in Libya has stalled.", "en", "Haftar"),
        ("Critics say Haftar’s campaign in Libya has stalled.", "en", "Haftar"),
        ("Die Truppen von Chalifa Haftar stehen vor der Stadt.", "de", "Chalifa Haftar"),
        ("He met General Khalifa Haftar on Monday.", "en", "Khalifa Haftar"),
        ("Le maréchal Khalifa Haftar refuse le dialogue.", "fr", "Khalifa Haftar"),
        ("Las fuerzas de Jalifa Haftar avanzan.", "es", "Jalifa Haftar"),
        ("Ankara, Haftar'ın Libya'daki güçlerini kınadı.", "tr", "Haftar"),
    ],
)
def test_haftar_variants_link_to_one_entity(text: str, language: str, surface: str) -> None:
    mentions = [m for m in tag(text, language).entities if m.canonical == "Khalifa Haftar"]
    assert [m.text for m in mentions] == [surface]
    assert mentions[0].label == "PER"


@pytest.mark.parametrize(
    "text",
    [
        "Das Regime von Gaddafi in Libyen fiel 2011.",
        "Efter Gaddafis fald blev Libyen splittet.",
        "It was Gaddafi’s last stand in Sirte.",
        "Kadhafi a été tué à Syrte en 2011.",
        "Onder Khadafi werd Libië geïsoleerd.",
        "Colonel Qaddafi ruled for four decades.",
        "The death of Muammar Gaddafi ended an era.",
    ],
)
def test_gaddafi_variants(text: str) -> None:
    assert "Muammar Gaddafi" in canonicals(text, "und")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Premier Fayez al-Serraj reisde naar Rome.", "nl"),
        ("Regeringen i Tripoli under Serraj svarede igen.", "da"),
        ("Le gouvernement de Sarraj à Tripoli a protesté.", "fr"),
        ("Prime minister Fayez el-Serraj called for calm.", "en"),
    ],
)
def test_sarraj_variants(text: str, language: str) -> None:
    assert "Fayez al-Sarraj" in canonicals(text, language)


@pytest.mark.parametrize(
    ("text", "language", "canonical", "label"),
    [
        ("Olien fra Libyen sælges nu igen.", "da", "Libya", "LOC"),
        ("De olie uit Libië wordt weer verkocht.", "nl", "Libya", "LOC"),
        ("Le pétrole de la Libye est de nouveau vendu.", "fr", "Libya", "LOC"),
        ("El petróleo de Libia vuelve a venderse.", "es", "Libya", "LOC"),
        ("Oljen fra Libya selges igjen.", "no", "Libya", "LOC"),
        ("Hilfe kam aus Ägypten und Russland.", "de", "Egypt", "LOC"),
        ("Hjælpen kom fra Egypten og Rusland.", "da", "Russia", "LOC"),
        ("Een delegatie uit Egypte landde in Tripoli.", "nl", "Tripoli", "LOC"),
        ("Protesters gathered in Benghazi.", "en", "Benghazi", "LOC"),
        ("Resolutionen blev vedtaget i FN i går.", "da", "United Nations", "ORG"),
        ("De resolutie werd door de VN aangenomen.", "nl", "United Nations", "ORG"),
        ("Een rapport van de Verenigde Naties volgt.", "nl", "United Nations", "ORG"),
        ("Sagen ligger hos De Forenede Nationer.", "da", "United Nations", "ORG"),
        ("The UN envoy resigned.", "en", "United Nations", "ORG"),
        ("A former CIA analyst spoke.", "en", "Central Intelligence Agency", "ORG"),
        ("Een Navo-missie begon in 2011.", "nl", "NATO", "ORG"),
        ("Et Nato-ledet angreb fulgte.", "da", "NATO", "ORG"),
        ("Generalsekretær António Guterres advarede.", "da", "António Guterres", "PER"),
        ("Wladimir Putin empfing den Gast.", "de", "Vladimir Putin", "PER"),
        ("Poetin ontving de gast in Moskou.", "nl", "Vladimir Putin", "PER"),
    ],
)
def test_kb_entities_in_many_languages(
    text: str, language: str, canonical: str, label: str
) -> None:
    mentions = [m for m in tag(text, language).entities if m.canonical == canonical]
    assert mentions, linked(text, language)
    assert all(m.label == label for m in mentions)
    assert all(m.entity_id for m in mentions)


def test_short_aliases_are_case_sensitive() -> None:
    assert "United Nations" not in canonicals("Il y avait un homme et un chien.", "fr")
    assert "European Union" not in canonicals("Eu não sei.", "pt")
    assert "United Nations" in canonicals("L'ONU a réagi.", "fr")


# --------------------------------------------------------------------------- false matches


def test_turkish_week_is_not_haftar() -> None:
    text = "Bu hafta Ankara'da büyük bir toplantı yapılacak. Hafta sonu yağmur bekleniyor."
    assert "Khalifa Haftar" not in canonicals(text, "tr")


def test_turkish_week_stays_unlinked_even_next_to_haftar() -> None:
    text = "Haftar'ın güçleri ilerliyor. Hafta sonu Trablus'ta çatışma yaşandı."
    mentions = tag(text, "tr").entities
    assert [m.text for m in mentions if m.canonical == "Khalifa Haftar"] == ["Haftar"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Vi ses om en hafta, sagde han.", "da"),
        ("Det regnede hele ugen, og Hafta var navnet på hans hund.", "da"),
        ("The band Hafta played in Leeds last night.", "en"),
    ],
)
def test_lone_typo_without_evidence_is_not_linked(text: str, language: str) -> None:
    assert "Khalifa Haftar" not in canonicals(text, language)


def test_typo_links_when_the_document_is_about_him() -> None:
    text = (
        "Khalifa Haftar har fået støtte fra Egypten. Særligt egypterne har støttet Hafta, "
        "fordi han holder ro ved grænsen."
    )
    mentions = [m for m in tag(text, "da").entities if m.text == "Hafta"]
    assert len(mentions) == 1
    assert mentions[0].canonical == "Khalifa Haftar"


def test_demonyms_are_not_typos_of_countries() -> None:
    text = "Libya is divided. The Libyan army and the Libyans disagree."
    names = {m.text: m.canonical for m in tag(text, "en").entities}
    assert names["Libya"] == "Libya"
    assert names.get("Libyan") is None


def test_unknown_names_are_tagged_without_link() -> None:
    text = "Det siger Rasmus Boserup, tidligere seniorforsker, til avisen."
    mentions = tag(text, "da").entities
    assert [(m.text, m.label, m.canonical, m.entity_id) for m in mentions] == [
        ("Rasmus Boserup", "PER", None, None)
    ]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Han tog afsted. De kom tilbage i går.", "da"),
        ("Het is koud. Maar morgen wordt het beter.", "nl"),
        ("However, the talks failed. They will resume.", "en"),
        ("Die Regierung tagte am Montag.", "de"),
    ],
)
def test_sentence_initial_common_words_are_not_names(text: str, language: str) -> None:
    assert tag(text, language).entities == []


# --------------------------------------------------------------------------- seeds and data


def _seed(prefix: str, language: str) -> Document:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    text = path.read_text(encoding="utf-8")
    return Document(id=prefix, origin=str(path), content=text, text=text, language=language)


def test_danish_seed_links_haftar_gaddafi_and_the_typo() -> None:
    doc = tag_entities(_seed("000", "da"))
    by_text: dict[str, set[str | None]] = {}
    for m in doc.entities:
        by_text.setdefault(m.text, set()).add(m.canonical)
    assert by_text["Haftar"] == {"Khalifa Haftar"}
    assert by_text["Hafta"] == {"Khalifa Haftar"}
    assert by_text["Gaddafis"] == {"Muammar Gaddafi"}
    assert by_text["Libyen"] == {"Libya"}
    assert by_text["FN"] == {"United Nations"}
    assert by_text["Rasmus Boserup"] == {None}


def test_multilingual_gold_file() -> None:
    """Hand-labelled sentences (tests/data/entities/gold.tsv), written apart from the rules."""
    rows = [
        line.split("\t")
        for line in (DATA / "gold.tsv").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    expected = 0
    found = 0
    wrong = []
    for language, text, gold in rows:
        want = {g for g in gold.split("|") if g}
        got = {c for c in canonicals(text, language) if c}
        expected += len(want)
        found += len(want & got)
        wrong.extend(sorted(got - want))
    recall = found / expected
    assert recall >= 0.9, recall
    assert not wrong


# --------------------------------------------------------------------------- robustness


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["en", "da", "nl", "de", "tr", "und", "xx"]))
def test_offsets_always_point_into_the_text(text: str, language: str) -> None:
    doc = tag(text, language)
    for m in doc.entities:
        assert doc.text[m.start : m.end] == m.text
        assert m.label in ("PER", "ORG", "LOC", "MISC")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Haftar",
                "al-Serraj",
                "FN's",
                "d'Haftar",
                " ",
                "\n",
                ".",
                "von",
                "der",
                "Libië",
                "’s",
                "hafta",
                "U.N.",
                "-",
            ]
        ),
        max_size=30,
    )
)
def test_offsets_on_name_heavy_text(parts: list[str]) -> None:
    text = " ".join(parts)
    doc = tag(text, "und")
    assert all(doc.text[m.start : m.end] == m.text for m in doc.entities)


def test_input_document_is_not_mutated() -> None:
    doc = Document(id="t", origin="t", content="Haftar", text="Haftar spoke.", language="en")
    out = tag_entities(doc)
    assert doc.entities == []
    assert out is not doc
    assert out.entities


# --------------------------------------------------------------------------- KB loading


def test_tsv_loader_streams_jrc_style_names(tmp_path: Path) -> None:
    path = tmp_path / "names.tsv"
    path.write_text(
        "# id\ttype\tlang\tname\n"
        "1001\tP\ten\tJohn+Smithfield\n"
        "1001\tP\tde\tJohann+Smithfeld\n"
        "Q90\tL\tfr\tParis\n",
        encoding="utf-8",
    )
    kb = load_knowledge_base(path)
    assert len(kb) == 2
    doc = Document(
        id="t", origin="t", content="", text="Er traf Johann Smithfeld in Paris.", language="de"
    )
    mentions = tag_entities(doc, knowledge_base=kb).entities
    assert [(m.text, m.canonical, m.entity_id) for m in mentions] == [
        ("Johann Smithfeld", "John Smithfield", "1001"),
        ("Paris", "Paris", "Q90"),
    ]
    # Names added row by row collect on one entity, the first one first.
    assert kb.entity("1001").aliases == ("John Smithfield", "Johann Smithfeld")


def test_an_entity_keeps_every_alias_once_its_name_first() -> None:
    kb = KnowledgeBase()
    kb.add("Fathi Bashagha", "PER", ["Bashagha", "Fathi Bashaga"], entity_id="bashagha")
    kb.add("Fathi Bashagha", "PER", ["Bashaga", "Bashagha", " "], entity_id="bashagha")
    assert kb.entity("bashagha").aliases == (
        "Fathi Bashagha", "Bashagha", "Fathi Bashaga", "Bashaga"
    )  # fmt: skip
    assert kb.search_words("bashagha") == "Fathi Bashagha Bashaga"
    kb.add("Fathi Bashagha", "PER", ["Fathi Bachagha"], entity_id="bashagha")
    assert kb.search_words("bashagha") == "Fathi Bashagha Bashaga Bachagha"


def test_bad_kb_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        KnowledgeBase.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="entities"):
        KnowledgeBase.load(bad)


def test_packaged_kb_is_built_once_and_has_the_libya_actors() -> None:
    kb = load_knowledge_base()
    assert kb is load_knowledge_base("")
    assert len(kb) >= 150


def test_pluggable_recognizer_gets_linked() -> None:
    def fixed(text: str, language: str) -> list[Candidate]:
        start = text.index("Kadhafi")
        return [Candidate(start, start + len("Kadhafi"), "MISC")]

    doc = Document(id="t", origin="t", content="", text="Le colonel Kadhafi.", language="fr")
    mentions = tag_entities(doc, recognizer=fixed).entities
    assert [(m.text, m.label, m.canonical) for m in mentions] == [
        ("Kadhafi", "PER", "Muammar Gaddafi")
    ]


def test_seed_tagging_is_fast() -> None:
    docs = [
        _seed(p, lang)
        for p, lang in [("000", "da"), ("001", "nl"), ("002", "nl"), ("003", "en"), ("004", "en")]
    ]
    for d in docs:
        tag_entities(d)
    start = time.thread_time()
    rounds = 20
    for _ in range(rounds):
        for d in docs:
            tag_entities(d)
    per_doc_ms = (time.thread_time() - start) * 1000 / (rounds * len(docs))
    # CPU time, loose for a shared CI core: ~5 ms measured with the trained model (the
    # rule tagger alone took ~0.5 ms; docs/entities.md, "Trained model").
    assert per_doc_ms < 20.0, per_doc_ms
