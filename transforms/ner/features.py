"""CRF attributes of a tokenised sentence, built from per-word-form caches.

Everything that depends only on the word form (lower case, shape, affixes, flags and
the same for it as a neighbour at -2..+2) is computed once per form and kept in a
bounded dict, so a sentence costs a few dict lookups and list concatenations per token.
The sentence-level attributes are position (first/last), language, knowledge-base
gazetteer membership (a token starting or continuing a KB alias of type PER/ORG/LOC),
the training-label name list of the word and its neighbours (``namelist``) and, when the
model was trained with them, the previous-word|word pair and the shape trigram.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from transforms.entities import KnowledgeBase
from transforms.names import name_key

MAX_CACHED_FORMS = 200_000  # then the cache starts afresh: memory stays bounded
MAX_KB_SPAN = 8
OFFSETS = (-2, -1, 1, 2)
# Languages that share conventions the model can pool; unknown languages get none.
LANGUAGE_GROUPS = {
    "da": "nordic", "nb": "nordic", "nn": "nordic", "no": "nordic", "sv": "nordic",
    "de": "german", "nl": "dutch", "af": "dutch", "en": "english",
    "fr": "romance", "pt": "romance", "es": "romance", "it": "romance", "ca": "romance",
    "hr": "slavic", "sr": "slavic", "sk": "slavic", "cs": "slavic", "pl": "slavic",
    "sl": "slavic", "bs": "slavic", "ru": "cyrillic", "uk": "cyrillic", "bg": "cyrillic",
}  # fmt: skip


def shape(word: str) -> str:
    """``Xx``, ``XX``, ``x-Xx``, ``d.d``: letter classes with runs collapsed, length-free."""
    out: list[str] = []
    for char in word:
        if char.isalpha():
            kind = "X" if char.isupper() else ("x" if char.islower() else "a")
        elif char.isdigit():
            kind = "d"
        else:
            kind = char
        if not out or out[-1] != kind:
            out.append(kind)
    return "".join(out)[:8]


def _own(word: str) -> tuple[str, ...]:
    low = word.lower()
    form_shape = shape(word)
    feats = [f"w={low}", f"sh={form_shape}"]
    if len(low) > 1:
        feats.extend(f"p{n}={low[:n]}" for n in range(1, min(4, len(low)) + 1))
        feats.extend(f"s{n}={low[-n:]}" for n in range(1, min(4, len(low)) + 1))
    if word[:1].isupper():
        feats.append("cap")
        if word.isupper() and len(word) > 1:
            feats.append("allcap")
    if "-" in word[1:-1]:
        head, _, tail = low.rpartition("-")
        feats.extend((f"hy<{head.split('-')[0]}", f"hy>{tail}"))
    if len(low) == 1:
        feats.append("len1")
    return tuple(feats)


def _as_neighbour(word: str, offset: int) -> tuple[str, ...]:
    low = word.lower()
    prefix = f"{offset:+d}"
    if abs(offset) == 1:
        return (f"{prefix}w={low}", f"{prefix}sh={shape(word)}", f"{prefix}s3={low[-3:]}")
    return (f"{prefix}w={low}", f"{prefix}sh={shape(word)}")


def _with_name(
    name: str, own: tuple[str, ...], as_prev: tuple[str, ...], as_next: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Add a word's name-list entry ("PER|hi|5") to its own and its neighbour attributes."""
    kind = name.split("|", 1)[0]
    return (
        (*own, f"nl={name}", f"nl={kind}"),
        (*as_prev, f"-1nl={kind}"),
        (*as_next, f"+1nl={kind}"),
    )


@dataclass
class FeatureExtractor:
    """Sentence -> list of attribute lists; one per process, caches bounded."""

    knowledge_base: KnowledgeBase | None = None
    # lower-cased word -> (coarse, fine) cluster ids (``transforms.ner.clusters``)
    clusters: dict[str, tuple[str, str]] = field(default_factory=dict)
    # lower-cased word -> bucket of its capitalised share (``transforms.ner.casing``)
    casing: dict[str, str] = field(default_factory=dict)
    # lower-cased word -> "PER|hi|5": the names it was part of in training (``namelist``)
    names: dict[str, str] = field(default_factory=dict)
    # prev-word|word and shape-trigram conjunctions (training option ``--bigrams``)
    bigrams: bool = False
    # The attributes the model has weights for; None (training): keep every attribute.
    known: frozenset[str] | None = None
    # Run time: language groups read without their group attributes (``model.historical_groups``)
    ungrouped: frozenset[str] = frozenset()
    _forms: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict, repr=False)
    _keys: dict[str, str] = field(default_factory=dict, repr=False)
    _singles: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def _form(self, word: str) -> tuple[tuple[str, ...], ...]:
        """(own, as -2, as -1, as +1, as +2) attributes of a word form, and (its shape,)."""
        cached = self._forms.get(word)
        if cached is None:
            if len(self._forms) >= MAX_CACHED_FORMS:
                self._forms.clear()
            own = _own(word)
            near = [_as_neighbour(word, o) for o in OFFSETS]
            cluster = self.clusters.get(word.lower())
            if cluster is not None:
                own = (*own, f"c={cluster[0]}", f"cc={cluster[1]}")
                near[1] = (*near[1], f"-1cc={cluster[1]}")
                near[2] = (*near[2], f"+1cc={cluster[1]}")
            if self.casing:
                own = (*own, f"cr={self.casing.get(word.lower(), '?')}")
            name = self.names.get(word.lower())
            if name:
                own, near[1], near[2] = _with_name(name, own, near[1], near[2])
            parts = (own, *near)
            if self.known is not None:
                known = self.known
                parts = tuple(tuple(a for a in part if a in known) for part in parts)
            cached = (*parts, (shape(word), word.lower()))
            self._forms[word] = cached
        return cached

    def sentence(
        self,
        words: Sequence[str],
        language: str,
        gazetteer: Sequence[str] | None = None,
        names: dict[str, str] | None = None,
    ) -> list[list[str]]:
        """Attributes per word; ``gazetteer`` = ``self.gazetteer(words, language)`` if known;
        ``names``: training only, the list without this sentence's fold (``self.names``
        must then be empty)."""
        n = len(words)
        forms = [self._form(w) for w in words]
        group = self.group_of(language)
        if gazetteer is None:
            gazetteer = self.gazetteer(words, language)
        rows: list[list[str]] = []
        for i in range(n):
            own = forms[i][0]
            word_shape = forms[i][5][0]
            row = ["b", f"lg={group}", f"lg={group}|sh={word_shape}", *own]
            if i == 0:
                row.extend(("BOS", f"BOS|sh={word_shape}"))
            else:
                row.extend(forms[i - 1][2])
                if i > 1:
                    row.extend(forms[i - 2][1])
            if i + 1 < n:
                row.extend(forms[i + 1][3])
                if i + 2 < n:
                    row.extend(forms[i + 2][4])
            else:
                row.append("EOS")
            mark = gazetteer[i]
            if mark:
                row.extend((f"kb={mark}", f"kb={mark[2:]}"))
            if self.bigrams:
                prev = forms[i - 1][5] if i else ("^", "^")
                after = forms[i + 1][5][0] if i + 1 < n else "$"
                # crfsuite drops the pairs it has no weights for, faster than a set test here
                row.append(f"ww={prev[1]}|{forms[i][5][1]}")
                row.append(f"ss={prev[0]}|{word_shape}|{after}")
            rows.append(row)
        if names:  # training: this fold's list (at run time self.names is in the form cache)
            for i, form in enumerate(forms):
                name = names.get(form[5][1])
                if name:
                    own, as_prev, as_next = _with_name(name, (), (), ())
                    rows[i].extend(own)
                    if i + 1 < n:
                        rows[i + 1].extend(as_prev)
                    if i > 0:
                        rows[i - 1].extend(as_next)
        return rows

    def group_of(self, language: str) -> str:
        """The language group whose attributes the sentence gets; "other" (no weights: no
        training language is in it) for an unknown language or an ``ungrouped`` group."""
        group = LANGUAGE_GROUPS.get(language, "other")
        return "other" if group in self.ungrouped else group

    def _key(self, word: str) -> str:
        key = self._keys.get(word)
        if key is None:
            if len(self._keys) >= MAX_CACHED_FORMS:
                self._keys.clear()
            key = name_key(word) if any(c.isupper() for c in word[:2]) else ""
            self._keys[word] = key
        return key

    def gazetteer(self, words: Sequence[str], language: str) -> list[str]:
        """``B-LOC``/``I-ORG``… where a knowledge-base alias matches, else ``""``.

        Longest match first from each capitalised word; a single word is also tried with
        its inflection ending cut ("Haftars"), and that answer is cached per form.
        """
        marks = [""] * len(words)
        kb = self.knowledge_base
        if kb is None:
            return marks
        keys = self._keys
        i = 0
        while i < len(words):
            key = keys.get(words[i])
            if key is None:
                key = self._key(words[i])
            if not key:
                i += 1
                continue
            matched = 0
            longest = min(kb.longest_alias_from(key), MAX_KB_SPAN, len(words) - i)
            for length in range(longest, 1, -1):
                ids, _ = kb.lookup(list(words[i : i + length]), language)
                if ids:
                    label = kb.entity(ids[0]).label
                    marks[i : i + length] = [f"B-{label}"] + [f"I-{label}"] * (length - 1)
                    matched = length
                    break
            if not matched:
                label = self._single_label(words[i], language)
                if label:
                    marks[i] = f"B-{label}"
            i += matched or 1
        return marks

    def _single_label(self, word: str, language: str) -> str:
        cache_key = (word, language)
        label = self._singles.get(cache_key)
        if label is None:
            if len(self._singles) >= MAX_CACHED_FORMS:
                self._singles.clear()
            assert self.knowledge_base is not None
            ids, _ = self.knowledge_base.lookup([word], language)
            label = self.knowledge_base.entity(ids[0]).label if ids else ""
            self._singles[cache_key] = label
        return label
