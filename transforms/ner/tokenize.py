"""Raw text -> sentences of CoNLL-like tokens with character offsets.

Matches the training corpora's conventions closely enough for the model: punctuation
is its own token; ``U.S.``, ``e.g.``, initials (``J.``) and known abbreviations (``Dr.``,
``Inc.``) keep their dot; inner hyphens stay (``UN-backed``, ``SID-huset``); an
apostrophe ending splits off (``Haftar 's``, Turkish ``Erdoğan 'ın``, ``do n't`` is
close enough) and an elided article too (``l' Europe``), while ``O'Brien`` stays whole.
One regular expression pass; sentences end at ``. ! ? …`` before an upper-case letter,
digit or quote, and at every line break.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_TOKEN = re.compile(
    r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]']"  # URL
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|(?i:\b(?:[ldjmnstc]|qu|dell|all|nell|sull))['’](?=[^\W\d_])"  # l'Europe, d'Estaing
    r"|(?:[^\W\d_]\.){2,}"  # U.S., e.g., U.S.A.
    r"|\d+(?:[.,:/]\d+)*(?![^\W_])"  # 1,000.5  12:30  29/11 (but 76ers is a word)
    r"|[^\W_](?:[^\W_]|[-‐_](?=[^\W_])|['’](?=[^\W\d_]{4}))*"  # UN-backed, O'Brien, a_b
    r"|['’][^\W\d_]{1,3}(?![^\W\d_])"  # 's 'ın 't
    r"|\.{2,}|-{2,}"  # ... --
    r"|\S"
)
# The same with the whitespace before each token captured: ``findall`` then yields every
# token with its gap, cheaper than a match object per token.
_SPACED_TOKEN = re.compile(r"(\s*)(" + _TOKEN.pattern + ")")
# Words whose following dot belongs to them (lower case, without the dot).
_ABBREVIATIONS = (
    "mr mrs ms dr prof st jr sr inc corp co ltd gen col lt sgt capt gov sen rep rev mt ft "
    "jan feb mar apr jun jul aug sep sept oct nov dec vs etc no nr hr fr fru bl dvs mio mia "
    "ca ph nos art hrsg str bzw ggf usw vgl evt mme mlle mgr cf vol pp ed eds dhr mevr drs "
    "ir"
)
ABBREVIATIONS = frozenset(_ABBREVIATIONS.split())
_SENTENCE_END = frozenset({".", "!", "?", "…", "...", "!!", "?!"})
_OPENING_QUOTES = frozenset("\"'“‘«„‹(")
MAX_SENTENCE_TOKENS = 150  # longer runs (lists, tables) are cut so tagging stays linear


class Token(NamedTuple):
    """A token and its character offsets (a tuple: cheap to make by the thousand)."""

    text: str
    start: int
    end: int


_make_token = tuple.__new__  # Token(...) without the generated __new__'s Python call


def tokenize(text: str) -> list[list[Token]]:
    """The sentences of ``text``, each a list of tokens with ``text[start:end] == token``."""
    sentences: list[list[Token]] = []
    current: list[Token] = []
    position = 0
    # (whitespace before, token) pairs from one C-level pass; offsets follow from lengths
    for space, word in _SPACED_TOKEN.findall(text):
        start = position + len(space)
        end = position = start + len(word)
        if current and (
            (space and "\n" in space)
            or len(current) >= MAX_SENTENCE_TOKENS
            or (current[-1][0] in _SENTENCE_END and _starts_sentence(word))
        ):
            sentences.append(current)
            current = []
        if word == "." and not space and current and _takes_dot(current[-1][0]):
            last_start = current[-1][1]
            current[-1] = _make_token(Token, (text[last_start:end], last_start, end))
        else:
            current.append(_make_token(Token, (word, start, end)))
    if current:
        sentences.append(current)
    return sentences


def _takes_dot(word: str) -> bool:
    """An abbreviation or an initial ("J. Smith") keeps its dot."""
    if len(word) == 1:
        return word.isalpha() and word.isupper()
    return word.lower() in ABBREVIATIONS


def _starts_sentence(word: str) -> bool:
    first = word[0]
    return first.isupper() or first.isdigit() or first in _OPENING_QUOTES
