"""Runs the ingest pipeline in its own process for the bench (so its memory is its own).

python -m benchmarks.pipeline_child --settings '{"raw_topic": ...}' [--until-idle]
    [--workers 1] [--mode in_memory|multi_threading|multi_processing] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import signal
import sys

from pipelines import ingest
from pipelines.settings import load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", required=True, help="setting overrides as JSON")
    parser.add_argument("--until-idle", action="store_true")
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--mode", default="in_memory")
    parser.add_argument("--profile", help="write a cProfile of the run here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # The streaming run is stopped with SIGTERM; exit through `finally` so the profile is kept.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    settings = load(overrides=json.loads(args.settings))
    options = ingest.pipeline_options(
        [f"--direct_num_workers={args.workers}", f"--direct_running_mode={args.mode}"]
    )
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    try:
        ingest.run(settings, args.until_idle, args.idle_seconds, options=options)
    finally:
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
