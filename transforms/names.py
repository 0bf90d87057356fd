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
from functools import lru_cache

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
_DOUBLE = re.compile(r"(.)\1+")
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
    return _DOUBLE.sub(r"\1", spelled)


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


# Inflection and possessive endings, tried only after the bare form missed.
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
