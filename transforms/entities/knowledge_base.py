"""The knowledge base: entities indexed by normalised alias keys, and its loaders.

Built once per process (``load_knowledge_base`` caches one per path) and only read
afterwards, so lookups are dict probes whose cost does not grow with its size.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from transforms.entities.lexicon import KB_DIR
from transforms.entities.tokens import TOKEN
from transforms.names import (
    clitic_stems,
    fold,
    has_clitics,
    name_key,
    name_stems,
    phrase_key,
    skeleton,
)

DEFAULT_KB_FILE = KB_DIR / "entities.yaml"

LABELS = ("PER", "ORG", "LOC", "MISC")
# Aliases this short (letters only) match case-sensitively: "UN" but not "un" (French "a").
SHORT_ALIAS_LETTERS = 3
# Gate for fuzzy links: edits allowed by skeleton length, with and without other evidence.
MIN_FUZZY_LENGTH = 4
MIN_UNSUPPORTED_FUZZY_LENGTH = 7
MAX_UNSUPPORTED_FUZZY_EDITS = 1

# Context keys shorter than this match whole words (or a word without its case ending)
# only; longer ones also match as the start of a word ("Libyan" supports "Libyans",
# "libysch" supports "libyschen"). Four letters would let Derna ("dern") match French
# "dernier".
MIN_CONTEXT_PREFIX = 5


class KnowledgeBaseError(ValueError):
    """A knowledge-base file that cannot be read; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Entity:
    """One real-world entity of the knowledge base."""

    entity_id: str
    name: str
    label: str
    wikidata: str | None = None
    # Every spelling the knowledge base knows, the name first.
    aliases: tuple[str, ...] = ()
    # Words and entities whose presence near a bare surname says the article means this
    # entity (its country, organisation, cities): "Libya", "Benghazi", "LNA".
    context: tuple[str, ...] = ()
    # Titles that mean this entity when written right before its surname: "marshal".
    roles: tuple[str, ...] = ()
    # Weaker context: actors often named with it ("Russia", "Egypt"); two different
    # ones nearby support a bare surname.
    related: tuple[str, ...] = ()
    # The surname alone is distinctive enough to link without support ("Putin"): set in
    # the knowledge base for a few world figures whose family is not in the news.
    surname_alone: bool = False


@dataclass(frozen=True, slots=True)
class AliasMatch:
    """A span matched to aliases: the ids, and which characters of it the match covers."""

    ids: tuple[str, ...]
    lead: int  # characters cut from the first token (a glued clitic: Arabic و)
    tail: int  # length of the last token as matched (without its case ending)
    key: str  # the alias key that matched
    words: int  # tokens of the key (1: a single word such as a bare surname)


@dataclass(frozen=True, slots=True)
class TermKeys:
    """Support terms of an entity as keys, each mapped to the number of its term."""

    keys: dict[str, int]  # name keys (also matched as the start of a longer word)
    exact: dict[str, int]  # short words, matched exactly and case-sensitively

    def __bool__(self) -> bool:
        return bool(self.keys or self.exact)


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
        self._head_skeletons: dict[str, tuple[str, ...]] = {}  # entity -> alias head skeletons
        self._fuzzy_halves: dict[str, list[str]] = {}  # "length<half" / "length>half" -> heads
        self._fuzzy_owners: dict[str, tuple[str, ...]] = {}  # skeleton -> entity ids
        self._given_names: set[str] = set()  # keys of every person's given names
        self._closest_cache: dict[str, tuple[tuple[str, ...], int]] = {}
        self._search_words: dict[str, str] = {}
        self._person_keys: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._context: dict[tuple[str, str, str], TermKeys] = {}
        self._roles: dict[str, frozenset[str]] = {}

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
        context: Iterable[str] = (),
        roles: Iterable[str] = (),
        related: Iterable[str] = (),
        surname_alone: bool = False,
    ) -> Entity:
        """Add an entity (or more aliases to one with the same id) and index its names."""
        if label not in LABELS:
            raise KnowledgeBaseError(f"entity {name!r} has type {label!r}; use one of {LABELS}.")
        eid = wikidata or entity_id or _slug(name)
        entity = self.entities.get(eid)
        names = [a.strip() for a in (name, *aliases) if a.strip()]
        context, roles, related = tuple(context), tuple(roles), tuple(related)
        if entity is None:
            entity = Entity(
                entity_id=eid,
                name=name,
                label=label,
                wikidata=wikidata,
                aliases=tuple(dict.fromkeys(names)),
                context=_merged((), context),
                roles=_merged((), roles),
                related=_merged((), related),
                surname_alone=surname_alone,
            )
        else:
            entity = dataclasses.replace(
                entity,
                aliases=tuple(dict.fromkeys((*entity.aliases, *names))),
                context=_merged(entity.context, context),
                roles=_merged(entity.roles, roles),
                related=_merged(entity.related, related),
                surname_alone=entity.surname_alone or surname_alone,
            )
            self._search_words.pop(eid, None)
            self._person_keys.pop(eid, None)
            self._roles.pop(eid, None)
            if self._context:
                self._context.clear()
        self.entities[eid] = entity
        person = label == "PER" or entity.label == "PER"
        for alias in names:
            self._index_alias(eid, alias, person)
        return entity

    def _index_alias(self, eid: str, alias: str, person: bool) -> None:
        if len(alias) <= SHORT_ALIAS_LETTERS or (
            len(alias) <= 3 * SHORT_ALIAS_LETTERS and _letters(alias) <= SHORT_ALIAS_LETTERS
        ):
            self._exact[alias] = _with(self._exact.get(alias, ()), eid)
            return
        tokens = TOKEN.findall(alias)
        keys = [k for k in map(name_key, tokens) if k]
        if not keys:
            return
        key = " ".join(keys)
        self._by_key[key] = _with(self._by_key.get(key, ()), eid)
        if self._longest_from.get(keys[0], 0) < len(tokens):
            self._longest_from[keys[0]] = len(tokens)
        if person and len(keys) > 1:
            self._given_names.update(keys[:-1])
        head = skeleton(tokens[-1])
        if len(head) >= MIN_FUZZY_LENGTH:
            self._head_skeletons[eid] = _with(self._head_skeletons.get(eid, ()), head)
            if len(tokens) == 1 or person:
                owners = self._fuzzy_owners.get(head, ())
                if not owners:
                    for half in _halves(head):
                        bucket = self._fuzzy_halves.get(half)
                        if bucket is None:
                            self._fuzzy_halves[half] = [head]
                        else:
                            bucket.append(head)
                self._fuzzy_owners[head] = _with(owners, eid)

    # -- loading (file formats in transforms/entities/loaders.py)

    @classmethod
    def from_records(
        cls, records: Iterable[dict[str, Any]], role_words: dict[str, list[str]] | None = None
    ) -> KnowledgeBase:
        """Entities from mappings with name, type, aliases, id, wikidata, context, roles,
        related.

        A role that names a group of ``role_words`` stands for all its words.
        """
        kb = cls()
        groups = role_words or {}
        for number, record in enumerate(records, 1):
            if not isinstance(record, dict):
                raise KnowledgeBaseError(f"entity #{number} is not a mapping with name and type.")
            try:
                roles = [w for r in record.get("roles") or () for w in groups.get(str(r), [r])]
                kb.add(
                    str(record["name"]),
                    str(record.get("type", "MISC")),
                    [str(a) for a in record.get("aliases") or ()],
                    entity_id=record.get("id"),
                    wikidata=record.get("wikidata"),
                    context=[str(c) for c in record.get("context") or ()],
                    roles=[str(r) for r in roles],
                    related=[str(r) for r in record.get("related") or ()],
                    surname_alone=record.get("surname_alone") is True,
                )
            except KeyError as exc:
                raise KnowledgeBaseError(
                    f"entity #{number} has no {exc.args[0]!r} field."
                ) from None
            except TypeError:
                raise KnowledgeBaseError(
                    f"entity #{number}: aliases, context, roles, related must be lists of names."
                ) from None
        return kb

    @classmethod
    def from_yaml(cls, path: str | Path) -> KnowledgeBase:
        """Read the ``entities:`` list of a YAML file like ``kb/entities.yaml``."""
        from transforms.entities.loaders import read_yaml

        return read_yaml(path)

    @classmethod
    def from_tsv(cls, path: str | Path) -> KnowledgeBase:
        """Stream a JRC-Names file (``id<TAB>type<TAB>lang<TAB>name+with+plus``)."""
        from transforms.entities.loaders import read_jrc_names

        return read_jrc_names(path)

    @classmethod
    def from_wikidata(cls, path: str | Path) -> KnowledgeBase:
        """Stream a Wikidata JSON dump (one entity per line, ``.gz`` or plain)."""
        from transforms.entities.loaders import read_wikidata

        return read_wikidata(path)

    @classmethod
    def load(cls, path: str | Path | None = None) -> KnowledgeBase:
        """The packaged default for ``None``/``""``, else a YAML, Wikidata JSON or TSV file."""
        target = Path(path) if path else DEFAULT_KB_FILE
        if not target.is_file():
            raise KnowledgeBaseError(
                f"knowledge base file {target} does not exist; set knowledge_base_file to a "
                "YAML (entities:), Wikidata JSON dump (.json, .json.gz) or JRC-Names TSV "
                "(id, type, lang, name) file, or leave it empty."
            )
        suffixes = [s.lower() for s in target.suffixes]
        if ".yaml" in suffixes or ".yml" in suffixes:
            return cls.from_yaml(target)
        if ".json" in suffixes or ".jsonl" in suffixes:
            return cls.from_wikidata(target)
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
            words = " ".join(dict.fromkeys(m[0] for a in spellings for m in TOKEN.finditer(a)))
            self._search_words[entity_id] = words
        return words

    def longest_alias_from(self, first_key: str) -> int:
        """How many tokens the longest alias starting with this key has (0: none)."""
        return self._longest_from.get(first_key, 0)

    def longest_alias_from_token(self, token: str, language: str) -> int:
        """``longest_alias_from`` for a written token, its glued clitic removed if need be."""
        longest = self._longest_from.get(name_key(token), 0)
        if not has_clitics(language):
            return longest
        for _, stem in clitic_stems(token, language):
            longest = max(longest, self._longest_from.get(name_key(stem), 0))
        return longest

    def lookup(self, tokens: Sequence[str], language: str) -> tuple[tuple[str, ...], int]:
        """Entity ids for a token sequence, and the length of the last token as matched."""
        found = self.match(tokens, language)
        return (found.ids, found.tail) if found else ((), 0)

    def match(self, tokens: Sequence[str], language: str) -> AliasMatch | None:
        """The aliases a token sequence names, trying in turn: the exact key; the last
        token without a case ending of the language; the first without a glued clitic.

        A stem counts only when its key is itself an alias key, so an ending is never
        stripped from a word into a name that merely starts like one.
        """
        found = self._match_stems(tokens, language, 0)
        if found is not None or not has_clitics(language):
            return found
        for cut, stem in clitic_stems(tokens[0], language):
            found = self._match_stems([stem, *tokens[1:]], language, cut)
            if found is not None:
                return found
        return None

    def _match_stems(self, tokens: Sequence[str], language: str, lead: int) -> AliasMatch | None:
        last = tokens[-1]
        single = len(tokens) == 1
        if single:
            ids = self._exact.get(last)
            if ids:
                return AliasMatch(ids, lead, len(last) + lead, last, 1)
            for variant in name_stems(last, language):
                ids = self._exact.get(variant)
                if ids:
                    return AliasMatch(ids, lead, len(variant) + lead, variant, 1)
        key = name_key(last) if single else phrase_key(tokens)
        ids = self._by_key.get(key) if key else None
        if ids:
            tail = _before_case_apostrophe(last) + (lead if single else 0)
            return AliasMatch(ids, lead, tail, key, key.count(" ") + 1)
        for variant in name_stems(last, language):
            key = name_key(variant) if single else phrase_key([*tokens[:-1], variant])
            ids = self._by_key.get(key) if key else None
            if ids:
                tail = len(variant) + (lead if single else 0)
                return AliasMatch(ids, lead, tail, key, key.count(" ") + 1)
        return None

    def is_given_name(self, token: str) -> bool:
        """A given name of some person of the knowledge base ("Khalifa", "Saddam")."""
        key = name_key(token)
        return bool(key) and key in self._given_names

    def person_keys(self, entity_id: str) -> tuple[frozenset[str], frozenset[str]]:
        """(given-name keys, surname keys) of a person, from its multi-word aliases.

        The surname is the last word of an alias, given names the words before it
        (particles such as "al" and "bin" do not count). Single-word aliases are
        surnames. Empty given names: the knowledge base knows the person by one name.
        """
        cached = self._person_keys.get(entity_id)
        if cached is not None:
            return cached
        given: set[str] = set()
        surnames: set[str] = set()
        for alias in self.entities[entity_id].aliases:
            keys = [k for k in (name_key(m.group(0)) for m in TOKEN.finditer(alias)) if k]
            if keys:
                surnames.add(keys[-1])
                given.update(keys[:-1])
        cached = (frozenset(given), frozenset(surnames))
        self._person_keys[entity_id] = cached
        return cached

    def has_full_name(self, entity_id: str) -> bool:
        """A person the knowledge base knows with given names: a word before the surname
        can tell whether a mention is this person or a namesake."""
        entity = self.entities[entity_id]
        return entity.label == "PER" and bool(self.person_keys(entity_id)[0])

    def needs_support(self, entity_id: str) -> bool:
        """Whether this entity's surname alone may link only with support from the article
        (a person known by a full name, not marked ``surname_alone``)."""
        return not self.entities[entity_id].surname_alone and self.has_full_name(entity_id)

    def context_keys(self, entity_id: str, language: str) -> TermKeys:
        """The keys of the entity's ``context`` terms: one of them near a bare surname
        supports it.

        A term that names an entity of the knowledge base stands for every one-word
        spelling of it (Libya: Libyen, Libië, ليبيا, Ливия), each also without its case
        ending in ``language``; any other term stands for itself.
        """
        return self._term_keys(entity_id, language, "context")

    def related_keys(self, entity_id: str, language: str) -> TermKeys:
        """The keys of the entity's ``related`` terms: two different ones near a bare
        surname support it (actors often named with it: "Russia", "Egypt")."""
        return self._term_keys(entity_id, language, "related")

    def _term_keys(self, entity_id: str, language: str, field: str) -> TermKeys:
        cached = self._context.get((entity_id, language, field))
        if cached is not None:
            return cached
        keys: dict[str, int] = {}
        exact: dict[str, int] = {}
        entity = self.entities[entity_id]
        for number, term in enumerate(entity.context if field == "context" else entity.related):
            words = [m.group(0) for m in TOKEN.finditer(term)]
            found = self.match(words, language) if words else None
            spellings = [words]
            for other in found.ids if found else ():
                for alias in self.entities[other].aliases:
                    tokens = [m.group(0) for m in TOKEN.finditer(alias)]
                    if len(tokens) == 1:
                        spellings.append(tokens)
            for tokens in spellings:
                for token in tokens:
                    if _letters(token) <= SHORT_ALIAS_LETTERS:
                        exact.setdefault(token, number)
                        continue
                    for variant in (token, *name_stems(token, language)):
                        key = name_key(variant)
                        if len(key) >= SHORT_ALIAS_LETTERS:
                            keys.setdefault(key, number)
        cached = TermKeys(keys, exact)
        self._context[(entity_id, language, field)] = cached
        return cached

    def role_words(self, entity_id: str) -> frozenset[str]:
        """The entity's titles, folded; of a multi-word title its last word ("marshal")."""
        cached = self._roles.get(entity_id)
        if cached is None:
            cached = frozenset(
                fold(role.split()[-1]) for role in self.entities[entity_id].roles if role.split()
            )
            self._roles[entity_id] = cached
        return cached

    def head_skeletons(self, entity_id: str) -> tuple[str, ...]:
        """Skeletons of the last token of every alias: what a typo is compared to."""
        return self._head_skeletons.get(entity_id, ())

    def closest(self, word_skeleton: str) -> tuple[tuple[str, ...], int]:
        """Entities whose alias head is nearest in edit distance (<= 1), with that distance.

        Within one edit, one half of the head is written exactly, so only the heads
        sharing a half with the word are compared: the cost follows how many heads
        share a half, not the size of the knowledge base.
        """
        cached = self._closest_cache.get(word_skeleton)
        if cached is not None:
            return cached
        best: tuple[tuple[str, ...], int] = ((), MAX_UNSUPPORTED_FUZZY_EDITS + 1)
        size = len(word_skeleton)
        heads: set[str] = set()
        for length in (size - 1, size, size + 1):
            cut = length // 2
            heads.update(self._fuzzy_halves.get(f"{length}<{word_skeleton[:cut]}", ()))
            heads.update(
                self._fuzzy_halves.get(f"{length}>{word_skeleton[size - (length - cut) :]}", ())
            )
        if heads:
            found = process.extractOne(
                word_skeleton,
                sorted(heads),
                scorer=Levenshtein.distance,
                score_cutoff=MAX_UNSUPPORTED_FUZZY_EDITS,
            )
            if found is not None:
                best = (tuple(sorted(self._fuzzy_owners[found[0]])), int(found[1]))
        if len(self._closest_cache) > 100_000:
            self._closest_cache.clear()
        self._closest_cache[word_skeleton] = best
        return best


def _before_case_apostrophe(word: str) -> int:
    """Where an ending after an apostrophe starts, if the key ignores it ("Hafter'e": the
    key drops the apostrophe and the final vowel, so the word matched whole), else the
    whole word."""
    for mark in "'’":
        cut = word.find(mark)
        if cut >= 2 and name_key(word[:cut]) == name_key(word):
            return cut
    return len(word)


def _halves(head: str) -> tuple[str, str]:
    cut = len(head) // 2
    return f"{len(head)}<{head[:cut]}", f"{len(head)}>{head[cut:]}"


def _merged(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    if not new:
        return old
    return tuple(dict.fromkeys((*old, *(w.strip() for w in new if w.strip()))))


def _with(ids: tuple[str, ...], eid: str) -> tuple[str, ...]:
    return ids if eid in ids else (*ids, eid)


@lru_cache(maxsize=8)
def _cached_kb(resolved: str) -> KnowledgeBase:
    return KnowledgeBase.load(resolved or None)


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """The knowledge base for a path ("" or None: packaged default), built once per process."""
    return _cached_kb(str(Path(path).resolve()) if path else "")
