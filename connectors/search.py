"""Searching the articles index: query building (pure) and execution.

A query is matched three ways, any of which is enough:

* its words, normalised by ``transforms.search_terms`` under every stemmer, against
  ``search_text`` (the same normalisation applied at index time): "Libyen" meets
  "libysk"-free Danish stems, "Haftars" meets "Haftar";
* its words as written against ``title``/``text``/entity names (standard analyser),
  plus the per-language analysed sub-fields when the node has language analysers;
* the entities it names, resolved through the knowledge base, against
  ``entities.canonical``: "Hafter" finds every article linked to Khalifa Haftar,
  whatever spelling the article used.

Filters (language, entity, outlet, since) never affect the score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from transforms.entities.lexicon import default_lexicon
from transforms.entities.namesakes import given_name_before
from transforms.facets import FACET_FIELDS, OTHER_FIELD
from transforms.names import name_key
from transforms.search_terms import query_terms, words

SNIPPET_CHARS = 160
# Elasticsearch trims each highlighted passage like Java's String.trim(), which drops every
# character up to U+0020: a control-character opening tag (\x02) at the very start of a
# passage vanished ("Haftar** beordrede"). Private-use characters survive the trim; hits
# carry the \x02/\x03 markers the printers expect.
_HIGHLIGHT_PRE, _HIGHLIGHT_POST = "\ue000", "\ue001"
MATCH_START, MATCH_END = "\x02", "\x03"
_RELATIVE = re.compile(r"^(\d+)\s*([smhdwMy])$")


class SearchError(ValueError):
    """A search request that cannot be run; the message says what to change."""


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""
    languages: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()  # canonical names (already resolved)
    sources: tuple[str, ...] = ()
    since: str | None = None  # Elasticsearch date or date math, see ``since_expression``
    size: int = 10
    resolved: tuple[str, ...] = ()  # canonical names the query text names
    language_fields: tuple[str, ...] = ()  # e.g. ("text.nl", "title.nl") on the full node


@dataclass
class SearchHit:
    id: str
    score: float
    title: str | None
    outlet: str | None
    published: str | None
    ingested: str | None
    language: str | None
    origin: str | None
    url: str | None
    snippet: str
    entities: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def since_expression(value: str) -> str:
    """``7d``/``24h``/``2w`` -> Elasticsearch date math (``now-7d``); a date stays as it is."""
    value = value.strip()
    match = _RELATIVE.match(value)
    if match:
        return f"now-{match.group(1)}{match.group(2)}"
    if re.match(r"^\d{4}(-\d{2}(-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)?)?$", value):
        return value.replace(" ", "T")
    raise SearchError(
        f"--since {value!r} is neither a date (2019-04, 2019-04-05) nor an age like 7d, 24h or 2w."
    )


def resolve_entities(
    query: str, knowledge_base: Any, languages: Iterable[str] = ("und",)
) -> list[str]:
    """Canonical names of the knowledge-base entities the query names, longest match first.

    Uses the entity linker's own normalisation (``KnowledgeBase.lookup``), so every
    alias and inflection the pipeline links ("Hafter", "Haftars", "Libië") resolves.
    """
    tokens = words(query)
    text = " ".join(tokens)
    offsets = [0]
    for token in tokens:
        offsets.append(offsets[-1] + len(token) + 1)
    found: dict[str, None] = {}
    langs = list(dict.fromkeys([*languages, "und"]))
    i = 0
    while i < len(tokens):
        matched = 0
        for j in range(len(tokens), i, -1):
            for language in langs:
                ids, _ = knowledge_base.lookup(tokens[i:j], language)
                if ids:
                    for entity_id in ids:
                        if j - i > 1 or not _namesake(
                            knowledge_base, entity_id, text, offsets[i], language
                        ):
                            found[knowledge_base.entity(entity_id).name] = None
                    matched = j - i
                    break
            if matched:
                break
        i += matched or 1
    return list(found)


def _namesake(knowledge_base: Any, entity_id: str, text: str, start: int, language: str) -> bool:
    """A given name before a person's surname that is none of the person's own ("Anna
    Hafter"): someone else, decided by the same rules the linker applies in articles."""
    if not knowledge_base.has_full_name(entity_id):
        return False
    given = given_name_before(text, start, language, knowledge_base, default_lexicon(), entity_id)
    if given is None:
        return False
    return name_key(given.text) not in knowledge_base.person_keys(entity_id)[0]


def build_query(request: SearchRequest) -> dict[str, Any]:
    """The Elasticsearch ``query`` for a request (pure; unit-tested without a node)."""
    should: list[dict[str, Any]] = []
    alternatives = query_terms(request.query, request.languages or None)
    if alternatives:
        should.append(
            {
                "bool": {
                    "must": [
                        {"terms": {"search_text": forms}}
                        if len(forms) > 1
                        # one form: a term query scores by frequency, which ranks better
                        else {"term": {"search_text": forms[0]}}
                        for forms in alternatives
                    ]
                }
            }
        )
    if request.query.strip():
        should.append(
            {
                "multi_match": {
                    "query": request.query,
                    "fields": [
                        "title^2",
                        "text",
                        "entities.canonical.text^2",
                        "entities.variants.text",
                        "entities.aliases",
                        *request.language_fields,
                    ],
                    "operator": "and",
                }
            }
        )
    if request.resolved:
        should.append({"terms": {"entities.canonical": list(request.resolved), "boost": 2.0}})
    filters: list[dict[str, Any]] = []
    if request.languages:
        filters.append({"terms": {"language": list(request.languages)}})
    for name in request.entities:
        filters.append({"term": {"entities.canonical": name}})
    if request.sources:
        filters.append({"terms": {"source.name": list(request.sources)}})
    if request.since:
        filters.append(since_filter(request.since))
    query: dict[str, Any] = {"bool": {"filter": filters}}
    if should:
        query["bool"]["should"] = should
        query["bool"]["minimum_should_match"] = 1
    elif not filters:
        return {"match_all": {}}
    return query


def since_filter(since: str) -> dict[str, Any]:
    """At or after ``since`` by ``event_time`` (publication time where known, else arrival:
    the time the dashboard uses); articles indexed before mapping version 4 have no
    ``event_time`` and are placed by ``published``, else by ``@timestamp``."""
    before_v4 = {
        "bool": {
            "should": [
                {"range": {"published": {"gte": since}}},
                {
                    "bool": {
                        "must_not": {"exists": {"field": "published"}},
                        "filter": {"range": {"@timestamp": {"gte": since}}},
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }
    return {
        "bool": {
            "should": [
                {"range": {"event_time": {"gte": since}}},
                {"bool": {"must_not": {"exists": {"field": "event_time"}}, "filter": before_v4}},
            ],
            "minimum_should_match": 1,
        }
    }


def highlight(request: SearchRequest) -> dict[str, Any]:
    return {
        "pre_tags": [_HIGHLIGHT_PRE],
        "post_tags": [_HIGHLIGHT_POST],
        "fields": {
            "text": {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1},
            "title": {"number_of_fragments": 0},
        },
        "highlight_query": {
            "bool": {
                "should": [
                    {"match": {"text": request.query}},
                    {"match": {"title": request.query}},
                ]
            }
        }
        if request.query.strip()
        else {"match_all": {}},
    }


def search_articles(es: Elasticsearch, alias: str, request: SearchRequest) -> list[SearchHit]:
    """Run the request; each hit has a snippet with ``\\x02``/``\\x03`` around matches."""
    response = es.search(
        index=alias,
        query=build_query(request),
        highlight=highlight(request),
        size=request.size,
        source_excludes=["boilerplate", "search_text"],
        sort=["_score", {"published": {"order": "desc", "missing": "_last"}}],
        track_scores=True,
    )
    return [_hit(raw, request) for raw in response["hits"]["hits"]]


def _hit(raw: dict[str, Any], request: SearchRequest) -> SearchHit:
    source = raw["_source"]
    fragments = raw.get("highlight", {}).get("text") or []
    if fragments:
        snippet = fragments[0].replace(_HIGHLIGHT_PRE, MATCH_START)
        snippet = snippet.replace(_HIGHLIGHT_POST, MATCH_END)
    else:
        snippet = _mention_snippet(source, request.resolved)
    return SearchHit(
        id=raw["_id"],
        score=float(raw.get("_score") or 0.0),
        title=source.get("title"),
        outlet=(source.get("source") or {}).get("name"),
        published=source.get("published"),
        ingested=source.get("@timestamp"),
        language=source.get("language"),
        origin=source.get("origin"),
        url=source.get("url"),
        snippet=" ".join(snippet.split()),
        entities=[e["canonical"] for e in source.get("entities") or [] if e.get("canonical")],
    )


def _mention_snippet(source: dict[str, Any], canonicals: Sequence[str]) -> str:
    """A snippet around the first mention of a resolved entity, for hits whose wording
    differs from the query ("Hafter" found by "Haftar"): mentions carry text offsets."""
    text: str = source.get("text") or ""
    wanted = set(canonicals)
    for mention in source.get("mentions") or []:
        if mention.get("canonical") in wanted:
            start, end = int(mention["start"]), int(mention["end"])
            left = max(0, start - SNIPPET_CHARS // 2)
            right = min(len(text), end + SNIPPET_CHARS // 2)
            return f"{text[left:start]}{MATCH_START}{text[start:end]}{MATCH_END}{text[end:right]}"
    return text[:SNIPPET_CHARS]


def language_fields(es: Elasticsearch, alias: str, languages: Sequence[str]) -> tuple[str, ...]:
    """The per-language analysed sub-fields the index has (full distribution only)."""
    mapping = es.indices.get_mapping(index=alias).body
    fields: list[str] = []
    for index in mapping.values():
        properties = index["mappings"].get("properties", {})
        for name in ("title", "text"):
            for sub in properties.get(name, {}).get("fields", {}):
                if sub != "keyword" and (not languages or sub in languages):
                    fields.append(f"{name}.{sub}")
    return tuple(dict.fromkeys(fields))


@dataclass(frozen=True)
class EntityCount:
    name: str
    articles: int


# ``newsbeam entities top --type`` -> the per-type facet field of the articles index.
TYPE_FIELDS = {**FACET_FIELDS, "MISC": OTHER_FIELD}
ALL_ENTITIES_FIELD = "entities.name"  # canonical name where linked, else the surface form


def top_entities(
    es: Elasticsearch,
    alias: str,
    *,
    since: str | None = None,
    size: int = 20,
    languages: Sequence[str] = (),
    entity_type: str | None = None,
    only: Iterable[str] | None = None,
) -> list[EntityCount]:
    """The entities named in the most articles (each article counts once).

    With ``entity_type`` (PER, ORG, LOC, MISC) the count runs on that type's own field
    (``people`` ...), so an article counts for a place only when it names that place as a
    place, whatever else it names. ``only`` restricts the names.
    """
    filters: list[dict[str, Any]] = []
    if since:
        filters.append(since_filter(since))
    if languages:
        filters.append({"terms": {"language": list(languages)}})
    if entity_type is not None and entity_type.upper() not in TYPE_FIELDS:
        known = ", ".join(TYPE_FIELDS)
        raise SearchError(f"entity type {entity_type!r} is not one of {known}.")
    field_name = TYPE_FIELDS[entity_type.upper()] if entity_type else ALL_ENTITIES_FIELD
    terms: dict[str, Any] = {"field": field_name, "size": size}
    if only is not None:
        terms["include"] = sorted(only)
    response = es.search(
        index=alias,
        size=0,
        query={"bool": {"filter": filters}},
        aggs={"entities": {"terms": terms}},
    )
    return [
        EntityCount(str(bucket["key"]), int(bucket["doc_count"]))
        for bucket in response["aggregations"]["entities"]["buckets"]
    ]
