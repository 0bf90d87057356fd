"""The document pass over CRF tags (``transforms.ner.consistency``), on hand-written
documents in several languages, and through the recogniser and linker."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from transforms.document import Document
from transforms.entities import load_knowledge_base, tag_entities
from transforms.ner.consistency import (
    NO_RULES,
    ConsistencyRules,
    TaggedSentence,
    make_consistent,
    tag_spans,
)
from transforms.ner.corpus import spans
from transforms.ner.recognizer import TrainedRecognizer

COMMON = frozenset({"the", "he", "she", "de", "het", "han", "hun", "der", "die", "may"})
KEPT = ConsistencyRules()  # the shipped rules: parts + propagation, no vote


def _is_common(word: str) -> bool:
    return word.lower() in COMMON


def _doc(*sentences: str) -> list[TaggedSentence]:
    """Sentences written as ``word/TAG`` tokens (``O`` when no tag)."""
    out = []
    for sentence in sentences:
        words, tags = [], []
        for token in sentence.split():
            word, _, tag = token.partition("/")
            words.append(word)
            tags.append(tag or "O")
        out.append(TaggedSentence(words, tags))
    return out


def _names(doc: Sequence[TaggedSentence]) -> list[list[tuple[str, str]]]:
    return [[(" ".join(s.words[a:b]), kind) for a, b, kind in tag_spans(s.tags)] for s in doc]


def test_a_bare_surname_after_the_full_name_is_the_person_danish() -> None:
    doc = _doc(
        "Lotte/B-PER Wilms/I-PER blev valgt i Aarhus/B-LOC .",
        "Wilms sagde , at hun er glad .",  # sentence start: the document says it is a name
        "Senere talte Wilms med pressen .",
    )
    assert make_consistent(doc, _is_common, KEPT) == 2
    assert _names(doc) == [
        [("Lotte Wilms", "PER"), ("Aarhus", "LOC")],
        [("Wilms", "PER")],
        [("Wilms", "PER")],
    ]


def test_full_names_outvote_a_mistyped_bare_surname_dutch() -> None:
    doc = _doc(
        "Burgemeester Anne/B-PER Verhoeven/I-PER opende de brug .",
        "Volgens Verhoeven/B-LOC is de brug veilig .",  # typed LOC by the sentence alone
        "Anne/B-PER Verhoeven/I-PER zei dat ook .",
    )
    assert make_consistent(doc, _is_common, KEPT) == 1
    assert _names(doc)[1] == [("Verhoeven", "PER")]
    # One full name against one bare LOC is a tie: the sentence's own reading stays.
    tie = _doc(
        "Burgemeester Anne/B-PER Verhoeven/I-PER opende de brug .",
        "Volgens Verhoeven/B-LOC is de brug veilig .",
        "Daarna sprak Verhoeven .",
    )
    assert make_consistent(tie, _is_common, KEPT) == 0


def test_a_form_tagged_once_is_tagged_where_it_was_missed_dutch() -> None:
    doc = _doc(
        "De Raad/B-ORG van/I-ORG State/I-ORG adviseert de regering .",
        "Volgens de Raad van State is het voorstel te vaag .",
        "Minister Jansen/B-PER reageert morgen .",
    )
    make_consistent(doc, _is_common, KEPT)
    assert _names(doc)[1] == [("Raad van State", "ORG")]


def test_longest_form_first_and_left_to_right() -> None:
    doc = _doc(
        "Gary/B-PER Player/I-PER won in Johannesburg/B-LOC .",
        "Player/B-PER signed .",
        "Fans of Gary Player cheered Player .",
    )
    make_consistent(doc, _is_common, KEPT)
    assert _names(doc)[2] == [("Gary Player", "PER"), ("Player", "PER")]


def test_a_word_also_written_in_lower_case_is_not_spread_english() -> None:
    doc = _doc(
        "Theresa/B-PER May/I-PER spoke .",
        "May/B-PER said she may resign .",
        "In May the vote was held .",
    )
    make_consistent(doc, _is_common, KEPT)
    assert _names(doc)[2] == []


def test_common_words_titles_and_initials_are_not_spread() -> None:
    doc = _doc(
        "The/B-ORG Times/I-ORG quoted J./B-PER Smith/I-PER .",
        "The paper and J. Doe agreed , as The Times wrote .",
        "Smith left .",
    )
    make_consistent(doc, _is_common, KEPT)
    # "The" is common and "J." an initial: alone they are no names; whole forms are.
    assert _names(doc)[1] == [("The Times", "ORG")]
    assert _names(doc)[2] == [("Smith", "PER")]


def test_a_form_next_to_another_name_is_left_alone() -> None:
    # "Berlin" right before a tagged name is part of something else ("Berlin Marathon").
    doc = _doc(
        "Berlin/B-LOC ist groß .",
        "Der Berlin Marathon/B-ORG beginnt .",
    )
    make_consistent(doc, _is_common, KEPT)
    assert _names(doc)[1] == [("Marathon", "ORG")]


def test_sentence_starts_can_be_left_out() -> None:
    doc = _doc("Kjeld/B-PER kom .", "Kjeld gik .")
    rules = dataclasses.replace(KEPT, into_sentence_start=False)
    make_consistent(doc, _is_common, rules)
    assert _names(doc)[1] == []
    make_consistent(doc, _is_common, KEPT)
    assert _names(doc)[1] == [("Kjeld", "PER")]


def test_vote_takes_the_majority_and_leaves_ties() -> None:
    doc = _doc(
        "Harrow/B-LOC is near London/B-LOC .",
        "Harrow/B-LOC grew .",
        "Harrow/B-ORG won .",  # outvoted 2:1
        "Kent/B-LOC and Kent/B-PER .",  # 1:1, nothing to settle
    )
    rules = dataclasses.replace(KEPT, vote=True)
    make_consistent(doc, _is_common, rules)
    assert _names(doc)[2] == [("Harrow", "LOC")]
    assert _names(doc)[3] == [("Kent", "LOC"), ("Kent", "PER")]


def test_vote_weights_by_confidence_when_the_tagger_gives_it() -> None:
    doc = _doc("Jordan/B-LOC .", "Jordan/B-LOC .", "Jordan/B-PER .")
    for sentence, sure in zip(doc, (0.3, 0.3, 0.95), strict=True):
        sentence.confidence = [sure, 1.0]
    make_consistent(doc, _is_common, dataclasses.replace(KEPT, vote=True))
    assert [n for s in _names(doc) for n in s] == [("Jordan", "PER")] * 3


def test_without_vote_only_parts_retype_a_mention() -> None:
    doc = _doc("Harrow/B-LOC .", "Harrow/B-LOC .", "Harrow/B-ORG .")
    assert make_consistent(doc, _is_common, KEPT) == 0
    assert _names(doc)[2] == [("Harrow", "ORG")]


def test_handles_and_numbers_are_not_names_to_agree_on() -> None:
    doc = _doc("@/B-PER fan .", "@ again .", "2024/B-ORG and 2024 .")
    assert make_consistent(doc, _is_common, KEPT) == 0


def test_no_rules_change_nothing_and_spans_match_the_corpus_reader() -> None:
    doc = _doc("Lotte/B-PER Wilms/I-PER .", "Wilms .")
    assert make_consistent(doc, _is_common, NO_RULES) == 0
    assert _names(doc)[1] == []
    for tags in (["I-PER", "I-PER", "O"], ["B-LOC", "I-ORG"], ["B-PER", "B-PER", "I-PER"]):
        assert set(tag_spans(tags)) == spans(tags)


class _ScriptedTagger:
    """Stands in for the CRF: tags each sentence from a fixed script (features are the
    real ones, for the gazetteer marks the recogniser also reads)."""

    def __init__(self, features: object, script: dict[str, dict[str, str]]) -> None:
        self.features = features
        self.script = script

    def tag(self, words: Sequence[str], language: str, gazetteer: object = None) -> list[str]:
        tags = ["O"] * len(words)
        for i, word in enumerate(words):
            tags[i] = self.script.get(" ".join(words), {}).get(word, "O")
        return tags


def _tag(text: str, script: dict[str, dict[str, str]], rules: ConsistencyRules = KEPT) -> Document:
    kb = load_knowledge_base()
    recognizer = TrainedRecognizer(kb, consistency=rules)
    real = recognizer._load()
    recognizer._tagger = _ScriptedTagger(real.features, script)  # type: ignore[assignment]
    doc = Document(id="t", origin="test", content="", text=text, language="en")
    return tag_entities(doc, knowledge_base=kb, recognizer=recognizer)


@pytest.mark.parametrize(
    ("given", "linked"), [("Khalifa", True), ("Anna", False)], ids=["entity", "namesake"]
)
def test_a_spread_surname_still_obeys_the_namesake_rules(given: str, linked: bool) -> None:
    first = f"{given} Haftar spoke in Zurich ."
    second = "Later Haftar left ."
    script = {first: {given: "B-PER", "Haftar": "I-PER", "Zurich": "B-LOC"}}
    doc = _tag(f"{first}\n{second}", script)
    later = [m for m in doc.entities if m.start > len(first)]
    # Tagged PER by the pass (its first reading came from the full name), then decided by
    # the linker's namesake rules like any model span: the full name before it rules.
    assert [(m.text, m.label) for m in later] == [("Haftar", "PER")]
    assert (later[0].entity_id is not None) == linked
    assert (later[0].canonical == "Khalifa Haftar") == linked


def test_the_recogniser_runs_the_pass_over_the_whole_document() -> None:
    first = "Lotte Wilms won the vote in Aarhus ."
    second = "Reporters asked Wilms about it ."
    script = {first: {"Lotte": "B-PER", "Wilms": "I-PER", "Aarhus": "B-LOC"}}
    later = len(first) + 1
    found = [(m.text, m.label) for m in _tag(f"{first}\n{second}", script).entities]
    assert found == [("Lotte Wilms", "PER"), ("Aarhus", "LOC"), ("Wilms", "PER")]
    off = _tag(f"{first}\n{second}", script, NO_RULES).entities
    assert [m for m in off if m.start >= later] == []
