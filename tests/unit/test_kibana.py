"""The Kibana saved objects: they parse, refer to each other and to mapped fields only.

Kibana cannot run here; tests/integration/test_search.py runs every query they hold.
"""

from __future__ import annotations

import email.parser
import json
import re
from typing import Any

import pytest

from connectors.elasticsearch import load_mapping
from infra.kibana import build
from pipelines.commands.kibana import NDJSON, multipart_body, saved_objects
from pipelines.settings import load

VIEW_MAPPINGS = {
    build.ARTICLES_VIEW: "articles",
    build.DEAD_LETTERS_VIEW: "dead_letters",
    build.ALERTS_VIEW: "alerts",
}
_FIELD_IN_QUERY = re.compile(r"(?<![\w.@])(_exists_:)?([\w@][\w.@]*):")


def _objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text("utf-8").splitlines()]


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


def _search_source(item: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = json.loads(
        item["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
    )
    return source


def _view_of(item: dict[str, Any]) -> str:
    refs = {r["name"]: r["id"] for r in item["references"]}
    return refs[_search_source(item)["indexRefName"]]


def test_the_committed_ndjson_is_what_build_renders() -> None:
    assert NDJSON.read_text("utf-8") == build.render(), "run `python -m infra.kibana.build`"


def test_every_object_has_a_unique_id_and_a_known_type() -> None:
    objects = _objects()
    ids = [(o["type"], o["id"]) for o in objects]
    assert len(ids) == len(set(ids))
    kinds = {o["type"] for o in objects}
    assert kinds == {"index-pattern", "search", "visualization", "dashboard"}
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "search"}
    assert {"Khalifa Haftar mentions", "Articles by language", "Dead letters"} <= titles


def test_every_reference_resolves_to_an_object_in_the_file() -> None:
    objects = _objects()
    present = {(o["type"], o["id"]) for o in objects}
    for item in objects:
        for reference in item["references"]:
            assert (reference["type"], reference["id"]) in present, (item["id"], reference)
    dashboard = next(o for o in objects if o["type"] == "dashboard")
    names = {r["name"] for r in dashboard["references"]}
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    assert {p["panelRefName"] for p in panels} == names
    assert len(panels) == 5


def test_data_views_point_at_the_default_aliases_with_a_mapped_time_field() -> None:
    views = {o["id"]: o["attributes"] for o in _objects() if o["type"] == "index-pattern"}
    assert views[build.ARTICLES_VIEW]["title"] == "news-articles"
    assert views[build.ALERTS_VIEW]["title"] == "news-alerts"
    for view_id, attributes in views.items():
        mapping = load_mapping(VIEW_MAPPINGS[view_id])
        assert attributes["timeFieldName"] in _mapped_fields(mapping)


def test_every_field_an_object_uses_is_in_its_mapping() -> None:
    checked = 0
    for item in _objects():
        if item["type"] not in ("search", "visualization"):
            continue
        fields = _mapped_fields(load_mapping(VIEW_MAPPINGS[_view_of(item)]))
        used: set[str] = set()
        source = _search_source(item)
        assert source["query"]["language"] == "lucene"
        used |= {m.group(2) for m in _FIELD_IN_QUERY.finditer(source["query"]["query"])}
        used |= {
            m.group(0).split(":")[1]
            for m in re.finditer(r"_exists_:[\w.@]+", source["query"]["query"])
        }
        attributes = item["attributes"]
        used |= set(attributes.get("columns", []))
        used |= {column for column, _order in attributes.get("sort", [])}
        if item["type"] == "visualization":
            vis = json.loads(attributes["visState"])
            used |= {agg["params"]["field"] for agg in vis["aggs"] if "field" in agg["params"]}
        used.discard("_exists_")
        assert used, item["id"]
        assert used <= fields, (item["id"], used - fields)
        checked += 1
    assert checked == 8


def test_setup_points_the_data_views_at_the_configured_prefix() -> None:
    settings = load(overrides={"index_prefix": "desk"}, environ={})
    titles = {o["id"]: o["attributes"]["title"] for o in saved_objects(settings)}
    assert titles[build.ARTICLES_VIEW] == "desk-articles"
    assert titles[build.DEAD_LETTERS_VIEW] == "desk-dead-letters"
    assert titles[build.ALERTS_VIEW] == "desk-alerts"


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


@pytest.mark.parametrize("query", ['entities.canonical:"Khalifa Haftar"', "_exists_:stage"])
def test_field_pattern_finds_fields_in_lucene(query: str) -> None:
    assert _FIELD_IN_QUERY.search(query)
