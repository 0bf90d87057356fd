"""Name normalisation in the manner of JRC-Names / EMM (Steinberger et al.).

Two spellings of one name ("Qaddafi", "Kadhafi", "Gaddafi's") should meet in
one key, so the knowledge base is indexed by keys and text tokens are looked
up by key: a dict lookup instead of a fuzzy search. The rules are listed in
``docs/entities.md``; they are applied identically to KB aliases and to text,
so an over-eager rule costs precision only when two real names collide.

``skeleton`` keeps the word recognisable (used for edit distance);
``name_key`` also drops trailing vowels, the most unstable part of a
transliteration (Libya / Libia / Libye / Libië).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any

import yaml

INFLECTION_FILE = Path(__file__).resolve().parent / "kb" / "inflection.yaml"
MIN_STEM_LETTERS = 3

# Letters NFKD does not decompose into a base letter plus a mark.
_LETTER_MAP = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "ß": "ss",
        "ı": "i",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "œ": "oe",
        "þ": "th",
        "’": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
        "‐": "-",
        "‑": "-",
        "–": "-",
    }
)

# Arabic articles and similar particles glued to a name: "al-Serraj", "el-Sisi".
PARTICLES = frozenset({"al", "el", "ul", "ad", "ar", "as", "ash", "at", "az", "ben", "bin", "ibn"})
_GLUED_PARTICLE = re.compile(r"^(?:al|el|ul|ad|ar|as|ash|at|az)-(?=\w)")

# Ordered: multigraphs before their parts.
_TRANSLIT: tuple[tuple[str, str], ...] = (
    ("sch", "s"),
    ("kh", "k"),
    ("ch", "k"),
    ("gh", "g"),
    ("dh", "d"),
    ("th", "t"),
    ("ph", "f"),
    ("sh", "s"),
    ("ck", "k"),
    ("ou", "u"),
    ("oe", "u"),
    ("q", "k"),
    ("w", "v"),
    ("y", "i"),
    ("'", ""),
    ("-", ""),
)
_TRANSLIT_RE = re.compile("|".join(re.escape(src) for src, _ in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)
KEPT_LETTERS = 4  # trailing vowels go, but never below this many letters


@lru_cache(maxsize=32_768)  # bounded: a long run meets new words (numbers, names) forever
def fold(text: str) -> str:
    """Lower-case, strip diacritics, unify apostrophes and hyphens."""
    lowered = text.lower().translate(_LETTER_MAP)
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=16_384)
def skeleton(token: str) -> str:
    """One token folded, de-particled, transliterated and with double letters collapsed."""
    folded = _GLUED_PARTICLE.sub("", fold(token))
    spelled = _TRANSLIT_RE.sub(lambda m: _TRANSLIT_MAP[m.group(0)], folded)
    # Collapse runs of one letter ("kaddafi" -> "kadafi"); groupby is several times
    # faster than re.sub with a backreference template, and this runs per alias at load.
    return "".join(letter for letter, _ in groupby(spelled))


@lru_cache(maxsize=16_384)
def name_key(token: str) -> str:
    """The lookup key of one token: its skeleton without trailing vowels.

    A free-standing particle ("al" in "al Serraj") has the empty key, so it
    does not count in a phrase.
    """
    if fold(token) in PARTICLES:
        return ""
    # The trailing vowels from the fifth letter on; rstrip, not a search for "[aeiou]+$",
    # which would restart at every vowel of a long run (quadratic).
    spelled = skeleton(token)
    return spelled[: max(len(spelled.rstrip("aeiou")), KEPT_LETTERS)]


def phrase_key(tokens: Sequence[str]) -> str:
    """The key of a multi-token name: the tokens' keys, particles dropped."""
    return " ".join(k for k in map(name_key, tokens) if k)


# Possessive endings for search terms (transforms/search_terms.py), tried only after the
# bare form missed. Linking uses the fuller per-language case rules of kb/inflection.yaml
# (``name_stems``); search keeps this short list so an index does not grow a term for
# every case ending of every capitalised word.
# Longest first, so "'s" is stripped before "s".
INFLECTIONS: dict[str, tuple[str, ...]] = {
    "en": ("'s", "’s", "s'", "s’", "'", "’"),
    "da": ("'s", "’s", "s"),
    "no": ("'s", "’s", "s"),
    "sv": ("'s", "’s", "s"),
    "nl": ("'s", "’s", "s"),
    "de": ("'s", "’s", "s", "'", "’"),
    "fr": (),
    "es": (),
    "it": (),
    "und": ("'s", "’s", "s"),
}
# Turkish and Finnish write case endings after an apostrophe: "Ankara'da", "Haftar'ın".
_APOSTROPHE_CASE_LANGUAGES = frozenset({"tr", "fi"})
_APOSTROPHE = re.compile(r"['’]")
# French and Italian elide an article into a name: "d'Haftar", "l'ONU", "dell'Onu".
ELISION = re.compile(r"^(?:[dlDL]|[qQ]u|[dD]ell|[aA]ll|[nN]ell|[sS]ull)['’](?=[^\W\d_])")


@lru_cache(maxsize=16_384)
def inflection_variants(token: str, language: str) -> tuple[str, ...]:
    """The token with each plausible inflection/possessive ending removed (not the token itself)."""
    variants: list[str] = []
    if language in _APOSTROPHE_CASE_LANGUAGES:
        match = _APOSTROPHE.search(token)
        if match and match.start() >= 2:
            variants.append(token[: match.start()])
    for ending in INFLECTIONS.get(language, INFLECTIONS["und"]):
        if token.endswith(ending) and len(token) - len(ending) >= 2:
            variants.append(token[: -len(ending)])
    return tuple(dict.fromkeys(variants))


@dataclass(frozen=True)
class InflectionRule:
    """How names inflect in one language (``kb/inflection.yaml``)."""

    suffixes: tuple[str, ...] = ()  # longest first
    prefixes: tuple[str, ...] = ()  # longest first
    after_apostrophe: bool = False
    min_stem: int = MIN_STEM_LETTERS


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{INFLECTION_FILE}: {where} must be a list of quoted strings.")
    return list(value)


def parse_inflection_rules(data: Any) -> dict[str, InflectionRule]:
    """Per-language rules from the parsed YAML; rules naming one language merge."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValueError(f"{INFLECTION_FILE} needs a top-level 'rules:' list.")
    merged: dict[str, InflectionRule] = {}
    for number, raw in enumerate(data["rules"], 1):
        where = f"rule #{number}"
        if not isinstance(raw, dict):
            raise ValueError(f"{INFLECTION_FILE}: {where} is not a mapping.")
        languages = _strings([str(v) for v in raw.get("languages") or []], where + " languages")
        suffixes = _strings(raw.get("suffixes"), where + " suffixes")
        prefixes = _strings(raw.get("prefixes"), where + " prefixes")
        min_stem = raw.get("min_stem", MIN_STEM_LETTERS)
        if not languages or not isinstance(min_stem, int) or min_stem < 1:
            raise ValueError(f"{INFLECTION_FILE}: {where} needs languages and min_stem >= 1.")
        for language in languages:
            old = merged.get(language, InflectionRule())
            merged[language] = InflectionRule(
                suffixes=_longest_first((*old.suffixes, *suffixes)),
                prefixes=_longest_first((*old.prefixes, *prefixes)),
                after_apostrophe=old.after_apostrophe or bool(raw.get("after_apostrophe")),
                min_stem=max(old.min_stem, min_stem) if language in merged else min_stem,
            )
    return merged


def _longest_first(endings: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(dict.fromkeys(endings), key=lambda e: (-len(e), e)))


@lru_cache(maxsize=1)
def inflection_rules() -> dict[str, InflectionRule]:
    """The rules of ``kb/inflection.yaml``, read once per process."""
    return parse_inflection_rules(yaml.safe_load(INFLECTION_FILE.read_text(encoding="utf-8")))


def _rule(language: str) -> InflectionRule:
    rules = inflection_rules()
    return rules.get(language) or rules.get(language.split("-")[0]) or rules["und"]


def _letter_count(text: str) -> int:
    return sum(c.isalpha() for c in text)


@lru_cache(maxsize=32_768)
def name_stems(token: str, language: str) -> tuple[str, ...]:
    """The last token of a name without each case ending of ``language`` (not the token).

    Only candidates: the caller accepts a stem when its key is a knowledge-base alias.
    A one-letter ending must leave four letters, any other ``min_stem`` (Polish "Ula"
    is not "Ul" + "a"); an upper-case acronym before a lower-case ending two.
    """
    rule = _rule(language)
    stems: list[str] = []
    if rule.after_apostrophe:
        match = _APOSTROPHE.search(token)
        if match and match.start() >= 2:
            stems.append(token[: match.start()])
    lowered = token.lower()
    for ending in rule.suffixes:
        if lowered.endswith(ending):
            stem = token[: -len(ending)]
            floor = rule.min_stem + (1 if _letter_count(ending) <= 1 else 0)
            # An acronym with a lower-case ending ("USAs", "FNs", "NATOs") cannot be a
            # common word cut short, so its stem may be as short as two letters.
            acronym = stem.isupper() and token[len(stem) :].islower()
            if _letter_count(stem) >= (2 if acronym else floor):
                stems.append(stem)
    return tuple(dict.fromkeys(stems))


@lru_cache(maxsize=256)
def has_clitics(language: str) -> bool:
    """Whether names take glued clitics in ``language`` (most languages: no)."""
    return bool(_rule(language).prefixes)


@lru_cache(maxsize=32_768)
def clitic_stems(token: str, language: str) -> tuple[tuple[int, str], ...]:
    """The first token of a name without each glued clitic (Arabic وحفتر -> حفتر).

    Returns (characters cut, stem) pairs, so the mention can start after the clitic.
    """
    rule = _rule(language)
    found: list[tuple[int, str]] = []
    for prefix in rule.prefixes:
        if token.startswith(prefix) and _letter_count(token) - len(prefix) >= rule.min_stem:
            found.append((len(prefix), token[len(prefix) :]))
    return tuple(found)
