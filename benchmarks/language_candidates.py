"""Compare language-identification libraries on newsbeam's held-out sentences.

Run: ``.venv/bin/python benchmarks/language_candidates.py``. Candidates that are not
installed are skipped with a note. Accuracy is measured on ``tests/data/language``
(short < 60 chars, long news paragraphs, and no-language inputs that must give
``und``); speed as sentences per second and milliseconds per seed-sized (~3 KB)
document, everything single-threaded after the model is loaded.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "language"
SEEDS = ROOT / "seeds"
CLOSE_PAIRS = [("da", "nb"), ("nl", "af"), ("es", "pt"), ("cs", "sk"), ("hr", "sr"), ("sv", "nb")]

Detect = Callable[[str], str]


def load(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang, text))
    return rows


def _norm(code: str) -> str:
    code = code.lower()
    return {"no": "nb", "nn": "nb", "un": "und", "unknown": "und", "zz": "und"}.get(code, code)


def lingua_candidate(*, low: bool, languages: tuple[str, ...] | None) -> Detect:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    if languages is None:
        builder = LanguageDetectorBuilder.from_all_languages()
    else:
        codes = [getattr(IsoCode639_1, c.upper()) for c in languages]
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    if low:
        builder = builder.with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()

    def detect(text: str) -> str:
        lang = detector.detect_language_of(text)
        return "und" if lang is None else _norm(lang.iso_code_639_1.name)

    return detect


def newsbeam_candidate() -> Detect:
    sys.path.insert(0, str(ROOT))
    from transforms.language import LanguageDetector

    detector = LanguageDetector()
    return lambda text: detector.detect(text)[0]


def langdetect_candidate() -> Detect:
    from langdetect import (
        DetectorFactory,
        LangDetectException,
        detect_langs,
    )

    DetectorFactory.seed = 0

    def detect(text: str) -> str:
        try:
            return _norm(detect_langs(text)[0].lang.split("-")[0])
        except LangDetectException:
            return "und"

    return detect


def langid_candidate() -> Detect:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    return lambda text: _norm(identifier.classify(text)[0])


def pycld2_candidate() -> Detect:
    import pycld2

    def detect(text: str) -> str:
        try:
            reliable, _, details = pycld2.detect(text)
        except pycld2.error:
            return "und"
        return _norm(details[0][1]) if reliable else "und"

    return detect


CANDIDATES: dict[str, Callable[[], Detect]] = {
    "newsbeam LanguageDetector (chosen)": newsbeam_candidate,
    "lingua all 75, high": lambda: lingua_candidate(low=False, languages=None),
    "lingua all 75, low": lambda: lingua_candidate(low=True, languages=None),
    "langdetect": langdetect_candidate,
    "langid (norm_probs)": langid_candidate,
    "pycld2": pycld2_candidate,
}


def seed_sized_docs() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    return [t[:3000] for t in texts]


def evaluate(detect: Detect) -> dict[str, float | str]:
    short, long_, none = load("short.tsv"), load("long.tsv"), load("none.tsv")
    acc = {}
    for label, rows in (("short", short), ("long", long_), ("und", none)):
        acc[label] = sum(detect(t) == lang for lang, t in rows) / len(rows)
    pair_hits = pair_total = 0
    for a, b in CLOSE_PAIRS:
        for lang, text in short + long_:
            if lang in (a, b):
                pair_total += 1
                pair_hits += detect(text) == lang
    acc["pairs"] = pair_hits / pair_total
    misses = [f"{lang}->{detect(t)}" for lang, t in short + long_ if detect(t) != lang]

    sentences = [t for _, t in short + long_]
    start = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        for text in sentences:
            detect(text)
    per_s = rounds * len(sentences) / (time.perf_counter() - start)

    docs = seed_sized_docs()
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        for doc in docs:
            detect(doc)
        timings.append((time.perf_counter() - start) / len(docs) * 1000)
    return {
        **acc,
        "sent_per_s": per_s,
        "ms_per_doc": statistics.median(timings),
        "misses": ", ".join(misses[:12]),
    }


def main() -> None:
    print("| candidate | short acc | long acc | close pairs | und | sent/s | ms/3KB doc | load s |")
    print("|---|---|---|---|---|---|---|---|")
    notes = []
    for name, factory in CANDIDATES.items():
        start = time.perf_counter()
        try:
            detect = factory()
        except ImportError as err:
            notes.append(f"{name}: not installed ({err})")
            continue
        load_s = time.perf_counter() - start
        r = evaluate(detect)
        print(
            f"| {name} | {r['short']:.1%} | {r['long']:.1%} | {r['pairs']:.1%} | {r['und']:.0%} "
            f"| {r['sent_per_s']:.0f} | {r['ms_per_doc']:.3f} | {load_s:.2f} |"
        )
        notes.append(f"{name} misses: {r['misses']}")
    print()
    for note in notes:
        print("-", note)


if __name__ == "__main__":
    main()
