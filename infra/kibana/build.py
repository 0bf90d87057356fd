"""Writes ``newsbeam.ndjson``, the Kibana 8.19 saved objects, from readable definitions.

Run ``python -m infra.kibana.build`` after editing; ``tests/unit/test_kibana.py`` fails
when the committed NDJSON and this file disagree. Queries are Lucene (not KQL) so the
tests can run each one against Elasticsearch as a ``query_string`` unchanged; visual-
isations are aggregation-based (``visState``) so each maps onto an ES aggregation.
The index names are the defaults (prefix ``news``); ``newsbeam kibana setup`` rewrites
them for another ``index_prefix``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NDJSON = HERE / "newsbeam.ndjson"
KIBANA_VERSION = "8.19.7"
DEFAULT_PREFIX = "news"

ARTICLES_VIEW = "newsbeam-articles"
DEAD_LETTERS_VIEW = "newsbeam-dead-letters"
ALERTS_VIEW = "newsbeam-alerts"
HAFTAR = "Khalifa Haftar"
HAFTAR_QUERY = f'entities.canonical:"{HAFTAR}"'
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


def _data_view(view_id: str, title: str, name: str) -> dict[str, Any]:
    return {
        "id": view_id,
        "type": "index-pattern",
        "coreMigrationVersion": "8.8.0",
        "typeMigrationVersion": "8.0.0",
        "managed": False,
        "attributes": {"title": title, "name": name, "timeFieldName": "@timestamp"},
        "references": [],
    }


def _search_source(query: str) -> dict[str, Any]:
    return {
        "kibanaSavedObjectMeta": {
            "searchSourceJSON": json.dumps(
                {
                    "query": {"query": query, "language": "lucene"},
                    "filter": [],
                    "indexRefName": INDEX_REF,
                }
            )
        }
    }


def _saved_search(
    search_id: str, title: str, view: str, query: str, columns: list[str], sort: list[list[str]]
) -> dict[str, Any]:
    return {
        "id": search_id,
        "type": "search",
        "coreMigrationVersion": "8.8.0",
        "typeMigrationVersion": "10.5.0",
        "attributes": {
            "title": title,
            "description": "",
            "columns": columns,
            "sort": sort,
            "grid": {},
            "hideChart": False,
            "isTextBasedQuery": False,
            **_search_source(query),
        },
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": view}],
    }


def _terms(agg_id: str, field: str, size: int, schema: str, **extra: Any) -> dict[str, Any]:
    params = {"field": field, "size": size, "order": "desc", "orderBy": "1", **extra}
    return {
        "id": agg_id,
        "enabled": True,
        "type": "terms",
        "params": params,
        "schema": schema,
    }


COUNT = {"id": "1", "enabled": True, "type": "count", "params": {}, "schema": "metric"}


def _visualization(
    vis_id: str, title: str, vis_type: str, aggs: list[dict[str, Any]], query: str
) -> dict[str, Any]:
    params: dict[str, Any] = {"type": vis_type, "addTooltip": True, "addLegend": True}
    if vis_type == "table":
        params = {"perPage": 20, "showPartialRows": False, "showMetricsAtAllLevels": False}
    vis_state = {"title": title, "type": vis_type, "params": params, "aggs": aggs}
    return {
        "id": vis_id,
        "type": "visualization",
        "coreMigrationVersion": "8.8.0",
        "typeMigrationVersion": "8.5.0",
        "attributes": {
            "title": title,
            "description": "",
            "uiStateJSON": "{}",
            "version": 1,
            "visState": json.dumps(vis_state),
            **_search_source(query),
        },
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": ARTICLES_VIEW}],
    }


def _over_time(split_field: str) -> list[dict[str, Any]]:
    return [
        COUNT,
        {
            "id": "2",
            "enabled": True,
            "type": "date_histogram",
            "params": {
                "field": "published",
                "interval": "M",
                "min_doc_count": 1,
                "extended_bounds": {},
            },
            "schema": "segment",
        },
        _terms("3", split_field, 10, "group"),
    ]


def _dashboard(panels: list[tuple[str, str, dict[str, int]]]) -> dict[str, Any]:
    panels_json = []
    references = []
    for number, (kind, object_id, grid) in enumerate(panels, 1):
        panels_json.append(
            {
                "version": KIBANA_VERSION,
                "type": kind,
                "gridData": {**grid, "i": str(number)},
                "panelIndex": str(number),
                "embeddableConfig": {},
                "panelRefName": f"panel_{number}",
            }
        )
        references.append({"name": f"panel_{number}", "type": kind, "id": object_id})
    return {
        "id": "newsbeam-overview",
        "type": "dashboard",
        "coreMigrationVersion": "8.8.0",
        "typeMigrationVersion": "10.2.0",
        "attributes": {
            "title": "newsbeam: Libya coverage",
            "description": "Mentions of Khalifa Haftar over time by language and outlet, "
            "top entities, co-mentions, and the matching articles.",
            "panelsJSON": json.dumps(panels_json),
            "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
            "timeRestore": False,
            "version": 1,
            **_search_source(""),
        },
        "references": references,
    }


def saved_objects() -> list[dict[str, Any]]:
    articles, dlq, alerts = (
        f"{DEFAULT_PREFIX}-{s}" for s in ("articles", "dead-letters", "alerts")
    )
    objects = [
        _data_view(ARTICLES_VIEW, articles, "newsbeam articles"),
        _data_view(DEAD_LETTERS_VIEW, dlq, "newsbeam dead letters"),
        _data_view(ALERTS_VIEW, alerts, "newsbeam alerts"),
        _saved_search(
            "newsbeam-haftar-mentions",
            "Khalifa Haftar mentions",
            ARTICLES_VIEW,
            HAFTAR_QUERY,
            ["title", "source.name", "language", "published", "entities.variants"],
            [["published", "desc"]],
        ),
        _saved_search(
            "newsbeam-by-language",
            "Articles by language",
            ARTICLES_VIEW,
            "_exists_:language AND NOT language:und",
            ["language", "title", "source.name", "published"],
            [["language", "asc"], ["published", "desc"]],
        ),
        _saved_search(
            "newsbeam-search-dead-letters",
            "Dead letters",
            DEAD_LETTERS_VIEW,
            "_exists_:stage",
            ["stage", "reason", "message", "origin"],
            [["@timestamp", "desc"]],
        ),
        _saved_search(
            "newsbeam-search-alerts",
            "Alerts on watched entities",
            ALERTS_VIEW,
            "_exists_:rule",
            ["rule", "entity", "title", "outlet", "language", "published", "url"],
            [["@timestamp", "desc"]],
        ),
        _visualization(
            "newsbeam-haftar-by-language",
            "Khalifa Haftar mentions over time, by language",
            "histogram",
            _over_time("language"),
            HAFTAR_QUERY,
        ),
        _visualization(
            "newsbeam-haftar-by-outlet",
            "Khalifa Haftar mentions over time, by outlet",
            "histogram",
            _over_time("source.name"),
            HAFTAR_QUERY,
        ),
        _visualization(
            "newsbeam-top-entities",
            "Top entities",
            "table",
            [COUNT, _terms("2", "entities.canonical", 20, "bucket")],
            "*",
        ),
        _visualization(
            "newsbeam-haftar-co-mentions",
            "Entities co-mentioned with Khalifa Haftar",
            "table",
            [COUNT, _terms("2", "entities.canonical", 20, "bucket", exclude=HAFTAR)],
            HAFTAR_QUERY,
        ),
    ]
    objects.append(
        _dashboard(
            [
                (
                    "visualization",
                    "newsbeam-haftar-by-language",
                    {"x": 0, "y": 0, "w": 24, "h": 15},
                ),
                ("visualization", "newsbeam-haftar-by-outlet", {"x": 24, "y": 0, "w": 24, "h": 15}),
                ("visualization", "newsbeam-top-entities", {"x": 0, "y": 15, "w": 24, "h": 15}),
                (
                    "visualization",
                    "newsbeam-haftar-co-mentions",
                    {"x": 24, "y": 15, "w": 24, "h": 15},
                ),
                ("search", "newsbeam-haftar-mentions", {"x": 0, "y": 30, "w": 48, "h": 20}),
            ]
        )
    )
    return objects


def render() -> str:
    return "".join(
        json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in saved_objects()
    )


if __name__ == "__main__":
    NDJSON.write_text(render(), encoding="utf-8")
    print(f"wrote {NDJSON}")
