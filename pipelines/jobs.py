"""The jobs behind the CLI: publish files, run the pipeline, and the end-to-end demo."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from connectors.elasticsearch import client
from connectors.files import ReadTally, read_articles
from connectors.kafka import DocumentProducer, ensure_topics
from pipelines.progress import Progress
from pipelines.settings import Settings
from transforms.document import Document


def publish_files(
    paths: Iterable[str | Path],
    settings: Settings,
    out: TextIO = sys.stdout,
    err: TextIO | None = None,
) -> int:
    """Publish articles, saved pages and WARC archives' HTML pages to the raw topic; bad
    inputs go to the dead-letter topic. Progress of a long run, and a summary of records
    read and skipped, go to ``err`` (stderr from the CLI)."""
    ensure_topics(
        settings.kafka_bootstrap,
        [settings.raw_topic, settings.dlq_topic],
        security=settings.kafka_options,
    )
    tally = ReadTally()
    progress = Progress(err or out, tally, verb="published")
    with DocumentProducer(
        settings.kafka_bootstrap, settings.raw_topic, settings.dlq_topic, **settings.kafka_options
    ) as producer:
        for item in read_articles(paths, settings.max_document_bytes, tally):
            if isinstance(item, Document):
                producer.publish(item)
                progress.accept()
            else:
                producer.dead_letter(item)
                progress.reject()
                print(f"{item.origin}: rejected: {item.reason}: {item.message}", file=out)
    print(
        f"published {progress.accepted} documents to {settings.raw_topic}; "
        f"{progress.rejected} rejected to {settings.dlq_topic}",
        file=out,
    )
    progress.summary()
    return 1 if progress.rejected else 0


def run_pipeline(settings: Settings, until_idle: bool, idle_seconds: float = 5.0) -> int:
    from pipelines import ingest

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ingest.run(settings, until_idle=until_idle, idle_seconds=idle_seconds)
    return 0


def demo(settings: Settings, paths: list[str], out: TextIO = sys.stdout) -> int:
    """The main job: stack up, publish, run until idle, show what is searchable."""
    from infra import stack

    started = time.monotonic()
    report = stack.up(settings)
    print(report.describe(), file=out)
    if not report.ok:
        return 1
    publish_files(paths, settings, out=out)
    print("running the pipeline until the topic is drained ...", file=out)
    run_pipeline(settings, until_idle=True, idle_seconds=3.0)
    es = client(settings)
    try:
        es.indices.refresh(index=settings.articles_alias)
        print_summary(es, settings, out)
    finally:
        es.close()
    print(
        f"\ndone in {time.monotonic() - started:.1f} s. Stop the stack with `newsbeam stack down`.",
        file=out,
    )
    return 0


def print_summary(es: object, settings: Settings, out: TextIO) -> None:
    from elasticsearch import Elasticsearch

    assert isinstance(es, Elasticsearch)
    hits = es.search(
        index=settings.articles_alias,
        size=100,
        sort=[{"origin": "asc"}],
        source_excludes=["text", "boilerplate", "mentions"],
    )["hits"]["hits"]
    rows = [("file", "lang", "title", "outlet", "date", "linked", "Haftar")]
    for hit in hits:
        doc = hit["_source"]
        linked = sorted({e["canonical"] for e in doc.get("entities", []) if e.get("canonical")})
        rows.append(
            (
                Path(doc["origin"]).name,
                doc.get("language") or "",
                _clip(doc.get("title") or "-", 40),
                _clip((doc.get("source") or {}).get("name") or "-", 14),
                doc.get("published") or "-",
                str(len(linked)),
                "yes" if "Khalifa Haftar" in linked else "no",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(file=out)
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)), file=out
        )
    # One search, the way an analyst would type it: "Hafter" is one outlet's spelling, and the
    # linked entity finds every article about him whatever spelling or language it used.
    from connectors.search import SearchRequest, resolve_entities, search_articles
    from transforms.entities import load_knowledge_base

    query = "Hafter"
    kb = load_knowledge_base(settings.knowledge_base_file or None)
    request = SearchRequest(query=query, resolved=tuple(resolve_entities(query, kb)), size=20)
    found = search_articles(es, settings.articles_alias, request)
    print(
        f"\nsearch {query!r} (linked to {', '.join(request.resolved) or 'no entity'}): "
        f"{len(found)} hit(s): " + ", ".join(Path(h.origin or h.id).name for h in found),
        file=out,
    )
    if es.indices.exists_alias(name=settings.alerts_alias):
        es.indices.refresh(index=settings.alerts_alias)
        alerts = es.count(index=settings.alerts_alias)["count"]
        print(
            f"alerts stored in {settings.alerts_alias}: {alerts} (see `newsbeam alerts tail`)",
            file=out,
        )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
