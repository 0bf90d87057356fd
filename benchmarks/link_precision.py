"""How often a knowledge-base link lands on a real name: linked mentions inside a gold
entity span of the NER dev splits in ``../shared/ner`` (data nobody tuned the linker on).

    .venv/bin/python -m benchmarks.link_precision                # every language there
    .venv/bin/python -m benchmarks.link_precision --languages hr ru sk --json out.json

The dev splits mark names (PER/ORG/LOC, some MISC), not links, so this measures one
side of precision: a link on a word that is no name at all ("Kad", Croatian "when",
linked to Chad) counts as wrong; a link to the wrong entity of a real name does not
show. Mentions are split by how they were linked: the alias key as written ("exact"),
the key after a case ending or clitic was removed ("case ending"), or neither (fuzzy
or co-reference). Sentences are grouped eight at a time into one document, so the
support rules for bare surnames see some context. Set ``NEWSBEAM_NER_DATA`` to read
the corpora from elsewhere.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ../shared/ner beside the checkout (a worktree sits one level deeper).
DEFAULT_DATA = next(
    (
        d
        for d in (ROOT.parent / "shared" / "ner", ROOT.parent.parent / "shared" / "ner")
        if d.is_dir()
    ),
    ROOT.parent / "shared" / "ner",
)
SENTENCES_PER_DOCUMENT = 8


def documents(path: Path) -> Iterator[tuple[str, list[tuple[int, int]]]]:
    """(text, gold name spans) for every ``SENTENCES_PER_DOCUMENT`` sentences of a file."""
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith("-DOCSTART-"):
                continue
            if not line:
                if current:
                    sentences.append(current)
                current = []
                continue
            token, tag = line.split("\t")
            current.append((token, tag))
    if current:
        sentences.append(current)
    for first in range(0, len(sentences), SENTENCES_PER_DOCUMENT):
        text = ""
        spans: list[list[int]] = []
        for sentence in sentences[first : first + SENTENCES_PER_DOCUMENT]:
            for token, tag in sentence:
                text += " " if text else ""
                start = len(text)
                text += token
                if tag.startswith("B-"):
                    spans.append([start, len(text)])
                elif tag.startswith("I-") and spans:
                    spans[-1][1] = len(text)
            text += " ."
        yield text, [(a, b) for a, b in spans]


def measure(language: str, data: Path) -> dict[str, Any]:
    from transforms.document import Document
    from transforms.entities import load_knowledge_base, tag_entities
    from transforms.entities.tokens import TOKEN
    from transforms.names import phrase_key

    kb = load_knowledge_base()
    counts: Counter[tuple[str, bool]] = Counter()
    wrong: Counter[str] = Counter()
    for path in sorted((data / language).glob("*.dev.conll.gz")):
        for text, spans in documents(path):
            doc = Document(id="d", origin=str(path), content=text, text=text, language=language)
            for mention in tag_entities(doc, knowledge_base=kb).entities:
                if not mention.entity_id:
                    continue
                words = TOKEN.findall(mention.text)
                found = kb.match(words, language) if words else None
                if found is None:
                    how = "fuzzy or co-reference"
                elif found.key in (phrase_key(words), mention.text) and found.lead == 0:
                    how = "exact"
                else:
                    how = "case ending"
                inside = any(
                    (a <= mention.start and mention.end <= b)
                    or (mention.start <= a and b <= mention.end)
                    for a, b in spans
                )
                counts[(how, inside)] += 1
                if not inside:
                    wrong[f"{mention.text} -> {mention.canonical}"] += 1
    rows = {}
    for how in ("exact", "case ending", "fuzzy or co-reference"):
        right, bad = counts[(how, True)], counts[(how, False)]
        rows[how] = {
            "linked": right + bad,
            "on_a_name": round(right / (right + bad), 3) if right + bad else None,
        }
    return {"language": language, "by_match": rows, "most_common_misses": wrong.most_common(5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", nargs="+")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data = Path(os.environ.get("NEWSBEAM_NER_DATA", DEFAULT_DATA))
    if not data.is_dir():
        raise SystemExit(f"no NER data at {data}; set NEWSBEAM_NER_DATA to the ner folder.")
    languages = args.languages or sorted(p.name for p in data.iterdir() if p.is_dir())
    results = [measure(language, data) for language in languages]
    print(
        "| language | exact: linked, on a name | case ending: linked, on a name "
        "| fuzzy/co-ref: linked, on a name |"
    )
    print("|---|---|---|---|")
    for r in results:
        cells = [
            f"{v['linked']}, {v['on_a_name'] if v['on_a_name'] is not None else '–'}"
            for v in r["by_match"].values()
        ]
        print(f"| {r['language']} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
