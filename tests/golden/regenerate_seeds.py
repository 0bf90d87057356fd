"""Regenerate the seed golden files: seeds/*.txt -> tests/golden/seeds/*.json.

Run after a deliberate change to a transform, then read the diff: every changed
line is a change in what analysts will see for these articles.

    .venv/bin/python tests/golden/regenerate_seeds.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
GOLDEN = ROOT / "tests" / "golden" / "seeds"


def golden_record(path: Path) -> dict[str, Any]:
    """What the chain makes of one seed, in a form that reads well in a diff."""
    from connectors.files import read_article
    from transforms.chain import enrich
    from transforms.document import Document

    raw = read_article(path, max_bytes=10_000_000)
    assert isinstance(raw, Document), raw
    doc = enrich(raw)
    assert isinstance(doc, Document), doc
    linked: dict[str, list[str]] = {}
    for mention in doc.entities:
        if mention.canonical:
            variants = linked.setdefault(mention.canonical, [])
            if mention.text not in variants:
                variants.append(mention.text)
    return {
        "seed": path.name,
        "title": doc.title,
        "source": doc.source,
        "authors": doc.authors,
        "published": doc.published,
        "language": doc.language,
        "boilerplate": [{"kind": s.kind, "text": s.text} for s in doc.boilerplate],
        "linked_entities": {name: sorted(v) for name, v in sorted(linked.items())},
        "paragraphs": doc.text.split("\n\n"),
    }


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for path in sorted(SEEDS.glob("*.txt")):
        record = golden_record(path)
        target = GOLDEN / f"{path.stem}.json"
        target.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", "utf-8")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
