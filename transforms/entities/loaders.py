"""Knowledge-base file formats: packaged YAML, JRC-Names TSV, Wikidata JSON dumps.

Large files are streamed (a line at a time, ``.gz`` decompressed on the fly), so
memory holds the index, never the file.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from transforms.entities.knowledge_base import LABELS, KnowledgeBase, KnowledgeBaseError

# JRC-Names types: P person, O organisation; L/G (location), T/E (other) in derived lists.
JRC_TYPES = {"P": "PER", "O": "ORG", "L": "LOC", "G": "LOC", "T": "MISC", "E": "MISC"}
_WIKIDATA_ID = re.compile(r"Q\d+")

# Wikidata instance-of (P31) classes -> our types. The common direct classes only: a
# dump is not walked up the subclass tree (that needs the whole graph in memory), so an
# entity whose classes are all unknown here is MISC, and ``types`` in the loader call
# can extend the map.
WIKIDATA_TYPES: dict[str, str] = {
    "Q5": "PER",  # human
    "Q43229": "ORG",  # organisation
    "Q4830453": "ORG",  # business
    "Q783794": "ORG",  # company
    "Q7278": "ORG",  # political party
    "Q484652": "ORG",  # international organisation
    "Q327333": "ORG",  # government agency
    "Q176799": "ORG",  # military unit
    "Q1194951": "ORG",  # national armed forces
    "Q17149090": "ORG",  # armed organisation
    "Q11032": "ORG",  # newspaper
    "Q1193236": "ORG",  # news agency
    "Q3918": "ORG",  # university
    "Q2659904": "ORG",  # government organisation
    "Q7188": "ORG",  # government
    "Q6256": "LOC",  # country
    "Q3624078": "LOC",  # sovereign state
    "Q515": "LOC",  # city
    "Q1549591": "LOC",  # big city
    "Q5119": "LOC",  # capital
    "Q1637706": "LOC",  # city with millions
    "Q486972": "LOC",  # human settlement
    "Q532": "LOC",  # village
    "Q3957": "LOC",  # town
    "Q10864048": "LOC",  # first-level administrative division
    "Q82794": "LOC",  # geographic region
    "Q4022": "LOC",  # river
    "Q165": "LOC",  # sea
    "Q8502": "LOC",  # mountain
    "Q23397": "LOC",  # lake
    "Q1248784": "LOC",  # airport
    "Q13226383": "LOC",  # facility
}
# Claims whose targets, when they are entities of the same dump, count as context for a
# bare surname: country of citizenship, member of party/armed group, employer, position,
# military branch, country, located in.
WIKIDATA_CONTEXT_CLAIMS = ("P27", "P102", "P463", "P108", "P39", "P241", "P17", "P131")
# Claims whose targets name a title for the person: military rank, noble title.
WIKIDATA_ROLE_CLAIMS = ("P410", "P97")


def open_text(path: Path) -> IO[str]:
    """A text handle on a plain or ``.gz`` file, or a ``KnowledgeBaseError`` saying why not."""
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8", newline="")
        return path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot read knowledge base {path}: {exc.strerror}.") from None


def read_yaml(path: str | Path) -> KnowledgeBase:
    """The ``entities:`` list (and optional ``role_words:`` groups) of a YAML file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeBaseError(f"cannot read knowledge base {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entities"), list):
        raise KnowledgeBaseError(f"knowledge base {path} needs a top-level 'entities:' list.")
    groups = data.get("role_words") or {}
    if not isinstance(groups, dict) or not all(isinstance(v, list) for v in groups.values()):
        raise KnowledgeBaseError(
            f"knowledge base {path}: role_words must map a group name to a list of titles."
        )
    roles = {str(k): [str(w) for w in v] for k, v in groups.items()}
    try:
        return KnowledgeBase.from_records(data["entities"], roles)
    except KnowledgeBaseError as exc:
        raise KnowledgeBaseError(f"knowledge base {path}: {exc}") from None


def read_jrc_names(path: str | Path) -> KnowledgeBase:
    """Stream a JRC-Names file: ``id<TAB>type<TAB>lang<TAB>name`` per line.

    As JRC-Names writes it: ``+`` joins the words of a name (``Khalifa+Haftar``), type
    ``P`` (person) or ``O`` (organisation), lang an ISO code or ``u`` (unknown); the first
    name seen for an id is its canonical name; ``#`` starts a comment. Three optional
    columns this project adds after the four of JRC-Names: context terms, roles and
    related terms, each ``|``-separated (``Libya|Benghazi|LNA``, ``marshal|general``,
    ``Russia|Egypt``). ``.gz`` is read as is.
    """
    kb = KnowledgeBase()
    # Rows of one id usually follow each other: collect them and add the entity once.
    current: list[Any] = []  # id, label, names, context, roles, related

    def flush() -> None:
        if current:
            raw_id, label, names, context, roles, related = current
            wikidata = raw_id if _WIKIDATA_ID.fullmatch(raw_id) else None
            kb.add(
                names[0],
                label,
                names[1:],
                entity_id=raw_id,
                wikidata=wikidata,
                context=context,
                roles=roles,
                related=related,
            )
            current.clear()

    with open_text(Path(path)) as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if len(row) < 4:
                raise KnowledgeBaseError(
                    f"{path} line {number} has {len(row)} columns; "
                    "write id<TAB>type<TAB>lang<TAB>name (JRC-Names)."
                )
            raw_id = row[0].strip()
            name = " ".join(row[3].replace("+", " ").split())
            if not raw_id or not name:
                raise KnowledgeBaseError(f"{path} line {number} has an empty id or name.")
            raw_type = row[1].strip().upper()
            label = JRC_TYPES.get(raw_type, raw_type)
            label = label if label in LABELS else "MISC"
            if not current or current[0] != raw_id or current[1] != label:
                flush()
                current.extend((raw_id, label, [], [], [], []))
            current[2].append(name)
            for column, field in ((4, 3), (5, 4), (6, 5)):
                if len(row) > column:
                    current[field].extend(_bar_list(row[column]))
        flush()
    return kb


def _bar_list(cell: str) -> list[str]:
    return [part.replace("+", " ").strip() for part in cell.split("|") if part.strip()]


def iter_wikidata(path: str | Path) -> Iterator[dict[str, Any]]:
    """The entities of a Wikidata JSON dump, one parsed line at a time.

    The dump is a JSON array written one entity per line (``[``, ``{...},``, …, ``]``),
    so a line without its trailing comma is one entity: the file is never parsed whole.
    """
    with open_text(Path(path)) as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip().rstrip(",")
            if line in ("", "[", "]"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise KnowledgeBaseError(
                    f"{path} line {number} is not one JSON entity ({exc.msg}); a Wikidata "
                    "dump has one entity per line between '[' and ']'."
                ) from None
            if not isinstance(record, dict) or "id" not in record:
                raise KnowledgeBaseError(f"{path} line {number} is not an entity with an id.")
            yield record


def read_wikidata(
    path: str | Path,
    *,
    types: dict[str, str] | None = None,
    languages: frozenset[str] | None = None,
) -> KnowledgeBase:
    """A knowledge base from a Wikidata JSON dump (``.json`` or ``.json.gz``).

    Names: every label and alias in ``languages`` (all when None), the English label
    (else the first label) canonical. Type: the first instance-of (P31) class found in
    ``types`` (default ``WIKIDATA_TYPES``); entities without a name are skipped, and
    properties (``P…`` ids) too. Context: targets of ``WIKIDATA_CONTEXT_CLAIMS`` that
    are in the same dump, resolved to their names once the whole dump is read; roles:
    every name of the targets of ``WIKIDATA_ROLE_CLAIMS`` (military rank "field marshal",
    "Feldmarschall") in the dump.
    """
    mapping = types or WIKIDATA_TYPES
    kb = KnowledgeBase()
    pending: dict[str, tuple[list[str], list[str]]] = {}
    for record in iter_wikidata(path):
        qid = str(record["id"])
        if not _WIKIDATA_ID.fullmatch(qid):
            continue
        names = _wikidata_names(record, languages)
        if not names:
            continue
        claims = record.get("claims") or {}
        classes = _claim_targets(claims.get("P31"))
        label = next((mapping[c] for c in classes if c in mapping), "MISC")
        kb.add(names[0], label, names[1:], wikidata=qid)
        targets = [t for prop in WIKIDATA_CONTEXT_CLAIMS for t in _claim_targets(claims.get(prop))]
        ranks = [t for prop in WIKIDATA_ROLE_CLAIMS for t in _claim_targets(claims.get(prop))]
        if targets or ranks:
            pending[qid] = (targets, ranks)
    for qid, (targets, ranks) in pending.items():
        context = [kb.entity(t).name for t in targets if t in kb.entities]
        roles = [alias for t in ranks if t in kb.entities for alias in kb.entity(t).aliases]
        if context or roles:
            entity = kb.entity(qid)
            kb.add(entity.name, entity.label, wikidata=qid, context=context, roles=roles)
    return kb


def _wikidata_names(record: dict[str, Any], languages: frozenset[str] | None) -> list[str]:
    labels = record.get("labels") or {}
    aliases = record.get("aliases") or {}
    names: list[str] = []
    english = labels.get("en")
    if isinstance(english, dict) and english.get("value"):
        names.append(str(english["value"]))
    for language, value in labels.items():
        if (languages is None or language in languages) and isinstance(value, dict):
            names.append(str(value.get("value") or ""))
    for language, values in aliases.items():
        if (languages is None or language in languages) and isinstance(values, list):
            names.extend(str(v.get("value") or "") for v in values if isinstance(v, dict))
    return [n for n in dict.fromkeys(n.strip() for n in names) if n]


def _claim_targets(statements: Any) -> list[str]:
    """The item ids a claim points to: ``mainsnak.datavalue.value.id`` of each statement."""
    targets: list[str] = []
    for statement in statements if isinstance(statements, list) else ():
        try:
            value = statement["mainsnak"]["datavalue"]["value"]
        except (KeyError, TypeError):
            continue  # "novalue"/"somevalue" snaks have no datavalue
        target = value.get("id") if isinstance(value, dict) else None
        if target is None and isinstance(value, dict) and "numeric-id" in value:
            target = f"Q{value['numeric-id']}"
        if isinstance(target, str):
            targets.append(target)
    return targets
