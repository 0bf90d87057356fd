"""Retroactive alerting: a new rule run over what is already indexed."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from pipelines.alerting.delivery import format_alert
from pipelines.alerting.store import AlertStore
from pipelines.settings import Settings
from transforms.alerts import (
    AlertRule,
    load_watchlist,
    raise_alerts,
)
from transforms.document import Document, Mention, utc_now


def document_from_article(source: dict[str, Any]) -> Document:
    """An indexed article back as a ``Document``, as far as rule evaluation needs it."""
    kinds = {
        e.get("canonical"): (e.get("type") or "MISC", e.get("id"))
        for e in source.get("entities") or []
        if e.get("canonical")
    }
    mentions = [
        Mention(
            text=m["text"],
            label=kinds.get(m.get("canonical"), ("MISC", None))[0],
            start=int(m["start"]),
            end=int(m["end"]),
            canonical=m.get("canonical"),
            entity_id=kinds.get(m.get("canonical"), ("MISC", None))[1],
        )
        for m in source.get("mentions") or []
    ]
    return Document(
        id=str(source["id"]),
        origin=str(source.get("origin") or ""),
        content="",
        url=source.get("url"),
        received_at=str(source.get("@timestamp") or utc_now()),
        source=(source.get("source") or {}).get("name"),
        title=source.get("title"),
        published=source.get("published"),
        text=source.get("text") or "",
        language=source.get("language") or "und",
        entities=mentions,
        story_id=(source.get("story") or {}).get("id"),
    )


def backfill_query(rule: AlertRule) -> dict[str, Any]:
    """The articles a rule could fire on; the rule itself then decides, as in the pipeline."""
    if rule.entity:
        match: dict[str, Any] = {
            "bool": {
                "should": [
                    {"term": {"entities.canonical": rule.entity}},
                    {"term": {"entities.id": rule.entity}},
                ],
                "minimum_should_match": 1,
            }
        }
    else:
        match = {
            "bool": {
                "should": [{"match_phrase": {"text": phrase}} for phrase in rule.query],
                "minimum_should_match": 1,
            }
        }
    filters: list[dict[str, Any]] = [match]
    if rule.languages:
        filters.append({"terms": {"language": sorted(rule.languages)}})
    return {"bool": {"filter": filters}}


def backfill(
    settings: Settings, rule_name: str, out: TextIO = sys.stdout, page_size: int = 500
) -> tuple[int, int]:
    """Evaluate one rule over everything indexed; alerts are still once per story.

    Returns (alerts raised, stories that had already alerted).
    """
    rule = load_watchlist(settings.watchlist_file or None).rule(rule_name)
    store = AlertStore(settings)
    raised_total = duplicate_total = 0
    try:
        es = store.es
        es.indices.refresh(index=settings.articles_alias, ignore_unavailable=True)
        after: list[Any] | None = None
        while True:
            page = es.search(
                index=settings.articles_alias,
                query=backfill_query(rule),
                size=page_size,
                sort=[{"@timestamp": "asc"}, {"id": "asc"}],
                search_after=after,
                source_excludes=["boilerplate", "search_text"],
            )["hits"]["hits"]
            if not page:
                break
            after = page[-1]["sort"]
            alerts = [
                alert
                for hit in page
                for alert in raise_alerts([rule], document_from_article(hit["_source"]))
            ]
            raised, duplicates, refused = store.record(alerts)
            raised_total += len(raised)
            duplicate_total += len(duplicates)
            for alert in raised:
                print(format_alert(alert), file=out)
            for letter in refused:
                print(f"refused: {letter.reason}: {letter.message}", file=out)
    finally:
        store.close()
    print(
        f"backfill of {rule.name!r}: {raised_total} alerts raised, "
        f"{duplicate_total} stories had already alerted",
        file=out,
    )
    return raised_total, duplicate_total
