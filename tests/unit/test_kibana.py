"""The Kibana saved objects: they pass the rules Kibana applies on import and load
(tests/unit/kibana_checker.py, written from Kibana's source), newsbeam's rules for analysts,
and the checker fails on each fault the objects before issue 16 had.

Kibana cannot run here; tests/integration/test_dashboard.py runs every panel's query.
"""

from __future__ import annotations

import copy
import email.parser
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.elasticsearch import load_mapping
from infra.kibana import build
from pipelines.commands.kibana import NDJSON, multipart_body, saved_objects
from pipelines.settings import load
from tests.unit.kibana_checker import (
    check_newsbeam_rules,
    check_saved_objects,
    dashboard_objects,
    data_view_of,
    search_source,
)

ROOT = Path(__file__).resolve().parents[2]
BEFORE = ROOT / "tests" / "data" / "kibana" / "newsbeam_before_issue16.ndjson"
VIEW_MAPPINGS = {
    build.ARTICLES_VIEW: "articles",
    build.DEAD_LETTERS_VIEW: "dead_letters",
    build.ALERTS_VIEW: "alerts",
}
OBJECT_ARRAYS = ["entities"]
REQUIRED_ON_DASHBOARD = {build.ARTICLES_VIEW: {"story.id", "url"}}


def _kibana_version() -> str:
    """The Kibana image docker-compose.yml runs: the version the objects must not exceed."""
    compose = (ROOT / "docker-compose.yml").read_text("utf-8")
    match = re.search(r"image:\s*docker\.elastic\.co/kibana/kibana:(\d+\.\d+\.\d+)", compose)
    assert match, "docker-compose.yml runs no Kibana image"
    return match.group(1)


def _mapped_fields(mapping: dict[str, Any], prefix: str = "") -> set[str]:
    fields: set[str] = set()
    for name, spec in mapping.get("properties", {}).items():
        path = prefix + name
        if "properties" in spec:
            fields |= _mapped_fields(spec, path + ".")
        elif spec.get("enabled", True):
            fields.add(path)
            fields |= {f"{path}.{sub}" for sub in spec.get("fields", {})}
    return fields


def _fields_of(view: str) -> set[str]:
    return _mapped_fields(load_mapping(VIEW_MAPPINGS[view]))


def _objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text("utf-8").splitlines()]


def _problems(objects: list[dict[str, Any]]) -> list[str]:
    return check_saved_objects(objects, _kibana_version(), _fields_of) + check_newsbeam_rules(
        objects, OBJECT_ARRAYS, REQUIRED_ON_DASHBOARD
    )


def test_the_committed_ndjson_is_what_build_renders() -> None:
    assert NDJSON.read_text("utf-8") == build.render(), "run `python -m infra.kibana.build`"


def test_the_saved_objects_pass_kibanas_rules_and_ours() -> None:
    assert _kibana_version() == build.KIBANA_VERSION
    assert _problems(_objects()) == []


# --- the checker catches each fault of the objects before issue 16 ---------------------------


def _before() -> list[dict[str, Any]]:
    return [json.loads(line) for line in BEFORE.read_text("utf-8").splitlines()]


FAULTS = {
    1: r"dashboard .*indexRefName 'kibanaSavedObjectMeta\.searchSourceJSON\.index' names no "
    r"reference",
    2: r"(stores no time range|x-axis is published but the time picker filters @timestamp)",
    3: r"newsbeam-haftar-by-language: metric 1 has no seriesParams entry",
    4: r"entities is an object array",
    5: r"(data view newsbeam-alerts has no panel|data view newsbeam-dead-letters has no panel|"
    r"never shows \['story\.id', 'url'\])",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_checker_fails_on_each_fault_of_the_old_objects(fault: int) -> None:
    problems = _problems(_before())
    assert any(re.search(FAULTS[fault], p) for p in problems), problems


def _dashboard(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["type"] == "dashboard")


def _vis(objects: list[dict[str, Any]], vis_id: str) -> dict[str, Any]:
    return next(o for o in objects if o["id"] == vis_id)


def _drop_dashboard_index_reference(objects: list[dict[str, Any]]) -> None:
    dashboard = _dashboard(objects)
    dashboard["references"] = [r for r in dashboard["references"] if r["name"] != build.INDEX_REF]


def _forget_the_time_range(objects: list[dict[str, Any]]) -> None:
    _dashboard(objects)["attributes"]["timeRestore"] = False


def _axis_on_arrival_time(objects: list[dict[str, Any]]) -> None:
    vis = _vis(objects, "newsbeam-watched-by-outlet")
    state = json.loads(vis["attributes"]["visState"])
    state["aggs"][1]["params"]["field"] = "@timestamp"
    vis["attributes"]["visState"] = json.dumps(state)


def _drop_series_params(objects: list[dict[str, Any]]) -> None:
    vis = _vis(objects, "newsbeam-watched-by-language")
    state = json.loads(vis["attributes"]["visState"])
    del state["params"]["seriesParams"]
    vis["attributes"]["visState"] = json.dumps(state)


def _type_filter_on_entity_counts(objects: list[dict[str, Any]]) -> None:
    vis = _vis(objects, "newsbeam-co-mentions")
    source = search_source(vis)
    source["query"]["query"] = "entities.type:LOC"
    vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"] = json.dumps(source)


def _alerts_off_the_dashboard(objects: list[dict[str, Any]]) -> None:
    dashboard = _dashboard(objects)
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    dropped = {"newsbeam-alerts-by-rule", "newsbeam-search-alerts", "newsbeam-stories"}
    names = {r["name"] for r in dashboard["references"] if r["id"] in dropped}
    dashboard["references"] = [r for r in dashboard["references"] if r["name"] not in names]
    kept = [p for p in panels if f"{p['panelIndex']}:{p['panelRefName']}" not in names]
    dashboard["attributes"]["panelsJSON"] = json.dumps(kept)


def _unknown_panel_reference(objects: list[dict[str, Any]]) -> None:
    dashboard = _dashboard(objects)
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    panels[0]["panelRefName"] = "panel_missing"
    dashboard["attributes"]["panelsJSON"] = json.dumps(panels)


def _control_without_data_view(objects: list[dict[str, Any]]) -> None:
    dashboard = _dashboard(objects)
    dashboard["references"] = [
        r for r in dashboard["references"] if not r["name"].startswith("controlGroup_")
    ]


def _future_migration_version(objects: list[dict[str, Any]]) -> None:
    _vis(objects, "newsbeam-stories")["typeMigrationVersion"] = "10.9.0"


def _unknown_attribute(objects: list[dict[str, Any]]) -> None:
    _dashboard(objects)["attributes"]["layout"] = "grid"


def _filter_reference_missing(objects: list[dict[str, Any]]) -> None:
    vis = _vis(objects, "newsbeam-top-people")
    source = search_source(vis)
    source["filter"] = [
        {"meta": {"indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index"}}
    ]
    vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"] = json.dumps(source)


def _unmapped_control_field(objects: list[dict[str, Any]]) -> None:
    dashboard = _dashboard(objects)
    group = dashboard["attributes"]["controlGroupInput"]
    controls = json.loads(group["panelsJSON"])
    next(iter(controls.values()))["explicitInput"]["fieldName"] = "entities.label"
    group["panelsJSON"] = json.dumps(controls)


MUTATIONS: dict[str, tuple[Callable[[list[dict[str, Any]]], None], str]] = {
    "fault 1: dashboard index reference": (_drop_dashboard_index_reference, "names no reference"),
    "fault 2: no stored range": (_forget_the_time_range, "stores no time range"),
    "fault 2: axis on another time": (_axis_on_arrival_time, "time picker filters event_time"),
    "fault 3: no seriesParams": (_drop_series_params, "no seriesParams entry"),
    "fault 4: type filter, entity count": (_type_filter_on_entity_counts, "object array"),
    "fault 5: alerts not shown": (_alerts_off_the_dashboard, "newsbeam-alerts has no panel"),
    "panel reference": (_unknown_panel_reference, "Could not find reference 'panel_missing'"),
    "control data view": (_control_without_data_view, "no data view"),
    "migration version": (_future_migration_version, "belongs to a more recent Kibana"),
    "attribute": (_unknown_attribute, "not allowed for dashboard"),
    "filter reference": (_filter_reference_missing, "filter 0 names reference"),
    "control field": (_unmapped_control_field, "entities.label is not mapped"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_the_checker_fails_when_a_fault_is_put_back(name: str) -> None:
    objects = copy.deepcopy(_objects())
    mutate, expected = MUTATIONS[name]
    mutate(objects)
    problems = _problems(objects)
    assert any(expected in p for p in problems), problems


# --- what the dashboard holds ------------------------------------------------------------


def test_the_dashboard_opens_on_a_stored_range_with_every_chart_on_its_time_field() -> None:
    objects = _objects()
    attributes = _dashboard(objects)["attributes"]
    assert attributes["title"] == build.DASHBOARD_TITLE
    assert (attributes["timeRestore"], attributes["timeFrom"], attributes["timeTo"]) == (
        True,
        "now-1y",
        "now",
    )
    views = {o["id"]: o["attributes"] for o in objects if o["type"] == "index-pattern"}
    assert views[build.ARTICLES_VIEW]["timeFieldName"] == "event_time"
    histograms = 0
    for item in objects:
        if item["type"] != "visualization":
            continue
        state = json.loads(item["attributes"]["visState"])
        for agg in state["aggs"]:
            if agg["type"] == "date_histogram":
                histograms += 1
                assert agg["params"]["field"] == views[data_view_of(item)]["timeFieldName"]
        if state["type"] == "histogram":
            assert [s["mode"] for s in state["params"]["seriesParams"]] == ["stacked"]
    assert histograms == 3


def test_the_dashboard_shows_every_panel_the_issue_asks_for() -> None:
    dashboard, shown = dashboard_objects(_objects())
    titles = {o["attributes"]["title"] for o in shown}
    assert titles == {
        "Watched entities over time, by language",
        "Watched entities over time, by outlet",
        "Top people",
        "Top organisations",
        "Top places",
        "Co-mentioned with the selected entity",
        "Stories",
        "Articles naming a watched entity",
        "Alerts over time, by rule",
        "Dead letters by stage and reason",
        "Latest alerts",
    }
    controls = json.loads(dashboard["attributes"]["controlGroupInput"]["panelsJSON"])
    assert {c["explicitInput"]["fieldName"] for c in controls.values()} == {
        "language",
        "source.name",
        "entities.name",
        "entities.type",
    }
    alerts = next(o for o in shown if o["id"] == "newsbeam-search-alerts")
    assert {"snippet", "url"} <= set(alerts["attributes"]["columns"])
    stories = json.loads(
        next(o for o in shown if o["id"] == "newsbeam-stories")["attributes"]["visState"]
    )
    assert {a["type"] for a in stories["aggs"]} == {
        "count",
        "cardinality",
        "min",
        "top_hits",
        "terms",
    }


def test_watched_query_follows_the_watchlist() -> None:
    from transforms.alerts import parse_watchlist

    watchlist = parse_watchlist(
        {
            "rules": [
                {"name": "a", "entity": "Khalifa Haftar"},
                {"name": "b", "query": ['say "no"', "oil ports"]},
                {"name": "c", "entity": "Fayez al-Sarraj", "enabled": False},
            ]
        }
    )
    assert build.watched_query(watchlist.rules) == (
        'entities.canonical:"Khalifa Haftar" OR "say \\"no\\"" OR "oil ports"'
    )
    assert build.watched_query([]) == "*"


def test_setup_points_the_objects_at_this_installation(tmp_path: Path) -> None:
    watchlist = tmp_path / "watch.yaml"
    watchlist.write_text("rules:\n  - name: gnu\n    entity: Fayez al-Sarraj\n", "utf-8")
    settings = load(
        overrides={"index_prefix": "desk", "watchlist_file": str(watchlist)}, environ={}
    )
    objects = saved_objects(settings)
    titles = {o["id"]: o["attributes"]["title"] for o in objects}
    assert titles[build.ARTICLES_VIEW] == "desk-articles"
    assert titles[build.DEAD_LETTERS_VIEW] == "desk-dead-letters"
    assert titles[build.ALERTS_VIEW] == "desk-alerts"
    queries = {o["id"]: search_source(o).get("query", {}).get("query") for o in objects}
    assert queries["newsbeam-watched-by-language"] == 'entities.canonical:"Fayez al-Sarraj"'
    assert queries["newsbeam-watched-articles"] == 'entities.canonical:"Fayez al-Sarraj"'
    assert _problems(objects) == []


def test_the_import_body_is_well_formed_multipart() -> None:
    content = NDJSON.read_bytes()
    body, content_type = multipart_body("newsbeam.ndjson", content)
    message = email.parser.BytesParser().parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    assert message.is_multipart()
    (part,) = message.get_payload()  # type: ignore[misc]
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "newsbeam.ndjson"
    assert part.get_payload(decode=True) == content
