"""CRF attributes of a tokenised sentence, built from per-word-form caches.

Everything that depends only on the word form (lower case, shape, affixes, flags and
the same for it as a neighbour at -2..+2) is computed once per form and kept in a
bounded dict, so a sentence costs a few dict lookups and list concatenations per token.
The sentence-level attributes are position (first/last), language, knowledge-base
gazetteer membership (a token starting or continuing a KB alias of type PER/ORG/LOC),
the training-label name list of the word and its neighbours (``namelist``) and, when the
model was trained with them, the previous-word|word pair, the shape trigram, the word's
frequency bucket in the sentence's language and place-name marks (``lexicon``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from transforms.entities import KnowledgeBase
from transforms.names import name_key
from transforms.ner.lexicon import PlaceGazetteer, frequency_language

MAX_CACHED_FORMS = 200_000  # then the cache starts afresh: memory stays bounded
MAX_KB_SPAN = 8
OFFSETS = (-2, -1, 1, 2)
MIN_SHOUTED = 3


class WordInfo(NamedTuple):
    """What the sentence-level attributes need of a word form (cached with it)."""

    shape: str
    lower: str
    capitalised: bool
    place_start: int  # words in the longest place name that may start here (0: none)


# A word form's attributes as itself, as the word 2 and 1 before, 1 and 2 after; its info.
Form = tuple[
    tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], WordInfo
]
# Beyond the sentence's ends: no attributes; "^" before it and "$" after it in word pairs.
_START: Form = ((), (), (), (), (), WordInfo("^", "^", False, 0))
_END: Form = ((), (), (), (), (), WordInfo("$", "$", False, 0))
# Zipf bucket -> the attribute of a capitalised word in that bucket; a capitalised word not
# in the table gets "fq=-X": rare and capitalised is what an unknown name looks like. Lower-
# case words get none (they are rarely names, and most tokens: fewer attributes, faster).
FREQUENCY_ATTRIBUTES = {bucket: f"fq={bucket}X" for bucket in "34567"}
_RARE = "fq=-X"
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


def _own(word: str, lean: bool = False) -> tuple[str, ...]:
    low = word.lower()
    form_shape = shape(word)
    feats = [f"w={low}", f"sh={form_shape}"]
    if len(low) > 1:
        first = 2 if lean else 1  # lean: no first letter (the shape and p2 carry it)
        feats.extend(f"p{n}={low[:n]}" for n in range(first, min(4, len(low)) + 1))
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


def shouted(infos: Sequence[WordInfo]) -> bool:
    """Whether most words of two letters or more, and at least ``MIN_SHOUTED`` of them, are
    written in capitals (a headline, a shouted sentence); "NATO :" or "MIRAMAR" alone is
    more likely an acronym or a name, whose capitals do say something."""
    capitals = other = 0
    for info in infos:
        if len(info[1]) > 1 and info[1].isalpha():
            if info[0] == "X":
                capitals += 1
            else:
                other += 1
    return capitals >= MIN_SHOUTED and capitals > other


def _reads_case(attribute: str) -> bool:
    return "sh=" in attribute or attribute in ("cap", "allcap") or attribute.startswith("ss=")


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
    # wordfreq language -> lower-cased word -> its ``FREQUENCY_ATTRIBUTES`` entry
    # (``transforms.ner.lexicon.read_frequencies``)
    frequencies: dict[str, dict[str, str]] = field(default_factory=dict)
    # place names from GeoNames and CLDR (``transforms.ner.lexicon``)
    places: PlaceGazetteer = field(default_factory=PlaceGazetteer)
    # prev-word|word and shape-trigram conjunctions (training option ``--bigrams``)
    bigrams: bool = False
    # in a sentence written in capitals, leave out the attributes read from capitalisation
    # (shapes, "cap"): there they say nothing, and learning them there blurs them elsewhere
    shouting: bool = False
    # fewer attributes per token, for speed: no first letter (the shape and the two-letter
    # prefix carry it), no language-group bias (its conjunction with the shape holds it)
    lean: bool = False
    # The attributes the model has weights for; None (training): keep every attribute.
    known: frozenset[str] | None = None
    # Run time: language groups read without their group attributes (``model.historical_groups``)
    ungrouped: frozenset[str] = frozenset()
    _forms: dict[str, Form] = field(default_factory=dict, repr=False)
    _keys: dict[str, str] = field(default_factory=dict, repr=False)
    _singles: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def _form(self, word: str) -> Form:
        """(own, as -2, as -1, as +1, as +2) attributes of a word form, and its
        ``WordInfo``."""
        cached = self._forms.get(word)
        if cached is None:
            if len(self._forms) >= MAX_CACHED_FORMS:
                self._forms.clear()
            own = _own(word, self.lean)
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
            low = word.lower()
            capitalised = word[:1].isupper()
            place = self.places.longest_from(low) if capitalised else 0
            own, before2, before1, after1, after2 = parts
            cached = (
                own, before2, before1, after1, after2,
                WordInfo(shape(word), low, capitalised, place),
            )  # fmt: skip
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
        infos = [f[5] for f in forms]
        frequency = self.frequencies.get(frequency_language(language))
        frequent = (
            [(i, frequency.get(x[1], _RARE)) for i, x in enumerate(infos) if x[2]]
            if frequency is not None
            else ()
        )
        starts = [(i, x[3]) for i, x in enumerate(infos) if x[3]]
        head = ("b",) if self.lean else ("b", f"lg={group}")
        group_shape = f"lg={group}|sh="
        # Two empty forms either side, so every word reads its neighbours without a test.
        padded = (_START, _START, *forms, _END, _END)
        rows: list[list[str]] = [
            [
                *head,
                group_shape + form[5][0],
                *form[0],
                *padded[i + 1][2],
                *padded[i][1],
                *padded[i + 3][3],
                *padded[i + 4][4],
            ]
            for i, form in enumerate(forms)
        ]
        if n:
            rows[0].extend(("BOS", f"BOS|sh={infos[0][0]}"))
            rows[-1].append("EOS")
        for i, mark in enumerate(gazetteer):
            if mark:
                rows[i].extend((f"kb={mark}", f"kb={mark[2:]}"))
        for i, attribute in frequent:
            rows[i].append(attribute)
        if self.bigrams:
            # crfsuite drops the pairs it has no weights for, faster than a set test here
            for i, row in enumerate(rows):
                before, word, after = padded[i + 1][5], infos[i], padded[i + 3][5]
                row.append(f"ww={before[1]}|{word[1]}")
                row.append(f"ss={before[0]}|{word[0]}|{after[0]}")
        if self.shouting and shouted(infos):
            rows = [[a for a in row if not _reads_case(a)] for row in rows]
            for row in rows:
                row.append("shout")
        if starts:  # place names are rare: added afterwards, no test per token
            for i, mark in self.places.marks([x[1] for x in infos], starts).items():
                rows[i].append(mark)
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

    def kin_languages(self, trained: Iterable[str]) -> frozenset[str]:
        """Languages without training data whose group has weights from trained languages
        (Spanish and Italian through French and Portuguese, Czech and Polish through the
        South Slavic and Slovak sets): the model tags them better than the rule recogniser
        (docs/entities.md, "Languages without training data")."""
        groups = {self.group_of(language) for language in trained} - {"other"}
        return frozenset(
            language
            for language in LANGUAGE_GROUPS
            if language not in trained and self.group_of(language) in groups
        )

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
