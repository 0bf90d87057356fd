"""Builds the news check set's CoNLL files from their hand-written markup.

The sentences are written and annotated by hand in ``<lang>.txt``: one sentence per line,
names as ``[TYPE words]`` (TYPE one of PER ORG LOC MISC), ``-DOCSTART-`` before each
article, ``#`` lines are comments. Each sentence, markup stripped, is cut into tokens by the
entity stage's tokeniser (punctuation its own token, ``Haftar 's``, ``l' Algérie``), and the
tokens of a name get ``B-``/``I-`` tags. The committed ``<lang>.conll`` files are this
script's output (a unit test checks they match); rerun it after editing the markup:

    .venv/bin/python -m tests.data.ner.news.generate
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from transforms.ner.tokenize import tokenize

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "da", "nl", "fr", "de")
KINDS = ("PER", "ORG", "LOC", "MISC")
_NAME = re.compile(r"\[(\w+) ([^\[\]]+)\]")


class MarkupError(ValueError):
    """A markup line that cannot be read; the message names the line and the fault."""


def sentence_lines(line: str, where: str) -> list[str]:
    """One markup sentence as ``token<TAB>tag`` lines.

    The markup is stripped to plain text first and the whole sentence is tokenised at once,
    so a token next to a name ("l'Algérie") is cut as the tagger will cut it; a token that
    would run across the edge of a name is a markup error.
    """
    plain: list[str] = []
    names: list[tuple[int, int, str]] = []
    length = position = 0
    for match in _NAME.finditer(line):
        kind, name = match.group(1), match.group(2)
        if kind not in KINDS:
            raise MarkupError(f"{where}: unknown type {kind!r}; use one of {', '.join(KINDS)}.")
        before = line[position : match.start()]
        plain += [before, name]
        length += len(before)
        names.append((length, length + len(name), kind))
        length += len(name)
        position = match.end()
    plain.append(line[position:])
    text = "".join(plain)
    out: list[str] = []
    for token in (token for sentence in tokenize(text) for token in sentence):
        if token.text in ("[", "]"):
            raise MarkupError(f"{where}: unbalanced [ ]; write names as [TYPE words].")
        tag = "O"
        for start, end, kind in names:
            if token.start < end and start < token.end:
                if token.start < start or token.end > end:
                    raise MarkupError(f"{where}: token {token.text!r} runs across a name's edge.")
                tag = f"{'B' if token.start == start else 'I'}-{kind}"
        out.append(f"{token.text}\t{tag}")
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
