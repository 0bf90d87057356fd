"""Holds saved objects to the rules Kibana applies when it imports and loads them.

Kibana cannot run on the build machine, so these rules were written from Kibana's own
source (github.com/elastic/kibana; paths below are those of the 8.x/9.x tree under
``src/platform/plugins/shared/`` or, for older files, ``src/plugins/``), not copied:

* Import, versions - ``core .../document_migrator/pipelines/upgrade.ts``
  (``DocumentUpgradePipeline``): ``assertValidCoreVersion`` refuses a
  ``coreMigrationVersion`` newer than the running Kibana, ``assertCompatibility`` refuses a
  ``typeMigrationVersion`` newer than the type's latest migration ("belongs to a more recent
  version of Kibana"). The per-type latest versions are in ``LATEST_TYPE_MIGRATION``.
* Import, attributes - the type registrations: ``dashboard/server/dashboard_saved_object/
  schema/v1/v1.ts`` (``unknowns: 'forbid'``) and ``v2/v2.ts`` (``showApplySelections``),
  ``visualizations/server/saved_objects/visualization.ts`` (schema ``8.8.0``),
  ``saved_search/server/saved_objects/schema.ts`` (search attributes),
  ``data_views/server/saved_objects/data_views.ts`` and the data view attributes type.
* Load, references - ``data/common/search/search_source/inject_references.ts``
  (``injectSearchSourceReferences``: ``indexRefName`` and every filter's
  ``meta.indexRefName`` must name a reference, else "Could not find reference for ...";
  the dashboard loader catches that and drops the saved query), ``dashboard/server/
  dashboard_saved_object/migrations/dashboard_container_references.ts`` (``createInject``:
  a panel's ``panelRefName`` is looked up among the references prefixed
  ``<panelIndex>:``, or all references when none is, else "Could not find reference";
  control references start with ``controlGroup_``) and the options list control's
  ``extractReferences(state, 'optionsListDataView')``.
* Load, visualisation state - ``vis_types/xy/public/vis_types/histogram.ts`` (the complete
  default ``visConfig`` of a bar chart) and ``vis_types/xy/public/utils/get_series_params.ts``
  (a metric without ``seriesParams`` gets ``mode: normal``: bars grouped, not stacked);
  ``vis_types/table`` defaults for tables.

``check_saved_objects`` returns one sentence per problem (empty: all good);
``check_newsbeam_rules`` adds this project's rules for analysts (time, facets, coverage).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Newest migration an 8.19 Kibana knows, per type. The source read is the current tree,
# which also holds 9.x-only versions, so each bound is the newest version that predates them:
# dashboard model versions 1-2 (dashboard_saved_object.ts; v3 "sections" and v4
# "accessControl" are 9.x), search model versions up to 5 (saved_search/.../search.ts; v6
# "tabs" is 9.x), visualization legacy migrations up to 8.5.0
# (visualization_saved_object_migrations.ts), index-pattern 8.0.0 (data_views.ts,
# convertToMultiNamespaceTypeVersion). Model version N is typeMigrationVersion "10.N.0".
LATEST_TYPE_MIGRATION = {
    "dashboard": "10.2.0",
    "search": "10.5.0",
    "visualization": "8.5.0",
    "index-pattern": "8.0.0",
}

ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    # schema/v1/v1.ts (unknowns: forbid) + v2 controlGroupInput; "sections" is v3 (9.x).
    "dashboard": frozenset(
        {
            "title",
            "description",
            "kibanaSavedObjectMeta",
            "timeRestore",
            "timeFrom",
            "timeTo",
            "refreshInterval",
            "controlGroupInput",
            "panelsJSON",
            "optionsJSON",
            "hits",
            "version",
        }
    ),
    # visualization.ts, schema 8.8.0
    "visualization": frozenset(
        {
            "title",
            "description",
            "version",
            "kibanaSavedObjectMeta",
            "uiStateJSON",
            "visState",
            "savedSearchRefName",
        }
    ),
    # saved_search schema (8.8.0 and model versions up to the tab-less 8.x shape)
    "search": frozenset(
        {
            "title",
            "description",
            "columns",
            "sort",
            "grid",
            "hideChart",
            "isTextBasedQuery",
            "usesAdHocDataView",
            "kibanaSavedObjectMeta",
            "viewMode",
            "hideAggregatedPreview",
            "rowHeight",
            "headerRowHeight",
            "rowsPerPage",
            "sampleSize",
            "breakdownField",
            "density",
            "visContext",
            "timeRestore",
            "timeRange",
            "refreshInterval",
        }
    ),
    # data view attributes (DataViewAttributes)
    "index-pattern": frozenset(
        {
            "title",
            "name",
            "type",
            "typeMeta",
            "timeFieldName",
            "sourceFilters",
            "fields",
            "fieldFormatMap",
            "fieldAttrs",
            "runtimeFieldMap",
            "allowNoIndex",
            "allowHidden",
        }
    ),
}
CONTROL_GROUP_KEYS = frozenset(
    {
        "panelsJSON",
        "controlStyle",
        "chainingSystem",
        "ignoreParentSettingsJSON",
        "showApplySelections",
    }
)
CONTROL_TYPES = {
    "optionsListControl": "optionsListDataView",
    "rangeSliderControl": "rangeSliderDataView",
}
GRID_COLUMNS = 48

XY_TYPES = {"histogram", "horizontal_bar", "line", "area"}
# histogram.ts visConfig.defaults: what a complete bar/line/area state carries.
XY_REQUIRED_PARAMS = frozenset(
    {
        "type",
        "grid",
        "categoryAxes",
        "valueAxes",
        "seriesParams",
        "addTooltip",
        "addLegend",
        "legendPosition",
        "times",
        "addTimeMarker",
        "labels",
        "thresholdLine",
    }
)
SERIES_MODES = {"normal", "stacked"}
TABLE_REQUIRED_PARAMS = frozenset(
    {"perPage", "showPartialRows", "showMetricsAtAllLevels", "showTotal", "totalFunc"}
)
METRIC_AGGS = {"count", "cardinality", "min", "max", "avg", "sum", "top_hits", "median"}
BUCKET_AGGS = {"terms", "date_histogram", "histogram", "filters", "range", "significant_terms"}

FieldsOf = Callable[[str], set[str]]  # data view id -> the fields its indices map


def _version(value: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", value)[:3])


def _json(value: Any, what: str, problems: list[str]) -> Any:
    if not isinstance(value, str):
        problems.append(f"{what} is not a JSON string.")
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        problems.append(f"{what} is not valid JSON ({exc.msg}).")
        return None


def search_source(item: Mapping[str, Any]) -> dict[str, Any]:
    meta = item.get("attributes", {}).get("kibanaSavedObjectMeta") or {}
    raw = meta.get("searchSourceJSON")
    parsed = json.loads(raw) if isinstance(raw, str) else {}
    return parsed if isinstance(parsed, dict) else {}


def data_view_of(item: Mapping[str, Any]) -> str | None:
    """The data view id a search or visualisation reads, resolved as Kibana does."""
    name = search_source(item).get("indexRefName")
    for reference in item.get("references", []):
        if reference.get("name") == name:
            return str(reference.get("id"))
    return None


def _check_versions(item: Mapping[str, Any], kibana: str, where: str, out: list[str]) -> None:
    core = item.get("coreMigrationVersion")
    if core is not None and _version(core) > _version(kibana):
        out.append(f"{where}: coreMigrationVersion {core} is newer than Kibana {kibana}.")
    latest = LATEST_TYPE_MIGRATION.get(str(item.get("type")))
    version = item.get("typeMigrationVersion") or (item.get("migrationVersion") or {}).get(
        str(item.get("type"))
    )
    if version is None:
        out.append(
            f"{where}: no typeMigrationVersion; Kibana would run every migration from the first."
        )
    elif latest is not None and _version(version) > _version(latest):
        out.append(
            f"{where}: typeMigrationVersion {version} belongs to a more recent Kibana "
            f"(the last known is {latest})."
        )


def _check_search_source(
    item: Mapping[str, Any], names: set[str], where: str, out: list[str]
) -> dict[str, Any] | None:
    meta = item["attributes"].get("kibanaSavedObjectMeta")
    if meta is None:
        return None
    source = _json(meta.get("searchSourceJSON"), f"{where}: searchSourceJSON", out)
    if not isinstance(source, dict):
        if source is not None:
            out.append(f"{where}: searchSourceJSON is not an object.")
        return None
    ref_name = source.get("indexRefName")
    if ref_name is not None and ref_name not in names:
        out.append(
            f"{where}: searchSourceJSON.indexRefName {ref_name!r} names no reference; the "
            "loader fails to inject it and drops the saved query and filters."
        )
    for position, row in enumerate(source.get("filter") or []):
        filter_ref = (row.get("meta") or {}).get("indexRefName")
        if filter_ref is not None and filter_ref not in names:
            out.append(f"{where}: filter {position} names reference {filter_ref!r}, missing.")
    if "index" in source and ref_name is None:
        out.append(f"{where}: searchSourceJSON holds a raw index id; Kibana stores a reference.")
    return source


def _panel_reference(
    panel: Mapping[str, Any], references: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """createInject's lookup: references prefixed "<panelIndex>:" or, without any, all."""
    prefix = f"{panel.get('panelIndex')}:"
    own = [
        {**reference, "name": reference["name"][len(prefix) :]}
        for reference in references
        if str(reference.get("name", "")).startswith(prefix)
    ]
    for reference in own or references:
        if reference.get("name") == panel.get("panelRefName"):
            return reference
    return None


def _check_dashboard(
    item: Mapping[str, Any],
    present: set[tuple[str, str]],
    where: str,
    fields_of: FieldsOf | None,
    out: list[str],
) -> None:
    attributes = item["attributes"]
    references = list(item.get("references", []))
    panels = _json(attributes.get("panelsJSON", "[]"), f"{where}: panelsJSON", out)
    if not isinstance(panels, list):
        return
    seen: set[str] = set()
    for panel in panels:
        index = str(panel.get("panelIndex"))
        here = f"{where} panel {index}"
        if index in seen:
            out.append(f"{here}: panelIndex used twice.")
        seen.add(index)
        if not panel.get("type"):
            out.append(f'{here}: "type" attribute is missing.')
        grid = panel.get("gridData") or {}
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")):
            out.append(f"{here}: gridData needs integer x, y, w, h.")
        elif grid["x"] < 0 or grid["x"] + grid["w"] > GRID_COLUMNS:
            out.append(f"{here}: gridData leaves the {GRID_COLUMNS}-column grid.")
        if panel.get("panelRefName") is None:
            continue
        reference = _panel_reference(panel, references)
        if reference is None:
            out.append(f"{here}: Could not find reference {panel['panelRefName']!r}.")
        elif (reference["type"], reference["id"]) not in present:
            out.append(f"{here}: refers to {reference['type']} {reference['id']}, not in the file.")
    group = attributes.get("controlGroupInput")
    if group is None:
        return
    unknown = set(group) - CONTROL_GROUP_KEYS
    if unknown:
        out.append(f"{where}: controlGroupInput has unknown keys {sorted(unknown)}.")
    controls = _json(group.get("panelsJSON", "{}"), f"{where}: controlGroupInput.panelsJSON", out)
    if not isinstance(controls, dict):
        return
    names = {str(r.get("name")): r for r in references}
    for control_id, control in controls.items():
        here = f"{where} control {control_id}"
        ref_kind = CONTROL_TYPES.get(str(control.get("type")))
        if ref_kind is None:
            out.append(f"{here}: unknown control type {control.get('type')!r}.")
            continue
        explicit = control.get("explicitInput") or {}
        field = explicit.get("fieldName")
        if not field:
            out.append(f"{here}: no fieldName.")
        reference = names.get(f"controlGroup_{control_id}:{ref_kind}")
        view = explicit.get("dataViewId") or (reference or {}).get("id")
        if view is None:
            out.append(f"{here}: no data view (reference controlGroup_{control_id}:{ref_kind}).")
        elif ("index-pattern", view) not in present:
            out.append(f"{here}: data view {view} is not in the file.")
        elif fields_of is not None and field and field not in fields_of(view):
            out.append(f"{here}: field {field} is not mapped in data view {view}.")


def _check_vis_state(item: Mapping[str, Any], where: str, out: list[str]) -> dict[str, Any] | None:
    vis = _json(item["attributes"].get("visState"), f"{where}: visState", out)
    if not isinstance(vis, dict):
        return None
    kind = vis.get("type")
    params = vis.get("params") or {}
    aggs = vis.get("aggs") or []
    ids = [str(agg.get("id")) for agg in aggs]
    if len(ids) != len(set(ids)):
        out.append(f"{where}: aggregation ids repeat.")
    for agg in aggs:
        if agg.get("type") not in METRIC_AGGS | BUCKET_AGGS or not agg.get("schema"):
            out.append(f"{where}: aggregation {agg.get('id')} has an unknown type or no schema.")
    metrics = [agg for agg in aggs if agg.get("schema") == "metric"]
    if not metrics:
        out.append(f"{where}: no metric aggregation.")
    if kind in XY_TYPES:
        missing = XY_REQUIRED_PARAMS - set(params)
        if missing:
            out.append(
                f"{where}: params lack {sorted(missing)}; Kibana fills them in with defaults "
                "(seriesParams with mode normal: grouped, not stacked)."
            )
        value_axes = {axis.get("id") for axis in params.get("valueAxes") or []}
        if not params.get("categoryAxes") or not value_axes:
            out.append(f"{where}: needs at least one categoryAxes and one valueAxes entry.")
        series = {str((s.get("data") or {}).get("id")): s for s in params.get("seriesParams") or []}
        for metric in metrics:
            serie = series.get(str(metric.get("id")))
            if serie is None:
                out.append(f"{where}: metric {metric.get('id')} has no seriesParams entry.")
                continue
            if serie.get("mode") not in SERIES_MODES:
                out.append(
                    f"{where}: series {metric.get('id')} mode must be one of {SERIES_MODES}."
                )
            if serie.get("valueAxis") not in value_axes:
                out.append(f"{where}: series {metric.get('id')} names an unknown valueAxis.")
    elif kind == "table":
        missing = TABLE_REQUIRED_PARAMS - set(params)
        if missing:
            out.append(f"{where}: table params lack {sorted(missing)}.")
    else:
        out.append(f"{where}: visualisation type {kind!r} is not one newsbeam checks.")
    return vis


_FIELD_IN_QUERY = re.compile(r"(?<![\w.@])(?:_exists_:)?([A-Za-z@][\w.@]*):")


def query_fields(query: str) -> set[str]:
    """Fields a Lucene query names (``field:value`` and ``_exists_:field``)."""
    fields = {m.group(1) for m in _FIELD_IN_QUERY.finditer(query)} - {"_exists_"}
    fields |= {m.group(1) for m in re.finditer(r"_exists_:([\w.@]+)", query)}
    return fields


def fields_used(item: Mapping[str, Any]) -> set[str]:
    """Every field a search or visualisation uses: query, columns, sort, aggregations."""
    source = search_source(item)
    used = query_fields(str((source.get("query") or {}).get("query", "")))
    attributes = item.get("attributes", {})
    used |= set(attributes.get("columns") or [])
    used |= {pair[0] for pair in attributes.get("sort") or []}
    if "visState" in attributes:
        for agg in json.loads(attributes["visState"]).get("aggs", []):
            params = agg.get("params") or {}
            used |= {str(params[k]) for k in ("field", "sortField") if params.get(k)}
    return used


def check_saved_objects(
    objects: Iterable[Mapping[str, Any]],
    kibana_version: str,
    fields_of: FieldsOf | None = None,
) -> list[str]:
    """Every problem Kibana would hit importing and then loading these objects."""
    items = list(objects)
    out: list[str] = []
    present = {(str(o.get("type")), str(o.get("id"))) for o in items}
    if len(present) != len(items):
        out.append("two objects share a type and id; the import keeps only one.")
    for item in items:
        kind, object_id = str(item.get("type")), str(item.get("id"))
        where = f"{kind} {object_id}"
        if kind not in ALLOWED_ATTRIBUTES:
            out.append(f"{where}: type {kind!r} is not one newsbeam ships.")
            continue
        attributes = item.get("attributes")
        if not isinstance(attributes, dict) or not isinstance(attributes.get("title"), str):
            out.append(f"{where}: attributes need a title string.")
            continue
        unknown = set(attributes) - ALLOWED_ATTRIBUTES[kind]
        if unknown:
            out.append(f"{where}: attributes {sorted(unknown)} are not allowed for {kind}.")
        _check_versions(item, kibana_version, where, out)
        references = item.get("references")
        if not isinstance(references, list):
            out.append(f"{where}: references must be a list.")
            continue
        names = [str(r.get("name")) for r in references]
        if len(names) != len(set(names)):
            out.append(f"{where}: two references share a name.")
        for reference in references:
            if (reference.get("type"), reference.get("id")) not in present:
                out.append(
                    f"{where}: reference {reference.get('name')} -> "
                    f"{reference.get('type')} {reference.get('id')} is not in the file."
                )
        source = _check_search_source(item, set(names), where, out)
        if kind in ("search", "visualization"):
            reads_view = source is not None and "indexRefName" in source
            if not reads_view and not attributes.get("savedSearchRefName"):
                out.append(f"{where}: reads no data view (no searchSourceJSON.indexRefName).")
            view = data_view_of(item)
            if kind == "visualization":
                _check_vis_state(item, where, out)
            if fields_of is not None and view is not None:
                unmapped = fields_used(item) - fields_of(view)
                if unmapped:
                    out.append(f"{where}: fields {sorted(unmapped)} are not mapped in {view}.")
        if kind == "dashboard":
            _check_dashboard(item, present, where, fields_of, out)
    return out


# --- newsbeam's own rules for analysts (not Kibana's) ----------------------------------------


def dashboard_objects(
    objects: Iterable[Mapping[str, Any]],
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    """The one dashboard and the objects its panels show."""
    items = list(objects)
    (dashboard,) = [o for o in items if o.get("type") == "dashboard"]
    by_key = {(o["type"], o["id"]): o for o in items}
    shown = []
    for panel in json.loads(dashboard["attributes"].get("panelsJSON", "[]")):
        reference = _panel_reference(panel, dashboard["references"])
        if reference and (reference["type"], reference["id"]) in by_key:
            shown.append(by_key[(reference["type"], reference["id"])])
    return dashboard, shown


def check_newsbeam_rules(
    objects: Iterable[Mapping[str, Any]],
    object_arrays: Iterable[str],
    required_on_dashboard: Mapping[str, set[str]],
) -> list[str]:
    """The dashboard opens on a stored range; every time chart uses its data view's time
    field; no panel mixes two sub-fields of an object array (they match different
    entities); every data view appears on the dashboard with the fields it must show."""
    items = list(objects)
    out: list[str] = []
    views = {o["id"]: o["attributes"] for o in items if o.get("type") == "index-pattern"}
    dashboard, shown = dashboard_objects(items)
    attributes = dashboard["attributes"]
    if not attributes.get("timeRestore") or not (
        attributes.get("timeFrom") and attributes.get("timeTo")
    ):
        out.append(
            "the dashboard stores no time range (timeRestore): it opens on Kibana's default, "
            "the last 15 minutes."
        )
    for item in items:
        where = f"{item.get('type')} {item.get('id')}"
        view = data_view_of(item)
        if view is None:
            continue
        time_field = (views.get(view) or {}).get("timeFieldName")
        for agg in (
            json.loads(item["attributes"]["visState"]).get("aggs", [])
            if "visState" in item["attributes"]
            else []
        ):
            if agg.get("type") == "date_histogram" and agg["params"].get("field") != time_field:
                out.append(
                    f"{where}: the x-axis is {agg['params'].get('field')} but the time picker "
                    f"filters {time_field}."
                )
        used = fields_used(item)
        for array in object_arrays:
            sub_fields = {f for f in used if f.startswith(array + ".")}
            if len(sub_fields) > 1:
                out.append(
                    f"{where}: uses {sorted(sub_fields)} together, but {array} is an object "
                    "array: a filter on one sub-field and a count or column of another match "
                    "different entities of the article."
                )
    on_dashboard: dict[str, set[str]] = {}
    for item in shown:
        view = data_view_of(item)
        if view is not None:
            on_dashboard.setdefault(view, set()).update(fields_used(item))
    for view in views:
        if view not in on_dashboard:
            out.append(f"data view {view} has no panel on the dashboard.")
    for view, fields in required_on_dashboard.items():
        missing = fields - on_dashboard.get(view, set())
        if missing:
            out.append(f"the dashboard never shows {sorted(missing)} of {view}.")
    return out
