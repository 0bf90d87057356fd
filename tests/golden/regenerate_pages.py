"""Regenerate the extraction golden files: tests/data/pages/*.html -> tests/golden/pages/*.json.

Run after a deliberate change to ``transforms/html.py`` or a trafilatura upgrade,
then read the diff: every changed line is a change in what the pipeline ingests.

    .venv/bin/python tests/golden/regenerate_pages.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "tests" / "data" / "pages"
GOLDEN = ROOT / "tests" / "golden" / "pages"


def page_document(path: Path) -> Any:
    """The raw document the feed connector would publish for this page."""
    from transforms.document import CONTENT_HTML, Document, document_id

    origin = f"https://pages.test/{path.stem}"
    return Document(
        id=document_id(url=origin),
        origin=origin,
        content=path.read_text(encoding="utf-8"),
        content_type=CONTENT_HTML,
        received_at="2024-01-01T00:00:00.000Z",
    )


def golden_record(path: Path) -> dict[str, Any]:
    from transforms.html import extract_html

    doc = extract_html(page_document(path))
    return {
        "page": path.name,
        "title": doc.title,
        "authors": doc.authors,
        "published": doc.published,
        "source": doc.source,
        "url": doc.url,
        "html_lang": doc.hints.get("html_lang"),
        "text": doc.text,
    }


def main() -> int:
    sys.path.insert(0, str(ROOT))
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for path in sorted(PAGES.glob("*.html")):
        record = golden_record(path)
        out = GOLDEN / f"{path.stem}.json"
        out.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"{out.relative_to(ROOT)}: {len(record['text'])} characters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
