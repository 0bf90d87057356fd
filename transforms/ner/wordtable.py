"""A word -> value table as the model ships it: ``word<TAB>value`` lines, gzip, sorted.

The capitalisation profile (``casing.py``) and the name list (``namelist.py``) are both
such tables, written at training and read once per process beside the model.
"""

from __future__ import annotations

import gzip
from pathlib import Path


def write_word_table(path: Path, table: dict[str, str]) -> None:
    """Write ``table`` sorted by word; a word holding a tab or line break is left out."""
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for word, value in sorted(table.items()):
            if "\t" not in word and "\n" not in word:
                handle.write(f"{word}\t{value}\n")


def read_word_table(path: Path) -> dict[str, str]:
    """The table ``write_word_table`` wrote; empty when absent (a model trained without it)."""
    if not path.is_file():
        return {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return dict(line.rstrip("\n").split("\t", 1) for line in handle)
