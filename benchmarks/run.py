"""The performance harness: one command, every measurement on the same generated data.

    .venv/bin/python -m benchmarks.run --quick        # a few minutes
    .venv/bin/python -m benchmarks.run --full         # the sizes of the issue (about an hour)
    .venv/bin/python -m benchmarks.run --full --long-minutes 30   # plus the 30-minute memory run
    .venv/bin/python -m benchmarks.run --only latency --long-minutes 10 --trace-memory  # leaks
    .venv/bin/python -m benchmarks.run --only stages  # one part: stages, limits, pipeline, latency

Needs the local stack for everything but ``stages`` (``newsbeam stack up``); uses its own
topics and indices (``bench.<run>-*``, ``bench-<run>-*``) and deletes them afterwards.
Writes ``benchmarks/results/<time>-<run>/results.json``, ``report.md`` and the profiles.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import pipeline, services, stages
from benchmarks.report import render
from infra.cleanup import delete_namespaces
from pipelines.settings import Settings, load

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("stages", "limits", "pipeline", "latency")


@dataclass(frozen=True)
class Plan:
    """How much of everything one run measures."""

    text_stage_sizes: tuple[int, ...]
    html_stage_sizes: tuple[int, ...]
    trafilatura_pages: int
    profile_docs: dict[str, int]
    kafka_docs: int
    es_docs: int
    pipeline_runs: tuple[tuple[str, int, int, int], ...]  # kind, docs, workers, partitions
    latency_rate: float
    latency_seconds: float
    long_minutes: float = 0.0
    profile_pipeline_docs: int = 0
    # Bulk sizes (Kafka batch = Elasticsearch bulk = bundle) tried on text, one worker.
    bulk_sizes: tuple[int, ...] = ()
    bulk_docs: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


QUICK = Plan(
    text_stage_sizes=(1000,),
    html_stage_sizes=(200,),
    trafilatura_pages=200,
    profile_docs={"text": 500, "html": 100},
    kafka_docs=2000,
    es_docs=1000,
    pipeline_runs=(
        ("text", 1000, 1, 1),
        ("text", 3000, 1, 1),
        ("text", 3000, 2, 2),
        ("html", 500, 1, 1),
        ("html", 500, 2, 2),
    ),
    latency_rate=50,
    latency_seconds=30,
    profile_pipeline_docs=1000,
)
FULL = Plan(
    text_stage_sizes=(1000, 10_000, 100_000),
    html_stage_sizes=(1000, 10_000),
    trafilatura_pages=10_000,
    profile_docs={"text": 3000, "html": 500},
    kafka_docs=20_000,
    es_docs=10_000,
    pipeline_runs=(
        ("text", 1000, 1, 1),
        ("text", 10_000, 1, 1),
        ("text", 10_000, 2, 2),
        ("text", 10_000, 1, 2),
        ("html", 1000, 1, 1),
        ("html", 10_000, 1, 1),
        ("html", 10_000, 2, 2),
    ),
    latency_rate=50,
    latency_seconds=120,
    profile_pipeline_docs=3000,
    bulk_sizes=(100, 250, 500, 1000, 2000),
    bulk_docs=10_000,
)


def _timed(name: str, step: Callable[[], Any]) -> Any:
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    result = step()
    print(f"[bench] {name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return result


def run_stages(plan: Plan, out: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"chain": [], "trafilatura": []}
    for kind, sizes in (("text", plan.text_stage_sizes), ("html", plan.html_stage_sizes)):
        for size in sizes:
            result = _timed(f"stages {kind} {size}", partial(stages.measure_chain, kind, size))
            results["chain"].append(result.to_dict())
    baselines = _timed(
        "trafilatura alone", lambda: stages.measure_trafilatura(plan.trafilatura_pages)
    )
    results["trafilatura"] = [vars(b) for b in baselines]
    for kind, count in plan.profile_docs.items():
        _timed(f"profile chain {kind}", partial(stages.profile_chain, kind, count, out))
    return results


def run_limits(plan: Plan, settings: Settings) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for partitions in (1, 2):
        for result in _timed(
            f"kafka limit p{partitions}",
            partial(services.kafka_limit, settings, "text", plan.kafka_docs, partitions),
        ):
            found.append(result.to_dict())
    for kind, count in (("text", plan.es_docs), ("html", max(1, plan.es_docs // 2))):
        sources = _timed(f"enrich {kind} for ES", partial(services.finished_sources, kind, count))
        found.append(
            _timed(
                f"es limit {kind}",
                partial(services.elasticsearch_limit, settings, kind, sources, settings.bulk_size),
            ).to_dict()
        )
    return found


def run_pipeline(plan: Plan, base: Settings, run: str, out: Path) -> list[dict[str, Any]]:
    found = []
    for index, (kind, count, workers, partitions) in enumerate(plan.pipeline_runs):
        settings = services.bench_settings(base, f"{run}-p{index}")
        result = _timed(
            f"pipeline {kind} {count} docs, {workers} worker(s), {partitions} partition(s)",
            partial(
                pipeline.throughput,
                settings,
                kind,
                count,
                workers=workers,
                partitions=partitions,
            ),
        )
        found.append(result.to_dict())
    if plan.profile_pipeline_docs:
        settings = services.bench_settings(base, f"{run}-prof")
        profile = out / "pipeline-text.prof"
        _timed(
            "pipeline profile",
            lambda: pipeline.throughput(
                settings, "text", plan.profile_pipeline_docs, profile=profile
            ),
        )
        import pstats

        with (out / "pipeline-text.txt").open("w", encoding="utf-8") as text:
            stats = pstats.Stats(str(profile), stream=text).strip_dirs()
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)
    return found


def run_bulk_sizes(plan: Plan, base: Settings, run: str) -> list[dict[str, Any]]:
    found = []
    for size in plan.bulk_sizes:
        settings = services.bench_settings(base, f"{run}-b{size}").replace(bulk_size=size)
        result = _timed(
            f"pipeline text {plan.bulk_docs} docs, bulk size {size}",
            partial(pipeline.throughput, settings, "text", plan.bulk_docs),
        )
        found.append(result.to_dict())
    return found


def run_latency(
    plan: Plan, base: Settings, run: str, trace: Path | None = None
) -> list[dict[str, Any]]:
    found = []
    settings = services.bench_settings(base, f"{run}-lat")
    result = _timed(
        f"latency {plan.latency_rate}/s for {plan.latency_seconds:.0f} s",
        lambda: pipeline.latency(settings, "text", plan.latency_rate, plan.latency_seconds, 2.0),
    )
    found.append(result.to_dict())
    if plan.long_minutes:
        settings = services.bench_settings(base, f"{run}-long")
        result = _timed(
            f"long run {plan.long_minutes:.0f} min",
            lambda: pipeline.latency(
                settings, "text", plan.latency_rate, plan.long_minutes * 60, 15.0, trace
            ),
        )
        found.append(result.to_dict())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes (default)")
    size.add_argument("--full", action="store_true", help="the sizes of the performance issue")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    parser.add_argument(
        "--long-minutes", type=float, default=0.0, help="add a steady run this long"
    )
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="tracemalloc in the long run's pipeline: growth per site in memory-growth.txt",
    )
    parser.add_argument("--latency-seconds", type=float, help="override the latency run's length")
    parser.add_argument("--out", type=Path, help="results folder (default: benchmarks/results/...)")
    parser.add_argument("--plan-json", help=argparse.SUPPRESS)  # tests: a tiny plan
    args = parser.parse_args(argv)

    plan = FULL if args.full else QUICK
    if args.plan_json:
        plan = Plan(**{**vars(plan), **json.loads(args.plan_json)})
    if args.long_minutes:
        plan = Plan(**{**vars(plan), "long_minutes": args.long_minutes})
    if args.latency_seconds:
        plan = Plan(**{**vars(plan), "latency_seconds": args.latency_seconds})
    parts = args.only or list(PARTS)
    run = uuid.uuid4().hex[:8]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or RESULTS / f"{stamp}-{run}"
    out.mkdir(parents=True, exist_ok=True)

    results: dict[str, Any] = {
        "run": run,
        "started": stamp,
        "plan": "full" if args.full else "quick",
        "parts": parts,
        "machine": {"cpus": _cpus(), "python": platform.python_version(), "load": _load()},
    }
    base = load()
    try:
        if "stages" in parts:
            results["stages"] = run_stages(plan, out)
        if "limits" in parts:
            settings = services.bench_settings(base, f"{run}-lim")
            results["limits"] = run_limits(plan, settings)
        if "pipeline" in parts:
            results["pipeline"] = run_pipeline(plan, base, run, out)
            if plan.bulk_sizes:
                results["bulk_sizes"] = run_bulk_sizes(plan, base, run)
        if "latency" in parts:
            trace = out / "memory-growth.txt" if args.trace_memory else None
            results["latency"] = run_latency(plan, base, run, trace)
    finally:
        results["machine"]["load_after"] = _load()
        (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        (out / "report.md").write_text(render(results), encoding="utf-8")
        if parts != ["stages"]:  # every part but stages works in bench-<run>-* / bench.<run>-*
            delete_namespaces(base, [f"bench-{run}-"], [f"bench.{run}-"])
    print(render(results))
    print(f"\nresults in {out}", file=sys.stderr)
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _load() -> list[float]:
    import os

    return [round(x, 2) for x in os.getloadavg()]


if __name__ == "__main__":
    raise SystemExit(main())
