"""Language identification: CLD2 for speed, lingua where CLD2 is weak.

Measured in ``benchmarks/language_candidates.py`` (table in ``docs/transforms.md``):
CLD2 (pycld2) is ~100x faster than anything else and right on long text, but
confuses close pairs (Afrikaans read as Dutch) and is unsure on short text;
lingua (high accuracy) is the most accurate on short text and close pairs but
costs ~2 ms per 3 KB document. So CLD2 decides long text outside the close-pair
groups, and lingua, restricted to the small confusable group, settles the rest
on a bounded sample. Short or unreliable text goes to lingua over a wide set.

Lingua loads each language's models on first use, and the high-accuracy models of
all 75 languages cost 5-6 s of CPU (more under load): the first short document of a
worker used to stall that long. Short text is therefore decided in two steps: lingua's
low-accuracy mode over all languages (its models load in 0.25 s) names the three most
likely languages, and lingua's high-accuracy mode, restricted to those, CLD2's guess,
the hint and their close groups, decides. Only the models of languages actually seen
are ever loaded (~0.15 s per language, once per process; lingua shares them between
detectors). On the held-out sentences the true language was among the low-accuracy
top three every time (docs/transforms.md, "Cold start").
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

import pycld2

from transforms.budget import paused
from transforms.document import Document

UNDETERMINED = "und"

# Languages that CLD2 confuses with each other; lingua settles which one it is.
CLOSE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"da", "nb", "nn", "sv"}),
    frozenset({"nl", "af"}),
    frozenset({"es", "pt", "ca"}),
    frozenset({"cs", "sk"}),
    frozenset({"hr", "sr", "bs", "sl"}),
    frozenset({"id", "ms"}),
    frozenset({"ru", "uk", "be", "bg", "mk"}),
)
# CLD2 codes -> ISO 639-1 as used in newsbeam.
_CLD2_ALIASES = {"no": "nb", "un": UNDETERMINED, "xxx": UNDETERMINED}

MIN_LETTERS = 8  # fewer letters than this is not enough evidence for any language
LONG_LETTERS = 200  # from here on CLD2 alone is reliable (outside close groups)
SAMPLE_CHARS = 1200  # CLD2 sample: bounded so cost does not grow with the article
LINGUA_SAMPLE_CHARS = 300  # lingua is ~linear in length; 300 chars keep it < 0.5 ms
MIN_SCORE = 0.4  # below this the best guess is reported as und
SHORTLIST = 3  # how many of the low-accuracy pass's languages the accurate pass weighs
MAX_DETECTORS = 128  # restricted lingua detectors kept (they share the loaded models)
HINT_RATIO = 0.8  # a hint may only pick a runner-up scoring at least this share of the best

# An address starts where a non-space run starts: from inside the run it would be re-scanned
# from every character (quadratic in a long run without "@").
_NOISE = re.compile(r"https?://\S+|www\.\S+|(?<!\S)\S+@\S+|[0-9_]+")
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def _sample(text: str, limit: int) -> str:
    """The first ``limit`` characters, cut back to a word boundary."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit]


class LanguageDetector:
    """Loads its models once (lazily) and answers ``detect(text) -> (code, score)``.

    Safe to share between threads; create one per process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lingua: dict[frozenset[str] | None, Any] = {}
        self._asked: set[frozenset[str] | None] = set()
        self._shortlister: Any = None
        self._known: frozenset[str] | None = None

    def _lingua_for(self, group: frozenset[str] | None) -> Any:
        detector = self._lingua.get(group)
        if detector is None:
            from lingua import IsoCode639_1, LanguageDetectorBuilder

            with self._lock:
                detector = self._lingua.get(group)
                if detector is None:
                    if group is None:
                        builder = LanguageDetectorBuilder.from_all_languages()
                    else:
                        codes = [getattr(IsoCode639_1, c.upper()) for c in sorted(group)]
                        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
                    detector = builder.build()
                    if len(self._lingua) >= MAX_DETECTORS:
                        self._lingua.clear()  # detectors are cheap; the models stay loaded
                    self._lingua[group] = detector
        return detector

    def _lingua_codes(self) -> frozenset[str]:
        """ISO 639-1 codes lingua knows (CLD2 knows some it does not, and names others)."""
        if self._known is None:
            from lingua import Language

            self._known = frozenset(
                language.iso_code_639_1.name.lower() for language in Language.all()
            )
        return self._known

    def _shortlist(self, sample: str, guesses: tuple[str, ...]) -> frozenset[str]:
        """The languages a short text can be in: lingua's low-accuracy top three over all
        languages, the other guesses (CLD2's, the hint), and their close groups."""
        if self._shortlister is None:
            from lingua import LanguageDetectorBuilder

            with self._lock:
                if self._shortlister is None:
                    self._shortlister = (
                        LanguageDetectorBuilder.from_all_languages()
                        .with_low_accuracy_mode()
                        .build()
                    )
        values = self._shortlister.compute_language_confidence_values(
            _sample(sample, LINGUA_SAMPLE_CHARS)
        )
        codes = {v.language.iso_code_639_1.name.lower() for v in values[:SHORTLIST]}
        codes.update(g for g in guesses if g and g != UNDETERMINED)
        for group in CLOSE_GROUPS:
            if codes & group:
                codes |= group
        return frozenset(codes & self._lingua_codes())

    def warm_up(self) -> None:
        """Load what a worker needs whatever its documents' languages: lingua's low-accuracy
        models of all languages (0.3 s of CPU). A worker's ``setup()`` calls it. The
        accurate models stay lazy: loading them for languages the worker never sees
        would delay its first document (docs/transforms.md, "Cold start")."""
        pycld2.detect("A warm-up sentence for the detector.")
        self._shortlist("A short warm-up sentence.", ())

    def _ask_lingua(self, text: str, group: frozenset[str] | None) -> list[tuple[str, float]]:
        """Lingua's best two candidates with their confidence, best first."""
        detector, sample = self._lingua_for(group), _sample(text, LINGUA_SAMPLE_CHARS)
        if group in self._asked:
            values = detector.compute_language_confidence_values(sample)
        else:
            # lingua reads its models on the first question (all languages of the text's
            # script: 5 s of CPU, 900 MiB): the process's cost, off the document's budget.
            with paused():
                values = detector.compute_language_confidence_values(sample)
            self._asked.add(group)
        return [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values[:2]]

    def detect(self, text: str, hint: str | None = None) -> tuple[str, float]:
        """The ISO 639-1 code and a 0..1 score; ``("und", 0.0)`` when unsure.

        ``hint`` (e.g. the feed's declared language) only breaks near-ties.
        """
        sample = _NOISE.sub(" ", _sample(text, SAMPLE_CHARS))
        letters = len(_NOT_LETTERS.sub("", sample))  # no list of one-letter strings
        if letters < MIN_LETTERS:
            return UNDETERMINED, 0.0
        try:
            reliable, _, details = pycld2.detect(sample)
        except (pycld2.error, UnicodeEncodeError):  # lone surrogates, control bytes
            sample = sample.encode("utf-8", "replace").decode("utf-8")
            reliable, details = False, ()
        top = _CLD2_ALIASES.get(details[0][1], details[0][1]) if details else UNDETERMINED
        percent = details[0][2] / 100 if details else 0.0
        group = next((g for g in CLOSE_GROUPS if top in g), None)

        if letters >= LONG_LETTERS and reliable and group is None:
            ranked = [(top, percent)]
        elif letters >= LONG_LETTERS and reliable and group is not None:
            ranked = [(code, percent * within) for code, within in self._ask_lingua(sample, group)]
        else:
            # Lingua's order stands (it is better on close pairs); where CLD2
            # agrees with a candidate, the two scores combine as a noisy-or.
            shortlist = self._shortlist(sample, (top, (hint or "").lower()))
            ranked = [
                (code, 1 - (1 - score) * (1 - percent) if reliable and code == top else score)
                for code, score in self._ask_lingua(sample, shortlist or None)
            ]
        if not ranked:
            return UNDETERMINED, 0.0
        code, score = ranked[0]
        runner_up = ranked[1] if len(ranked) > 1 else None
        if hint and runner_up and runner_up[0] == hint and runner_up[1] >= HINT_RATIO * score:
            code, score = runner_up
        if code == UNDETERMINED or score < MIN_SCORE:
            return UNDETERMINED, round(score, 4)
        return code, round(score, 4)


_DEFAULT: LanguageDetector | None = None


def default_detector() -> LanguageDetector:
    """The process-wide detector (models are read-only, so sharing is safe)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = LanguageDetector()
    return _DEFAULT


def warm_up_language() -> None:
    """The process-wide detector's models that every document may need (see ``warm_up``)."""
    default_detector().warm_up()


def detect_language(doc: Document) -> Document:
    """Set ``language`` and ``language_score`` from ``doc.text`` (title if no body)."""
    text = doc.text or doc.title or ""
    code, score = default_detector().detect(text, hint=doc.hints.get("language"))
    return dataclasses.replace(doc, language=code, language_score=score)
