"""Writes ``newsbeam.ndjson``, the Kibana 8.19 saved objects, from readable definitions.

Run ``python -m infra.kibana.build`` after editing; ``tests/unit/test_kibana.py`` fails
when the committed NDJSON and this file disagree, and holds every object to the rules
Kibana applies on import and load (``tests/unit/kibana_checker.py``). Queries are Lucene
(not KQL) so the tests can run each one against Elasticsearch as a ``query_string``
unchanged; visualisations are aggregation-based (``visState``) so each maps onto an
Elasticsearch aggregation. The index names are the defaults (prefix ``news``) and the
watched entities those of the packaged watchlist; ``newsbeam kibana setup`` rewrites both
for this installation. What each panel shows: docs/analysts.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from transforms.alerts import AlertRule, load_watchlist

HERE = Path(__file__).resolve().parent
NDJSON = HERE / "newsbeam.ndjson"
KIBANA_VERSION = "8.19.7"
DEFAULT_PREFIX = "news"

# Saved-object versions: the core version every 8.8+ object carries, and per type the
# newest migration an 8.19 Kibana knows (kibana_checker.LATEST_TYPE_MIGRATION says where
# each comes from). Never newer: Kibana refuses an object from "a more recent version".
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = {
    "index-pattern": "8.0.0",
    "search": "10.5.0",
    "visualization": "8.5.0",
    "dashboard": "10.2.0",
}

ARTICLES_VIEW = "newsbeam-articles"
DEAD_LETTERS_VIEW = "newsbeam-dead-letters"
ALERTS_VIEW = "newsbeam-alerts"
DASHBOARD_ID = "newsbeam-overview"
DASHBOARD_TITLE = "newsbeam: watched entities — coverage, stories and alerts"
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"

# The articles' time field: publication time where known, arrival time otherwise.
ARTICLES_TIME_FIELD = "event_time"
# What the dashboard opens on; analysts widen it in the time picker.
DEFAULT_TIME_FROM, DEFAULT_TIME_TO = "now-1y", "now"
REFRESH_EVERY_MS = 5 * 60 * 1000
HISTOGRAM_INTERVAL = "w"  # weekly bars: 52 over the default year

URL_FORMAT = {"id": "url", "params": {"type": "a", "openLinkInCurrentTab": False}}


def watched_query(rules: Iterable[AlertRule]) -> str:
    """A Lucene query for the articles the watchlist's enabled rules watch: the linked
    entity for entity rules, the phrases for text rules; ``*`` for an empty watchlist."""
    parts: list[str] = []
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.entity:
            parts.append(f"entities.canonical:{_quoted(rule.entity)}")
        parts.extend(_quoted(phrase) for phrase in rule.query)
    return " OR ".join(dict.fromkeys(parts)) or "*"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


PACKAGED_WATCHED_QUERY = watched_query(load_watchlist().rules)


def _versions(kind: str) -> dict[str, str]:
    return {
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": TYPE_MIGRATION_VERSION[kind],
    }


def _data_view(
    view_id: str, title: str, name: str, time_field: str, formats: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": view_id,
        "type": "index-pattern",
        **_versions("index-pattern"),
        "managed": False,
        "attributes": {
            "title": title,
            "name": name,
            "timeFieldName": time_field,
            "fieldFormatMap": json.dumps(formats, sort_keys=True),
            "allowNoIndex": True,
        },
        "references": [],
    }


def _search_source(query: str) -> dict[str, Any]:
    """``kibanaSavedObjectMeta``: the query, and the data view by reference name (which the
    object's ``references`` must then contain: Kibana's loader fails without it)."""
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


def _view_reference(view: str) -> dict[str, str]:
    return {"name": INDEX_REF, "type": "index-pattern", "id": view}


def _saved_search(
    search_id: str,
    title: str,
    view: str,
    query: str,
    columns: list[str],
    sort: list[list[str]],
    description: str,
) -> dict[str, Any]:
    return {
        "id": search_id,
        "type": "search",
        **_versions("search"),
        "attributes": {
            "title": title,
            "description": description,
            "columns": columns,
            "sort": sort,
            "grid": {},
            "hideChart": True,
            "isTextBasedQuery": False,
            **_search_source(query),
        },
        "references": [_view_reference(view)],
    }


# --- aggregations, in the shape the agg-based editor saves them ------------------------------


def _count(label: str = "") -> dict[str, Any]:
    params = {"customLabel": label} if label else {}
    return {"id": "1", "enabled": True, "type": "count", "params": params, "schema": "metric"}


def _terms(agg_id: str, field: str, size: int, schema: str, label: str) -> dict[str, Any]:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "terms",
        "params": {
            "field": field,
            "size": size,
            "order": "desc",
            "orderBy": "1",
            "otherBucket": False,
            "otherBucketLabel": "Other",
            "missingBucket": False,
            "missingBucketLabel": "Missing",
            "customLabel": label,
        },
        "schema": schema,
    }


def _date_histogram(agg_id: str, field: str) -> dict[str, Any]:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "date_histogram",
        "params": {
            "field": field,
            "useNormalizedEsInterval": True,
            "scaleMetricValues": False,
            "interval": HISTOGRAM_INTERVAL,
            "drop_partials": False,
            "min_doc_count": 1,
            "extended_bounds": {},
        },
        "schema": "segment",
    }


def _metric(agg_id: str, kind: str, field: str, label: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": agg_id,
        "enabled": True,
        "type": kind,
        "params": {"field": field, "customLabel": label, **extra},
        "schema": "metric",
    }


# --- visualisation parameters: complete, as the vis types' defaults define them --------------


def _stacked_bar_params(value_label: str) -> dict[str, Any]:
    """A vertical bar chart whose series stack (one bar per week, one colour per split).

    Complete on purpose: with ``seriesParams`` missing, Kibana builds one per metric in
    ``mode: normal`` and the bars come out grouped side by side.
    """
    return {
        "type": "histogram",
        "grid": {"categoryLines": False},
        "categoryAxes": [
            {
                "id": "CategoryAxis-1",
                "type": "category",
                "position": "bottom",
                "show": True,
                "scale": {"type": "linear"},
                "labels": {"show": True, "filter": True, "truncate": 100},
                "title": {},
                "style": {},
            }
        ],
        "valueAxes": [
            {
                "id": "ValueAxis-1",
                "name": "LeftAxis-1",
                "type": "value",
                "position": "left",
                "show": True,
                "scale": {"type": "linear", "mode": "normal"},
                "labels": {"show": True, "rotate": 0, "filter": True, "truncate": 100},
                "title": {"text": value_label},
                "style": {},
            }
        ],
        "seriesParams": [
            {
                "show": True,
                "type": "histogram",
                "mode": "stacked",
                "data": {"label": value_label, "id": "1"},
                "valueAxis": "ValueAxis-1",
                "drawLinesBetweenPoints": True,
                "lineWidth": 2,
                "showCircles": True,
                "circlesRadius": 1,
                "interpolate": "linear",
            }
        ],
        "radiusRatio": 0,
        "addTooltip": True,
        "detailedTooltip": True,
        "palette": {"type": "palette", "name": "default"},
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "truncateLegend": True,
        "maxLegendLines": 1,
        "labels": {"show": False},
        "thresholdLine": {
            "show": False,
            "value": 10,
            "width": 1,
            "style": "full",
            "color": "#E7664C",
        },
    }


TABLE_PARAMS: dict[str, Any] = {
    "perPage": 20,
    "showPartialRows": False,
    "showMetricsAtAllLevels": False,
    "showTotal": False,
    "totalFunc": "sum",
    "percentageCol": "",
    "showToolbar": True,
    "autoFitRowToContent": False,
}


def _visualization(
    vis_id: str,
    title: str,
    view: str,
    aggs: list[dict[str, Any]],
    query: str,
    params: dict[str, Any],
    description: str,
) -> dict[str, Any]:
    vis_state = {"title": title, "type": params.get("type", "table"), "params": params}
    vis_state["aggs"] = aggs
    return {
        "id": vis_id,
        "type": "visualization",
        **_versions("visualization"),
        "attributes": {
            "title": title,
            "description": description,
            "uiStateJSON": "{}",
            "version": 1,
            "visState": json.dumps(vis_state),
            **_search_source(query),
        },
        "references": [_view_reference(view)],
    }


def _over_time(
    vis_id: str, title: str, view: str, time_field: str, split: str, label: str, query: str
) -> dict[str, Any]:
    aggs = [
        _count("Articles" if view == ARTICLES_VIEW else "Alerts"),
        _date_histogram("2", time_field),
        _terms("3", split, 10, "group", label),
    ]
    value_label = "Articles" if view == ARTICLES_VIEW else "Alerts"
    return _visualization(
        vis_id, title, view, aggs, query, _stacked_bar_params(value_label), title + "."
    )


def _facet_table(vis_id: str, title: str, field: str, label: str, description: str) -> Any:
    aggs = [_count("Articles"), _terms("2", field, 20, "bucket", label)]
    return _visualization(vis_id, title, ARTICLES_VIEW, aggs, "", TABLE_PARAMS, description)


# --- the dashboard ---------------------------------------------------------------------------

# (control id, field, label): options lists over the articles data view.
CONTROLS = [
    ("newsbeam-control-language", "language", "Language"),
    ("newsbeam-control-outlet", "source.name", "Outlet"),
    ("newsbeam-control-entity", "entities.name", "Entity"),
    ("newsbeam-control-entity-type", "entities.type", "Entity type"),
]


def _control_group() -> tuple[dict[str, Any], list[dict[str, str]]]:
    panels: dict[str, Any] = {}
    references = []
    for order, (control_id, field, label) in enumerate(CONTROLS):
        panels[control_id] = {
            "order": order,
            "width": "medium",
            "grow": True,
            "type": "optionsListControl",
            "explicitInput": {
                "id": control_id,
                "fieldName": field,
                "title": label,
                "selectedOptions": [],
                "searchTechnique": "prefix",
                "sort": {"by": "_count", "direction": "desc"},
            },
        }
        # The control's data view travels as a reference, as Kibana's extract stores it.
        references.append(
            {
                "name": f"controlGroup_{control_id}:optionsListDataView",
                "type": "index-pattern",
                "id": ARTICLES_VIEW,
            }
        )
    group = {
        "controlStyle": "oneLine",
        "chainingSystem": "HIERARCHICAL",
        "showApplySelections": False,
        "ignoreParentSettingsJSON": json.dumps(
            {
                "ignoreFilters": False,
                "ignoreQuery": False,
                "ignoreTimerange": False,
                "ignoreValidations": False,
            }
        ),
        "panelsJSON": json.dumps(panels),
    }
    return group, references


def _dashboard(panels: list[tuple[str, str, dict[str, int]]]) -> dict[str, Any]:
    panels_json = []
    references = [_view_reference(ARTICLES_VIEW)]
    for number, (kind, object_id, grid) in enumerate(panels, 1):
        panel_index = str(number)
        panels_json.append(
            {
                "version": KIBANA_VERSION,
                "type": kind,
                "gridData": {**grid, "i": panel_index},
                "panelIndex": panel_index,
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{panel_index}",
            }
        )
        # Named "<panelIndex>:panel_<panelIndex>", as Kibana's own extract writes them.
        references.append(
            {"name": f"{panel_index}:panel_{panel_index}", "type": kind, "id": object_id}
        )
    control_group, control_references = _control_group()
    return {
        "id": DASHBOARD_ID,
        "type": "dashboard",
        **_versions("dashboard"),
        "attributes": {
            "title": DASHBOARD_TITLE,
            "description": "Mentions of the watched entities over time by language and outlet, "
            "top people, organisations and places, co-mentions, stories, the watched "
            "articles, alerts by rule and dead letters by stage and reason. Opens on the "
            "last year of publication time (arrival time where no date is known).",
            "panelsJSON": json.dumps(panels_json),
            "optionsJSON": json.dumps(
                {
                    "useMargins": True,
                    "syncColors": False,
                    "syncCursor": True,
                    "syncTooltips": False,
                    "hidePanelTitles": False,
                }
            ),
            "controlGroupInput": control_group,
            "timeRestore": True,
            "timeFrom": DEFAULT_TIME_FROM,
            "timeTo": DEFAULT_TIME_TO,
            "refreshInterval": {"pause": False, "value": REFRESH_EVERY_MS},
            "version": 1,
            **_search_source(""),
        },
        "references": references + control_references,
    }


def saved_objects() -> list[dict[str, Any]]:
    articles, dlq, alerts = (
        f"{DEFAULT_PREFIX}-{s}" for s in ("articles", "dead-letters", "alerts")
    )
    watched = PACKAGED_WATCHED_QUERY
    objects = [
        _data_view(
            ARTICLES_VIEW,
            articles,
            "newsbeam articles",
            ARTICLES_TIME_FIELD,
            {"url": URL_FORMAT, "origin": URL_FORMAT},
        ),
        _data_view(DEAD_LETTERS_VIEW, dlq, "newsbeam dead letters", "@timestamp", {}),
        _data_view(ALERTS_VIEW, alerts, "newsbeam alerts", "@timestamp", {"url": URL_FORMAT}),
        _saved_search(
            "newsbeam-watched-articles",
            "Articles naming a watched entity",
            ARTICLES_VIEW,
            watched,
            [
                "title",
                "source.name",
                "language",
                ARTICLES_TIME_FIELD,
                "people",
                "places",
                "story.id",
                "url",
            ],
            [[ARTICLES_TIME_FIELD, "desc"]],
            "Every article linked to a watched entity, newest first.",
        ),
        _saved_search(
            "newsbeam-by-language",
            "Articles by language",
            ARTICLES_VIEW,
            "_exists_:language AND NOT language:und",
            ["language", "title", "source.name", ARTICLES_TIME_FIELD, "story.id", "url"],
            [["language", "asc"], [ARTICLES_TIME_FIELD, "desc"]],
            "All articles with a detected language, grouped by language.",
        ),
        _saved_search(
            "newsbeam-search-dead-letters",
            "Dead letters",
            DEAD_LETTERS_VIEW,
            "_exists_:stage",
            ["stage", "reason", "message", "origin"],
            [["@timestamp", "desc"]],
            "Inputs newsbeam rejected, with the stage and the reason.",
        ),
        _saved_search(
            "newsbeam-search-alerts",
            "Latest alerts",
            ALERTS_VIEW,
            "_exists_:rule",
            ["rule", "entity", "title", "snippet", "url", "outlet", "language", "published"],
            [["@timestamp", "desc"]],
            "Alerts on watched entities, newest first, with the snippet and the link.",
        ),
        _over_time(
            "newsbeam-watched-by-language",
            "Watched entities over time, by language",
            ARTICLES_VIEW,
            ARTICLES_TIME_FIELD,
            "language",
            "Language",
            watched,
        ),
        _over_time(
            "newsbeam-watched-by-outlet",
            "Watched entities over time, by outlet",
            ARTICLES_VIEW,
            ARTICLES_TIME_FIELD,
            "source.name",
            "Outlet",
            watched,
        ),
        _facet_table(
            "newsbeam-top-people",
            "Top people",
            "people",
            "Person",
            "People named in the most articles (each article counts once).",
        ),
        _facet_table(
            "newsbeam-top-organisations",
            "Top organisations",
            "organisations",
            "Organisation",
            "Organisations named in the most articles.",
        ),
        _facet_table(
            "newsbeam-top-places",
            "Top places",
            "places",
            "Place",
            "Places named in the most articles.",
        ),
        _facet_table(
            "newsbeam-co-mentions",
            "Co-mentioned with the selected entity",
            "entities.name",
            "Entity",
            "Pick an entity in the Entity control: this lists what the same articles also "
            "name (the picked entity itself heads the list with every matching article).",
        ),
        _visualization(
            "newsbeam-stories",
            "Stories",
            ARTICLES_VIEW,
            [
                _count("Articles"),
                _metric("2", "cardinality", "source.name", "Outlets"),
                _metric("3", "cardinality", "language", "Languages"),
                _metric("4", "min", ARTICLES_TIME_FIELD, "First published"),
                _metric(
                    "5",
                    "top_hits",
                    "title.keyword",
                    "Title",
                    aggregate="concat",
                    size=1,
                    sortField=ARTICLES_TIME_FIELD,
                    sortOrder="asc",
                ),
                _terms("6", "story.id", 50, "bucket", "Story"),
            ],
            "",
            TABLE_PARAMS,
            "One row per story (copies of one article across outlets and languages): how "
            "many articles, outlets and languages, when it was first published and the "
            "first copy's title; largest stories first.",
        ),
        _over_time(
            "newsbeam-alerts-by-rule",
            "Alerts over time, by rule",
            ALERTS_VIEW,
            "@timestamp",
            "rule",
            "Rule",
            "",
        ),
        _visualization(
            "newsbeam-dead-letters-by-stage",
            "Dead letters by stage and reason",
            DEAD_LETTERS_VIEW,
            [
                _count("Dead letters"),
                _terms("2", "stage", 20, "bucket", "Stage"),
                _terms("3", "reason", 20, "bucket", "Reason"),
            ],
            "",
            TABLE_PARAMS,
            "What newsbeam rejected, counted by the stage that rejected it and why.",
        ),
    ]
    objects.append(
        _dashboard(
            [
                ("visualization", "newsbeam-watched-by-language", _grid(0, 0, 24, 15)),
                ("visualization", "newsbeam-watched-by-outlet", _grid(24, 0, 24, 15)),
                ("visualization", "newsbeam-top-people", _grid(0, 15, 16, 15)),
                ("visualization", "newsbeam-top-organisations", _grid(16, 15, 16, 15)),
                ("visualization", "newsbeam-top-places", _grid(32, 15, 16, 15)),
                ("visualization", "newsbeam-co-mentions", _grid(0, 30, 16, 16)),
                ("visualization", "newsbeam-stories", _grid(16, 30, 32, 16)),
                ("search", "newsbeam-watched-articles", _grid(0, 46, 48, 18)),
                ("visualization", "newsbeam-alerts-by-rule", _grid(0, 64, 24, 15)),
                ("visualization", "newsbeam-dead-letters-by-stage", _grid(24, 64, 24, 15)),
                ("search", "newsbeam-search-alerts", _grid(0, 79, 48, 16)),
            ]
        )
    )
    return objects


def _grid(x: int, y: int, w: int, h: int) -> dict[str, int]:
    return {"x": x, "y": y, "w": w, "h": h}


def render() -> str:
    return "".join(
        json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in saved_objects()
    )


if __name__ == "__main__":
    NDJSON.write_text(render(), encoding="utf-8")
    print(f"wrote {NDJSON}")
