"""Worker start to first document indexed: `newsbeam run` on the local stack, one document.

    .venv/bin/python -m benchmarks.first_indexed [--code DIR] [--repeats 3]

Publishes one document (``--language nb``: a short Bokmål sentence, which goes to lingua,
the case that stalled; ``en``: a long English article, the worker's own start-up) to a
fresh topic, starts ``newsbeam run --until-idle`` and polls Elasticsearch until the
document is searchable; reports seconds from the process start to that moment, and the
run's CPU. ``--code`` runs another checkout of the code (e.g. the commit before a change,
unpacked with ``git archive``) with this environment, for a before/after in one run.
Uses its own topics and indices (``bench.first-*``) and deletes them afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from connectors.elasticsearch import client
from infra.cleanup import delete_namespaces
from pipelines.settings import load

ROOT = Path(__file__).resolve().parent.parent
TEXTS = {
    # Short text goes to lingua: the case that stalled.
    "nb": "Regjeringen vil bruke flere penger på jernbanen i Nord-Norge neste år.",
    # A long English article: CLD2 decides, no lingua; the worker's own start-up cost.
    "en": (ROOT / "seeds" / "003_06b97083d1090c06.txt").read_text(encoding="utf-8"),
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(code: Path, folder: Path, text: str) -> dict[str, float]:
    name = f"first-{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ,
        PYTHONPATH=str(code),
        NEWSBEAM_RAW_TOPIC=f"bench.{name}.raw",
        NEWSBEAM_DLQ_TOPIC=f"bench.{name}.dlq",
        NEWSBEAM_ALERTS_TOPIC=f"bench.{name}.alerts",
        NEWSBEAM_INDEX_PREFIX=f"bench-{name}",
        NEWSBEAM_CONSUMER_GROUP=f"bench-{name}",
    )
    settings = load(environ=env)
    article = folder / f"{name}.txt"
    article.write_text(text + "\n", encoding="utf-8")
    cli = [sys.executable, "-c", "from pipelines.cli import main; raise SystemExit(main())"]
    try:
        subprocess.run([*cli, "publish", str(article)], env=env, check=True,
                       capture_output=True, cwd=code)  # fmt: skip
        es = client(settings)
        cpu0 = _children_cpu()
        start = time.perf_counter()
        run = subprocess.Popen(
            [*cli, "run", "--until-idle", "--idle-seconds", "2", "--metrics-port", "0"],
            env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        indexed = float("nan")
        while run.poll() is None or indexed != indexed:
            try:
                if es.count(index=settings.articles_alias)["count"]:
                    indexed = time.perf_counter() - start
                    break
            except Exception:  # noqa: BLE001 - the index does not exist yet
                pass
            if run.poll() is not None:
                break
            time.sleep(0.1)
        run.wait(timeout=300)
        es.close()
        return {"first_indexed_s": round(indexed, 2), "run_cpu_s": round(_children_cpu() - cpu0, 2)}
    finally:
        delete_namespaces(settings, [f"bench-{name}-"], [f"bench.{name}."])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, action="append", default=[],
                        help="a checkout to measure (default: this one); repeatable")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--language", choices=sorted(TEXTS), default="nb")
    args = parser.parse_args(argv)
    codes = args.code or [ROOT]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        runs: dict[str, list[dict[str, float]]] = {str(c): [] for c in codes}
        for _ in range(args.repeats):  # alternate the checkouts so noise hits both alike
            for code in codes:
                runs[str(code)].append(one_run(code, Path(folder), TEXTS[args.language]))
    for code, measured in runs.items():
        results[code] = {
            key: round(statistics.median(r[key] for r in measured), 2) for key in measured[0]
        }
        results[code]["runs"] = len(measured)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
