"""Each transform alone, trafilatura alone, and a profile of the chain, on one core.

Documents go through ``transforms.chain.STAGES`` in order, as in the pipeline, and
every stage call is timed on its own, so each stage sees exactly the input it sees
in production and the per-stage numbers add up to the chain. Generating the
documents is outside the timers. Memory: resident memory the first call of each
stage adds (rules, models), the traced peak of one call on a sample, and resident
memory sampled along the run (flat means no leak).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import peak_rss_mb, percentile, rate, rss_mb
from benchmarks.workloads import documents
from transforms.chain import STAGES, enrich
from transforms.document import Document

WARMUP_DOCS = 20
MEMORY_SAMPLE_DOCS = 200
RSS_SAMPLE_EVERY = 1000


@dataclass
class StageResult:
    name: str
    documents: int
    failed: int
    seconds: float  # wall time in the stage
    cpu_seconds: float  # this thread's CPU time in the stage: what other tenants cannot skew
    docs_per_s: float
    docs_per_s_cpu: float  # documents per CPU-second: the one-core rate
    p50_ms: float
    p99_ms: float
    p50_cpu_ms: float
    p99_cpu_ms: float
    share: float  # of the chain's CPU time
    first_call_rss_mb: float  # resident memory the first call added (rules, models)
    peak_call_kb: float  # traced peak of one call, max over the sample


@dataclass
class ChainResult:
    kind: str
    documents: int
    wall_s: float
    cpu_s: float
    docs_per_s_wall: float
    docs_per_s_cpu: float
    p50_ms: float
    p99_ms: float
    p50_cpu_ms: float
    p99_cpu_ms: float
    stages: list[StageResult]
    rss_mb_along_run: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _warm_up(kind: str) -> dict[str, float]:
    """Run a few documents (another seed) so rules and models load outside the timers."""
    added = {stage.name: 0.0 for stage in STAGES}
    for doc in documents(kind, WARMUP_DOCS, seed=99):
        for stage in STAGES:
            before = rss_mb()
            try:
                doc = stage.apply(doc)
            except Exception:  # noqa: BLE001 - a rejected warm-up document is fine
                break
            finally:
                added[stage.name] += rss_mb() - before
    return added


def _peak_per_call(kind: str, sample: int) -> dict[str, float]:
    """The largest traced allocation peak of a single stage call over ``sample`` documents."""
    peaks = {stage.name: 0.0 for stage in STAGES}
    tracemalloc.start()
    try:
        for doc in documents(kind, sample, seed=98):
            for stage in STAGES:
                current, _ = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
                try:
                    doc = stage.apply(doc)
                except Exception:  # noqa: BLE001
                    break
                _, peak = tracemalloc.get_traced_memory()
                peaks[stage.name] = max(peaks[stage.name], (peak - current) / 1024)
    finally:
        tracemalloc.stop()
    return peaks


def measure_chain(kind: str, count: int, seed: int = 1) -> ChainResult:
    """Time every stage on ``count`` documents of ``kind``; see the module docstring."""
    first_call = _warm_up(kind)
    times: dict[str, list[float]] = {stage.name: [] for stage in STAGES}
    cpu_times: dict[str, list[float]] = {stage.name: [] for stage in STAGES}
    failed = dict.fromkeys(times, 0)
    totals: list[float] = []
    cpu_totals: list[float] = []
    rss_along: list[float] = []
    for index, doc in enumerate(documents(kind, count, seed=seed)):
        total = cpu_total = 0.0
        for stage in STAGES:
            start, cpu_start = time.perf_counter(), time.thread_time()
            try:
                doc = stage.apply(doc)
                ok = True
            except Exception:  # noqa: BLE001 - counted; enrich() makes it a dead letter
                failed[stage.name] += 1
                ok = False
            elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
            times[stage.name].append(elapsed)
            cpu_times[stage.name].append(cpu)
            total += elapsed
            cpu_total += cpu
            if not ok:
                break
        totals.append(total)
        cpu_totals.append(cpu_total)
        if index % RSS_SAMPLE_EVERY == 0:
            rss_along.append(round(rss_mb(), 1))
    rss_along.append(round(rss_mb(), 1))
    busy, cpu_busy = sum(totals), sum(cpu_totals)
    peaks = _peak_per_call(kind, min(count, MEMORY_SAMPLE_DOCS))
    stages = [
        StageResult(
            name=name,
            documents=len(values),
            failed=failed[name],
            seconds=sum(values),
            cpu_seconds=sum(cpu_times[name]),
            docs_per_s=rate(len(values), sum(values)),
            docs_per_s_cpu=rate(len(values), sum(cpu_times[name])),
            p50_ms=percentile(values, 50) * 1000,
            p99_ms=percentile(values, 99) * 1000,
            p50_cpu_ms=percentile(cpu_times[name], 50) * 1000,
            p99_cpu_ms=percentile(cpu_times[name], 99) * 1000,
            share=sum(cpu_times[name]) / cpu_busy if cpu_busy else 0.0,
            first_call_rss_mb=round(first_call[name], 1),
            peak_call_kb=round(peaks[name], 1),
        )
        for name, values in times.items()
    ]
    return ChainResult(
        kind=kind,
        documents=count,
        wall_s=busy,
        cpu_s=cpu_busy,
        docs_per_s_wall=rate(count, busy),
        docs_per_s_cpu=rate(count, cpu_busy),
        p50_ms=percentile(totals, 50) * 1000,
        p99_ms=percentile(totals, 99) * 1000,
        p50_cpu_ms=percentile(cpu_totals, 50) * 1000,
        p99_cpu_ms=percentile(cpu_totals, 99) * 1000,
        stages=stages,
        rss_mb_along_run=rss_along,
        peak_rss_mb=round(peak_rss_mb(), 1),
    )


@dataclass
class BaselineResult:
    name: str
    documents: int
    wall_s: float
    cpu_s: float
    docs_per_s_wall: float
    docs_per_s_cpu: float
    p50_ms: float
    p99_ms: float
    p50_cpu_ms: float
    p99_cpu_ms: float


def measure_trafilatura(count: int, seed: int = 1) -> list[BaselineResult]:
    """trafilatura alone on the same pages: its defaults (what an analyst would call) and
    trafilatura's part of ``transforms/html.py`` (its metadata finders, precision, tables)."""
    from trafilatura import extract
    from trafilatura.utils import load_html

    from transforms.html import trafilatura_part

    pages = list(documents("html", count, seed=seed))

    def plain(page: Document) -> Any:
        return extract(page.content)

    def like_newsbeam(page: Document) -> Any:
        return trafilatura_part(load_html(page.content), page)

    results = []
    calls = (
        ("trafilatura.extract (defaults)", plain),
        ("trafilatura as newsbeam calls it", like_newsbeam),
    )
    for name, call in calls:
        for page in pages[:WARMUP_DOCS]:
            call(page)
        per_doc: list[float] = []
        cpu_per_doc: list[float] = []
        for page in pages:
            start, cpu_start = time.perf_counter(), time.thread_time()
            call(page)
            per_doc.append(time.perf_counter() - start)
            cpu_per_doc.append(time.thread_time() - cpu_start)
        wall, cpu = sum(per_doc), sum(cpu_per_doc)
        results.append(
            BaselineResult(
                name=name,
                documents=len(pages),
                wall_s=wall,
                cpu_s=cpu,
                docs_per_s_wall=rate(len(pages), wall),
                docs_per_s_cpu=rate(len(pages), cpu),
                p50_ms=percentile(per_doc, 50) * 1000,
                p99_ms=percentile(per_doc, 99) * 1000,
                p50_cpu_ms=percentile(cpu_per_doc, 50) * 1000,
                p99_cpu_ms=percentile(cpu_per_doc, 99) * 1000,
            )
        )
    return results


def profile_chain(kind: str, count: int, out_dir: Path, top: int = 30) -> str:
    """cProfile of ``enrich`` over ``count`` documents; writes ``.prof`` and returns the top
    functions by own time and by cumulative time as text."""
    docs: list[Document] = list(documents(kind, count, seed=7))
    for doc in documents(kind, WARMUP_DOCS, seed=99):
        enrich(doc)
    profiler = cProfile.Profile()
    profiler.enable()
    for doc in docs:
        enrich(doc)
    profiler.disable()
    out_dir.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(out_dir / f"chain-{kind}.prof")
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    (out_dir / f"chain-{kind}.txt").write_text(text.getvalue(), encoding="utf-8")
    return text.getvalue()
