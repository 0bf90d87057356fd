"""Every panel and control of the Kibana dashboard, run on the real Elasticsearch.

The seeds go through the pipeline's own code: the transform chain (``enrich``), the story
stage (``assign_stories``), the index writer (``BulkWriter`` with ``article_source``), the
watchlist (``raise_alerts`` -> ``alert_source``) and the file reader's dead letters. A
near-copy of the Daily Mail seed, syndicated by a second outlet, makes a two-article
story. Each panel's request is built from the saved object the way Kibana builds it: the
panel's Lucene query, the dashboard's time range on the data view's time field, the
controls' phrase filters, the visualisation's aggregations nested in order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ConflictError

from connectors.elasticsearch import (
    BulkWriter,
    IndexRequest,
    article_source,
    client,
    dead_letter_source,
    ensure_index,
)
from connectors.files import read_articles
from infra.kibana import build
from pipelines.alerting import alert_source
from pipelines.settings import Settings
from transforms.alerts import load_watchlist, raise_alerts
from transforms.chain import enrich
from transforms.document import DeadLetter, Document
from transforms.entities import load_knowledge_base
from transforms.stories import assign_stories

pytestmark = pytest.mark.integration

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
DA, NL1, NL2, EN_MAIL, EN_CANARY, COPY = "000", "001", "002", "003", "004", "copy"
SYNDICATED_URL = "https://syndication.example.org/libya/haftar-tripoli"
WIDE = ("now-15y", "now")  # every seed, also the 2019 ones
DEFAULT = (build.DEFAULT_TIME_FROM, build.DEFAULT_TIME_TO)


def _later(timestamp: str) -> str:
    """A millisecond after ``timestamp``: the copy arrives after the original (and not
    after the tests ask Elasticsearch for everything up to now)."""
    when = datetime.fromisoformat(timestamp.replace("Z", "+00:00")) + timedelta(milliseconds=1)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _name(hit_source: dict[str, Any]) -> str:
    if hit_source.get("url") == SYNDICATED_URL:
        return COPY
    return Path(str(hit_source.get("origin") or "")).name[:3]


@pytest.fixture(scope="module")
def seeded(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = stack_settings.replace(index_prefix=f"t-dash-{uuid.uuid4().hex[:8]}")
    es = client(settings)
    for alias, mapping in (
        (settings.articles_alias, "articles"),
        (settings.dlq_alias, "dead_letters"),
        (settings.alerts_alias, "alerts"),
    ):
        ensure_index(es, alias, mapping)
    empty = tmp_path_factory.mktemp("inputs") / "empty.txt"
    empty.write_text("", "utf-8")
    docs: list[Document] = []
    letters: list[DeadLetter] = []
    for item in read_articles([SEEDS, empty], settings.max_document_bytes):
        result = enrich(item) if isinstance(item, Document) else item
        (docs if isinstance(result, Document) else letters).append(result)  # type: ignore[arg-type]
    mail = next(d for d in docs if Path(d.origin).name.startswith(EN_MAIL))
    copy = dataclasses.replace(
        mail,
        id="syndicated-copy",
        origin=SYNDICATED_URL,
        url=SYNDICATED_URL,
        source="Syndicated Wire",
        received_at=_later(mail.received_at),
    )
    docs = assign_stories([*docs, copy], earlier=[])
    kb = load_knowledge_base()
    writer = BulkWriter(settings, es)
    written, refused = writer.write(
        settings.articles_alias, [IndexRequest(d.id, article_source(d, kb), None) for d in docs]
    )
    assert len(written) == 6
    assert not refused
    written, refused = writer.write(
        settings.dlq_alias,
        [IndexRequest(f"dl-{n}", dead_letter_source(x), None) for n, x in enumerate(letters)],
    )
    assert len(written) == len(letters) >= 1
    assert not refused
    watchlist = load_watchlist()
    for doc in docs:  # the alert store creates each (rule, story) alert once
        for alert in raise_alerts(watchlist, doc):
            with contextlib.suppress(ConflictError):
                es.create(index=settings.alerts_alias, id=alert.id, document=alert_source(alert))
    es.indices.refresh(index=[settings.articles_alias, settings.dlq_alias, settings.alerts_alias])
    yield settings, es, docs
    for alias in (settings.articles_alias, settings.dlq_alias, settings.alerts_alias):
        es.indices.delete(index=f"{alias}-v1", ignore_unavailable=True)
        es.options(ignore_status=404).indices.delete_index_template(name=alias)
    es.close()


# --- Kibana's request for a panel ------------------------------------------------------------

OBJECTS = {o["id"]: o for o in build.saved_objects()}
VIEWS = {o["id"]: o["attributes"] for o in OBJECTS.values() if o["type"] == "index-pattern"}
CONTROL_FIELDS = {label: field for _id, field, label in build.CONTROLS}


def _alias(settings: Settings, view: str) -> str:
    return {
        build.ARTICLES_VIEW: settings.articles_alias,
        build.DEAD_LETTERS_VIEW: settings.dlq_alias,
        build.ALERTS_VIEW: settings.alerts_alias,
    }[view]


def _source(item: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = json.loads(
        item["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
    )
    return source


def _view(item: dict[str, Any]) -> str:
    refs = {r["name"]: r["id"] for r in item["references"]}
    return refs[_source(item)["indexRefName"]]


def _query(
    item: dict[str, Any], time_range: tuple[str, str], controls: dict[str, list[str]]
) -> dict[str, Any]:
    """The panel's query under the dashboard: its own and the dashboard's Lucene query, the
    time range on the data view's time field, and one phrase filter per control selection."""
    view = _view(item)
    filters: list[dict[str, Any]] = [
        {
            "range": {
                VIEWS[view]["timeFieldName"]: {
                    "gte": time_range[0],
                    "lte": time_range[1],
                    "format": "strict_date_optional_time",
                }
            }
        }
    ]
    for text in (
        _source(item)["query"]["query"],
        _source(OBJECTS[build.DASHBOARD_ID])["query"]["query"],
    ):
        if text.strip():
            filters.append({"query_string": {"query": text}})
    for label, values in controls.items():
        field = CONTROL_FIELDS[label]
        filters.append(
            {
                "bool": {
                    "should": [{"match_phrase": {field: value}} for value in values],
                    "minimum_should_match": 1,
                }
            }
        )
    return {"bool": {"filter": filters}}


def _aggregations(vis_state: dict[str, Any]) -> dict[str, Any]:
    """Bucket aggregations nested in order, the metrics inside the innermost, as Kibana's
    agg configs write them (terms ordered by the count metric use ``_count``)."""
    metrics: dict[str, Any] = {}
    buckets: list[tuple[str, dict[str, Any]]] = []
    for agg in vis_state["aggs"]:
        params = agg["params"]
        kind = agg["type"]
        if kind == "count":
            continue
        if kind == "date_histogram":
            interval = {"w": "week", "M": "month", "d": "day"}[params["interval"]]
            body: dict[str, Any] = {
                "date_histogram": {
                    "field": params["field"],
                    "calendar_interval": interval,
                    "min_doc_count": params["min_doc_count"],
                }
            }
        elif kind == "terms":
            order = {"_count": params["order"]} if params["orderBy"] == "1" else {"_key": "asc"}
            body = {"terms": {"field": params["field"], "size": params["size"], "order": order}}
        elif kind in ("cardinality", "min", "max"):
            body = {kind: {"field": params["field"]}}
        elif kind == "top_hits":
            body = {
                "top_hits": {
                    "size": params["size"],
                    "sort": [{params["sortField"]: {"order": params["sortOrder"]}}],
                    "docvalue_fields": [{"field": params["field"]}],
                    "_source": False,
                }
            }
        else:
            raise AssertionError(f"no translation for {kind}")
        if agg["schema"] == "metric":
            metrics[agg["id"]] = body
        else:
            buckets.append((agg["id"], body))
    aggs: dict[str, Any] = {}
    inner = aggs
    for position, (agg_id, body) in enumerate(buckets):
        inner[agg_id] = body
        if position < len(buckets) - 1:
            inner = body.setdefault("aggs", {})
        elif metrics:
            body["aggs"] = metrics
    return aggs


def _panel(
    seeded: Any,
    object_id: str,
    time_range: tuple[str, str] = DEFAULT,
    **controls: list[str],
) -> dict[str, Any]:
    settings, es, _docs = seeded
    item = OBJECTS[object_id]
    labels = {k.replace("_", " ").capitalize(): v for k, v in controls.items()}
    query = _query(item, time_range, labels)
    if item["type"] == "search":
        attributes = item["attributes"]
        response = es.search(
            index=_alias(settings, _view(item)),
            query=query,
            sort=[{field: {"order": order}} for field, order in attributes["sort"]],
            size=100,
        )
        return dict(response.body)
    response = es.search(
        index=_alias(settings, _view(item)),
        query=query,
        size=0,
        aggs=_aggregations(json.loads(item["attributes"]["visState"])),
    )
    return dict(response["aggregations"])


def _counts(buckets: list[dict[str, Any]]) -> dict[str, int]:
    return {str(b["key"]): int(b["doc_count"]) for b in buckets}


# --- the panels ------------------------------------------------------------------------------


def test_event_time_is_publication_time_where_known(seeded: Any) -> None:
    settings, es, _docs = seeded
    hits = es.search(index=settings.articles_alias, size=10)["hits"]["hits"]
    times = {_name(h["_source"]): h["_source"] for h in hits}
    assert times[NL1]["event_time"] == times[NL1]["published"] == "2019-04"
    assert times[DA]["published"] is None
    assert times[DA]["event_time"] == times[DA]["@timestamp"]


def test_watched_entities_by_language_open_on_the_last_year(seeded: Any) -> None:
    result = _panel(seeded, "newsbeam-watched-by-language")
    per_language: dict[str, int] = {}
    for week in result["2"]["buckets"]:
        for language, count in _counts(week["3"]["buckets"]).items():
            per_language[language] = per_language.get(language, 0) + count
    # The Dutch seeds were published in April 2019: outside the default year.
    assert per_language == {"da": 1, "en": 3}


def test_watched_entities_by_language_over_the_years(seeded: Any) -> None:
    result = _panel(seeded, "newsbeam-watched-by-language", WIDE)
    weeks = {b["key_as_string"][:7]: _counts(b["3"]["buckets"]) for b in result["2"]["buckets"]}
    assert weeks["2019-04"] == {"nl": 2}  # 2019-04-01, a Monday, starts its week
    assert sum(sum(c.values()) for c in weeks.values()) == 6


def test_watched_entities_by_outlet(seeded: Any) -> None:
    result = _panel(seeded, "newsbeam-watched-by-outlet", WIDE)
    outlets: dict[str, int] = {}
    for week in result["2"]["buckets"]:
        for outlet, count in _counts(week["3"]["buckets"]).items():
            outlets[outlet] = outlets.get(outlet, 0) + count
    assert outlets["Daily Mail"] == 1
    assert outlets["Syndicated Wire"] == 1
    assert outlets["The Canary"] == 1


def test_top_people_lists_people_only(seeded: Any) -> None:
    people = _counts(_panel(seeded, "newsbeam-top-people", WIDE)["2"]["buckets"])
    assert people["Khalifa Haftar"] == 6
    assert people["Muammar Gaddafi"] == 5  # four seeds and the copy
    assert not {"Libya", "Tripoli", "United Nations"} & set(people)


def test_top_places_does_not_count_people(seeded: Any) -> None:
    places = _counts(_panel(seeded, "newsbeam-top-places", WIDE)["2"]["buckets"])
    assert places["Libya"] == 6
    assert places["Tripoli"] == 6
    assert "Khalifa Haftar" not in places
    assert "Muammar Gaddafi" not in places
    # The object-array way (fault 4) counts him as a place: that is what the field fixes.
    settings, es, _docs = seeded
    wrong = es.search(
        index=settings.articles_alias,
        size=0,
        query={"term": {"entities.type": "LOC"}},
        aggs={"e": {"terms": {"field": "entities.canonical", "size": 50}}},
    )
    assert "Khalifa Haftar" in _counts(wrong["aggregations"]["e"]["buckets"])


def test_top_organisations(seeded: Any) -> None:
    organisations = _counts(_panel(seeded, "newsbeam-top-organisations", WIDE)["2"]["buckets"])
    assert organisations["United Nations"] >= 4
    assert "Khalifa Haftar" not in organisations
    assert "Libya" not in organisations


def test_co_mentioned_with_the_entity_picked_in_the_control(seeded: Any) -> None:
    buckets = _panel(seeded, "newsbeam-co-mentions", WIDE, entity=["Fayez al-Sarraj"])["2"]
    counts = _counts(buckets["buckets"])
    # Sarraj is named by both Dutch seeds, the Daily Mail and its copy.
    assert counts["Fayez al-Sarraj"] == 4
    assert counts["Khalifa Haftar"] == 4
    assert "Rasmus Boserup" not in counts  # only the Danish seed names him


def test_controls_narrow_every_article_panel(seeded: Any) -> None:
    places = _panel(seeded, "newsbeam-top-places", WIDE, language=["nl"])["2"]["buckets"]
    assert _counts(places)["Libya"] == 2
    people = _panel(seeded, "newsbeam-top-people", WIDE, outlet=["The Canary"])["2"]["buckets"]
    assert _counts(people)["Khalifa Haftar"] == 1
    typed = _panel(seeded, "newsbeam-top-people", WIDE, entity_type=["ORG"])["2"]["buckets"]
    assert _counts(typed)["Khalifa Haftar"] == 6  # every seed names an organisation


def test_the_story_table(seeded: Any) -> None:
    rows = _panel(seeded, "newsbeam-stories", WIDE)["6"]["buckets"]
    assert len(rows) == 5
    first = rows[0]
    assert first["doc_count"] == 2  # the Daily Mail and its syndicated copy
    assert first["2"]["value"] == 2  # outlets
    assert first["3"]["value"] == 1  # languages
    title = first["5"]["hits"]["hits"][0]["fields"]["title.keyword"][0]
    _settings, _es, docs = seeded
    assert title == next(d.title for d in docs if d.source == "Daily Mail")
    assert first["4"]["value"] is not None  # first published (event time)
    assert all(row["doc_count"] == 1 for row in rows[1:])


def test_the_watched_articles_list(seeded: Any) -> None:
    hits = _panel(seeded, "newsbeam-watched-articles", WIDE)["hits"]["hits"]
    assert {_name(h["_source"]) for h in hits} == {DA, NL1, NL2, EN_MAIL, EN_CANARY, COPY}
    columns = OBJECTS["newsbeam-watched-articles"]["attributes"]["columns"]
    assert {"story.id", "url"} <= set(columns)
    copy = next(h["_source"] for h in hits if _name(h["_source"]) == COPY)
    mail = next(h["_source"] for h in hits if _name(h["_source"]) == EN_MAIL)
    assert copy["story"]["id"] == mail["story"]["id"]
    assert copy["url"] == SYNDICATED_URL
    assert _name(hits[-1]["_source"]) in {NL1, NL2}  # newest first: 2019 last


def test_alerts_over_time_by_rule(seeded: Any) -> None:
    result = _panel(seeded, "newsbeam-alerts-by-rule")
    rules: dict[str, int] = {}
    for week in result["2"]["buckets"]:
        for rule, count in _counts(week["3"]["buckets"]).items():
            rules[rule] = rules.get(rule, 0) + count
    assert rules == {"khalifa-haftar": 5}  # one per story: the copy joined the Mail's


def test_the_latest_alerts_carry_snippet_and_link(seeded: Any) -> None:
    hits = _panel(seeded, "newsbeam-search-alerts")["hits"]["hits"]
    assert len(hits) == 5
    for hit in hits:
        assert hit["_source"]["rule"] == "khalifa-haftar"
        assert "Haft" in hit["_source"]["snippet"]
        assert hit["_source"]["url"] or hit["_source"]["origin"]


def test_dead_letters_by_stage_and_reason(seeded: Any) -> None:
    stages = _panel(seeded, "newsbeam-dead-letters-by-stage")["2"]["buckets"]
    # The empty file: the reader decodes it and finds nothing to read.
    assert [(b["key"], _counts(b["3"]["buckets"])) for b in stages] == [("decode", {"empty": 1})]


def test_the_terminal_top_command_counts_per_type(
    seeded: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    settings, _es, _docs = seeded
    flags = ["--es-url", settings.es_url, "--index-prefix", settings.index_prefix]
    assert main([*flags, "entities", "top", "--type", "LOC", "--json", "--size", "50"]) == 0
    places = {json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()}
    assert {"Libya", "Tripoli"} <= places
    assert "Khalifa Haftar" not in places
    assert main([*flags, "entities", "top", "--type", "per", "--size", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("Khalifa Haftar")
