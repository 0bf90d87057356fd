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

from connectors.files import ReadTally, read_articles
from pipelines.progress import Progress
from pipelines.settings import Settings
from transforms.chain import build_stages, enrich, warm_up
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
    """Text files, saved pages and WARC archives through the chain; see the module docstring.

    A long run also prints a progress line to ``err`` every few seconds and a summary at
    the end, as does a run that skipped WARC records (``pipelines/progress.py``)."""
    stages = build_stages(settings.knowledge_base_file)
    warm_up(stages)  # models load before the first document's time budget starts
    tally = ReadTally()
    progress = Progress(err, tally, verb="processed")
    for item in read_articles(paths, settings.max_document_bytes, tally):
        result = (
            enrich(item, stages, settings.stage_timeout_s) if isinstance(item, Document) else item
        )
        if isinstance(result, DeadLetter):
            progress.reject()
            print(
                f"{result.origin}: rejected at {result.stage}: {result.reason}: {result.message}",
                file=err,
            )
            continue
        progress.accept()
        print(json.dumps(document_record(result), ensure_ascii=False), file=out)
    progress.summary()
    return 1 if progress.rejected else 0
