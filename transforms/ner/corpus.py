"""Read the CoNLL-style NER corpora of ``shared/ner`` (one ``token<TAB>tag`` per line).

Every file is named ``<lang>/<source>.<split>.conll.gz``. Half the sets do not mark
MISC (their MISC-type names are ``O``), so the model's targets are PER/ORG/LOC: MISC is
``O`` when reading, except (``keep_misc``) in the sets that annotate it fully
(``MISC_ANNOTATED``), where training on it teaches that nationalities and events are
neither PER, ORG nor LOC; the model's MISC spans are dropped at output (``without_misc``).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from transforms.ner.tokenize import tokenize

TYPES = ("PER", "ORG", "LOC")
# Languages the packaged model is trained on: Latin and Cyrillic script with gold or silver data.
# zh is left out: its tokens are segmented words that raw Chinese text does not have.
TRAIN_LANGUAGES = ("da", "de", "en", "fr", "hr", "nb", "nl", "nn", "pt", "ru", "sk", "sr", "sv")
# The sets that annotate MISC fully; elsewhere MISC-type names are O or only partly MISC.
MISC_ANNOTATED = frozenset({"uner-ddt", "germeval2014", "norne", "uner-set", "wikiner", "wikigold"})
# OCR'd 19th-century newspapers (Europeana). Their tokens keep glued punctuation
# ("Kamer,"): training splits them as at run time (the other sets are tokenised already;
# re-splitting their Twitter handles cost BTC half its F1, 0.70 -> 0.38 for an English-only
# model). A language group learned from these alone is an era, not a language: see
# ``transforms.ner.model.historical_groups``.
OCR_SOURCES = frozenset(
    {"europeana-kb", "europeana-bnf", "europeana-lft", "europeana-onb", "europeana-sbb"}
)


class CorpusError(ValueError):
    """A corpus file or folder that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class CorpusFile:
    """One ``<lang>/<source>.<split>.conll.gz`` file."""

    path: Path
    language: str
    source: str
    split: str

    @property
    def name(self) -> str:
        return f"{self.language}/{self.source}.{self.split}"


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    tags: tuple[str, ...]  # IOB2 over TYPES (and MISC where kept)


def corpus_files(data_dir: str | Path, split: str | None = None) -> list[CorpusFile]:
    """The corpus files under ``data_dir``, sorted, optionally of one split."""
    root = Path(data_dir)
    if not root.is_dir():
        raise CorpusError(
            f"NER data folder {root} does not exist; pass --data-dir pointing at shared/ner."
        )
    found: list[CorpusFile] = []
    for path in sorted(root.glob("*/*.conll.gz")):
        parts = path.name[: -len(".conll.gz")].rsplit(".", 1)
        if len(parts) != 2:
            continue
        source, file_split = parts
        if split is None or file_split == split:
            found.append(CorpusFile(path, path.parent.name, source, file_split))
    if not found:
        raise CorpusError(f"no <lang>/<source>.<split>.conll.gz files in {root}.")
    return found


def _tag(raw: str, keep_misc: bool = False) -> str:
    if raw == "O":
        return "O"
    if raw[2:] in TYPES or (keep_misc and raw[2:] == "MISC"):
        return raw
    return "O"


def read_sentences(
    path: Path, limit: int | None = None, *, keep_misc: bool = False
) -> Iterator[Sentence]:
    """The sentences of one file; ``-DOCSTART-`` lines are skipped. MISC becomes ``O``
    unless ``keep_misc`` (training on the sets that annotate it fully)."""
    count = 0
    for record in _records(path, keep_misc):
        if record is None:
            continue
        yield record
        count += 1
        if limit is not None and count >= limit:
            return


def read_documents(path: Path, *, keep_misc: bool = False) -> list[list[Sentence]]:
    """The sentences of one file grouped into the documents its ``-DOCSTART-`` lines
    separate (one document if it has none); empty documents are left out."""
    documents: list[list[Sentence]] = [[]]
    for record in _records(path, keep_misc):
        if record is None:
            documents.append([])
        else:
            documents[-1].append(record)
    return [document for document in documents if document]


def _records(path: Path, keep_misc: bool) -> Iterator[Sentence | None]:
    """Sentences, and ``None`` for each ``-DOCSTART-`` line. ``*.gz`` files are gzipped
    (``shared/ner``); any other file is plain UTF-8 text (``tests/data/ner/news``)."""
    tokens: list[str] = []
    tags: list[str] = []
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, 1):
                line = line.rstrip("\n")
                if not line or line.startswith("-DOCSTART-"):
                    if tokens:
                        yield Sentence(tuple(tokens), tuple(_repair(tags)))
                        tokens, tags = [], []
                    if line:
                        yield None
                    continue
                token, sep, raw = line.rpartition("\t")
                if not sep:
                    raise CorpusError(f"{path} line {number} has no TAB; write token<TAB>tag.")
                tokens.append(token)
                tags.append(_tag(raw, keep_misc))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CorpusError(f"cannot read NER corpus {path}: {exc}") from None
    if tokens:
        yield Sentence(tuple(tokens), tuple(_repair(tags)))


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def without_misc(tags: Sequence[str]) -> list[str]:
    """The tags with MISC spans set to ``O``: the model's MISC is a training aid only."""
    if "B-MISC" not in tags and "I-MISC" not in tags:  # C-speed scans: called per sentence
        return list(tags)
    return _repair(["O" if tag.endswith("-MISC") else tag for tag in tags])


def _repair(tags: list[str]) -> list[str]:
    """IOB2 again after MISC -> O: an I- that no longer continues its span becomes B-."""
    out: list[str] = []
    for tag in tags:
        if tag.startswith("I-") and (not out or out[-1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
    return out


def retokenize(sentence: Sentence) -> Sentence:
    """Split each gold token as ``tokenize`` would split raw text ("Kamer," -> "Kamer" ",").

    The OCR'd Europeana files glue punctuation to words; at run time the tokeniser splits
    it off, so the model is trained on the tokens it will see. Pieces keep the token's
    tag, except punctuation at the end of a span, which becomes ``O``.
    """
    tokens: list[str] = []
    tags: list[str] = []
    n = len(sentence.tokens)
    for index, (token, tag) in enumerate(zip(sentence.tokens, sentence.tags, strict=True)):
        pieces = [t.text for line in tokenize(token) for t in line] or [token]
        if len(pieces) == 1:
            tokens.append(token)
            tags.append(tag)
            continue
        span_ends_here = tag != "O" and (
            index + 1 == n or sentence.tags[index + 1] != f"I-{tag[2:]}"
        )
        words = [
            k for k, p in enumerate(pieces) if p[0] not in "'’" and any(c.isalnum() for c in p)
        ]
        first_word = words[0] if words else 0
        last_word = words[-1] if words else len(pieces) - 1
        for k, piece in enumerate(pieces):
            if tag == "O" or (k > last_word and span_ends_here):
                piece_tag = "O"
            elif k < first_word and tag.startswith("B-"):
                piece_tag = "O"  # "(" before "Parijs)"
            elif k == first_word:
                piece_tag = tag
            else:
                piece_tag = f"I-{tag[2:]}"
            tokens.append(piece)
            tags.append(piece_tag)
    return Sentence(tuple(tokens), tuple(_repair(tags)))


def spans(tags: tuple[str, ...] | list[str]) -> set[tuple[int, int, str]]:
    """Entity spans ``(first, end, type)`` of an IOB2 tag sequence (token indices)."""
    found: set[tuple[int, int, str]] = set()
    start, kind = -1, ""
    for i, tag in enumerate((*tags, "O")):
        if start >= 0 and not (tag.startswith("I-") and tag[2:] == kind):
            found.add((start, i, kind))
            start = -1
        if tag.startswith("B-") or (tag.startswith("I-") and start < 0):
            start, kind = i, tag[2:]
    return found


def in_capitals(text: str) -> str:
    """``text`` as a headline or wire copy in capitals has it: a letter whose capital is
    longer ("ß" -> "SS") stays, so every offset into the text still holds."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)
