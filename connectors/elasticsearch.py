"""Elasticsearch: the client, index templates behind aliases, and the Beam sink.

Indices are versioned (``news-articles-v1``) behind an alias (``news-articles``)
that every reader and writer uses, so a mapping change is a reindex and an alias
swap. Documents are written with their own id, so a re-run overwrites.
Everything here works on the core-only node the local stack runs.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import partial
from importlib import resources
from typing import Any, NamedTuple

import orjson
from elasticsearch import ApiError, BadRequestError, Elasticsearch, TransportError
from elasticsearch.serializer import (
    CompatibilityModeJsonSerializer,
    CompatibilityModeNdjsonSerializer,
    JsonSerializer,
    NdjsonSerializer,
)

from connectors.redaction import redact_url, server_answer
from pipelines.settings import Settings
from transforms.document import DeadLetter, Document, utc_now
from transforms.entities import KnowledgeBase, load_knowledge_base
from transforms.facets import entity_facets, event_time, facet_name, facets_from_entities
from transforms.search_terms import document_search_text
from transforms.stories import story_bands

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 502, 503, 504}
# Of a bulk answer only each item's status and error are read: the rest was most of its size.
BULK_ANSWER = ["items.*.status", "items.*.error"]
MAX_BACKOFF_S = 30.0


class ElasticsearchUnavailableError(RuntimeError):
    """Elasticsearch did not answer; the message says where and what to do."""


class _Orjson:
    """JSON bodies through orjson: with the standard library, encoding bulk requests and
    decoding search and bulk answers took a tenth of the pipeline's CPU. A value orjson
    refuses (a lone surrogate from a bad page, a key that is not a string) goes through
    the standard library as before, so it fails or passes exactly as it did."""

    def json_dumps(self, data: Any) -> bytes:
        try:
            return orjson.dumps(data, default=self.default)  # type: ignore[attr-defined]
        except orjson.JSONEncodeError:
            return super().json_dumps(data)  # type: ignore[misc, no-any-return]

    def json_loads(self, data: bytes) -> Any:
        return orjson.loads(data)


def _serializers() -> dict[str, Any]:
    """The client's serializers, by media type, with orjson behind every JSON one."""
    serializers = {}
    for base in (
        JsonSerializer,
        NdjsonSerializer,
        CompatibilityModeJsonSerializer,
        CompatibilityModeNdjsonSerializer,
    ):
        serializers[base.mimetype] = type(f"Orjson{base.__name__}", (_Orjson, base), {})()
    return serializers


def client(settings: Settings) -> Elasticsearch:
    """A client for ``settings.es_url`` with the configured credentials and CA file."""
    options: dict[str, Any] = {"request_timeout": 30, "serializers": _serializers()}
    if settings.es_username:
        options["basic_auth"] = (settings.es_username, settings.es_password or "")
    if settings.es_api_key:
        options["api_key"] = settings.es_api_key
    if settings.es_ca_file:
        options["ca_certs"] = settings.es_ca_file
    return Elasticsearch(settings.es_url, **options)


class ElasticsearchAccessError(RuntimeError):
    """Elasticsearch answered but refused us (credentials, privileges, TLS); says what to fix."""


def _credential_named(settings: Settings) -> str:
    """Which credential was used, by setting name: never its value."""
    if settings.es_api_key:
        return "the API key NEWSBEAM_ES_API_KEY"
    if settings.es_username and "es_username" in settings.resolved_credentials.split():
        return (
            f"user {settings.es_username!r} (the local stack's {settings.es_credential!r} "
            "credential, NEWSBEAM_ES_CREDENTIAL)"
        )
    if settings.es_username:
        return f"user {settings.es_username!r} (NEWSBEAM_ES_USERNAME / NEWSBEAM_ES_PASSWORD)"
    return (
        "no credentials (set NEWSBEAM_ES_USERNAME and NEWSBEAM_ES_PASSWORD, or NEWSBEAM_ES_API_KEY)"
    )


def _reason(exc: ApiError) -> str:
    """The error type and reason Elasticsearch gave, cut short and redacted."""
    body = exc.body if isinstance(exc.body, dict) else {}
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    reason = str(error.get("reason") or exc.error or "")
    if reason in ("", "None"):
        return "no reason given"
    return server_answer(reason, limit=200)


def describe_error(exc: BaseException, settings: Settings) -> str | None:
    """One sentence for a failure talking to Elasticsearch, or ``None`` when ``exc`` is
    not one. No credential or server-echoed header ever reaches the sentence."""
    from elasticsearch import AuthenticationException, AuthorizationException
    from elasticsearch import ConnectionError as EsConnectionError

    url = redact_url(settings.es_url)
    if isinstance(exc, ElasticsearchAccessError | ElasticsearchUnavailableError):
        return str(exc)
    if isinstance(exc, AuthenticationException):
        return (
            f"Elasticsearch at {url} refused {_credential_named(settings)} "
            f"(401: {_reason(exc)}); check the credentials."
        )
    if isinstance(exc, AuthorizationException):
        return (
            f"Elasticsearch at {url} accepted {_credential_named(settings)} but refused the "
            f"request (403: {_reason(exc)}); use a credential with the privileges this "
            "command needs (docs/operations.md, Credentials)."
        )
    if isinstance(exc, EsConnectionError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
            ca = settings.es_ca_file or "the system CA store (set NEWSBEAM_ES_CA_FILE)"
            return (
                f"Elasticsearch at {url} presented a TLS certificate that {ca} does not "
                "verify; point NEWSBEAM_ES_CA_FILE at the CA that signed it."
            )
        return (
            f"Elasticsearch at {url} did not answer ({exc.__class__.__name__}); start it "
            "with `newsbeam stack up` or set NEWSBEAM_ES_URL."
        )
    if isinstance(exc, ApiError):
        return f"Elasticsearch at {url} answered HTTP {exc.status_code}: {_reason(exc)}."
    if isinstance(exc, TransportError):
        return (
            f"Elasticsearch at {url} did not answer ({exc.__class__.__name__}); start it "
            "with `newsbeam stack up` or set NEWSBEAM_ES_URL."
        )
    return None


def check_access(settings: Settings) -> None:
    """Fail fast, with a sentence, when Elasticsearch refuses the credentials or the CA file.

    An unreachable node is not an error here: ``wait_until_ready`` waits for it. The
    message never carries the password or API key, only which setting to look at.
    """
    from elasticsearch import AuthenticationException, AuthorizationException
    from elasticsearch import ConnectionError as EsConnectionError

    es = client(settings)
    try:
        es.options(request_timeout=10).cluster.health()
    except (AuthenticationException, AuthorizationException) as exc:
        raise ElasticsearchAccessError(describe_error(exc, settings)) from None
    except EsConnectionError as exc:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
            raise ElasticsearchAccessError(describe_error(exc, settings)) from None
    except (TransportError, ApiError):
        pass  # not answering (yet): wait_until_ready waits and says so
    finally:
        es.close()


def wait_until_ready(es: Elasticsearch, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            es.cluster.health(wait_for_status="yellow", timeout="5s")
            return
        except (TransportError, ApiError) as exc:
            if time.monotonic() > deadline:
                raise ElasticsearchUnavailableError(
                    f"Elasticsearch at {redact_url(url)} did not answer in {timeout_s:.0f} s "
                    f"({exc.__class__.__name__}); start it with `newsbeam stack up` "
                    "or set NEWSBEAM_ES_URL."
                ) from exc
            time.sleep(1)


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


def ensure_indices(settings: Settings) -> None:
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


def _aliases(kb: KnowledgeBase, entity_id: str | None) -> str | None:
    return kb.search_words(entity_id) if entity_id and entity_id in kb.entities else None


def _recompute_article(kb: KnowledgeBase, source: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the derived fields of an indexed article (``search_text`` with today's
    normalisation, each entity's ``aliases`` from today's knowledge base, the per-type
    facets and ``event_time`` that mapping version 4 added)."""
    entities = [
        {
            **e,
            "name": facet_name(e.get("canonical"), str(e.get("name") or "")),
            **({"aliases": _aliases(kb, e.get("id"))} if e.get("canonical") else {}),
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


ARTICLES_DATASET = "newsbeam.articles"
DEAD_LETTERS_DATASET = "newsbeam.dead_letters"


def article_source(doc: Document, kb: KnowledgeBase) -> dict[str, Any]:
    """The indexed form of an enriched document (fields documented in docs/index.md).

    ``kb`` is the knowledge base the entities were linked with: each linked entity carries
    the words of all its known spellings (``entities.aliases``), so Kibana's free-text search
    for any of them finds every article that names the entity.
    """
    entities: dict[str, dict[str, Any]] = {}
    for mention in doc.entities:
        key = facet_name(mention.canonical, mention.text)
        if not key:  # a mention of punctuation only names nothing
            continue
        entry = entities.get(key)
        if entry is None:
            entry = entities[key] = {
                "name": key,
                "canonical": mention.canonical,
                "id": mention.entity_id,
                "type": mention.label,
                "variants": [],
                "aliases": _aliases(kb, mention.entity_id),
                "count": 0,
            }
        entry["count"] += 1
        if mention.text not in entry["variants"]:
            entry["variants"].append(mention.text)
    linked = [e["canonical"] for e in entities.values() if e["canonical"]]
    return {
        "@timestamp": doc.received_at,
        "event_time": event_time(doc.published, doc.received_at),
        "event": {"ingested": utc_now(), "dataset": ARTICLES_DATASET},
        "id": doc.id,
        "title": doc.title,
        "text": doc.text,
        "search_text": document_search_text(doc.title, doc.text, doc.language, linked),
        "language": doc.language,
        "language_score": doc.language_score,
        "source": {"name": doc.source or doc.hints.get("source")},
        "authors": doc.authors,
        "published": doc.published,
        "url": doc.url,
        "origin": doc.origin,
        "notes": doc.notes,
        "extraction": {"method": doc.extraction_method},
        "entities": list(entities.values()),
        **entity_facets(doc.entities),
        "mentions": [
            {"text": m.text, "start": m.start, "end": m.end, "canonical": m.canonical}
            for m in doc.entities
        ],
        "story": {"id": doc.story_id or doc.id},
        "fingerprint": (
            {
                "content_hash": doc.fingerprint.content_hash,
                "simhash": doc.fingerprint.simhash,
                "bands": story_bands(doc.fingerprint.simhash),
            }
            if doc.fingerprint
            else None
        ),
        "boilerplate": [{"kind": s.kind, "text": s.text} for s in doc.boilerplate],
    }


def dead_letter_source(letter: DeadLetter) -> dict[str, Any]:
    """The indexed form of a dead letter: ``at`` becomes ``@timestamp``."""
    source = letter.to_dict()
    source["@timestamp"] = source.pop("at")
    source["event"] = {"ingested": utc_now(), "dataset": DEAD_LETTERS_DATASET}
    return source


class IndexRequest(NamedTuple):
    """One document to write: its id, its source, and what to acknowledge when it is in."""

    doc_id: str
    source: dict[str, Any]
    ack: Any  # e.g. a KafkaPosition; emitted on the main output once indexed


class BulkWriter:
    """Bulk writes that never lose a request: each one ends written or refused for good.

    Transport failures and retryable item statuses (429, 5xx) are retried with
    capped exponential backoff until Elasticsearch answers, so an outage pauses
    the caller instead of losing documents. Items Elasticsearch refuses for good
    (mapping errors ...) come back with a dead letter saying why.
    """

    def __init__(self, settings: Settings, es: Elasticsearch) -> None:
        self._settings = settings
        self._es = es

    def write(
        self, alias: str, requests: Sequence[IndexRequest]
    ) -> tuple[list[IndexRequest], list[tuple[IndexRequest, DeadLetter]]]:
        """Index ``requests`` into ``alias``; return (written, refused with their dead letter)."""
        from pipelines import observability

        written: list[IndexRequest] = []
        refused: list[tuple[IndexRequest, DeadLetter]] = []
        pending = list(requests)
        attempt = 0
        while pending:
            operations: list[dict[str, Any]] = []
            for request in pending:
                operations.append({"index": {"_index": alias, "_id": request.doc_id}})
                operations.append(request.source)
            started = time.monotonic()
            try:
                response = self._es.bulk(operations=operations, filter_path=BULK_ANSWER)
            except (TransportError, ApiError) as exc:
                observability.BULK_SECONDS.labels(alias, "failed").observe(
                    time.monotonic() - started
                )
                status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
                if isinstance(exc, ApiError) and status not in RETRYABLE_STATUS:
                    raise
                attempt += 1
                self._back_off(alias, attempt, f"bulk request failed: {exc.__class__.__name__}")
                continue
            observability.BULK_SECONDS.labels(alias, "answered").observe(time.monotonic() - started)
            observability.HEALTH.resolved(_health_key(alias))
            retry: list[IndexRequest] = []
            answered = len(written)
            for request, item in zip(pending, response["items"], strict=True):
                result = item["index"]
                status = result.get("status", 500)
                if status < 300:
                    written.append(request)
                elif status in RETRYABLE_STATUS:
                    retry.append(request)
                else:
                    error = result.get("error", {})
                    letter = DeadLetter(
                        stage="index",
                        reason=str(error.get("type", f"http_{status}")),
                        message=str(error.get("reason", "Elasticsearch refused it")),
                        origin=str(request.source.get("origin", "")),
                        document_id=request.doc_id,
                    )
                    log.warning(
                        "Elasticsearch refused %s for good: %s",
                        request.doc_id,
                        letter.reason,
                        extra={"document_id": request.doc_id, "stage": "index"},
                    )
                    refused.append((request, letter))
            self._count_written(alias, written[answered:])
            if retry:
                attempt += 1
                self._back_off(alias, attempt, f"{len(retry)} items were refused for now (429/5xx)")
            pending = retry
        return written, refused

    def _count_written(self, alias: str, requests: Sequence[IndexRequest]) -> None:
        from pipelines import observability

        if alias == self._settings.articles_alias:
            # Per outlet, not per article: a metric update takes a lock.
            outlets = Counter((r.source.get("source") or {}).get("name") for r in requests)
            for outlet, count in outlets.items():
                observability.count_indexed(outlet, count)
        elif alias == self._settings.dlq_alias:
            for request in requests:
                source = request.source
                hints = (source.get("document") or {}).get("hints") or {}
                observability.count_dead_letter(
                    str(source.get("stage", "")), str(source.get("reason", "")), hints.get("source")
                )

    def _back_off(self, alias: str, attempt: int, why: str) -> None:
        from pipelines import observability

        delay = min(MAX_BACKOFF_S, 0.5 * 2 ** min(attempt, 10))
        kind = "request_failed" if why.startswith("bulk request failed") else "items_refused"
        observability.BULK_RETRIES.labels(alias, kind).inc()
        observability.HEALTH.problem(
            _health_key(alias),
            f"Elasticsearch at {redact_url(self._settings.es_url)} has refused bulk writes to "
            f"{alias} "
            f"for {{age}} s ({why}); the pipeline is waiting and retrying, nothing is lost.",
        )
        log.warning(
            "Elasticsearch at %s: %s; retrying in %.1f s (attempt %d)",
            redact_url(self._settings.es_url),
            why,
            delay,
            attempt,
        )
        time.sleep(delay)


def _health_key(alias: str) -> str:
    return f"elasticsearch:{alias}"
