"""Several single-worker pipelines side by side, one per share of the raw topic's partitions.

``newsbeam run --workers N`` on the local runner starts N processes; process ``i``
reads the partitions ``p`` with ``p % N == i`` (``connectors.kafka.Shard``) and runs
the whole chain on them, committing the shared consumer group's offsets of its
own partitions only. Processes, not threads: enrichment is CPU-bound Python.

Why not Beam's own ``direct_num_workers``: the FnApiRunner's parallel bundle
manager drops the residuals of a splittable DoFn's checkpoints (Beam's tests skip
checkpointing with several workers), so every partition would stop after its first
batch. Kafka partitions are the unit of parallelism anyway; on a cluster the
same pipeline runs with ``--runner flink --workers N``.

A worker that fails stops the others and ``run`` returns its exit code: a
restart resumes every partition from its committed offset, and writes are
upserts, so nothing is lost or doubled.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from connectors.kafka import Shard, ensure_partitions, ensure_topics
from pipelines.settings import Settings

log = logging.getLogger(__name__)
POLL_S = 0.5

# The work of one process: (shard, *args) -> None; raising or exiting non-zero fails the run.
Worker = Callable[..., None]


def prepare(settings: Settings, workers: int) -> None:
    """Give the raw topic a partition per worker before any worker lists them.

    Everything else a worker sets up itself (``ingest.run``): creating topics and
    indices tolerates another worker doing the same at the same moment.
    """
    ensure_topics(
        settings.kafka_bootstrap,
        [settings.raw_topic, settings.dlq_topic],
        security=settings.kafka_options,
    )
    ensure_partitions(
        settings.kafka_bootstrap, settings.raw_topic, workers, security=settings.kafka_options
    )


def run(workers: int, target: Worker, *args: Any) -> int:
    """Run ``target(Shard(i, workers), *args)`` in ``workers`` processes until all end.

    Returns 0 when every worker ended cleanly, else the first failing exit code.
    SIGTERM and SIGINT stop every worker.
    """
    context = multiprocessing.get_context("spawn")  # no forked Kafka/ES clients or threads
    processes = [
        context.Process(
            target=target, args=(Shard(index, workers), *args), name=f"newsbeam-worker-{index}"
        )
        for index in range(workers)
    ]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive():
                process.terminate()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for process in processes:
            process.start()
        log.info("started %d workers: %s", workers, [p.pid for p in processes])
        failed = 0
        while any(p.is_alive() for p in processes):
            for process in processes:
                process.join(POLL_S / len(processes))
                code = process.exitcode
                if code not in (None, 0) and not failed and not stopping:
                    failed = code if code > 0 else 1
                    log.error(
                        "%s ended with exit code %s; stopping the other workers",
                        process.name,
                        code,
                    )
                    stop(signal.SIGTERM, None)
        return failed
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
