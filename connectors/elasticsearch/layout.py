"""Index templates and versioned indices behind aliases, and migrating to a new version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from importlib import resources
from typing import Any, NamedTuple

from elasticsearch import BadRequestError, Elasticsearch

from connectors.elasticsearch.client import ElasticsearchSettings, client, wait_until_ready
from connectors.elasticsearch.documents import entity_aliases
from transforms.document import utc_now
from transforms.entities import KnowledgeBase, load_knowledge_base
from transforms.facets import event_time, facet_name, facets_from_entities
from transforms.search_terms import document_search_text


def load_mapping(name: str) -> dict[str, Any]:
    text = resources.files("connectors.mappings").joinpath(f"{name}.json").read_text("utf-8")
    mapping: dict[str, Any] = json.loads(text)
    return mapping


class IndexLayoutError(RuntimeError):
    """The indices behind an alias are not in the shape newsbeam expects; says how to fix it."""


# ISO 639-1 -> Elasticsearch language analyser (module analysis-common, full distribution).
LANGUAGE_ANALYZERS: dict[str, str] = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "nb": "norwegian",
    "nl": "dutch",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
ANALYSIS_MODULE = "analysis-common"
REINDEX_MODULE = "reindex"

# What a query with no field searches (Kibana's free-text KQL/Lucene, query_string).
ARTICLE_DEFAULT_FIELDS = (
    "title",
    "text",
    "search_text",
    "entities.canonical.text",
    "entities.variants.text",
    "entities.aliases",
    "authors.text",
)


def node_modules(es: Elasticsearch) -> frozenset[str]:
    """The modules every node of the cluster has (language analysers need analysis-common)."""
    response = es.nodes.info(metric="modules", filter_path="nodes.*.modules.name")
    per_node = [
        {module["name"] for module in node.get("modules", [])}
        for node in (response.body.get("nodes") or {}).values()
    ]
    return frozenset(set.intersection(*per_node)) if per_node else frozenset()


def article_mapping(modules: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """The articles mapping; with analysis-common, ``title``/``text`` get one sub-field per
    language (``text.nl`` analysed by the ``dutch`` analyser ...) for stemmed search."""
    mapping = load_mapping("articles")
    if ANALYSIS_MODULE in modules:
        for field in ("title", "text"):
            sub_fields = mapping["properties"][field].setdefault("fields", {})
            for language, analyzer in LANGUAGE_ANALYZERS.items():
                sub_fields[language] = {"type": "text", "analyzer": analyzer}
    return mapping


# What a search without a field name (Kibana's search bar, query_string) looks in.
_DEFAULT_FIELDS = {
    "dead_letters": ["message", "origin", "stage", "reason"],
    "alerts": ["snippet", "title", "rule", "entity", "variants"],
}


def default_fields(mapping_name: str, modules: frozenset[str] | set[str]) -> list[str]:
    if mapping_name != "articles":
        return list(_DEFAULT_FIELDS[mapping_name])
    fields = list(ARTICLE_DEFAULT_FIELDS)
    if ANALYSIS_MODULE in modules:
        fields += [f"{f}.{lang}" for f in ("title", "text") for lang in LANGUAGE_ANALYZERS]
    return fields


def index_template(
    alias: str, mapping_name: str, modules: frozenset[str] | set[str]
) -> dict[str, Any]:
    """The composable index template behind ``alias``: versioned indices ``<alias>-vN``."""
    mapping = article_mapping(modules) if mapping_name == "articles" else load_mapping(mapping_name)
    return {
        "index_patterns": [f"{alias}-v*"],
        "template": {
            "settings": {
                "number_of_shards": 1,
                "number_of_replicas": 0,
                "query": {"default_field": default_fields(mapping_name, modules)},
            },
            "mappings": mapping,
        },
        "priority": 100,
        "_meta": {"managed_by": "newsbeam", "mapping": mapping_name},
    }


def put_index_template(es: Elasticsearch, alias: str, mapping_name: str) -> dict[str, Any]:
    """Install (or replace) the template for ``alias``; new versioned indices get it."""
    body = index_template(alias, mapping_name, node_modules(es))
    es.indices.put_index_template(name=alias, **body)
    return body


def indices_behind(es: Elasticsearch, alias: str) -> dict[str, bool]:
    """The indices the alias points at, each with whether it is the write index."""
    if not es.indices.exists_alias(name=alias):
        return {}
    current = es.indices.get_alias(name=alias).body
    return {
        str(index): bool(spec["aliases"][alias].get("is_write_index", len(current) == 1))
        for index, spec in current.items()
    }


def write_index(es: Elasticsearch, alias: str) -> str | None:
    """The index that writes through ``alias`` go to, or ``None`` when there is no alias."""
    writers = [index for index, writes in indices_behind(es, alias).items() if writes]
    if len(writers) > 1:  # Elasticsearch forbids it; guard against a hand-edited cluster
        raise IndexLayoutError(f"alias {alias} has several write indices: {sorted(writers)}.")
    return writers[0] if writers else None


def version_of(index: str, alias: str) -> int:
    prefix = f"{alias}-v"
    if not index.startswith(prefix) or not index[len(prefix) :].isdigit():
        raise IndexLayoutError(
            f"index {index} behind alias {alias} is not named {prefix}<number>; "
            "move its documents into a versioned index with `newsbeam index migrate`."
        )
    return int(index[len(prefix) :])


def ensure_index(es: Elasticsearch, alias: str, mapping_name: str, version: int = 1) -> str:
    """Install the index template for ``alias`` and create its first index if none exists.

    Returns the name of the index the alias writes to. Raises ``IndexLayoutError`` when a
    concrete index already carries the alias's name (something wrote before the alias was
    made, so Elasticsearch auto-created it): ids would then dedup in the wrong index.
    """
    put_index_template(es, alias, mapping_name)
    behind = indices_behind(es, alias)
    if not behind and es.indices.exists(index=alias):
        raise IndexLayoutError(
            f"{alias} is a concrete index, not an alias (written to before `newsbeam` set it "
            f"up). Delete it, or copy it with `newsbeam index migrate --from-index {alias}`."
        )
    current = write_index(es, alias)
    if current is not None:
        return current
    if behind:
        raise IndexLayoutError(
            f"alias {alias} points at {sorted(behind)} but none is the write index; "
            "run `newsbeam index migrate` to write into a new version."
        )
    index = f"{alias}-v{version}"
    try:
        es.indices.create(index=index, aliases={alias: {"is_write_index": True}})
    except BadRequestError as exc:
        # Another worker created it first (workers set up at the same time), or it exists
        # without the alias: either way, point the alias at it.
        if exc.error != "resource_already_exists_exception":
            raise
        es.indices.put_alias(index=index, name=alias, is_write_index=True)
    return index


def ensure_indices(settings: ElasticsearchSettings) -> None:
    """Make sure the articles and dead-letter aliases exist; wait for the node first."""
    es = client(settings)
    try:
        wait_until_ready(es, settings.es_url, settings.startup_timeout_s)
        ensure_index(es, settings.articles_alias, "articles")
        ensure_index(es, settings.dlq_alias, "dead_letters")
    finally:
        es.close()


class Migration(NamedTuple):
    """What ``migrate_index`` did."""

    alias: str
    old_index: str
    new_index: str
    copied: int
    caught_up: int
    old_deleted: bool


def migrate_index(
    es: Elasticsearch,
    alias: str,
    mapping_name: str,
    *,
    delete_old: bool = False,
    from_index: str | None = None,
    recompute: bool = True,
    kb: KnowledgeBase | None = None,
) -> Migration:
    """Copy the alias's write index into ``<alias>-v<N+1>`` built from the current template,
    then swap the alias to it in one atomic call.

    Readers never see two copies of one ``_id``: the old index leaves the alias in the same
    call that adds the new one. Documents the pipeline wrote to the old index while the copy
    ran are copied again after the swap unless the new index already has a newer version.
    With ``recompute`` the derived fields of articles are rebuilt: ``search_text`` with the
    current normalisation, each entity's ``aliases`` from ``kb`` (default: the packaged
    knowledge base, which the pipeline also uses by default). ``from_index`` adopts a
    concrete index that took the alias's name.
    """
    put_index_template(es, alias, mapping_name)
    if from_index is not None:
        old, number = from_index, 0
    else:
        found = write_index(es, alias)
        if found is None:
            raise IndexLayoutError(
                f"alias {alias} does not exist; `newsbeam run` creates it, nothing to migrate."
            )
        old, number = found, version_of(found, alias)
    new = f"{alias}-v{number + 1}"
    while es.indices.exists(index=new):  # a migration that stopped half-way left it behind
        number += 1
        new = f"{alias}-v{number + 1}"
    started = utc_now()
    es.indices.create(index=new)
    transform = None
    if recompute and mapping_name == "articles":
        transform = partial(_recompute_article, kb or load_knowledge_base())
    copied = copy_documents(es, old, new, transform=transform)
    actions: list[dict[str, Any]] = []
    if from_index is not None:
        actions.append({"remove_index": {"index": old}})  # frees the name for the alias
    else:
        actions.append({"remove": {"index": old, "alias": alias}})
    actions.append({"add": {"index": new, "alias": alias, "is_write_index": True}})
    es.indices.update_aliases(actions=actions)
    caught_up = 0
    if from_index is None:
        caught_up = _catch_up(es, old, new, since=started, transform=transform)
        if delete_old:
            es.indices.delete(index=old)
    es.indices.refresh(index=new)
    return Migration(alias, old, new, copied, caught_up, delete_old or from_index is not None)


def copy_documents(
    es: Elasticsearch,
    source: str,
    dest: str,
    *,
    query: dict[str, Any] | None = None,
    transform: Any = None,
) -> int:
    """Copy documents (same ids) from ``source`` to ``dest``: with the server's ``_reindex``
    when the node has the reindex module and nothing is recomputed, else scan + bulk here."""
    es.indices.refresh(index=source)
    if transform is None and REINDEX_MODULE in node_modules(es):
        body: dict[str, Any] = {"index": source}
        if query:
            body["query"] = query
        response = es.reindex(source=body, dest={"index": dest}, wait_for_completion=True)
        return int(response["created"]) + int(response["updated"])
    from elasticsearch import helpers

    def actions() -> Iterator[dict[str, Any]]:
        for hit in helpers.scan(es, index=source, query={"query": query} if query else None):
            document = hit["_source"]
            yield {
                "_index": dest,
                "_id": hit["_id"],
                "_source": transform(document) if transform else document,
            }

    copied, _errors = helpers.bulk(es, actions(), chunk_size=500, raise_on_error=True)
    return copied


def _catch_up(es: Elasticsearch, old: str, new: str, since: str, transform: Any) -> int:
    """Copy what reached ``old`` after the copy began, unless ``new`` holds a newer version."""
    from elasticsearch import helpers

    es.indices.refresh(index=old)
    late = [
        hit
        for hit in helpers.scan(
            es, index=old, query={"query": {"range": {"event.ingested": {"gte": since}}}}
        )
    ]
    if not late:
        return 0
    present = es.mget(index=new, ids=[hit["_id"] for hit in late], source=["event.ingested"])
    newer = {
        doc["_id"]
        for doc, hit in zip(present["docs"], late, strict=True)
        if doc.get("found")
        and str(doc["_source"].get("event", {}).get("ingested", ""))
        >= str(hit["_source"].get("event", {}).get("ingested", ""))
    }
    todo = [
        {
            "_index": new,
            "_id": hit["_id"],
            "_source": transform(hit["_source"]) if transform else hit["_source"],
        }
        for hit in late
        if hit["_id"] not in newer
    ]
    copied, _errors = helpers.bulk(es, todo, raise_on_error=True)
    return copied


def _recompute_article(kb: KnowledgeBase, source: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the derived fields of an indexed article (``search_text`` with today's
    normalisation, each entity's ``aliases`` from today's knowledge base, the per-type
    facets and ``event_time`` that mapping version 4 added)."""
    entities = [
        {
            **e,
            "name": facet_name(e.get("canonical"), str(e.get("name") or "")),
            **({"aliases": entity_aliases(kb, e.get("id"))} if e.get("canonical") else {}),
        }
        for e in source.get("entities") or []
    ]
    names = [e["canonical"] for e in entities if e.get("canonical")]
    received = source.get("@timestamp") or (source.get("event") or {}).get("ingested") or ""
    return {
        **source,
        "entities": entities,
        **facets_from_entities(entities),
        "event_time": event_time(source.get("published"), str(received)) or None,
        "search_text": document_search_text(
            source.get("title"), source.get("text") or "", source.get("language") or "und", names
        ),
    }
