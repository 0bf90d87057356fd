"""Cold start: CPU from a fresh process to its first enriched document, before and after.

    .venv/bin/python -m benchmarks.cold_start            # 3 fresh processes per cell

Each cell is a new Python process (models load once per process, so only a new process
shows the stall) that imports the chain and enriches one document: a long English
article (CLD2 decides it), a short Slovak and a short Bokmål sentence (short text goes
to lingua). Three ways:

- ``all-language lingua``: short text weighed by lingua's high-accuracy models of all
  75 languages, as before the change (``_shortlist`` returns nothing);
- ``shortlist, lazy``: the current code with nothing loaded up front (``newsbeam process``);
- ``shortlist, setup()``: the current code after the stages' warm-ups, as a pipeline
  worker runs them in ``setup()``; reported as warm-up + first document.

CPU seconds are reported (``time.process_time`` of the child, imports included), since
wall time on this shared machine depends on the other tenants; wall is shown beside.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = {
    "en (long, CLD2)": (ROOT / "seeds" / "003_06b97083d1090c06.txt").read_text(encoding="utf-8"),
    "sk (short, lingua)": (
        "Vláda v stredu schválila nový zákon o podpore nájomného bývania v mestách."
    ),
    "nb (short, lingua)": "Regjeringen vil bruke flere penger på jernbanen i Nord-Norge neste år.",
}
MODES = ("all-language lingua", "shortlist, lazy", "shortlist, setup()")

_CHILD = """
import json, sys, time
wall0 = time.perf_counter()
sys.path.insert(0, {root!r})
from transforms import language
from transforms.chain import build_stages, enrich
from transforms.document import Document, document_id
mode, text = {mode!r}, {text!r}
if mode == "all-language lingua":
    language.LanguageDetector._shortlist = lambda self, sample, guesses: frozenset()
stages = build_stages()
warm = 0.0
if mode == "shortlist, setup()":
    start = time.process_time()
    for stage in stages:
        if stage.warm_up is not None:
            stage.warm_up()
    warm = time.process_time() - start
doc = Document(id=document_id(content=text), origin="cold", content=text)
before_doc = time.process_time()
result = enrich(doc, stages)
print(json.dumps({{
    "cpu_total_s": time.process_time(),
    "warm_up_cpu_s": warm,
    "first_doc_cpu_s": time.process_time() - before_doc,
    "wall_s": time.perf_counter() - wall0,
    "language": getattr(result, "language", None),
}}))
"""


def measure(mode: str, text: str, repeats: int) -> dict[str, float | str | None]:
    runs = []
    for _ in range(repeats):
        code = _CHILD.format(root=str(ROOT), mode=mode, text=text)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    keys = ("cpu_total_s", "warm_up_cpu_s", "first_doc_cpu_s", "wall_s")
    summary: dict[str, float | str | None] = {
        k: round(statistics.median(r[k] for r in runs), 2) for k in keys
    }
    summary["language"] = runs[0]["language"]
    return summary


def main(argv: list[str] | None = None) -> int:
    repeats = int(argv[0]) if argv else 3
    results = {
        name: {mode: measure(mode, text, repeats) for mode in MODES} for name, text in TEXTS.items()
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
