"""Tag and link named entities across languages: ``tag_entities(doc)``.

Two steps, so a statistical model can replace the first without touching the
second:

1. A ``Recognizer`` turns (text, language) into ``Candidate`` spans. The default
   is the trained CRF of ``transforms.ner`` (``TrainedRecognizer``); languages it was
   not trained on get the ``RuleBasedRecognizer``: a knowledge-base gazetteer (dict
   lookups of normalised token n-grams, see ``transforms.names``) plus a finder of
   capitalised name sequences that skips sentence-initial common words.
2. ``link_candidates`` links the spans the recogniser left unlinked: by exact
   key, by surname co-reference inside the document, and last by edit
   distance, gated by context so a typo ("Hafta" in an article about Haftar)
   links while the Turkish word "hafta" (week) never does.

The knowledge base and word lists are data (``transforms/kb/``); the index is
built once per process, lazily, and only read afterwards.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Protocol

import yaml
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from transforms.document import Document, Mention
from transforms.names import (
    ELISION,
    fold,
    inflection_variants,
    name_key,
    phrase_key,
    skeleton,
)

KB_DIR = Path(__file__).resolve().parent / "kb"
DEFAULT_KB_FILE = KB_DIR / "entities.yaml"
LEXICON_FILE = KB_DIR / "lexicon.yaml"

LABELS = ("PER", "ORG", "LOC", "MISC")
# Aliases this short (letters only) match case-sensitively: "UN" but not "un" (French "a").
SHORT_ALIAS_LETTERS = 3
# Gate for fuzzy links: edits allowed by skeleton length, with and without other evidence.
MIN_FUZZY_LENGTH = 4
MIN_UNSUPPORTED_FUZZY_LENGTH = 7
MAX_UNSUPPORTED_FUZZY_EDITS = 1

_JRC_TYPES = {"P": "PER", "O": "ORG", "L": "LOC", "G": "LOC", "T": "MISC", "E": "MISC"}
# A word: letters/digits joined by inner apostrophes or hyphens; or a dotted abbreviation (U.S.).
_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_](?:[^\W_]|['’\-](?=[^\W_]))*")
_SENTENCE_END = frozenset(".!?:;\n•*")


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
_NAME_START = _char_class(lambda c: c.isupper() or c.istitle() or (c.isalpha() and not c.islower()))
_OPENERS = " \t\u00a0\"'“‘«„([-–—"


class KnowledgeBaseError(ValueError):
    """A knowledge-base file that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class Entity:
    """One real-world entity of the knowledge base."""

    entity_id: str
    name: str
    label: str
    wikidata: str | None = None
    # Every spelling the knowledge base knows, the name first.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A span a recogniser proposes: ``text[start:end]``, linked when ``entity_id`` is set."""

    start: int
    end: int
    label: str
    entity_id: str | None = None
    fuzzy: bool = False
    # False: the recogniser checked the knowledge base and rejected its match (the
    # trained model's type disagrees with the entity's), so linking must not redo it.
    linkable: bool = True
    # True: not a name by itself, only worth a mention if linking finds its entity
    # (a capitalised word the trained model left untagged: "Hafta", a typo of Haftar).
    only_if_linked: bool = False


class Recognizer(Protocol):
    """Finds entity spans in a text; may link them already (a gazetteer can)."""

    def __call__(self, text: str, language: str) -> list[Candidate]: ...


# --------------------------------------------------------------------------- lexicon


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
        rf"\b(?:[{_NAME_START}](?:\.[{_NAME_START}])+\."  # U.S., U.N.
        rf"|[{_NAME_START}]{rest_of_word})"  # Haftar, Saoedi-Arabië, FN's
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
    )


# --------------------------------------------------------------------------- knowledge base


def _letters(alias: str) -> int:
    return sum(c.isalpha() for c in alias)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-") or "entity"


class KnowledgeBase:
    """Entities indexed by normalised alias keys; build once, then read-only."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self._by_key: dict[str, tuple[str, ...]] = {}
        self._exact: dict[str, tuple[str, ...]] = {}  # short aliases, case-sensitive
        self._longest_from: dict[str, int] = {}  # first-token key -> longest alias in tokens
        self._head_skeletons: dict[str, set[str]] = {}  # entity -> skeletons of alias heads
        self._fuzzy_buckets: dict[int, dict[str, set[str]]] = {}  # length -> skeleton -> ids
        self._closest_cache: dict[str, tuple[tuple[str, ...], int]] = {}
        self._search_words: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.entities)

    # -- building

    def add(
        self,
        name: str,
        label: str,
        aliases: Iterable[str] = (),
        *,
        entity_id: str | None = None,
        wikidata: str | None = None,
    ) -> Entity:
        """Add an entity (or more aliases to one with the same id) and index its names."""
        if label not in LABELS:
            raise KnowledgeBaseError(f"entity {name!r} has type {label!r}; use one of {LABELS}.")
        eid = wikidata or entity_id or _slug(name)
        entity = self.entities.get(eid)
        if entity is None:
            entity = Entity(entity_id=eid, name=name, label=label, wikidata=wikidata)
        names = [a.strip() for a in (name, *aliases) if a.strip()]
        entity = dataclasses.replace(
            entity, aliases=tuple(dict.fromkeys((*entity.aliases, *names)))
        )
        self.entities[eid] = entity
        self._search_words.pop(eid, None)
        for alias in names:
            self._index_alias(eid, alias)
        return entity

    def _index_alias(self, eid: str, alias: str) -> None:
        alias = alias.strip()
        if not alias:
            return
        if _letters(alias) <= SHORT_ALIAS_LETTERS:
            self._exact[alias] = _with(self._exact.get(alias, ()), eid)
            return
        tokens = [m.group(0) for m in _TOKEN.finditer(alias)]
        key = phrase_key(tokens)
        if not key:
            return
        self._by_key[key] = _with(self._by_key.get(key, ()), eid)
        first = next(k for k in map(name_key, tokens) if k)
        self._longest_from[first] = max(self._longest_from.get(first, 0), len(tokens))
        head = skeleton(tokens[-1])
        if len(head) >= MIN_FUZZY_LENGTH:
            self._head_skeletons.setdefault(eid, set()).add(head)
            if len(tokens) == 1 or self.entities[eid].label == "PER":
                bucket = self._fuzzy_buckets.setdefault(len(head), {})
                bucket.setdefault(head, set()).add(eid)

    # -- loading

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> KnowledgeBase:
        kb = cls()
        for number, record in enumerate(records, 1):
            try:
                kb.add(
                    str(record["name"]),
                    str(record.get("type", "MISC")),
                    [str(a) for a in record.get("aliases") or ()],
                    entity_id=record.get("id"),
                    wikidata=record.get("wikidata"),
                )
            except KeyError as exc:
                raise KnowledgeBaseError(
                    f"entity #{number} has no {exc.args[0]!r} field."
                ) from None
        return kb

    @classmethod
    def from_yaml(cls, path: str | Path) -> KnowledgeBase:
        """Read the ``entities:`` list of a YAML file like ``kb/entities.yaml``."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise KnowledgeBaseError(f"cannot read knowledge base {path}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("entities"), list):
            raise KnowledgeBaseError(f"knowledge base {path} needs a top-level 'entities:' list.")
        return cls.from_records(data["entities"])

    @classmethod
    def from_tsv(cls, path: str | Path) -> KnowledgeBase:
        """Stream a JRC-Names style file: ``id<TAB>type<TAB>lang<TAB>name`` per line.

        The first name seen for an id is its canonical name; ``+`` in a name is a
        space (as in JRC-Names); types P/O/L/G or PER/ORG/LOC/MISC; ``#`` starts a comment.
        A ``.gz`` file is decompressed on the fly.
        """
        kb = cls()
        with _open_text(Path(path)) as handle:
            for number, row in enumerate(
                csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), 1
            ):
                if not row or row[0].startswith("#"):
                    continue
                if len(row) < 4:
                    raise KnowledgeBaseError(
                        f"{path} line {number} has {len(row)} columns; "
                        "write id<TAB>type<TAB>lang<TAB>name."
                    )
                raw_id, raw_type, _lang, raw_name = row[:4]
                label = _JRC_TYPES.get(raw_type.strip().upper(), raw_type.strip().upper())
                label = label if label in LABELS else "MISC"
                name = raw_name.replace("+", " ").strip()
                wikidata = raw_id if re.fullmatch(r"Q\d+", raw_id) else None
                kb.add(name, label, entity_id=raw_id.strip(), wikidata=wikidata)
        return kb

    @classmethod
    def load(cls, path: str | Path | None = None) -> KnowledgeBase:
        """The packaged default for ``None``/``""``, else a YAML or TSV file by its suffix."""
        target = Path(path) if path else DEFAULT_KB_FILE
        if not target.is_file():
            raise KnowledgeBaseError(
                f"knowledge base file {target} does not exist; set knowledge_base_file to a "
                "YAML (entities:) or TSV (id, type, lang, name) file, or leave it empty."
            )
        suffixes = [s.lower() for s in target.suffixes]
        if ".yaml" in suffixes or ".yml" in suffixes:
            return cls.from_yaml(target)
        return cls.from_tsv(target)

    # -- lookups

    def entity(self, entity_id: str) -> Entity:
        return self.entities[entity_id]

    def search_words(self, entity_id: str) -> str:
        """The words of all the entity's spellings, each once ("Khalifa Haftar Hafter Hiftar
        Chalifa Belqasim حفتر …"): indexed with every article that names the entity, so a
        search for any spelling finds them all. One string, not a list of aliases: the index
        took 35 % longer per article with ~170 alias values, 15 % with these."""
        words = self._search_words.get(entity_id)
        if words is None:
            spellings = self.entities[entity_id].aliases
            words = " ".join(dict.fromkeys(m[0] for a in spellings for m in _TOKEN.finditer(a)))
            self._search_words[entity_id] = words
        return words

    def longest_alias_from(self, first_key: str) -> int:
        """How many tokens the longest alias starting with this key has (0: none)."""
        return self._longest_from.get(first_key, 0)

    def lookup(self, tokens: Sequence[str], language: str) -> tuple[tuple[str, ...], int]:
        """Entity ids for a token sequence, and the length of the last token as matched.

        Tries the exact form, then the last token without its inflection ending.
        """
        last = tokens[-1]
        if len(tokens) == 1:
            ids = self._exact.get(last)
            if ids:
                return ids, len(last)
            for variant in inflection_variants(last, language):
                ids = self._exact.get(variant)
                if ids:
                    return ids, len(variant)
        ids = self._by_key.get(phrase_key(tokens))
        if ids:
            return ids, len(last)
        for variant in inflection_variants(last, language):
            ids = self._by_key.get(phrase_key([*tokens[:-1], variant]))
            if ids:
                return ids, len(variant)
        return (), 0

    def head_skeletons(self, entity_id: str) -> set[str]:
        """Skeletons of the last token of every alias: what a typo is compared to."""
        return self._head_skeletons.get(entity_id, set())

    def closest(self, word_skeleton: str) -> tuple[tuple[str, ...], int]:
        """Entities whose alias head is nearest in edit distance (<= 1), with that distance."""
        cached = self._closest_cache.get(word_skeleton)
        if cached is not None:
            return cached
        best: tuple[tuple[str, ...], int] = ((), MAX_UNSUPPORTED_FUZZY_EDITS + 1)
        size = len(word_skeleton)
        for length in (size, size - 1, size + 1):
            bucket = self._fuzzy_buckets.get(length)
            if not bucket:
                continue
            found = process.extractOne(
                word_skeleton,
                bucket.keys(),
                scorer=Levenshtein.distance,
                score_cutoff=MAX_UNSUPPORTED_FUZZY_EDITS,
            )
            if found is not None and found[1] < best[1]:
                best = (tuple(sorted(bucket[found[0]])), int(found[1]))
        if len(self._closest_cache) > 100_000:
            self._closest_cache.clear()
        self._closest_cache[word_skeleton] = best
        return best


def _with(ids: tuple[str, ...], eid: str) -> tuple[str, ...]:
    return ids if eid in ids else (*ids, eid)


def _open_text(path: Path) -> IO[str]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8", newline="")
        return path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot read knowledge base {path}: {exc.strerror}.") from None


@lru_cache(maxsize=8)
def _cached_kb(resolved: str) -> KnowledgeBase:
    return KnowledgeBase.load(resolved or None)


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """The knowledge base for a path ("" or None: packaged default), built once per process."""
    return _cached_kb(str(Path(path).resolve()) if path else "")


# --------------------------------------------------------------------------- tokens


@dataclass(slots=True)
class _Token:
    start: int
    end: int
    text: str
    capitalised: bool  # has an upper-case letter: "Haftar", "al-Serraj", "LNA"
    joined_to_next: bool  # only spaces between this and the next token


def _tokenize(text: str, lexicon: Lexicon) -> list[_Token]:
    """The name-like tokens of the text; lower-case words only show as gaps between them.

    Connectors right before a name ("Institut for Internationale", "al Qaida") are
    kept as tokens, so multi-word names can span them.
    """
    tokens: list[_Token] = []
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
        connectors: list[_Token] = []
        while gap_start - previous_end > 2 and text[gap_start - 1] == " ":
            space = text.rfind(" ", max(previous_end, gap_start - 8), gap_start - 1)
            before = text[space + 1 : gap_start - 1]
            if (space < 0 and previous_end > 0) or before not in lexicon.connectors:
                break
            connectors.append(_Token(space + 1, gap_start - 1, before, False, True))
            gap_start = space + 1
            if len(connectors) == 2:
                break
        if tokens:
            gap = text[tokens[-1].end : gap_start]
            tokens[-1].joined_to_next = len(gap) <= 3 and not gap.strip(" \u00a0\t")
        tokens.extend(reversed(connectors))
        tokens.append(_Token(start, end, word, not word.islower(), False))
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


def _sentence_initial(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in _OPENERS:
        if text[i] in "-–—•" and (i == 0 or text[i - 1] == "\n"):
            return True
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _apostrophe_cut(word: str, matched: int) -> int:
    """Keep a possessive or case ending after an apostrophe out of the mention."""
    if matched < len(word) and word[matched] in "'’":
        return matched
    return len(word)


# --------------------------------------------------------------------------- recogniser


@dataclass
class RuleBasedRecognizer:
    """KB gazetteer plus a capitalised-sequence proper-name finder."""

    knowledge_base: KnowledgeBase
    lexicon: Lexicon

    def __call__(self, text: str, language: str) -> list[Candidate]:
        tokens = _tokenize(text, self.lexicon)
        taken = [False] * len(tokens)
        found = self._gazetteer(tokens, taken, language)
        found.extend(self._proper_names(text, tokens, taken, language))
        return found

    def _gazetteer(self, tokens: list[_Token], taken: list[bool], language: str) -> list[Candidate]:
        kb = self.knowledge_base
        found: list[Candidate] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if not token.capitalised and fold(token.text) not in self.lexicon.connectors:
                i += 1
                continue
            first_key = name_key(token.text)
            if first_key:
                longest = max(1, kb.longest_alias_from(first_key))
            elif i + 1 < len(tokens):  # "al Qaida": the particle does not count in the key
                longest = 1 + kb.longest_alias_from(name_key(tokens[i + 1].text))
            else:
                longest = 1
            run = 1
            while run < longest and i + run < len(tokens) and tokens[i + run - 1].joined_to_next:
                run += 1
            match = None
            for length in range(run, 0, -1):
                head = tokens[i + length - 1]
                if not head.capitalised:
                    continue
                words = [t.text for t in tokens[i : i + length]]
                ids, matched = kb.lookup(words, language)
                if ids and not (length == 1 and _shouting_short(tokens, i, matched)):
                    match = (length, ids, matched)
                    break
            if match is None:
                match = _compound_head(kb, token.text, language)
            if match is None:
                i += 1
                continue
            length, ids, matched = match
            head = tokens[i + length - 1]
            end = head.start + (
                matched
                if matched < len(head.text) and head.text[matched] == "-"
                else _apostrophe_cut(head.text, matched)
            )
            eid = ids[0]
            found.append(Candidate(token.start, end, kb.entity(eid).label, eid))
            for j in range(i, i + length):
                taken[j] = True
            i += length
        return found

    def _proper_names(
        self, text: str, tokens: list[_Token], taken: list[bool], language: str
    ) -> Iterator[Candidate]:
        lex = self.lexicon
        i = 0
        while i < len(tokens):
            if taken[i] or not _name_like(tokens[i]):
                i += 1
                continue
            j = i  # extend over joined capitalised tokens and inner connectors
            while j + 1 < len(tokens) and tokens[j].joined_to_next and not taken[j + 1]:
                nxt = tokens[j + 1]
                if _name_like(nxt):
                    j += 1
                    continue
                if (
                    fold(nxt.text) in lex.connectors
                    and nxt.joined_to_next
                    and j + 2 < len(tokens)
                    and not taken[j + 2]
                    and _name_like(tokens[j + 2])
                ):
                    j += 2
                    continue
                break
            first, last = i, j
            i = j + 1
            while first <= last and (
                lex.is_common(tokens[first].text, language)
                or fold(tokens[first].text) in lex.titles
            ):
                first += 1
            while first <= last and (
                lex.is_common(tokens[last].text, language) or not tokens[last].capitalised
            ):
                last -= 1
            if first > last:
                continue
            span = tokens[first : last + 1]
            if len(span) == 1 and (language == "de" or _sentence_initial(text, span[0].start)):
                continue  # a lone capitalised word there says nothing about names
            after_title = first > 0 and fold(tokens[first - 1].text) in lex.titles
            head = span[-1]
            end = head.start + _apostrophe_cut(head.text, len(_before_apostrophe(head.text)))
            yield Candidate(span[0].start, end, self._label(span, after_title))

    def _label(self, span: list[_Token], after_title: bool) -> str:
        words = {fold(t.text) for t in span}
        if words & self.lexicon.org_words:
            return "ORG"
        if words & self.lexicon.loc_words:
            return "LOC"
        if after_title:
            return "PER"
        if 2 <= len(span) <= 4 and all(t.text[0].isupper() and not t.text.isupper() for t in span):
            return "PER"
        return "MISC"


def _compound_head(
    kb: KnowledgeBase, word: str, language: str
) -> tuple[int, tuple[str, ...], int] | None:
    """A known name before a hyphenated lower-case tail: "Nato-ledet", "UN-backed"."""
    cut = word.find("-")
    if cut < 2 or not word[cut + 1 : cut + 2].islower():
        return None
    ids, _ = kb.lookup([word[:cut]], language)
    return (1, ids, cut) if ids else None


def _before_apostrophe(word: str) -> str:
    """The word up to an apostrophe ending ("Boserup's" -> "Boserup"), else the word."""
    for mark in "'’":
        cut = word.find(mark)
        if cut >= 2:
            return word[:cut]
    return word


def _name_like(token: _Token) -> bool:
    return token.text[0].isupper() and len(token.text) > 1 and not token.text[0].isdigit()


def _shouting_short(tokens: list[_Token], i: int, matched: int) -> bool:
    """A short alias inside an all-caps line ("LET US GO") is not the alias."""
    if matched > SHORT_ALIAS_LETTERS + 2:
        return False

    def shouting(k: int) -> bool:
        return 0 <= k < len(tokens) and len(tokens[k].text) > 3 and tokens[k].text.isupper()

    return shouting(i - 1) or shouting(i + 1)


# --------------------------------------------------------------------------- linking


def link_candidates(
    text: str,
    language: str,
    candidates: Sequence[Candidate],
    knowledge_base: KnowledgeBase,
    lexicon: Lexicon,
) -> list[Mention]:
    """Link unlinked candidates by exact key, surname co-reference, then gated fuzzy match."""
    kb = knowledge_base
    resolved: list[Candidate] = []
    for cand in candidates:
        if cand.entity_id is None and cand.linkable:
            words = [m.group(0) for m in _TOKEN.finditer(text, cand.start, cand.end)]
            if words:
                ids, _ = kb.lookup(words, language)
                if ids:
                    cand = dataclasses.replace(
                        cand, entity_id=ids[0], label=kb.entity(ids[0]).label
                    )
        resolved.append(cand)

    confident = {c.entity_id for c in resolved if c.entity_id}
    surnames: dict[str, str] = {}  # skeleton of the last name token -> entity linked in this doc
    for cand in resolved:
        if cand.entity_id and kb.entity(cand.entity_id).label == "PER":
            words = _TOKEN.findall(text, cand.start, cand.end)
            if words:
                surnames.setdefault(skeleton(words[-1]), cand.entity_id)
    heads = [(h, eid) for eid in sorted(confident) for h in kb.head_skeletons(eid)]
    evidence = ([h for h, _ in heads], [eid for _, eid in heads])

    mentions: list[Mention] = []
    for cand in resolved:
        eid = cand.entity_id
        if eid is None and cand.linkable:
            eid = _link_by_context(text, language, cand, kb, lexicon, surnames, evidence)
        surface = text[cand.start : cand.end]
        if eid is None and cand.only_if_linked:
            continue
        if eid is None:
            mentions.append(Mention(surface, cand.label, cand.start, cand.end))
        else:
            entity = kb.entity(eid)
            mentions.append(
                Mention(surface, entity.label, cand.start, cand.end, entity.name, entity.entity_id)
            )
    mentions.sort(key=lambda m: (m.start, m.end))
    return mentions


def _link_by_context(
    text: str,
    language: str,
    cand: Candidate,
    kb: KnowledgeBase,
    lexicon: Lexicon,
    surnames: dict[str, str],
    evidence: tuple[list[str], list[str]],
) -> str | None:
    words = _TOKEN.findall(text, cand.start, cand.end)
    if len(words) != 1:
        return None
    word = words[0]
    if lexicon.is_common(word, language) or not word[:1].isupper() or lexicon.is_adjective(word):
        return None
    shape = skeleton(word)
    if shape in surnames:
        return surnames[shape]
    if len(shape) < MIN_FUZZY_LENGTH:
        return None
    allowed = 1 if len(shape) <= 7 else 2
    heads, owners = evidence
    if heads:
        near = process.extractOne(shape, heads, scorer=Levenshtein.distance, score_cutoff=allowed)
        if near is not None:
            return owners[near[2]]
    # No evidence in the document: only a long, capitalised word in name position,
    # one edit away from a single entity.
    if len(shape) < MIN_UNSUPPORTED_FUZZY_LENGTH or _sentence_initial(text, cand.start):
        return None
    ids, distance = kb.closest(shape)
    if len(ids) == 1 and distance <= MAX_UNSUPPORTED_FUZZY_EDITS:
        return ids[0]
    return None


# --------------------------------------------------------------------------- the transform


def tag_entities(
    doc: Document,
    *,
    knowledge_base: KnowledgeBase | None = None,
    recognizer: Recognizer | None = None,
) -> Document:
    """A new document whose ``entities`` are the tagged and linked mentions of ``doc.text``."""
    kb = knowledge_base or load_knowledge_base()
    lexicon = default_lexicon()
    if recognizer is None:
        from transforms.ner.recognizer import default_recognizer  # imports this module

        recognizer = default_recognizer(kb)
    recognise = recognizer
    language = (doc.language or "und").lower()
    candidates = _non_overlapping(recognise(doc.text, language))
    mentions = link_candidates(doc.text, language, candidates, kb, lexicon)
    return dataclasses.replace(doc, entities=mentions)


@dataclass(frozen=True)
class EntityTagger:
    """``tag_entities`` bound to a knowledge-base file (settings ``knowledge_base_file``).

    Holds only the path, so it pickles small for Beam workers; each process loads
    (and caches) the knowledge base the first time it tags.
    """

    knowledge_base_file: str = ""

    def __call__(self, doc: Document) -> Document:
        kb = load_knowledge_base(self.knowledge_base_file or None)
        return tag_entities(doc, knowledge_base=kb)


def _non_overlapping(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Resolve overlaps a recogniser may propose: linked spans win, then longer ones."""
    chosen: list[Candidate] = []
    for cand in sorted(candidates, key=lambda c: (c.start, -c.end)):
        if cand.start >= cand.end:
            continue
        if chosen and cand.start < chosen[-1].end:
            last = chosen[-1]
            rank = (cand.entity_id is not None, cand.end - cand.start)
            if rank > (last.entity_id is not None, last.end - last.start):
                chosen[-1] = cand
            continue
        chosen.append(cand)
    return chosen
