"""How often each word is capitalised away from a sentence start, from the training text.

"Eller" at the start of a Danish sentence and "Kjeld" look alike; in the middle of
sentences one is almost always "eller", the other always "Kjeld". The CRF gets the
word's bucket of that ratio as a feature, which carries over to rare names the labels
never saw with that context. Stored as ``word<TAB>bucket``, lower-cased words seen at
least ``MIN_SEEN`` times in non-initial position.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from transforms.ner.wordtable import read_word_table, write_word_table

MIN_SEEN = 2
BUCKETS = ((0.05, "0"), (0.5, "1"), (0.95, "2"))  # ratio below bound -> bucket; else "3"


def derive_casing(sentences: Iterable[Sequence[str]]) -> dict[str, str]:
    """Lower-cased word -> bucket of its capitalised share outside sentence starts."""
    capitalised: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for sentence in sentences:
        for word in sentence[1:]:
            first = word[:1]
            if not first.isalpha() or first.lower() == first.upper():
                continue  # digits, punctuation, scripts without case
            low = word.lower()
            seen[low] += 1
            if first.isupper():
                capitalised[low] += 1
    profile: dict[str, str] = {}
    for word, total in seen.items():
        if total < MIN_SEEN:
            continue
        ratio = capitalised[word] / total
        profile[word] = next((name for bound, name in BUCKETS if ratio < bound), "3")
    return profile


write_casing = write_word_table
read_casing = read_word_table
