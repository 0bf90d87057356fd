"""The knowledge base: entities indexed by normalised alias keys, and its loaders.

Built once per process (``load_knowledge_base`` caches one per path) and only read
afterwards, so lookups are dict probes whose cost does not grow with its size.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import yaml
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from transforms.entities.lexicon import KB_DIR
from transforms.entities.tokens import TOKEN
from transforms.names import fold, inflection_variants, name_key, phrase_key, skeleton

DEFAULT_KB_FILE = KB_DIR / "entities.yaml"

LABELS = ("PER", "ORG", "LOC", "MISC")
# Aliases this short (letters only) match case-sensitively: "UN" but not "un" (French "a").
SHORT_ALIAS_LETTERS = 3
# Gate for fuzzy links: edits allowed by skeleton length, with and without other evidence.
MIN_FUZZY_LENGTH = 4
MIN_UNSUPPORTED_FUZZY_LENGTH = 7
MAX_UNSUPPORTED_FUZZY_EDITS = 1

_JRC_TYPES = {"P": "PER", "O": "ORG", "L": "LOC", "G": "LOC", "T": "MISC", "E": "MISC"}
# A word: letters/digits joined by inner apostrophes or hyphens; or a dotted abbreviation (U.S.).


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
        tokens = [m.group(0) for m in TOKEN.finditer(alias)]
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
            words = " ".join(dict.fromkeys(m[0] for a in spellings for m in TOKEN.finditer(a)))
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
