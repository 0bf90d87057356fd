"""Alert latency on the local stack: publish to Kafka -> alert POSTed to a webhook (p50/p95).

Starts the streaming pipeline (`newsbeam run`, its own topics and indices) as a
subprocess, the delivery worker in this process, and a webhook receiver on
127.0.0.1; then publishes distinct articles naming Khalifa Haftar one at a time
and times each from `send` to the receiver getting its alert. Target: p95 < 2 s.
Its topics and indices (``bench-<id>.*``, ``bench-<id>-*``) are deleted at the end.

    .venv/bin/python benchmarks/alert_latency.py --count 30
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from connectors.elasticsearch import ensure_indices
from connectors.kafka import DocumentProducer, ensure_topics
from infra.cleanup import delete_namespaces
from pipelines.alerting import deliver_alerts, ensure_alerts
from pipelines.settings import load
from transforms.document import Document, document_id

ROOT = Path(__file__).resolve().parent.parent


def _vocabulary() -> list[str]:
    words: list[str] = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        if path.name.startswith(("003", "004")):  # the English seeds
            words += [w for w in path.read_text(encoding="utf-8").split() if w.isalpha()]
    return words


def _article(words: list[str], rng: random.Random) -> str:
    body = " ".join(rng.choice(words) for _ in range(160))
    return (
        f"Libya report {rng.randrange(10**9)}\n\n"
        f"General Khalifa Haftar ordered his forces to advance. {body}.\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between articles")
    args = parser.parse_args()

    received: dict[str, float] = {}
    seen = threading.Condition()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with seen:
                received[body["document_id"]] = time.time()
                seen.notify_all()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    run = f"bench-{uuid.uuid4().hex[:8]}"
    watchlist = Path(tempfile.mkdtemp()) / "watchlist.yaml"
    watchlist.write_text(
        "rules:\n  - name: haftar\n    entity: Khalifa Haftar\n    sinks:\n"
        f"      - webhook: http://127.0.0.1:{server.server_address[1]}/hook\n",
        encoding="utf-8",
    )
    overrides = {
        "raw_topic": f"{run}.raw",
        "dlq_topic": f"{run}.dlq",
        "alerts_topic": f"{run}.alerts",
        "index_prefix": run,
        "consumer_group": run,
        "watchlist_file": str(watchlist),
    }
    settings = load(overrides=overrides)
    ensure_topics(settings.kafka_bootstrap, [settings.raw_topic, settings.dlq_topic])
    ensure_indices(settings)
    ensure_alerts(settings)
    env = dict(os.environ, **{f"NEWSBEAM_{k.upper()}": str(v) for k, v in overrides.items()})
    pipeline = subprocess.Popen(
        [str(ROOT / ".venv/bin/newsbeam"), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stop = threading.Event()
    worker = threading.Thread(
        target=deliver_alerts, args=(settings, stop), kwargs={"out": io.StringIO()}
    )
    worker.start()
    rng = random.Random(7)
    words = _vocabulary()
    latencies: list[float] = []
    try:
        with DocumentProducer(
            settings.kafka_bootstrap, settings.raw_topic, settings.dlq_topic
        ) as producer:
            for i in range(args.count + 1):  # the first one warms the pipeline up
                text = _article(words, rng)
                doc = Document(id=document_id(content=text), origin=f"bench/{i}.txt", content=text)
                sent = time.time()
                producer.publish(doc)
                producer.flush()
                with seen:
                    if not seen.wait_for(functools.partial(received.__contains__, doc.id), 120):
                        print(f"article {i}: no alert within 120 s", file=sys.stderr)
                        return 1
                if i:
                    latencies.append(received[doc.id] - sent)
                time.sleep(args.interval)
    finally:
        stop.set()
        pipeline.terminate()
        pipeline.wait(timeout=60)
        worker.join(timeout=30)
        server.shutdown()
        delete_namespaces(settings, [f"{run}-"], [f"{run}."])
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(
        f"{len(latencies)} alerts: p50 {p50:.3f} s, p95 {p95:.3f} s, max {latencies[-1]:.3f} s "
        f"(target p95 < 2 s: {'met' if p95 < 2 else 'MISSED'})"
    )
    return 0 if p95 < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
