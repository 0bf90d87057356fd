"""The versioned index layout on the real Elasticsearch: template, alias, migration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from connectors.elasticsearch import (
    IndexLayoutError,
    article_source,
    client,
    ensure_index,
    indices_behind,
    migrate_index,
)
from pipelines.cli import main
from pipelines.settings import Settings
from transforms.document import Document, Mention
from transforms.entities import load_knowledge_base

pytestmark = pytest.mark.integration


@pytest.fixture
def es(test_settings: Settings) -> Iterator[Elasticsearch]:
    es = client(test_settings)
    yield es
    for number in range(1, 5):
        es.indices.delete(
            index=f"{test_settings.articles_alias}-v{number}", ignore_unavailable=True
        )
    es.indices.delete(index=test_settings.articles_alias, ignore_unavailable=True)
    es.options(ignore_status=404).indices.delete_index_template(name=test_settings.articles_alias)
    es.close()


def _article(number: int) -> Document:
    doc = Document(id=f"doc-{number}", origin=f"seed-{number}.txt", content="x")
    doc.text = f"Haftars troepen rukken op, bericht {number}."
    doc.language = "nl"
    doc.entities = [
        Mention("Haftars", "PER", 0, 7, canonical="Khalifa Haftar", entity_id="khalifa-haftar")
    ]
    return doc


def _index(es: Elasticsearch, alias: str, docs: list[Document]) -> None:
    for doc in docs:
        es.index(index=alias, id=doc.id, document=article_source(doc, load_knowledge_base()))
    es.indices.refresh(index=alias)


def test_ensure_index_creates_v1_behind_the_alias_once(
    es: Elasticsearch, test_settings: Settings
) -> None:
    alias = test_settings.articles_alias
    assert ensure_index(es, alias, "articles") == f"{alias}-v1"
    assert ensure_index(es, alias, "articles") == f"{alias}-v1"
    assert indices_behind(es, alias) == {f"{alias}-v1": True}
    settings = es.indices.get_settings(index=f"{alias}-v1")[f"{alias}-v1"]["settings"]
    assert "search_text" in settings["index"]["query"]["default_field"]
    mapping = es.indices.get_mapping(index=alias)[f"{alias}-v1"]["mappings"]
    assert mapping["properties"]["entities"]["properties"]["canonical"]["fields"]["text"]


def test_ensure_index_refuses_a_concrete_index_with_the_alias_name(
    es: Elasticsearch, test_settings: Settings
) -> None:
    alias = test_settings.articles_alias
    es.index(index=alias, id="early", document={"title": "written before set-up"})
    with pytest.raises(IndexLayoutError, match="--from-index"):
        ensure_index(es, alias, "articles")


def test_migrate_copies_swaps_atomically_and_recomputes(
    es: Elasticsearch, test_settings: Settings
) -> None:
    alias = test_settings.articles_alias
    ensure_index(es, alias, "articles")
    _index(es, alias, [_article(n) for n in range(3)])
    # An older normaliser left a stale search_text, an older mapping no entity aliases;
    # migration rebuilds both.
    entities = es.get(index=alias, id="doc-0")["_source"]["entities"]
    stale = [{k: v for k, v in e.items() if k != "aliases"} for e in entities]
    es.update(index=alias, id="doc-0", doc={"search_text": "stale", "entities": stale})
    es.indices.refresh(index=alias)

    done = migrate_index(es, alias, "articles")

    assert (done.old_index, done.new_index, done.copied) == (f"{alias}-v1", f"{alias}-v2", 3)
    assert indices_behind(es, alias) == {f"{alias}-v2": True}  # the old one left the alias
    assert es.indices.exists(index=f"{alias}-v1")  # kept by default
    assert es.count(index=alias)["count"] == 3  # no id is visible twice
    source = es.get(index=alias, id="doc-0")["_source"]
    assert "haftar" in source["search_text"].split()
    assert "Hafter" in source["entities"][0]["aliases"].split()
    # New writes go to v2 and overwrite by id there.
    _index(es, alias, [_article(0), _article(9)])
    assert es.count(index=alias)["count"] == 4
    assert es.count(index=f"{alias}-v2")["count"] == 4

    again = migrate_index(es, alias, "articles", delete_old=True)
    assert again.new_index == f"{alias}-v3"
    assert not es.indices.exists(index=f"{alias}-v2")
    assert es.count(index=alias)["count"] == 4


def test_migrate_adopts_a_concrete_index_that_took_the_alias_name(
    es: Elasticsearch, test_settings: Settings
) -> None:
    alias = test_settings.articles_alias
    es.index(
        index=alias,
        id="early",
        document=article_source(_article(1), load_knowledge_base()),
        refresh=True,
    )
    done = migrate_index(es, alias, "articles", from_index=alias)
    assert done.new_index == f"{alias}-v1"
    assert indices_behind(es, alias) == {f"{alias}-v1": True}
    assert es.get(index=alias, id="early")["found"]


def test_the_migrate_command(
    es: Elasticsearch, test_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    alias = test_settings.articles_alias
    ensure_index(es, alias, "articles")
    _index(es, alias, [_article(1)])
    flags = ["--es-url", test_settings.es_url, "--index-prefix", test_settings.index_prefix]
    assert main([*flags, "index", "migrate", "articles", "--delete-old"]) == 0
    assert f"{alias}-v1 -> {alias}-v2; copied 1" in capsys.readouterr().out
    assert list(indices_behind(es, alias)) == [f"{alias}-v2"]
    assert not es.indices.exists(index=f"{alias}-v1")


def test_workers_setting_up_at_once_share_one_write_index(
    es: Elasticsearch, test_settings: Settings
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    alias = test_settings.articles_alias
    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(lambda _: ensure_index(es, alias, "articles"), range(4)))
    assert created == [f"{alias}-v1"] * 4
    assert indices_behind(es, alias) == {f"{alias}-v1": True}


OLD_MAPPING = Path(__file__).resolve().parents[1] / "data" / "articles_mapping_v3.json"


def test_migrate_carries_version_3_articles_into_the_facets_of_version_4(
    es: Elasticsearch, test_settings: Settings
) -> None:
    """Articles written under mapping version 3 (no facets, no event_time) behind the alias:
    `newsbeam index migrate` moves every one into v2 with the new fields filled in."""
    alias = test_settings.articles_alias
    old_mapping = json.loads(OLD_MAPPING.read_text("utf-8"))
    assert old_mapping["_meta"]["mapping_version"] == 3
    es.indices.create(
        index=f"{alias}-v1", mappings=old_mapping, aliases={alias: {"is_write_index": True}}
    )
    kb = load_knowledge_base()
    for number in range(5):
        doc = _article(number)
        doc.published = "2019-04" if number % 2 else None
        doc.entities.append(Mention("Tripoli", "LOC", 30, 37, canonical="Tripoli"))
        source = article_source(doc, kb)
        for field in ("people", "organisations", "places", "other", "event_time"):
            del source[field]  # what a version 3 writer wrote
        es.index(index=alias, id=doc.id, document=source)
    es.indices.refresh(index=alias)
    assert (
        "people" not in es.indices.get_mapping(index=alias)[f"{alias}-v1"]["mappings"]["properties"]
    )
    flags = ["--es-url", test_settings.es_url, "--index-prefix", test_settings.index_prefix]

    assert main([*flags, "index", "migrate", "articles"]) == 0

    assert indices_behind(es, alias) == {f"{alias}-v2": True}
    mapping = es.indices.get_mapping(index=alias)[f"{alias}-v2"]["mappings"]
    assert mapping["_meta"]["mapping_version"] == 4
    assert mapping["properties"]["places"] == {"type": "keyword"}
    assert es.count(index=alias)["count"] == 5  # nothing lost
    assert es.count(index=f"{alias}-v1")["count"] == 5  # the old index is kept
    for hit in es.search(index=alias, size=10)["hits"]["hits"]:
        source = hit["_source"]
        assert source["people"] == ["Khalifa Haftar"]
        assert source["places"] == ["Tripoli"]
        assert source["event_time"] == (source["published"] or source["@timestamp"])
    places = es.search(index=alias, size=0, aggs={"p": {"terms": {"field": "places"}}})[
        "aggregations"
    ]["p"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in places] == [("Tripoli", 5)]
    in_2019 = es.count(index=alias, query={"range": {"event_time": {"lt": "2020"}}})["count"]
    assert in_2019 == 2
