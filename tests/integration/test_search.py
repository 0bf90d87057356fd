"""Search on the real (core-only) Elasticsearch over the enriched seeds.

Proves: Haftar finds "Haftars" and "Hafter"; Libya finds "Libyen" and "Libië" through
the linked entity, for `newsbeam search` and for Kibana's default (no-field) search.
The Kibana dashboard's panels run in tests/integration/test_dashboard.py.
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
    ensure_index,
)
from connectors.files import read_articles
from connectors.search import (
    SearchRequest,
    resolve_entities,
    search_articles,
    top_entities,
)
from pipelines.cli import main
from pipelines.settings import Settings
from transforms.chain import enrich
from transforms.document import Document
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
    operations: list[dict[str, Any]] = []
    for item in read_articles([SEEDS], settings.max_document_bytes):
        assert isinstance(item, Document)
        doc = enrich(item)
        assert isinstance(doc, Document), doc
        operations += [{"index": {"_index": settings.articles_alias, "_id": doc.id}}]
        operations += [article_source(doc, load_knowledge_base())]
    response = es.bulk(operations=operations, refresh=True)
    assert not response["errors"], response
    yield settings, es
    es.indices.delete(index=f"{settings.articles_alias}-v1", ignore_unavailable=True)
    es.options(ignore_status=404).indices.delete_index_template(name=settings.articles_alias)
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


def test_a_match_that_starts_the_snippet_keeps_its_opening_marker(
    seeded: tuple[Settings, Elasticsearch], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, es = seeded
    request = SearchRequest(query="Haftar beordrede", languages=("da",), size=5)
    (hit,) = search_articles(es, settings.articles_alias, request)
    # The passage Elasticsearch picks begins with the match; it used to lose its "\x02".
    assert hit.snippet.startswith("\x02Haftar\x03 \x02beordrede\x03")
    assert hit.snippet.count("\x02") == hit.snippet.count("\x03")
    flags = ["--es-url", settings.es_url, "--index-prefix", settings.index_prefix]
    assert main([*flags, "search", "Haftar beordrede", "--lang", "da"]) == 0
    assert "   **Haftar** **beordrede** onsdag" in capsys.readouterr().out


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


def test_since_follows_event_time_not_a_wrong_publication_date(test_settings: Settings) -> None:
    """A page dated in 2100 was received now: `--since` places it by arrival, as the
    dashboard does, so it is neither "published after 2099" nor missing from today."""
    es = client(test_settings)
    alias = test_settings.articles_alias
    try:
        ensure_index(es, alias, "articles")
        doc = Document(id="future", origin="future.txt", content="x")
        doc.text, doc.language, doc.published = "Haftar in Tripoli.", "en", "2100-01-01"
        source = article_source(doc, load_knowledge_base())
        assert source["event_time"] == doc.received_at
        es.index(index=alias, id=doc.id, document=source, refresh=True)

        def found(since: str) -> bool:
            hits = search_articles(es, alias, SearchRequest(query="Haftar", since=since))
            return [hit.id for hit in hits] == ["future"]

        assert not found("2099-01-01")
        assert found("now-1d")
    finally:
        es.indices.delete(index=f"{alias}-v1", ignore_unavailable=True)
        es.options(ignore_status=404).indices.delete_index_template(name=alias)
        es.close()
