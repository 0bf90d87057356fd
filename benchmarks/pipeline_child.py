"""Runs the ingest pipeline in its own process for the bench (so its memory is its own).

python -m benchmarks.pipeline_child --settings '{"raw_topic": ...}' [--until-idle]
    [--workers 1] [--profile out.prof]
    [--trace-memory growth.txt]

``--workers N`` runs N processes on shares of the partitions, as ``newsbeam run --workers N``.
``--trace-memory`` takes a tracemalloc snapshot after a minute's warm-up and then, every minute,
writes the allocation sites that grew most since that baseline: where a leak lives.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import signal
import sys
import threading
import time
import tracemalloc
from pathlib import Path

from connectors.kafka import Shard
from pipelines import ingest, workers
from pipelines.settings import Settings, load

TRACE_FRAMES = 8
TRACE_TOP = 25


def _trace_memory(out: Path, warmup_s: float = 60.0, every_s: float = 60.0) -> None:
    """Start tracemalloc and report, every ``every_s``, the sites that grew since warm-up."""
    tracemalloc.start(TRACE_FRAMES)

    def watch() -> None:
        time.sleep(warmup_s)
        baseline = tracemalloc.take_snapshot()
        began = time.monotonic()
        while True:
            time.sleep(every_s)
            snapshot = tracemalloc.take_snapshot()
            growth = snapshot.compare_to(baseline, "traceback")
            traced, _ = tracemalloc.get_traced_memory()
            lines = [f"== {time.monotonic() - began:.0f} s after warm-up, "
                     f"traced {traced / 2**20:.1f} MiB"]  # fmt: skip
            for stat in growth[:TRACE_TOP]:
                lines.append(f"{stat.size_diff / 1024:+.0f} KiB in {stat.count_diff:+d} blocks")
                lines.extend(f"    {line}" for line in stat.traceback.format(limit=TRACE_FRAMES))
            with out.open("a") as report:
                report.write("\n".join(lines) + "\n")

    threading.Thread(target=watch, name="trace-memory", daemon=True).start()


def _worker(shard: Shard, settings: Settings, until_idle: bool, idle_seconds: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    ingest.run(settings, until_idle, idle_seconds, shard=shard)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", required=True, help="setting overrides as JSON")
    parser.add_argument("--until-idle", action="store_true")
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--profile", help="write a cProfile of the run here")
    parser.add_argument("--trace-memory", type=Path, help="append allocation growth here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # The streaming run is stopped with SIGTERM; exit through `finally` so the profile is kept.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    settings = load(overrides=json.loads(args.settings))
    if args.trace_memory:
        _trace_memory(args.trace_memory)
    if args.workers > 1:
        workers.prepare(settings, args.workers)
        return workers.run(args.workers, _worker, settings, args.until_idle, args.idle_seconds)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    try:
        ingest.run(settings, args.until_idle, args.idle_seconds)
    finally:
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
