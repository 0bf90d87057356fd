"""Search on the real (core-only) Elasticsearch over the enriched seeds.

Proves: Haftar finds "Haftars" and "Hafter"; Libya finds "Libyen" and "Libië" through
the linked entity, for `newsbeam search` and for Kibana's default (no-field) search;
every query and aggregation of the Kibana saved objects returns the expected seeds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from connectors.elasticsearch import (
    article_source,
    client,
    dead_letter_source,
    ensure_index,
    load_mapping,
)
from connectors.files import read_articles
from connectors.search import (
    SearchRequest,
    resolve_entities,
    search_articles,
    top_entities,
)
from infra.kibana import build
from pipelines.cli import main
from pipelines.settings import Settings
from transforms.chain import enrich
from transforms.document import DeadLetter, Document
from transforms.entities import load_knowledge_base

pytestmark = pytest.mark.integration

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
DA, NL1, NL2, EN_MAIL, EN_CANARY = "000", "001", "002", "003", "004"
ALL = {DA, NL1, NL2, EN_MAIL, EN_CANARY}


@pytest.fixture(scope="module")
def seeded(stack_settings: Settings) -> Iterator[tuple[Settings, Elasticsearch]]:
    """The five seeds, enriched by the transform chain, in fresh aliases of their own."""
    settings = stack_settings.replace(index_prefix=f"t-search-{uuid.uuid4().hex[:8]}")
    es = client(settings)
    ensure_index(es, settings.articles_alias, "articles")
    ensure_index(es, settings.dlq_alias, "dead_letters")
    operations: list[dict[str, Any]] = []
    for item in read_articles([SEEDS], settings.max_document_bytes):
        assert isinstance(item, Document)
        doc = enrich(item)
        assert isinstance(doc, Document), doc
        operations += [{"index": {"_index": settings.articles_alias, "_id": doc.id}}]
        operations += [article_source(doc, load_knowledge_base())]
    letter = DeadLetter(stage="read", reason="empty", message="the file is empty", origin="x.txt")
    operations += [{"index": {"_index": settings.dlq_alias, "_id": "dl1"}}]
    operations += [dead_letter_source(letter)]
    # The alerts index belongs to the alerting code; an index with its mapping stands in.
    es.indices.create(index=settings.alerts_alias, mappings=load_mapping("alerts"))
    operations += [{"index": {"_index": settings.alerts_alias, "_id": "a1"}}]
    operations += [
        {
            "@timestamp": "2019-04-05T10:00:00Z",
            "rule": "haftar",
            "entity": "Khalifa Haftar",
            "title": "Haftar orders march on Tripoli",
            "outlet": "Daily Mail",
            "language": "en",
        }
    ]
    response = es.bulk(operations=operations, refresh=True)
    assert not response["errors"], response
    yield settings, es
    for index in (
        f"{settings.articles_alias}-v1",
        f"{settings.dlq_alias}-v1",
        settings.alerts_alias,
    ):
        es.indices.delete(index=index, ignore_unavailable=True)
    es.close()


def _seed_numbers(origins: list[str | None]) -> set[str]:
    return {Path(o or "").name[:3] for o in origins}


def _search(seeded: tuple[Settings, Elasticsearch], query: str, **options: Any) -> set[str]:
    settings, es = seeded
    kb = load_knowledge_base()
    request = SearchRequest(
        query=query, resolved=tuple(resolve_entities(query, kb)), size=20, **options
    )
    return _seed_numbers(
        [hit.origin for hit in search_articles(es, settings.articles_alias, request)]
    )


def _query_string(seeded: tuple[Settings, Elasticsearch], index: str, query: str) -> set[str]:
    """What Kibana's Lucene search bar sends: query_string over the index's default fields."""
    _settings, es = seeded
    response = es.search(index=index, query={"query_string": {"query": query}}, size=50)
    return {
        Path(hit["_source"]["origin"]).name[:3] if "text" in hit["_source"] else hit["_id"]
        for hit in response["hits"]["hits"]
    }


def test_the_seeds_are_what_these_tests_assume(seeded: tuple[Settings, Elasticsearch]) -> None:
    settings, es = seeded
    hits = es.search(index=settings.articles_alias, size=10)["hits"]["hits"]
    words = {Path(h["_source"]["origin"]).name[:3]: h["_source"]["text"] for h in hits}
    assert "Haftars" in words[NL1]
    assert "Haftars" in words[NL2]
    assert "Hafter" in words[EN_CANARY]
    assert "Haftar" not in words[EN_CANARY]
    assert "Libyen" in words[DA]
    assert "Libië" in words[NL1]


@pytest.mark.parametrize("query", ["Haftar", "Hafter", "Haftars", "haftar"])
def test_every_spelling_of_haftar_finds_every_haftar_article(
    seeded: tuple[Settings, Elasticsearch], query: str
) -> None:
    assert _search(seeded, query) == ALL


@pytest.mark.parametrize("query", ["Libya", "Libyen", "Libië", "Libie"])
def test_every_spelling_of_libya_finds_libyen_and_libie(
    seeded: tuple[Settings, Elasticsearch], query: str
) -> None:
    assert {DA, NL1, NL2} <= _search(seeded, query)


def test_stemmed_words_match_without_any_entity(seeded: tuple[Settings, Elasticsearch]) -> None:
    # No seed has "escalates"; one has "escalation", another "escalating": one stem.
    assert _search(seeded, "escalates") == {EN_MAIL, EN_CANARY}
    assert _search(seeded, "toppled") == {EN_CANARY}
    assert _search(seeded, "zzyzx") == set()


def test_filters_narrow_without_widening(seeded: tuple[Settings, Elasticsearch]) -> None:
    assert _search(seeded, "Haftar", languages=("nl",)) == {NL1, NL2}
    assert _search(seeded, "Haftar", sources=("The Canary",)) == {EN_CANARY}
    assert _search(seeded, "", entities=("Fayez al-Sarraj",)) == {NL1, NL2, EN_MAIL}
    # Published 2019-04 (the Dutch seeds) or ingested just now (the rest).
    assert _search(seeded, "Haftar", since="2019-04-01") == ALL
    assert _search(seeded, "Haftar", since="2100-01-01") == set()


def test_the_snippet_marks_the_matched_spelling(seeded: tuple[Settings, Elasticsearch]) -> None:
    settings, es = seeded
    request = SearchRequest(query="Haftar", resolved=("Khalifa Haftar",), size=10)
    hits = {
        Path(h.origin or "").name[:3]: h
        for h in search_articles(es, settings.articles_alias, request)
    }
    assert "\x02Haftar\x03" in hits[EN_MAIL].snippet
    # The Canary wrote "Hafter": no word matches, so the snippet is built around the mention.
    assert (
        "\x02Hafter\x03" in hits[EN_CANARY].snippet
        or "\x02Khalifa Hafter\x03" in hits[EN_CANARY].snippet
    )


def test_kibana_default_search_finds_entities_through_canonical_names(
    seeded: tuple[Settings, Elasticsearch],
) -> None:
    settings, _es = seeded
    assert _query_string(seeded, settings.articles_alias, "Haftar") == ALL
    assert {DA, NL1, NL2} <= _query_string(seeded, settings.articles_alias, "Libya")
    # Any spelling the knowledge base knows finds every article linked to the entity, also
    # those that never wrote it: only the Canary wrote "Hafter", and no seed wrote "Khadafi".
    assert _query_string(seeded, settings.articles_alias, "Hafter") == ALL
    gaddafi = _query_string(seeded, settings.articles_alias, 'entities.canonical:"Muammar Gaddafi"')
    assert len(gaddafi) == 4
    assert _query_string(seeded, settings.articles_alias, "Khadafi") == gaddafi


def test_top_entities_counts_articles(seeded: tuple[Settings, Elasticsearch]) -> None:
    settings, es = seeded
    top = top_entities(es, settings.articles_alias, size=5)
    assert top[0].name == "Khalifa Haftar"
    assert top[0].articles == 5
    people = top_entities(es, settings.articles_alias, only=["Muammar Gaddafi"])
    assert [(c.name, c.articles) for c in people] == [("Muammar Gaddafi", 4)]


def test_the_search_command_prints_hits_and_json(
    seeded: tuple[Settings, Elasticsearch], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _es = seeded
    flags = ["--es-url", settings.es_url, "--index-prefix", settings.index_prefix]
    assert main([*flags, "search", "Hafter", "--lang", "en", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert _seed_numbers([line["origin"] for line in lines]) == {EN_MAIL, EN_CANARY}
    assert {line["outlet"] for line in lines} == {"Daily Mail", "The Canary"}
    assert main([*flags, "search", "Libië", "--since", "2019-01-01"]) == 0
    out = capsys.readouterr().out
    assert "entities: Libya" in out
    assert "**Libië**" in out
    assert main([*flags, "entities", "top", "--size", "3"]) == 0
    assert "Khalifa Haftar" in capsys.readouterr().out.splitlines()[1]


# --- the Kibana saved objects, run against Elasticsearch -----------------------------------


def _objects() -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in build.saved_objects()}


def _alias_for(settings: Settings, view: str) -> str:
    return {
        build.ARTICLES_VIEW: settings.articles_alias,
        build.DEAD_LETTERS_VIEW: settings.dlq_alias,
        build.ALERTS_VIEW: settings.alerts_alias,
    }[view]


def _query_of(item: dict[str, Any]) -> tuple[str, str]:
    source = json.loads(item["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    refs = {r["name"]: r["id"] for r in item["references"]}
    return refs[source["indexRefName"]], source["query"]["query"]


@pytest.mark.parametrize(
    ("search_id", "expected"),
    [
        ("newsbeam-haftar-mentions", ALL),
        ("newsbeam-by-language", ALL),
        ("newsbeam-search-dead-letters", {"dl1"}),
        ("newsbeam-search-alerts", {"a1"}),
    ],
)
def test_each_saved_search_returns_its_seeds(
    seeded: tuple[Settings, Elasticsearch], search_id: str, expected: set[str]
) -> None:
    settings, _es = seeded
    view, query = _query_of(_objects()[search_id])
    assert _query_string(seeded, _alias_for(settings, view), query) == expected


def _aggregation(vis_state: dict[str, Any]) -> dict[str, Any]:
    """A visualisation's bucket aggregations, nested in order, as Kibana builds them."""
    aggs: dict[str, Any] = {}
    inner = aggs
    for agg in vis_state["aggs"]:
        params = agg["params"]
        if agg["type"] == "count":
            continue
        if agg["type"] == "date_histogram":
            body: dict[str, Any] = {
                "date_histogram": {
                    "field": params["field"],
                    "calendar_interval": {"M": "month", "w": "week", "d": "day"}[
                        params["interval"]
                    ],
                    "min_doc_count": params.get("min_doc_count", 1),
                }
            }
        else:
            terms = {"field": params["field"], "size": params["size"]}
            if params.get("exclude"):
                terms["exclude"] = params["exclude"]
            body = {"terms": terms}
        inner[agg["id"]] = body
        inner = body.setdefault("aggs", {})
    return aggs


def _run_visualisation(seeded: tuple[Settings, Elasticsearch], vis_id: str) -> dict[str, Any]:
    settings, es = seeded
    item = _objects()[vis_id]
    view, query = _query_of(item)
    vis_state = json.loads(item["attributes"]["visState"])
    response = es.search(
        index=_alias_for(settings, view),
        size=0,
        query={"query_string": {"query": query}},
        aggs=_aggregation(vis_state),
    )
    aggregations: dict[str, Any] = response["aggregations"]
    return aggregations


def test_haftar_over_time_by_language(seeded: tuple[Settings, Elasticsearch]) -> None:
    result = _run_visualisation(seeded, "newsbeam-haftar-by-language")
    months = {b["key_as_string"][:7]: b for b in result["2"]["buckets"]}
    assert list(months) == ["2019-04"]  # only the Dutch seeds carry a publication date
    assert {b["key"]: b["doc_count"] for b in months["2019-04"]["3"]["buckets"]} == {"nl": 2}


def test_haftar_over_time_by_outlet_runs(seeded: tuple[Settings, Elasticsearch]) -> None:
    result = _run_visualisation(seeded, "newsbeam-haftar-by-outlet")
    assert sum(b["doc_count"] for b in result["2"]["buckets"]) == 2


def test_top_entities_visualisation(seeded: tuple[Settings, Elasticsearch]) -> None:
    buckets = _run_visualisation(seeded, "newsbeam-top-entities")["2"]["buckets"]
    counts = {b["key"]: b["doc_count"] for b in buckets}
    assert counts["Khalifa Haftar"] == 5
    assert counts["Libya"] == 5


def test_co_mentions_with_haftar_leave_haftar_out(seeded: tuple[Settings, Elasticsearch]) -> None:
    buckets = _run_visualisation(seeded, "newsbeam-haftar-co-mentions")["2"]["buckets"]
    counts = {b["key"]: b["doc_count"] for b in buckets}
    assert "Khalifa Haftar" not in counts
    assert counts["Libya"] == 5
    assert counts["Tripoli"] == 5
