"""Tokens a name can be made of, and where sentences start: shared by finder and linker."""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.entities.lexicon import Lexicon
from transforms.names import ELISION

# A word: letters/digits joined by inner apostrophes or hyphens; or a dotted abbreviation (U.S.).
TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_](?:[^\W_]|['’\-](?=[^\W_]))*")
SENTENCE_END = frozenset(".!?:;\n•*")
OPENERS = " \t\u00a0\"'“‘«„([-–—"


@dataclass(slots=True)
class NameToken:
    start: int
    end: int
    text: str
    capitalised: bool  # has an upper-case letter: "Haftar", "al-Serraj", "LNA"
    joined_to_next: bool  # only spaces between this and the next token


def tokenize_names(text: str, lexicon: Lexicon) -> list[NameToken]:
    """The name-like tokens of the text; lower-case words only show as gaps between them.

    Connectors right before a name ("Institut for Internationale", "al Qaida") are
    kept as tokens, so multi-word names can span them.
    """
    tokens: list[NameToken] = []
    previous_end = 0
    for match in lexicon.name_token.finditer(text):
        start, end = match.span()
        word = match.group(0)
        if "'" in word[:5] or "’" in word[:5]:
            elided = ELISION.match(word)
            if elided:
                start += elided.end()
                word = word[elided.end() :]
        elif start > 1 and text[start - 1] == "-":
            start, word = _glued_particle(text, start, word, previous_end)
        gap_start = start
        connectors: list[NameToken] = []
        while gap_start - previous_end > 2 and text[gap_start - 1] == " ":
            space = text.rfind(" ", max(previous_end, gap_start - 8), gap_start - 1)
            before = text[space + 1 : gap_start - 1]
            if (space < 0 and previous_end > 0) or before not in lexicon.connectors:
                break
            connectors.append(NameToken(space + 1, gap_start - 1, before, False, True))
            gap_start = space + 1
            if len(connectors) == 2:
                break
        if tokens:
            gap = text[tokens[-1].end : gap_start]
            tokens[-1].joined_to_next = len(gap) <= 3 and not gap.strip(" \u00a0\t")
        tokens.extend(reversed(connectors))
        tokens.append(NameToken(start, end, word, not word.islower(), False))
        previous_end = end
    return tokens


def _glued_particle(text: str, start: int, word: str, floor: int) -> tuple[int, str]:
    """Extend "Serraj" to "al-Serraj" when a short lower-case particle is glued before it."""
    i = start - 1
    while i - 1 >= floor and start - i <= 5 and text[i - 1].isalpha() and text[i - 1].islower():
        i -= 1
    if i < start - 1 and (i == 0 or not text[i - 1].isalnum()):
        return i, text[i:start] + word
    return start, word


def sentence_initial(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in OPENERS:
        if text[i] in "-–—•" and (i == 0 or text[i - 1] == "\n"):
            return True
        i -= 1
    return i < 0 or text[i] in SENTENCE_END


def apostrophe_cut(word: str, matched: int) -> int:
    """Keep a possessive or case ending after an apostrophe out of the mention."""
    if matched < len(word) and word[matched] in "'’":
        return matched
    return len(word)


def before_apostrophe(word: str) -> str:
    """The word up to an apostrophe ending ("Boserup's" -> "Boserup"), else the word."""
    for mark in "'’":
        cut = word.find(mark)
        if cut >= 2:
            return word[:cut]
    return word


def name_like(token: NameToken) -> bool:
    return token.text[0].isupper() and len(token.text) > 1 and not token.text[0].isdigit()
