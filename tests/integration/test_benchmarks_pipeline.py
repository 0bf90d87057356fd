"""The pipeline part of the benchmark harness works end to end (not how fast: no timings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run
from pipelines.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_pipeline_runs_with_one_and_two_workers_index_every_document(
    stack_settings: Settings, tmp_path: Path
) -> None:
    plan = {
        "pipeline_runs": [["text", 40, 1, 1], ["html", 40, 2, 2]],
        "profile_pipeline_docs": 0,
        "bulk_sizes": [7],
        "bulk_docs": 30,
    }
    code = run.main(["--only", "pipeline", "--out", str(tmp_path), "--plan-json", json.dumps(plan)])
    assert code == 0
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    runs = [(r["kind"], r["workers"], r["partitions"], r["indexed"]) for r in results["pipeline"]]
    assert runs == [("text", 1, 1, 40), ("html", 2, 2, 40)]
    assert all(r["child_cpu_s"] > 0 for r in results["pipeline"])
    (swept,) = results["bulk_sizes"]  # a bulk size of 7 is 5 bundles for 30 documents
    assert (swept["bulk_size"], swept["indexed"]) == (7, 30)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Whole pipeline" in report
    assert "Bulk size" in report
