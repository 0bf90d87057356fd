"""The benchmark harness works on a tiny workload (how fast is for benchmarks.run, not CI)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import run, stages
from benchmarks.report import render
from benchmarks.workloads import LANGUAGE_MIX, documents
from transforms.chain import STAGES, enrich
from transforms.document import CONTENT_HTML, CONTENT_TEXT, Document


def test_workloads_are_deterministic_distinct_and_enrich_cleanly() -> None:
    texts = list(documents("text", 30))
    assert [d.content for d in texts] == [d.content for d in documents("text", 30)]
    assert len({d.id for d in texts}) == 30
    assert all(d.content_type == CONTENT_TEXT and len(d.content) > 1500 for d in texts)
    pages = list(documents("html", 5))
    assert all(d.content_type == CONTENT_HTML and len(d.content) > 10_000 for d in pages)
    languages = set()
    for doc in texts + pages:
        result = enrich(doc)
        assert isinstance(result, Document), result
        assert result.entities, doc.origin
        languages.add(result.language)
    assert languages <= set(LANGUAGE_MIX)
    assert len(languages) >= 4


def test_stage_measurement_covers_every_stage() -> None:
    result = stages.measure_chain("text", 5)
    assert [s.name for s in result.stages] == [s.name for s in STAGES]
    assert all(s.documents == 5 and s.failed == 0 for s in result.stages)
    assert abs(sum(s.share for s in result.stages) - 1) < 1e-6
    assert result.docs_per_s_cpu > 0


def test_stages_part_of_the_harness_writes_results_and_report(tmp_path: Path) -> None:
    plan = {
        "text_stage_sizes": [3],
        "html_stage_sizes": [2],
        "trafilatura_pages": 2,
        "profile_docs": {"text": 2},
    }
    code = run.main(["--only", "stages", "--out", str(tmp_path), "--plan-json", json.dumps(plan)])
    assert code == 0
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [c["kind"] for c in results["stages"]["chain"]] == ["text", "html"]
    assert len(results["stages"]["trafilatura"]) == 2
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Each transform alone" in report
    assert "Ratios and targets" in report
    assert (tmp_path / "chain-text.prof").is_file()
    assert render(results) == report


def test_pipeline_cpu_counts_the_processes_a_run_starts() -> None:
    """The steady docs/CPU-s divides by this: the child's own CPU and its workers'."""
    import subprocess
    import sys
    import time

    from benchmarks.pipeline import _tree_cpu_s

    spin = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"
    # A child that starts a worker which spins for 0.5 s of CPU, then both wait: the child's
    # own CPU is far less, so the total only reaches 0.5 s if the worker is counted.
    script = (
        "import subprocess, sys, time\n"
        f"worker = subprocess.Popen([sys.executable, '-c', {spin + 'time.sleep(3)'!r}])\n"
        "time.sleep(3)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 10
        while _tree_cpu_s(child.pid) < 0.5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert 0.5 <= _tree_cpu_s(child.pid) < 2.0
    finally:
        child.kill()
        child.wait()


def test_the_measured_window_holds_work_done_before_anything_is_searchable(
    tmp_path: Path,
) -> None:
    """A pipeline enriches a whole bundle before any of it is written. Here the child burns
    0.6 s of CPU once started and only then makes its 500 documents visible at once: the
    window must hold that CPU. (Reading CPU between 10 % and 90 % visible saw none of it and
    reported the HTML pipeline cheaper per page than its own chain.)"""
    import subprocess
    import sys

    from benchmarks.pipeline import measure_batch

    go, visible = tmp_path / "go", tmp_path / "visible"
    script = (
        "import pathlib, time\n"
        f"go, visible = pathlib.Path({str(go)!r}), pathlib.Path({str(visible)!r})\n"
        "while not go.exists(): time.sleep(0.01)\n"
        "end = time.process_time() + 0.6\n"
        "while time.process_time() < end: pass\n"
        "visible.write_text('500')\n"
        "time.sleep(5)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        window = measure_batch(
            child.pid,
            start=go.touch,
            visible=lambda: int(visible.read_text() or 0) if visible.exists() else 0,
            target=500,
            alive=lambda: child.poll() is None,
            timeout_s=30,
        )
    finally:
        child.kill()
        child.wait()
    assert window.visible == 500
    assert 0.55 <= window.cpu_s < 2.0


def test_the_report_flags_a_pipeline_cheaper_per_cpu_second_than_its_chain() -> None:
    from benchmarks import report
    from benchmarks.report import sanity_problems

    def results(pipeline_per_cpu: float) -> dict[str, object]:
        chain = {"kind": "html", "docs_per_s_cpu": 128.0, "stages": []}
        run = {"kind": "html", "documents": 500, "workers": 1, "indexed": 500,
               "child_cpu_s": 9.0, "docs_per_cpu_s_steady": pipeline_per_cpu}  # fmt: skip
        return {"stages": {"chain": [chain]}, "pipeline": [run]}

    (problem,) = sanity_problems(results(326.0))  # the --quick run on 3f95017
    assert "html pipeline" in problem
    assert "misses work" in problem
    assert sanity_problems(results(100.0)) == []
    rows = report._ratios(results(326.0))
    assert rows[0][0].startswith("**measurement error**")
    assert rows[0][-1] is False


def test_pages_benchmark_counts_fallbacks_and_compares_with_trafilatura() -> None:
    from benchmarks import pages

    docs = pages._page_documents(2)
    fallback = pages.measure_fallback(docs, rounds=1)
    assert fallback["pages"] == len(docs)
    assert set(fallback["fell_back_on"]) == {
        "da-cookie-wall", "en-split-body", "nb-consent-article", "en-json-ld-body"
    }  # fmt: skip
    assert fallback["extract_html_ms_mean"] > 0
    warc = pages.measure_warc(docs[:4], rounds=1)
    assert warc["pages"] == 4
    assert warc["ratio_to_trafilatura"]["trafilatura.extract alone (bodies in memory)"] == 1.0
    assert all(rate > 0 for rate in warc["pages_per_cpu_s"].values())
