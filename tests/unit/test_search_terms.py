"""Search normalisation, query building and the index template, without a node."""

from __future__ import annotations

import pytest

from connectors.elasticsearch import (
    ARTICLE_DEFAULT_FIELDS,
    article_mapping,
    article_source,
    index_template,
)
from connectors.search import (
    SearchError,
    SearchRequest,
    build_query,
    resolve_entities,
    since_expression,
)
from pipelines.cli import build_parser
from transforms.document import Document, Mention
from transforms.entities import load_knowledge_base
from transforms.search_terms import (
    document_search_text,
    normalise,
    query_terms,
    text_terms,
    words,
)


def test_words_keep_inner_apostrophes_and_hyphens() -> None:
    assert words("Haftar's al-Serraj, 80'erne!") == ["Haftar's", "al-Serraj", "80'erne"]


@pytest.mark.parametrize(
    ("word", "language", "term"),
    [
        ("Haftars", "nl", "haftar"),
        ("Libië", "nl", "libie"),
        ("Libyen", "da", "liby"),
        ("escalating", "en", "escal"),
        ("Hafter", "xx", "hafter"),  # no stemmer: only lower-cased and folded
    ],
)
def test_normalise_stems_then_folds(word: str, language: str, term: str) -> None:
    assert normalise(word, language) == term


def test_a_capitalised_name_also_gives_its_uninflected_form() -> None:
    # The Danish stemmer leaves "Gaddafis" alone; the name inflection rule does not.
    assert "gaddafi" in text_terms("Gaddafis hær", "da")
    assert "gaddafi" not in text_terms("gaddafis", "da")


@pytest.mark.parametrize(
    ("indexed", "language", "query"),
    [
        ("Haftars troepen", "nl", "Haftar"),
        ("Haftar's forces", "en", "Haftar"),
        ("gevechten in Libië", "nl", "Libie"),
        ("i Libyen", "da", "Libyen"),
        ("escalating violence", "en", "escalation"),
    ],
)
def test_query_terms_meet_indexed_terms(indexed: str, language: str, query: str) -> None:
    indexed_terms = set(text_terms(indexed, language))
    for alternatives in query_terms(query):
        assert indexed_terms & set(alternatives), (alternatives, indexed_terms)


def test_query_terms_with_a_language_use_only_that_stemmer_and_the_plain_form() -> None:
    assert query_terms("Libyen", ["da"]) == [["liby", "libyen"]]


def test_document_search_text_includes_linked_entity_names() -> None:
    text = document_search_text("Titel", "Hafter sprak.", "nl", ["Khalifa Haftar", "Libya"])
    assert "haftar" in text.split()
    assert "libya" in text.split()


def test_article_source_carries_search_text_and_entity_variants() -> None:
    doc = Document(id="d1", origin="x", content="Hafter in Libië", text="Hafter in Libië")
    doc.language = "nl"
    doc.entities = [
        Mention("Hafter", "PER", 0, 6, canonical="Khalifa Haftar", entity_id="khalifa-haftar"),
        Mention("Libië", "LOC", 10, 15, canonical="Libya", entity_id="Q1016"),
    ]
    source = article_source(doc, load_knowledge_base())
    assert source["search_text"].split() == ["hafter", "in", "libie", "khalifa", "haftar", "libya"]
    assert source["entities"][0]["variants"] == ["Hafter"]
    # The words of every spelling the knowledge base knows, so Kibana's search for any finds it.
    words = source["entities"][0]["aliases"].split()
    assert words[:2] == ["Khalifa", "Haftar"]
    assert {"Hafter", "Chalifa", "Belqasim", "حفتر"} <= set(words)
    assert len(words) == len(set(words))
    assert "Libyen" in source["entities"][1]["aliases"].split()
    assert source["event"]["dataset"] == "newsbeam.articles"


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_knowledge_base()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Hafter", ["Khalifa Haftar"]),
        ("haftars", ["Khalifa Haftar"]),
        ("Libyen", ["Libya"]),
        ("Libië", ["Libya"]),
        ("Khalifa Haftar Tripoli", ["Khalifa Haftar", "Tripoli"]),
        ("violence escalating", []),
        # a namesake is someone else, as in articles; a known given name or a role is not
        ("Anna Hafter", []),
        ("Chalifa Hafter", ["Khalifa Haftar"]),
        ("Marshal Haftar", ["Khalifa Haftar"]),
    ],
)
def test_resolve_entities_uses_the_linker_normalisation(
    kb: object, query: str, expected: list[str]
) -> None:
    assert resolve_entities(query, kb, ["nl", "da", "en"]) == expected


def test_build_query_needs_every_word_but_any_route() -> None:
    query = build_query(
        SearchRequest(
            query="Haftar Tripoli",
            languages=("nl",),
            entities=("Khalifa Haftar",),
            sources=("The Canary",),
            since="now-7d",
            resolved=("Khalifa Haftar", "Tripoli"),
        )
    )
    bool_query = query["bool"]
    assert bool_query["minimum_should_match"] == 1
    words_route = bool_query["should"][0]["bool"]["must"]
    assert len(words_route) == 2  # one clause per query word
    assert {"terms": {"entities.canonical": ["Khalifa Haftar", "Tripoli"], "boost": 2.0}} in (
        bool_query["should"]
    )
    filters = bool_query["filter"]
    assert {"terms": {"language": ["nl"]}} in filters
    assert {"term": {"entities.canonical": "Khalifa Haftar"}} in filters
    assert {"terms": {"source.name": ["The Canary"]}} in filters


def test_an_empty_query_with_no_filters_matches_everything() -> None:
    assert build_query(SearchRequest()) == {"match_all": {}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7d", "now-7d"), ("24h", "now-24h"), ("2019-04", "2019-04"), ("2019-04-05", "2019-04-05")],
)
def test_since_expression(value: str, expected: str) -> None:
    assert since_expression(value) == expected


def test_since_expression_refuses_nonsense_with_a_hint() -> None:
    with pytest.raises(SearchError, match="7d"):
        since_expression("last tuesday")


def test_language_sub_fields_only_when_the_node_has_analysers() -> None:
    core = article_mapping(frozenset({"x-pack-core"}))
    assert "nl" not in core["properties"]["text"].get("fields", {})
    full = article_mapping(frozenset({"analysis-common", "x-pack-core"}))
    assert full["properties"]["text"]["fields"]["nl"] == {"type": "text", "analyzer": "dutch"}
    assert full["properties"]["title"]["fields"]["keyword"]["type"] == "keyword"


def test_template_targets_versioned_indices_and_sets_default_fields() -> None:
    template = index_template("news-articles", "articles", frozenset())
    assert template["index_patterns"] == ["news-articles-v*"]
    fields = template["template"]["settings"]["query"]["default_field"]
    assert fields == list(ARTICLE_DEFAULT_FIELDS)
    properties = template["template"]["mappings"]["properties"]
    assert properties["boilerplate"] == {"type": "object", "enabled": False}


def test_cli_parses_search_and_entities_top() -> None:
    args = build_parser().parse_args(
        ["search", "Haftar", "--lang", "en,nl", "--entity", "Hafter", "--since", "7d", "--json"]
    )
    assert (args.query, args.lang, args.entity, args.json) == (
        "Haftar",
        ["en", "nl"],
        ["Hafter"],
        True,
    )
    top = build_parser().parse_args(["entities", "top", "--since", "30d", "--type", "PER"])
    assert (top.since, top.type, top.size) == ("30d", "PER", 20)
    migrate = build_parser().parse_args(["index", "migrate", "--delete-old"])
    assert (migrate.which, migrate.delete_old) == ("articles", True)


@pytest.mark.parametrize(
    ("title", "text", "language"),
    [
        ("Haftar's forces", "Khalifa Haftar's LNA took 80% of al-Serraj's oil in 2019.", "en"),
        ("Libië", "Gaddafis zoon en Haftars troepen, 3 april 2019, 10.000 man.", "nl"),
        (None, "Ukendt sprog? 80'erne – Tripoli – Misrata", "und"),
    ],
)
def test_indexed_search_text_is_the_terms_of_title_text_and_names(
    title: str | None, text: str, language: str
) -> None:
    """The cached indexing path gives exactly the terms ``text_terms`` defines, also twice
    (served from the cache) and for tokens with digits (never cached)."""
    names = ["Khalifa Haftar", "Libya"]
    expected = " ".join(
        term for part in (title or "", text, *names) for term in text_terms(part, language)
    )
    assert document_search_text(title, text, language, names) == expected
    assert document_search_text(title, text, language, names) == expected
