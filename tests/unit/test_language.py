"""detect_language / LanguageDetector: seeds, held-out sentences, traps, speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.document import Document
from transforms.language import LanguageDetector, default_detector, detect_language

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "language"
SEED_LANGUAGES = {"000": "da", "001": "nl", "002": "nl", "003": "en", "004": "en"}


def rows(name: str) -> list[tuple[str, str]]:
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            out.append((lang, text))
    return out


def doc_of(text: str, **hints: str) -> Document:
    return Document(id="t", origin="test", content=text, text=text, hints=hints)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return default_detector()


@pytest.mark.parametrize(("prefix", "lang"), sorted(SEED_LANGUAGES.items()))
def test_seeds(prefix: str, lang: str) -> None:
    text = next((ROOT / "seeds").glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")
    after = detect_language(doc_of(text.strip()))
    assert after.language == lang
    assert after.language_score > 0.9


def test_quality_gate_on_held_out_sentences(detector: LanguageDetector) -> None:
    """Floors measured by benchmarks/language_candidates.py; fails if accuracy drops."""
    short, long_ = rows("short.tsv"), rows("long.tsv")
    assert len({lang for lang, _ in short}) >= 15
    short_acc = sum(detector.detect(t)[0] == lang for lang, t in short) / len(short)
    long_acc = sum(detector.detect(t)[0] == lang for lang, t in long_) / len(long_)
    assert short_acc >= 0.95, short_acc
    assert long_acc == 1.0, long_acc


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Regjeringen la fram statsbudsjettet i dag, og opposisjonen var kritisk til kuttene.",
            "nb",
        ),
        (
            "Regeringen fremlagde finansloven i dag, og oppositionen kritiserede nedskæringerne.",
            "da",
        ),
        ("Die minister het gesê dat die skole volgende week weer oopmaak.", "af"),
        ("De minister heeft gezegd dat de scholen volgende week weer opengaan.", "nl"),
        ("O ministro disse que as escolas reabrem na próxima semana.", "pt"),
        ("El ministro dijo que las escuelas reabren la próxima semana.", "es"),
        ("Ministr řekl, že školy se příští týden znovu otevřou.", "cs"),
        ("Minister povedal, že školy sa budúci týždeň opäť otvoria.", "sk"),
    ],
)
def test_close_pairs(detector: LanguageDetector, text: str, lang: str) -> None:
    assert detector.detect(text)[0] == lang


@pytest.mark.parametrize("text", [t for _, t in rows("none.tsv")] + ["", "   ", "Hi", "1 2 3"])
def test_no_language_or_too_short_is_und(detector: LanguageDetector, text: str) -> None:
    code, score = detector.detect(text)
    assert code == "und"
    assert score < 0.4


def test_hint_never_overrides_a_clear_answer() -> None:
    text = rows("long.tsv")[1][1]  # Danish paragraph
    after = detect_language(doc_of(text, language="nb"))
    assert after.language == "da"


def test_hint_breaks_a_near_tie(detector: LanguageDetector) -> None:
    # "Hun er lærer." is correct Danish and correct Bokmål: a genuine tie.
    text = "Hun er lærer."
    assert detector.detect(text)[0] in {"und", "da", "nb"}
    assert detector.detect(text, hint="nb")[0] == "nb"
    # A hint for a language nowhere near the top is ignored.
    assert detector.detect(text, hint="fi") == detector.detect(text)


def test_body_absent_falls_back_to_title() -> None:
    doc = Document(
        id="t", origin="t", content="", title="Regeringen vil hæve skatten på benzin næste år"
    )
    assert detect_language(doc).language == "da"


def test_speed_per_seed_sized_document(detector: LanguageDetector) -> None:
    docs = [p.read_text(encoding="utf-8")[:3000] for p in sorted((ROOT / "seeds").glob("*.txt"))]
    for doc in docs:
        detector.detect(doc)  # models load lazily on first use
    start = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        for doc in docs:
            detector.detect(doc)
    per_doc_ms = (time.perf_counter() - start) / (rounds * len(docs)) * 1000
    assert per_doc_ms < 1.0, f"{per_doc_ms:.3f} ms per document"


def test_input_is_not_mutated() -> None:
    before = doc_of("Det blæser kraftigt langs hele vestkysten i dag.")
    snapshot = before.to_json()
    after = detect_language(before)
    assert before.to_json() == snapshot
    assert after is not before


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_and_score_in_range(text: str) -> None:
    after = detect_language(doc_of(text))
    assert 0.0 <= after.language_score <= 1.0
    assert after.language == "und" or len(after.language) == 2


def test_short_text_weighs_a_shortlist_not_every_language() -> None:
    """The accurate models load only for a few likely languages (docs/transforms.md)."""
    detector = LanguageDetector()
    bokmal = "Regjeringen vil bruke flere penger på jernbanen i Nord-Norge neste år."
    shortlist = detector._shortlist(bokmal, ())
    assert "nb" in shortlist
    assert {"da", "sv", "nn"} <= shortlist  # its close group comes along
    assert len(shortlist) <= 12
    assert detector.detect(bokmal)[0] == "nb"
    assert None not in detector._lingua  # the all-language detector was never built


def test_warm_up_loads_only_the_shortlist_models() -> None:
    detector = LanguageDetector()
    detector.warm_up()
    assert detector._shortlister is not None
    assert detector._lingua == {}
