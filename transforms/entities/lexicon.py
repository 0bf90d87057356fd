"""Word lists the proper-name finder and the link gates read (``kb/lexicon.yaml``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from transforms.names import fold

KB_DIR = Path(__file__).resolve().parent.parent / "kb"
LEXICON_FILE = KB_DIR / "lexicon.yaml"


def _char_class(predicate: Any) -> str:
    """A regex character class, as ranges, of the BMP characters where predicate holds."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF or not predicate(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


# Where a name can start: an upper-case letter, or a letter of a script without case (Arabic).
NAME_START = _char_class(lambda c: c.isupper() or c.istitle() or (c.isalpha() and not c.islower()))


@dataclass(frozen=True)
class Lexicon:
    """Word lists for the proper-name finder and the fuzzy gate (``kb/lexicon.yaml``)."""

    common_words: dict[str, frozenset[str]]
    all_common_words: frozenset[str]
    titles: frozenset[str]
    org_words: frozenset[str]
    loc_words: frozenset[str]
    connectors: frozenset[str]
    adjective_endings: tuple[str, ...]
    # Only the tokens a name can be made of: capitalised words, "al-Serraj", connectors.
    name_token: re.Pattern[str]
    # Given names that mark a namesake even where capitals say nothing (German nouns,
    # Arabic script, a sentence start): "Mohammed Haftar", "محمد حفتر".
    given_names: frozenset[str] = frozenset()

    def is_adjective(self, word: str) -> bool:
        """A derived adjective or demonym ("Libyan"): not a typo of the name it derives from."""
        return fold(word).endswith(self.adjective_endings)

    def is_common(self, word: str, language: str) -> bool:
        """A common word of the language; of any known language when it is unknown."""
        folded = fold(word)
        words = self.common_words.get(language)
        if words is None:
            return folded in self.all_common_words
        return folded in words


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    data = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8"))

    def folded(words: Iterable[Any]) -> frozenset[str]:
        return frozenset(fold(str(w)) for w in words)

    common = {str(lang): folded(words) for lang, words in data["common_words"].items()}
    connectors = folded(data["connectors"]) | {str(w) for w in data["connectors"]}
    rest_of_word = r"(?:[^\W_]|['’\-](?=[^\W_]))*"
    # Connectors ("for", "al", "von der") are found in the gaps instead: an alternation of
    # them here would be tried at every word and double the tokenising time.
    name_token = re.compile(
        rf"\b(?:[{NAME_START}](?:\.[{NAME_START}])+\."  # U.S., U.N.
        rf"|[{NAME_START}]{rest_of_word})"  # Haftar, Saoedi-Arabië, FN's
    )
    return Lexicon(
        common_words=common,
        all_common_words=frozenset().union(*common.values()),
        titles=folded(data["titles"]),
        org_words=folded(data["org_words"]),
        loc_words=folded(data["loc_words"]),
        connectors=connectors,
        adjective_endings=tuple(sorted(folded(data["adjective_endings"]), key=len)),
        name_token=name_token,
        given_names=folded(data.get("given_names") or ()),
    )
