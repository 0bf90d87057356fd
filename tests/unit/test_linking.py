"""Linking in every language: case endings, clitics, namesakes and supported surnames.

The sentences are news-style and written for these tests, one language per block;
each inflected surname sits where a reporter would put it, with the support a real
article gives (the country, a city, a title), so the tests check the ending rule and
not the support rule, which has its own tests below.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.document import Document
from transforms.entities import (
    Candidate,
    KnowledgeBase,
    KnowledgeBaseError,
    RuleBasedRecognizer,
    default_lexicon,
    load_knowledge_base,
    tag_entities,
)
from transforms.names import clitic_stems, inflection_rules, name_stems

HAFTAR = "Khalifa Haftar"


def tag(text: str, language: str) -> Document:
    doc = Document(id="t", origin="test", content=text, text=text, language=language)
    return tag_entities(doc)


def haftar_surfaces(text: str, language: str) -> list[str]:
    return [m.text for m in tag(text, language).entities if m.canonical == HAFTAR]


# --------------------------------------------------------------------------- inflection

INFLECTED = [
    # Finnish: genitive, partitive, allative, elative, essive
    ("fi", "Libyan itäosaa hallitsevan Haftarin joukot etenivät kohti Tripolia.", "Haftarin"),
    ("fi", "Kenraali Haftaria vastaan nostettiin kanne Yhdysvalloissa.", "Haftaria"),
    ("fi", "Venäjä on antanut aseita Haftarille Libyassa.", "Haftarille"),
    ("fi", "Libyan parlamentti on etääntynyt Haftarista viime kuukausina.", "Haftarista"),
    ("fi", "Bengasissa Haftarina tunnettu sotilas on kiistelty hahmo.", "Haftarina"),
    # Estonian: genitive, elative, partitive, allative
    ("et", "Liibüa idaosa kontrollivad Haftari väed lähenesid pealinnale.", "Haftari"),
    ("et", "Marssal Haftarist on saanud Liibüa konflikti võtmeisik.", "Haftarist"),
    ("et", "Venemaa pakub Haftarile Liibüas sõjalist abi.", "Haftarile"),
    ("et", "Tripolis ei usalda keegi Haftarit.", "Haftarit"),
    # Hungarian: dative, instrumental (assimilated), accusative, sublative
    ("hu", "A líbiai Haftarnak Oroszország és Egyiptom nyújt támogatást.", "Haftarnak"),
    ("hu", "Az ENSZ líbiai különmegbízottja Haftarral tárgyalt.", "Haftarral"),
    ("hu", "A tábornagy Haftart Bengáziban ünnepelték a hívei.", "Haftart"),
    ("hu", "Líbiában sokan Haftarra szavaznának.", "Haftarra"),
    # Turkish: endings after the apostrophe stay out of the mention
    ("tr", "Hafter'in güçleri Trablus'un güneyinde ilerliyor.", "Hafter"),
    ("tr", "Mareşal Haftar'ın sözcüsü yeni bir açıklama yaptı.", "Haftar"),
    ("tr", "Ankara, Libya'da Hafter'e karşı Trablus hükümetini destekliyor.", "Hafter"),
    ("tr", "Libya'da Haftar'dan yeni saldırı hamlesi geldi.", "Haftar"),
    # Polish: genitive, dative, instrumental, locative (r -> rz)
    ("pl", "Oddziały marszałka Haftara zbliżają się do Trypolisu.", "Haftara"),
    ("pl", "Rosja udzieliła wsparcia Haftarowi w Libii.", "Haftarowi"),
    ("pl", "Rozmowy z Haftarem w Bengazi zakończyły się fiaskiem.", "Haftarem"),
    ("pl", "W Libii o Haftarze mówi się coraz częściej.", "Haftarze"),
    # Czech and Slovak
    ("cs", "Jednotky maršála Haftara obléhají Tripolis.", "Haftara"),
    ("cs", "Rusko poslalo Haftarovi do Libye žoldnéře.", "Haftarovi"),
    ("cs", "S Haftarem jednali v Libyi zástupci OSN.", "Haftarem"),
    ("sk", "Rokovania s Haftarom v Líbyi stroskotali.", "Haftarom"),
    # South Slavic
    ("sl", "Pogovori s Haftarjem v Libiji so se končali brez dogovora.", "Haftarjem"),
    ("hr", "Snage Haftara napreduju prema Tripoliju u Libiji.", "Haftara"),
    # Russian and Ukrainian in Cyrillic, Russian in Latin transliteration
    ("ru", "Войска Хафтара подошли к Триполи.", "Хафтара"),
    ("ru", "Россия оказывает поддержку Хафтару в Ливии.", "Хафтару"),
    ("ru", "Переговоры с маршалом Хафтаром в Бенгази провалились.", "Хафтаром"),
    ("ru", "В Ливии о Хафтаре говорят всё чаще.", "Хафтаре"),
    ("ru", "Voyska Khaftara podoshli k Tripoli.", "Khaftara"),
    ("ru", "Rossiya okazyvayet podderzhku Khaftaru v Livii.", "Khaftaru"),
    ("uk", "Росія допомагає Хафтарові у Лівії.", "Хафтарові"),
    # Baltic
    ("lt", "Libijos rytus kontroliuojantis Haftaras atmetė paliaubas.", "Haftaras"),
    ("lt", "Rusija teikia paramą Haftarui Libijoje.", "Haftarui"),
    ("lt", "Haftaro pajėgos artėja prie Tripolio.", "Haftaro"),
    ("lv", "Lībijas austrumus kontrolējošais Haftars noraidīja pamieru.", "Haftars"),
    ("lv", "Krievija atbalsta Haftara spēkus Lībijā.", "Haftara"),
    # Germanic genitives
    ("de", "Die Truppen Haftars rücken in Libyen auf Tripolis vor.", "Haftars"),
    ("nl", "Haftars leger trok vanuit Benghazi naar het westen van Libië.", "Haftars"),
    ("da", "Haftars styrker i Libyen har trukket sig tilbage.", "Haftars"),
    ("sv", "Haftars styrkor i Libyen drog sig tillbaka.", "Haftars"),
    ("nb", "Haftars styrker i Libya har trukket seg tilbake.", "Haftars"),
    ("en", "Haftar’s forces in Libya pulled back.", "Haftar"),
    # Romance: no case endings, elided article
    ("fr", "Les forces d'Haftar encerclent Tripoli.", "Haftar"),
    ("ro", "Forțele lui Haftar înaintează spre Tripoli.", "Haftar"),
    ("ro", "Trupele Haftarului au intrat în Sirte, în Libia.", "Haftarului"),
    # Arabic clitics: and / for / with; the clitic stays out of the mention
    ("ar", "أعلنت روسيا دعمها لحفتر في ليبيا.", "حفتر"),
    ("ar", "التقى الوفد بحفتر في بنغازي.", "حفتر"),
    ("ar", "وحفتر يرفض وقف إطلاق النار في ليبيا.", "حفتر"),
    ("ar", "وقال المشير حفتر إن قواته ستدخل طرابلس.", "حفتر"),
    # Greek: foreign names do not decline; Hebrew glues prepositions like Arabic
    ("el", "Οι δυνάμεις του Χαφτάρ προελαύνουν στη Λιβύη.", "Χαφτάρ"),
    ("he", "ישראל מודאגת מהתמיכה הרוסית בחפטר בלוב.", "חפטר"),
    ("he", "הכוחות של חפטר ולוב כולה נמצאים במשבר.", "חפטר"),
]


@pytest.mark.parametrize(("language", "text", "surface"), INFLECTED)
def test_inflected_surname_links(language: str, text: str, surface: str) -> None:
    assert haftar_surfaces(text, language) == [surface], tag(text, language).entities


def test_every_rule_language_has_a_test_above() -> None:
    """A language with suffix or clitic rules in kb/inflection.yaml is tested here."""
    tested = {language for language, _, _ in INFLECTED}
    languages_with_rules = {
        lang for lang, rule in inflection_rules().items() if rule.suffixes or rule.prefixes
    }
    # Rules shared by close languages are tested through one member of the group.
    shared = {
        "no", "nn", "is", "fo", "af", "az", "bs", "sr", "be", "bg", "mk", "kk", "ka",
        "fa", "ur", "und",
    }  # fmt: skip
    assert languages_with_rules - shared <= tested


@pytest.mark.parametrize(
    ("language", "word"),
    [
        ("fi", "Talvi"),  # not a name stem: "Talv" + "i" is no alias
        ("pl", "Ula"),  # too short to strip
        ("hu", "Hafta"),
        ("tr", "Haftada"),  # no apostrophe: a Turkish word, not Haftar + case
    ],
)
def test_endings_never_make_a_name_out_of_a_word(language: str, word: str) -> None:
    kb = load_knowledge_base()
    assert kb.match([word], language) is None


def test_stems_are_only_candidates_and_respect_the_minimum() -> None:
    assert "Haftar" in name_stems("Haftarille", "fi")
    assert name_stems("Ala", "pl") == ()
    assert clitic_stems("وحفتر", "ar") == ((1, "حفتر"),)
    assert clitic_stems("ولد", "ar") == ()  # two letters left: too short


# --------------------------------------------------------------------------- namesakes


def test_another_given_name_is_a_namesake_and_stays_unlinked() -> None:
    text = (
        "Swiss skier Anna Hafter won the downhill in Lake Louise on Saturday. "
        "Hafter, 24, finished ahead of two Austrians."
    )
    mentions = tag(text, "en").entities
    assert HAFTAR not in {m.canonical for m in mentions}
    assert ("Anna Hafter", "PER", None) in [(m.text, m.label, m.canonical) for m in mentions]
    assert ("Hafter", "PER", None) in [(m.text, m.label, m.canonical) for m in mentions]


def test_namesake_wins_over_libya_context() -> None:
    text = (
        "Mohammed Haftar, a Libyan-born dentist in Manchester, opened a second clinic. "
        "Haftar said he left Benghazi in 1998."
    )
    assert HAFTAR not in {m.canonical for m in tag(text, "en").entities}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("de", "Der Kölner Zahnarzt Mohammed Haftar eröffnet eine zweite Praxis."),
        ("de", "Anna Hafter gewann die Abfahrt in Lake Louise."),
        ("da", "Anna Hafter vandt styrtløbet i Lake Louise."),
        ("ar", "قال محمد حفتر إن العيادة ستفتح الأسبوع المقبل."),
        ("tr", "Bu hafta Ankara'da büyük bir toplantı yapılacak."),
        ("pl", "Anna Hafter wygrała zjazd w Lake Louise."),
    ],
)
def test_namesakes_in_other_languages(language: str, text: str) -> None:
    assert HAFTAR not in {m.canonical for m in tag(text, language).entities}


def test_known_given_name_links_even_when_the_alias_is_missing() -> None:
    text = "Khalifa Heftar met the envoy in Benghazi."
    assert haftar_surfaces(text, "en") == ["Khalifa Heftar"]


def test_bare_surname_follows_the_nearest_full_name() -> None:
    text = (
        "Khalifa Haftar has ruled eastern Libya since 2014. His namesake Mohammed Haftar, "
        "a dentist, is no relative. Haftar told the BBC he is tired of the confusion."
    )
    mentions = tag(text, "en").entities
    linked = [m.text for m in mentions if m.canonical == HAFTAR]
    assert linked == ["Khalifa Haftar"]


def test_son_and_father() -> None:
    text = "Saddam Haftar commands a brigade in Benghazi. Haftar was promoted in 2023."
    canon = [(m.text, m.canonical) for m in tag(text, "en").entities]
    assert ("Saddam Haftar", "Saddam Haftar") in canon
    assert ("Haftar", "Saddam Haftar") in canon


# --------------------------------------------------------------------------- support


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Haftar said nothing."),
        ("en", "The Hafter family opened a bakery in Zurich."),
        ("de", "Haftar sagte nichts."),
    ],
)
def test_lone_surname_without_support_is_not_linked(language: str, text: str) -> None:
    mentions = tag(text, language).entities
    assert HAFTAR not in {m.canonical for m in mentions}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Marshal Haftar said nothing."),
        ("en", "The field marshal Hafter said nothing."),
        ("en", "General Haftar said nothing."),
        ("de", "Feldmarschall Haftar sagte nichts."),
        ("ar", "المشير حفتر لم يقل شيئا."),
        ("en", "Haftar, whose forces hold Benghazi, said nothing."),
        ("en", "Khalifa Haftar spoke first. Later, Haftar said nothing."),
    ],
)
def test_surname_links_with_support(language: str, text: str) -> None:
    assert haftar_surfaces(text, language), tag(text, language).entities


def test_two_related_actors_support_a_surname() -> None:
    """The linker's rule, on the rule finder's spans: the trained model runs "Egypt back
    Haftar" into one span here (a known miss, docs/entities.md), and cutting model spans
    at lower-case words cost 0.03-0.08 F1 on the en, hr and ru dev splits."""
    text = "Russia and Egypt back Haftar."
    doc = Document(id="t", origin="test", content=text, text=text, language="en")
    kb = load_knowledge_base()
    mentions = tag_entities(doc, recognizer=RuleBasedRecognizer(kb, default_lexicon())).entities
    assert [m.text for m in mentions if m.canonical == HAFTAR] == ["Haftar"]


def test_one_related_actor_is_not_enough() -> None:
    assert HAFTAR not in {m.canonical for m in tag("Russia backs Haftar.", "en").entities}


def test_support_carries_to_every_bare_mention_of_the_article() -> None:
    text = "Haftar spoke in Benghazi. " + "Nothing else happened that week. " * 20 + "Haftar left."
    assert haftar_surfaces(text, "en") == ["Haftar", "Haftar"]


def test_a_trained_recogniser_gets_the_same_namesake_rules() -> None:
    text = "Swiss skier Anna Hafter won in Libya's neighbour Tunisia? No: in Lake Louise."

    def model(text: str, language: str) -> list[Candidate]:
        start = text.index("Hafter")  # a model that cut the given name off
        return [Candidate(start, start + len("Hafter"), "PER")]

    doc = Document(id="t", origin="t", content=text, text=text, language="en")
    mentions = tag_entities(doc, recognizer=model).entities
    assert [(m.text, m.canonical) for m in mentions] == [("Hafter", None)]

    def linked_model(text: str, language: str) -> list[Candidate]:
        start = text.index("Hafter")
        return [Candidate(start, start + len("Hafter"), "PER", "khalifa-haftar")]

    mentions = tag_entities(doc, recognizer=linked_model).entities
    assert [(m.text, m.canonical) for m in mentions] == [("Hafter", None)]


# --------------------------------------------------------------------------- loaders

DATA = Path(__file__).resolve().parents[1] / "data" / "entities"


def test_jrc_names_sample() -> None:
    kb = KnowledgeBase.load(DATA / "jrc_names_sample.tsv")
    haftar = kb.entity("120458")
    assert haftar.name == "Khalifa Haftar"
    assert haftar.label == "PER"
    assert "Chalifa Haftar" in haftar.aliases
    assert "Libya" in haftar.context
    assert "marshal" in haftar.roles
    assert kb.entity("Q1016").label == "LOC"  # a Wikidata id as the JRC id
    assert kb.entity("2001").label == "ORG"
    doc = Document(
        id="t", origin="t", content="", text="Marshal Haftar met Anna Hafter.", language="en"
    )
    mentions = tag_entities(doc, knowledge_base=kb).entities
    assert [(m.text, m.entity_id) for m in mentions] == [
        ("Haftar", "120458"),
        ("Anna Hafter", None),
    ]


def test_jrc_names_bad_row_says_what_to_write(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\tP\tu\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="id<TAB>type<TAB>lang<TAB>name"):
        KnowledgeBase.load(bad)


@pytest.mark.parametrize("compressed", [False, True])
def test_wikidata_dump_sample(tmp_path: Path, compressed: bool) -> None:
    raw = (DATA / "wikidata_sample.json").read_bytes()
    path = tmp_path / ("dump.json.gz" if compressed else "dump.json")
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    kb = KnowledgeBase.load(path)
    haftar = kb.entity("Q3183340")
    assert haftar.name == "Khalifa Haftar"
    assert haftar.label == "PER"
    assert {"Хафтар", "حفتر", "Chalifa Haftar"} <= set(haftar.aliases)
    assert "Libya" in haftar.context  # P27 country of citizenship, resolved in the dump
    assert "маршал" in haftar.roles  # P410 military rank
    assert kb.entity("Q474406").label == "MISC"
    assert kb.entity("Q1016").label == "LOC"
    assert kb.entity("Q1813470").label == "ORG"
    assert "P31" not in kb.entities  # properties are skipped
    text = "Войска маршала Хафтара подошли к городу."
    doc = Document(id="t", origin="t", content="", text=text, language="ru")
    linked = {m.entity_id for m in tag_entities(doc, knowledge_base=kb).entities}
    assert "Q3183340" in linked


def test_wikidata_dump_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n{"id": "Q1", "labels": {}},\n{"id": \n]\n', encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="line 3"):
        KnowledgeBase.load(path)


def test_wikidata_lines_are_parsed_one_at_a_time(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": f"Q{i}", "labels": {"en": {"language": "en", "value": f"Name{i} Test"}}})
        for i in range(1, 4)
    ]
    path = tmp_path / "small.json"
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    assert len(KnowledgeBase.load(path)) == 3


def test_distinctive_surname_links_alone_but_namesakes_still_do_not() -> None:
    """``surname_alone`` waives the support, never the given-name check."""
    assert "Vladimir Putin" in {
        m.canonical for m in tag("Putin and Erdogan met in Sochi.", "en").entities
    }
    text = "Kate Putin, a baker from Leeds, won the village prize. Putin was delighted."
    assert "Vladimir Putin" not in {m.canonical for m in tag(text, "en").entities}


def test_capitalised_preposition_at_a_sentence_start_is_not_a_given_name() -> None:
    assert haftar_surfaces("Like Haftar, the commanders in Benghazi refused.", "en") == ["Haftar"]
    assert haftar_surfaces("Według Haftara w Libii panuje spokój.", "pl") == ["Haftara"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Anna", "Hafter", "Haftarin", "Haftar'ın", "وحفتر", "المشير", "حفتر",
                "Хафтаром", "маршал", "Marshal", "Libya", "Libyen", "Mohammed", "ل", "و",
                "hafta", "Khalifa", "Saddam", "Haftar", " ", ".", "\n", "’s", "-", "Putin",
            ]
        ),
        max_size=25,
    ),
    st.sampled_from(["en", "fi", "tr", "ar", "ru", "pl", "de", "und"]),
)  # fmt: skip
def test_offsets_hold_with_clitics_endings_and_namesakes(parts: list[str], language: str) -> None:
    text = " ".join(parts)
    doc = tag(text, language)
    assert all(doc.text[m.start : m.end] == m.text and m.start < m.end for m in doc.entities)
    starts = [m.start for m in doc.entities]
    assert starts == sorted(starts)


def test_short_place_names_do_not_match_as_word_starts() -> None:
    """Derna (key "dern") is no support in "sa dernière course"; "libyen" is."""
    skier = "Hafter a gagné sa dernière course de la saison à Cortina."
    assert HAFTAR not in {m.canonical for m in tag(skier, "fr").entities}
    assert haftar_surfaces("Haftar, l'homme fort de l'Est libyen, refuse.", "fr") == ["Haftar"]


def test_a_model_span_with_the_title_inside_is_supported_by_it() -> None:
    text = "Yesterday General Haftar spoke for an hour."

    def model(text: str, language: str) -> list[Candidate]:
        start = text.index("General")
        return [Candidate(start, text.index(" spoke"), "PER")]

    doc = Document(id="t", origin="t", content=text, text=text, language="en")
    mentions = tag_entities(doc, recognizer=model).entities
    # linked through the title, which stays out of the mention as the rule finder keeps it
    assert [(m.text, m.canonical) for m in mentions] == [("Haftar", HAFTAR)]


@pytest.mark.parametrize(
    ("language", "text", "not_linked"),
    [
        ("fr", "Les Français ont voté dimanche.", "France"),  # no -s stripping in French
        ("hr", "Kad je vlada pala, počeli su prosvjedi.", "Chad"),  # "when", Chad's key
        ("sk", "Mali sme veľké šťastie.", "Mali"),  # "we had", not the country
    ],
)
def test_common_words_and_plurals_are_not_names(language: str, text: str, not_linked: str) -> None:
    assert not_linked not in {m.canonical for m in tag(text, language).entities}


def test_the_entitys_title_beats_a_namesake_earlier_in_the_article() -> None:
    text = (
        "Mohammed Haftar, a dentist in Manchester, is tired of questions about his name. "
        "Marshal Haftar, who rules eastern Libya, has no relatives in Britain."
    )
    assert haftar_surfaces(text, "en") == ["Haftar"]
    assert "Mohammed Haftar" in [m.text for m in tag(text, "en").entities]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("tr", "Libya Ulusal Ordusu komutanı Halife Hafter Trablus'a girdi."),
        ("hu", "Halifa Haftar elutasította a tűzszünetet."),
        ("es", "Las fuerzas de Jalifa Haftar avanzan."),
    ],
)
def test_given_name_spellings_of_other_languages_are_his(language: str, text: str) -> None:
    assert haftar_surfaces(text, language), tag(text, language).entities


def test_a_close_but_different_given_name_is_a_namesake() -> None:
    assert HAFTAR not in {m.canonical for m in tag("Khalid Haftar opened a bakery.", "en").entities}
