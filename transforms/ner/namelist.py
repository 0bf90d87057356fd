"""Which names a word form was part of in the training data: a gazetteer from the labels.

"Bendtner" seen twice as a person in training tells the CRF more about a third
"Bendtner" than its suffix does. Per lower-cased form: the entity type it was most often
part of and how often it was inside a name at all (share bucket × frequency bucket).
To keep the model from trusting the feature as much as it would on its own training
sentences (where it would simply copy the gold label), each training sentence gets the
list computed from the *other* folds (jackknifing, ``FOLDS`` folds of contiguous blocks of
``BLOCK`` sentences, so a document's repeated names fall mostly in one fold); at run time
the list from all training data is used. Stored as ``word<TAB>feature``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from transforms.ner.wordtable import read_word_table, write_word_table

FOLDS = 5
BLOCK = 50  # sentences per contiguous block; block number mod FOLDS is the fold
MIN_SHARE = 0.1  # a form inside names less often than this gets no feature
# Per lower-cased form: occurrences, and occurrences inside a name of each type.
Counts = tuple[Counter[str], Counter[tuple[str, str]]]


def fold_of(block_index: int) -> int:
    return block_index % FOLDS


def _count(sentences: Iterable[tuple[Sequence[str], Sequence[str]]]) -> Counts:
    seen: Counter[str] = Counter()
    typed: Counter[tuple[str, str]] = Counter()
    for tokens, tags in sentences:
        for token, tag in zip(tokens, tags, strict=True):
            if not any(c.isalpha() for c in token):
                continue
            low = token.lower()
            seen[low] += 1
            if tag != "O":
                typed[(low, tag[2:])] += 1
    return seen, typed


def _features(seen: Counter[str], typed: Counter[tuple[str, str]]) -> dict[str, str]:
    best: dict[str, tuple[int, str]] = {}
    inside: Counter[str] = Counter()
    for (word, kind), n in typed.items():
        inside[word] += n
        if n > best.get(word, (0, ""))[0]:
            best[word] = (n, kind)
    out: dict[str, str] = {}
    for word, n_inside in inside.items():
        total = seen[word]
        share = n_inside / total
        if share < MIN_SHARE:
            continue
        share_bucket = "hi" if share >= 0.8 else ("mid" if share >= 0.4 else "lo")
        freq_bucket = "1" if total == 1 else ("2" if total < 5 else "5")
        out[word] = f"{best[word][1]}|{share_bucket}|{freq_bucket}"
    return out


def derive_names(
    blocks: Sequence[Sequence[tuple[Sequence[str], Sequence[str]]]],
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(list from all blocks, one list per fold computed without that fold's blocks)."""
    per_fold = [_count(b for k, block in enumerate(blocks) if fold_of(k) == f for b in block)
                for f in range(FOLDS)]  # fmt: skip
    seen_all: Counter[str] = Counter()
    typed_all: Counter[tuple[str, str]] = Counter()
    for seen, typed in per_fold:
        seen_all.update(seen)
        typed_all.update(typed)
    held_out: list[dict[str, str]] = []
    for seen, typed in per_fold:
        rest_seen = seen_all.copy()
        rest_seen.subtract(seen)
        rest_typed = typed_all.copy()
        rest_typed.subtract(typed)
        held_out.append(_features(+rest_seen, +rest_typed))
    return _features(seen_all, typed_all), held_out


write_names = write_word_table
read_names = read_word_table
