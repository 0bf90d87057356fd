"""``newsbeam process``: the transform chain with no services, JSON lines out.

A stable contract other tools depend on: one JSON object per accepted document
on stdout; one line per rejected input on stderr; exit status 1 when any input
was rejected (accepted documents are still printed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from connectors.files import read_articles
from pipelines.settings import Settings
from transforms.chain import build_stages, enrich
from transforms.document import DeadLetter, Document


def document_record(doc: Document) -> dict[str, Any]:
    """The contract's fields, in a stable order."""
    return {
        "id": doc.id,
        "origin": doc.origin,
        "source": doc.source,
        "title": doc.title,
        "authors": doc.authors,
        "published": doc.published,
        "language": doc.language,
        "language_score": round(doc.language_score, 4),
        "text": doc.text,
        "extraction_method": doc.extraction_method,
        "boilerplate": [{"kind": s.kind, "text": s.text} for s in doc.boilerplate],
        "entities": [
            {
                "text": m.text,
                "label": m.label,
                "canonical": m.canonical,
                "start": m.start,
                "end": m.end,
            }
            for m in doc.entities
        ],
        "fingerprint": doc.fingerprint.simhash if doc.fingerprint else None,
        "content_hash": doc.fingerprint.content_hash if doc.fingerprint else None,
    }


def process_paths(paths: Iterable[str | Path], settings: Settings, out: TextIO, err: TextIO) -> int:
    rejected = 0
    stages = build_stages(settings.knowledge_base_file)
    for item in read_articles(paths, settings.max_document_bytes):
        result = enrich(item, stages) if isinstance(item, Document) else item
        if isinstance(result, DeadLetter):
            rejected += 1
            print(
                f"{result.origin}: rejected at {result.stage}: {result.reason}: {result.message}",
                file=err,
            )
            continue
        print(json.dumps(document_record(result), ensure_ascii=False), file=out)
    return 1 if rejected else 0
