"""Normalisation for search, shared by indexing and querying.

The local Elasticsearch node is core-only: no language analysers, no stemmer or
ASCII-folding filters. So the pipeline computes, in Python, the normalised terms
of each article (lower-cased, stemmed with the Snowball stemmer of the article's
language, then folded to plain letters) and indexes them in ``search_text``;
``newsbeam search`` applies the same function to the query. Both sides must use
this module, or "Libië" indexed and "Libie" searched would not meet.

A query has no known language, so ``query_terms`` expands each word into its
normalised form under every supported stemmer: over-matching a little across
languages is better than missing a Danish "Libyen" for an English reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import snowballstemmer

from transforms.names import fold, inflection_variants

# ISO 639-1 -> Snowball algorithm. Languages without one are only folded.
STEMMERS: dict[str, str] = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}

# Words, including inner apostrophes and hyphens ("Haftar's", "al-Serraj", "80'erne").
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_APOSTROPHE_OR_HYPHEN = re.compile(r"['’\-]")
MAX_TERM_LENGTH = 64  # longer "words" are URLs or noise; not worth a term


def words(text: str) -> list[str]:
    """The words of ``text`` in order, as written."""
    return [m.group(0) for m in _WORD.finditer(text)]


@lru_cache(maxsize=64)
def _stemmer(language: str) -> Any:
    algorithm = STEMMERS.get(language)
    return snowballstemmer.stemmer(algorithm) if algorithm else None


@lru_cache(maxsize=32_768)
def normalise(word: str, language: str) -> str:
    """One word as a search term: lower-cased, stemmed in ``language``, folded.

    Stemming runs before folding because the Snowball rules expect the letters
    of the language (German "ü", Danish "ø").
    """
    lowered = word.lower()
    stemmer = _stemmer(language)
    stemmed: str = stemmer.stemWord(lowered) if stemmer else lowered
    folded = fold(stemmed)
    return _APOSTROPHE_OR_HYPHEN.sub("", folded)


@lru_cache(maxsize=32_768)  # behind _word_text when indexing; whole for queries
def word_terms(word: str, language: str) -> tuple[str, ...]:
    """The terms one written word contributes: its normalised form, and for a
    capitalised word also the form without a name inflection ("Gaddafis" ->
    "gaddafi"), which the stemmer of the language may not remove."""
    if len(word) > 2 * MAX_TERM_LENGTH:  # no stemmer halves a word: no term can come of it
        return ()
    terms = [normalise(word, language)]
    if word[:1].isupper():
        terms.extend(
            normalise(variant, language) for variant in inflection_variants(word, language)
        )
    return tuple(t for t in dict.fromkeys(terms) if t and len(t) <= MAX_TERM_LENGTH)


def text_terms(text: str, language: str) -> list[str]:
    """The search terms of a text in a known language, in order (repeats kept for scoring)."""
    language = (language or "und").lower()
    return [term for word in words(text) for term in word_terms(word, language)]


_WORD_TEXT_CACHE_SIZE = 32_768  # distinct words kept per language (~8 MiB); cleared when full
_word_text: dict[str, dict[str, str]] = {}


def _terms_text(text: str, language: str) -> str:
    """``" ".join(text_terms(text, language))``, at about one dict lookup per word.

    Indexing builds this for every article, so it is on the pipeline's hot path:
    each distinct written word is normalised once per language and its terms kept
    joined, ready to be joined again. Tokens with digits are not kept: every article
    brings new ones, and they would only push words out.
    """
    known = _word_text.setdefault(language, {})
    if len(known) > _WORD_TEXT_CACHE_SIZE:
        known.clear()
    found = known.get
    parts = []
    for word in _WORD.findall(text):
        joined = found(word)
        if joined is None:
            joined = " ".join(word_terms(word, language))
            if word.isalpha():  # numbers and codes are endless; words repeat
                known[word] = joined
        if joined:
            parts.append(joined)
    return " ".join(parts)


def document_search_text(
    title: str | None, text: str, language: str, entity_names: Iterable[str] = ()
) -> str:
    """The value of the indexed ``search_text`` field: terms of title, text and the
    canonical names of linked entities, space-separated."""
    language = (language or "und").lower()
    # Words never span a space, so the names are one text: one pass instead of one per name.
    parts = (_terms_text(part, language) for part in (title or "", text, " ".join(entity_names)))
    return " ".join(part for part in parts if part)


def query_terms(query: str, languages: Iterable[str] | None = None) -> list[list[str]]:
    """For each word of the query, its alternative terms: one per stemmer language.

    With ``languages`` (e.g. from ``--lang``) only those stemmers are used, plus
    the plain folded form, which matches articles in languages without a stemmer.
    """
    chosen = sorted(set(languages)) if languages else sorted(STEMMERS)
    alternatives: list[list[str]] = []
    for word in words(query):
        forms: dict[str, None] = {}
        for language in [*chosen, "und"]:
            for term in word_terms(word, language):
                forms[term] = None
        if forms:
            alternatives.append(list(forms))
    return alternatives
