"""The knowledge base at scale: load time, memory and linking cost per document as the
knowledge base grows from 1 thousand to 1 million aliases.

    .venv/bin/python -m benchmarks.kb_scale            # 1k, 100k, 1M aliases
    .venv/bin/python -m benchmarks.kb_scale --sizes 1000 20000 --json out.json

Each size is a JRC-Names TSV (gzip) of synthetic, seeded names — people ("Given
Surname", "Surname"), organisations and places — plus the packaged entities, so the
documents (the seeds and the alert test articles) link what they name. Each size is
loaded and measured in a fresh process (so resident memory is that size's alone), and
the table gives every size's linking cost per document as a ratio to the smallest, all
measured in the one run. Targets (issue 15): 1 M aliases load in < 30 s and < 1 GB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (1_000, 100_000, 1_000_000)
SEED = 20260415
ROUNDS = 5
_SYLLABLES = [
    *[
        "ka",
        "ri",
        "mo",
        "sa",
        "le",
        "na",
        "to",
        "vi",
        "da",
        "ru",
        "mi",
        "ko",
        "ha",
        "fe",
        "lo",
        "ze",
        "ba",
        "ti",
        "gu",
        "ne",
        "ya",
        "or",
        "al",
        "en",
        "is",
        "um",
        "ar",
        "el",
    ],
    *["os", "in", "an", "ek", "ul", "ab", "ir", "ov", "ez"],
]


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables)).capitalize()


def write_synthetic_kb(path: Path, aliases: int, seed: int = SEED) -> int:
    """A JRC-Names TSV with ``aliases`` synthetic names (plus the packaged entities)."""
    from transforms.entities import load_knowledge_base

    rng = random.Random(seed)
    written = 0
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("# synthetic knowledge base for benchmarks/kb_scale.py\n")
        packaged = load_knowledge_base()
        for entity in packaged.entities.values():
            code = {"PER": "P", "ORG": "O", "LOC": "L"}.get(entity.label, "T")
            extra = "\t".join("|".join(v) for v in (entity.context, entity.roles, entity.related))
            for alias in entity.aliases:
                name = alias.replace(" ", "+")
                out.write(f"{entity.entity_id}\t{code}\tu\t{name}\t{extra}\n")
        number = 0
        while written < aliases:
            number += 1
            kind = rng.random()
            if kind < 0.6:  # a person: full name, surname, a second spelling of the full name
                given, surname = _word(rng, rng.choice((2, 3))), _word(rng, rng.choice((2, 3, 4)))
                names = [f"{given}+{surname}", surname, f"{given[:-1]}e+{surname}"]
                code = "P"
            elif kind < 0.85:
                names = [f"{_word(rng, 2)}+{_word(rng, 3)}+Organisation", _word(rng, 2).upper()]
                code = "O"
            else:
                names = [_word(rng, rng.choice((2, 3, 4)))]
                code = "L"
            for name in names[: aliases - written]:
                out.write(f"S{number}\t{code}\tu\t{name}\n")
                written += 1
    return written


def _documents() -> list[tuple[str, str]]:
    docs = [(p.read_text(encoding="utf-8"), "und") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    manifest = ROOT / "tests" / "data" / "entities" / "alerts" / "manifest.tsv"
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, language, _ = line.split("\t")
            docs.append(((manifest.parent / name).read_text(encoding="utf-8"), language))
    return docs


def measure(path: Path) -> dict[str, Any]:
    """Load one knowledge base file and link the documents with it (run in a child)."""
    from benchmarks.measure import rss_mb
    from transforms.document import Document
    from transforms.entities import KnowledgeBase, tag_entities

    docs = [
        Document(id=str(i), origin="bench", content=text, text=text, language=language)
        for i, (text, language) in enumerate(_documents())
    ]
    tag_entities(docs[0])  # imports, lexicon and the packaged KB are not the load
    before = rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    kb = KnowledgeBase.load(path)
    load_wall, load_cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = rss_mb()
    for doc in docs:  # warm the caches the same way at every size
        tag_entities(doc, knowledge_base=kb)
    best = float("inf")
    linked = 0
    for _ in range(ROUNDS):
        cpu = time.process_time()
        linked = 0
        for doc in docs:
            linked += sum(1 for m in tag_entities(doc, knowledge_base=kb).entities if m.entity_id)
        best = min(best, time.process_time() - cpu)
    return {
        "entities": len(kb),
        "load_wall_s": round(load_wall, 2),
        "load_cpu_s": round(load_cpu, 2),
        "kb_rss_mb": round(after - before, 1),
        "process_rss_mb": round(after, 1),
        "ms_per_doc": round(best * 1000 / len(docs), 4),
        "linked_mentions": linked,
        "documents": len(docs),
    }


def run(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        for size in sizes:
            path = Path(tmp) / f"kb-{size}.tsv.gz"
            aliases = write_synthetic_kb(path, size)
            child = subprocess.run(
                [sys.executable, "-m", "benchmarks.kb_scale", "--child", str(path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                raise SystemExit(f"measuring {size} aliases failed:\n{child.stderr[-2000:]}")
            rows.append({"aliases": aliases, **json.loads(child.stdout)})
    base = rows[0]["ms_per_doc"]
    for row in rows:
        row["link_cost_ratio"] = round(row["ms_per_doc"] / base, 2) if base else None
    return rows


def report(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| synthetic aliases | entities | load (wall s) | KB memory (MiB RSS) "
        "| linking ms/doc (CPU) | ratio to smallest |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['aliases']:,} | {r['entities']:,} | {r['load_wall_s']} | {r['kb_rss_mb']} "
            f"| {r['ms_per_doc']} | {r['link_cost_ratio']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    rows = run(sorted(args.sizes))
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
