"""Builds the news check set's CoNLL files from their hand-written markup.

The sentences are written and annotated by hand in ``<lang>.txt``: one sentence per line,
names as ``[TYPE words]`` (TYPE one of PER ORG LOC MISC), ``-DOCSTART-`` before each
article, ``#`` lines are comments. Each plain or name segment is cut into tokens by the
entity stage's tokeniser (punctuation its own token, ``Haftar 's``), and the tokens of a
name get ``B-``/``I-`` tags. The committed ``<lang>.conll`` files are this script's output
(a unit test checks they match); rerun it after editing the markup:

    .venv/bin/python -m tests.data.ner.news.generate
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from transforms.ner.tokenize import tokenize

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "da", "nl")
KINDS = ("PER", "ORG", "LOC", "MISC")
_NAME = re.compile(r"\[(\w+) ([^\[\]]+)\]")


class MarkupError(ValueError):
    """A markup line that cannot be read; the message names the line and the fault."""


def _words(text: str) -> list[str]:
    return [token.text for sentence in tokenize(text) for token in sentence]


def sentence_lines(line: str, where: str) -> list[str]:
    """One markup sentence as ``token<TAB>tag`` lines."""
    out: list[str] = []
    position = 0
    for match in _NAME.finditer(line):
        kind, name = match.group(1), match.group(2)
        if kind not in KINDS:
            raise MarkupError(f"{where}: unknown type {kind!r}; use one of {', '.join(KINDS)}.")
        out += [f"{word}\tO" for word in _words(line[position : match.start()])]
        words = _words(name)
        out += [f"{word}\t{'B' if i == 0 else 'I'}-{kind}" for i, word in enumerate(words)]
        position = match.end()
    out += [f"{word}\tO" for word in _words(line[position:])]
    if any(c in "[]" for row in out for c in row.split("\t")[0]):
        raise MarkupError(f"{where}: unbalanced [ ]; write names as [TYPE words].")
    return out


def conll_text(markup: str, source: str = "markup") -> str:
    """The CoNLL text of a markup file: ``-DOCSTART-`` lines kept, sentences blank-separated."""
    blocks: list[str] = []
    for number, raw in enumerate(markup.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "-DOCSTART-":
            blocks.append("-DOCSTART-")  # as the shared/ner files write it
        else:
            blocks.append("\n".join(sentence_lines(line, f"{source} line {number}")))
    return "\n\n".join(blocks) + "\n"


def main(argv: list[str] | None = None) -> int:
    for language in argv or LANGUAGES:
        source = HERE / f"{language}.txt"
        text = conll_text(source.read_text(encoding="utf-8"), source.name)
        (HERE / f"{language}.conll").write_text(text, encoding="utf-8")
        print(f"wrote {HERE / f'{language}.conll'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
