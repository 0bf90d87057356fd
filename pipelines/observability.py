"""What the running pipeline says about itself: JSON logs, Prometheus metrics, ``/healthz``.

Logs are one JSON object per line with the document id, stage and source when a
record has them (``log.info(..., extra={"document_id": ..., "stage": ...})``), and
never a secret: the configured password and API key, and any ``user:password@`` in
a URL, are replaced by ``***`` in the message and the traceback.

Metrics are counted where a document's fate is known for sure: at the sinks. An
article acknowledged by Elasticsearch went in and out of every stage; a dead letter
went in and out of each stage before the one that rejected it. Because the chain
is linear, that gives exact per-stage in/out/rejected counts without a hook in
every stage (they arrive when the document reaches its sink, not when it passes a
stage). Lag per partition and alert latency are measured by a monitor thread that
asks Kafka and Elasticsearch every few seconds, so a scrape never blocks.

``/healthz`` answers 200 with ``ok: ...`` or 503 with one sentence per problem,
e.g. "Elasticsearch at http://127.0.0.1:9200 has refused bulk writes for 42 s
(ConnectionError); the pipeline is waiting and retrying."
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from connectors.elasticsearch import IndexRequest
from connectors.redaction import redact, redact_url
from pipelines.settings import Settings

log = logging.getLogger(__name__)

# The stages a document goes through, in order; a dead letter's stage says where it stopped.
PIPELINE_STAGES = (
    "decode",
    "extract",
    "metadata",
    "boilerplate",
    "language",
    "entities",
    "fingerprint",
    "stories",
    "alerts",
    "index",
)
UNKNOWN_SOURCE = "unknown"

REGISTRY = CollectorRegistry(auto_describe=True)
DOCUMENTS = Counter(
    "newsbeam_documents",
    "Documents per stage, source and outcome (in, out, rejected).",
    ["stage", "source", "outcome"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "newsbeam_dead_letters",
    "Dead letters written, by the stage that rejected the input and its reason code.",
    ["stage", "reason"],
    registry=REGISTRY,
)
BULK_SECONDS = Histogram(
    "newsbeam_bulk_seconds",
    "Wall time of one Elasticsearch bulk request, by alias and result.",
    ["alias", "result"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
BULK_RETRIES = Counter(
    "newsbeam_bulk_retries",
    "Bulk attempts that were retried after a back-off, by alias and why.",
    ["alias", "why"],
    registry=REGISTRY,
)
LAG = Gauge(
    "newsbeam_kafka_lag",
    "Records in the raw topic not yet committed by the pipeline's consumer group.",
    ["topic", "partition"],
    registry=REGISTRY,
)
ALERT_LATENCY = Histogram(
    "newsbeam_alert_latency_seconds",
    "From a document's ingestion to the alert it raised being stored.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
PROBLEMS = Gauge(
    "newsbeam_health_problems",
    "How many problems /healthz currently reports (0 is healthy).",
    registry=REGISTRY,
)


# --- Logs ---------------------------------------------------------------------------------

_CONTEXT_FIELDS = ("document_id", "stage", "source", "reason", "origin", "alias", "partition")


def secrets_of(settings: Settings) -> list[str]:
    """The values that must never appear in a log line or an error message."""
    values = (
        settings.es_password,
        settings.es_api_key,
        settings.kafka_password,
        _url_password(settings.es_url),
    )
    return [s for s in values if s and len(s) >= 3]


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context fields, error."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created)
            .astimezone()
            .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage(), self._secrets),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info), self._secrets)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """The plain text format, with the same redaction as the JSON one."""

    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def configure_logging(settings: Settings, fmt: str = "json", level: str = "INFO") -> None:
    """Send every log record to stderr as JSON (or redacted text); replaces root handlers."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter(secrets_of(settings)))
    else:
        handler.setFormatter(
            RedactingFormatter(
                "%(asctime)s %(levelname)s %(name)s: %(message)s", secrets_of(settings)
            )
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The clients log every failed connection attempt at WARNING; our back-off says it once.
    for noisy in ("kafka", "elastic_transport"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


# --- Counting at the sinks -------------------------------------------------------------------


def _stages_before(stage: str) -> tuple[str, ...]:
    if stage not in PIPELINE_STAGES:
        return ()
    return PIPELINE_STAGES[: PIPELINE_STAGES.index(stage)]


def count_indexed(source: str | None, articles: int = 1) -> None:
    """Articles Elasticsearch acknowledged: in and out of every stage."""
    label = source or UNKNOWN_SOURCE
    for stage in PIPELINE_STAGES:
        DOCUMENTS.labels(stage, label, "in").inc(articles)
        DOCUMENTS.labels(stage, label, "out").inc(articles)


def count_dead_letter(stage: str, reason: str, source: str | None) -> None:
    """A dead letter written: through every stage before ``stage``, rejected at it."""
    label = source or UNKNOWN_SOURCE
    for earlier in _stages_before(stage):
        DOCUMENTS.labels(earlier, label, "in").inc()
        DOCUMENTS.labels(earlier, label, "out").inc()
    DOCUMENTS.labels(stage, label, "in").inc()
    DOCUMENTS.labels(stage, label, "rejected").inc()
    DEAD_LETTERS.labels(stage, reason).inc()


# --- Health ----------------------------------------------------------------------------------


class Health:
    """Problems the pipeline knows about right now, each a sentence, keyed by what is wrong."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: dict[str, tuple[float, str]] = {}

    def problem(self, key: str, sentence: str) -> None:
        """Report (or refresh) a problem; its age is counted from the first report."""
        with self._lock:
            since = self._problems.get(key, (time.monotonic(), ""))[0]
            # /healthz is served over HTTP: no URL password or token may ride along.
            self._problems[key] = (since, redact(sentence))
            PROBLEMS.set(len(self._problems))

    def resolved(self, key: str) -> None:
        with self._lock:
            if self._problems.pop(key, None) is not None:
                PROBLEMS.set(len(self._problems))

    def sentences(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            items = sorted(self._problems.items())
        return [sentence.replace("{age}", f"{now - since:.0f}") for _, (since, sentence) in items]


HEALTH = Health()


def report(answer: list[str] | None = None) -> tuple[int, str]:
    """The ``/healthz`` answer: (HTTP status, text)."""
    problems = HEALTH.sentences() if answer is None else answer
    if not problems:
        return 200, "ok: the pipeline is reading, indexing and committing.\n"
    return 503, "".join(f"{sentence}\n" for sentence in problems)


class BulkMetrics:
    """A bulk writer's observer (``connectors.elasticsearch.BulkObserver``): request times,
    retries and health per alias, and documents counted through the stages once indexed."""

    def __init__(self, articles_alias: str, dlq_alias: str) -> None:
        self._articles = articles_alias
        self._dead_letters = dlq_alias

    def answered(self, alias: str, seconds: float, *, failed: bool) -> None:
        BULK_SECONDS.labels(alias, "failed" if failed else "answered").observe(seconds)
        if not failed:
            HEALTH.resolved(_bulk_health_key(alias))

    def written(self, alias: str, requests: Sequence[IndexRequest]) -> None:
        if alias == self._articles:
            # Per outlet, not per article: a metric update takes a lock.
            outlets = collections.Counter(
                (r.source.get("source") or {}).get("name") for r in requests
            )
            for outlet, count in outlets.items():
                count_indexed(outlet, count)
        elif alias == self._dead_letters:
            for request in requests:
                source = request.source
                hints = (source.get("document") or {}).get("hints") or {}
                count_dead_letter(
                    str(source.get("stage", "")), str(source.get("reason", "")), hints.get("source")
                )

    def retrying(self, alias: str, kind: str, problem: str) -> None:
        BULK_RETRIES.labels(alias, kind).inc()
        HEALTH.problem(_bulk_health_key(alias), problem)


def _bulk_health_key(alias: str) -> str:
    return f"elasticsearch:{alias}"


# --- The monitor: lag and alert latency, every few seconds ------------------------------------


class Monitor(threading.Thread):
    """Measures consumer lag and alert latency, and checks Kafka and Elasticsearch answer."""

    def __init__(self, settings: Settings, every_s: float = 5.0, stall_s: float = 120.0) -> None:
        super().__init__(name="newsbeam-monitor", daemon=True)
        self.settings = settings
        self.every_s = every_s
        self.stall_s = stall_s
        self._stop = threading.Event()
        self._last_alert = "now-1m"
        self._seen_alerts: set[str] = set()
        self._progress: tuple[int, float] = (-1, time.monotonic())

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.check_once()

    def check_once(self) -> None:
        try:
            self._measure_lag()
        except Exception as exc:  # noqa: BLE001 - a failed probe is a health problem, not a crash
            HEALTH.problem(
                "kafka",
                f"Kafka at {self.settings.kafka_bootstrap} did not answer for the lag check "
                f"({exc.__class__.__name__}); producers and the reader retry until it is back.",
            )
        else:
            HEALTH.resolved("kafka")
        try:
            self._probe_elasticsearch()
        except Exception as exc:  # noqa: BLE001
            HEALTH.problem(
                "elasticsearch",
                f"Elasticsearch at {redact_url(self.settings.es_url)} has not answered "
                "for {age} s "
                f"({exc.__class__.__name__}); the pipeline is waiting and retrying, "
                "nothing is committed until it is back.",
            )
        else:
            HEALTH.resolved("elasticsearch")
        try:
            self._measure_alert_latency()
        except Exception as exc:  # noqa: BLE001
            log.debug("alert latency check failed: %s", exc.__class__.__name__)

    def _measure_lag(self) -> None:
        from connectors.kafka import committed_offsets, end_offsets

        topic = self.settings.raw_topic
        security = self.settings.kafka_options
        ends = end_offsets(self.settings.kafka_bootstrap, topic, security=security)
        committed = committed_offsets(
            self.settings.kafka_bootstrap, topic, self.settings.consumer_group, security=security
        )
        total_lag, total_committed = 0, 0
        for partition, end in ends.items():
            done = committed.get(partition) or 0
            LAG.labels(topic, str(partition)).set(max(0, end - done))
            total_lag += max(0, end - done)
            total_committed += done
        last_committed, since = self._progress
        now = time.monotonic()
        if total_committed != last_committed or total_lag == 0:
            self._progress = (total_committed, now)
            HEALTH.resolved("stalled")
        elif now - since > self.stall_s:
            HEALTH.problem(
                "stalled",
                f"no offset of {topic} was committed for {now - since:.0f} s while {total_lag} "
                "records wait; check the Elasticsearch and dead-letter problems above and the log.",
            )

    def _probe_elasticsearch(self) -> None:
        from connectors.elasticsearch import client

        es = client(self.settings)
        try:
            es.options(request_timeout=3, max_retries=0).cluster.health()
        finally:
            es.close()

    def _measure_alert_latency(self) -> None:
        from connectors.elasticsearch import client

        es = client(self.settings)
        try:
            if not es.indices.exists_alias(name=self.settings.alerts_alias):
                return
            hits = es.search(
                index=self.settings.alerts_alias,
                query={"range": {"alerted_at": {"gte": self._last_alert}}},
                sort=[{"alerted_at": "asc"}],
                size=500,
                source_includes=["alerted_at", "ingested_at"],
            )["hits"]["hits"]
        finally:
            es.close()
        for hit in hits:
            if hit["_id"] in self._seen_alerts:
                continue
            self._seen_alerts.add(hit["_id"])
            source = hit["_source"]
            seconds = _seconds_between(source.get("ingested_at"), source.get("alerted_at"))
            if seconds is not None:
                ALERT_LATENCY.observe(max(0.0, seconds))
            self._last_alert = str(source.get("alerted_at") or self._last_alert)


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        a = datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (b - a).total_seconds()


# --- The HTTP endpoint ------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/metrics":
            status, body, kind = 200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST
        elif self.path.split("?")[0] == "/healthz":
            status, text = report()
            body, kind = text.encode(), "text/plain; charset=utf-8"
        else:
            status, body, kind = 404, b"try /metrics or /healthz\n", "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # scrapes every few seconds would drown the pipeline's own log


class MetricsServer:
    """``/metrics`` and ``/healthz`` on ``host:port`` in a daemon thread, plus the monitor."""

    def __init__(
        self, settings: Settings, host: str = "127.0.0.1", port: int = 9464, every_s: float = 5.0
    ) -> None:
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="newsbeam-metrics", daemon=True
        )
        self.monitor = Monitor(settings, every_s=every_s)

    def start(self) -> MetricsServer:
        self._thread.start()
        self.monitor.start()
        log.info("metrics on http://127.0.0.1:%d/metrics, health on /healthz", self.port)
        return self

    def stop(self) -> None:
        self.monitor.stop()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of one metric sample (0 when absent); for tests and ``status``."""
    value = REGISTRY.get_sample_value(name, labels or {})
    return float(value or 0.0)


def samples(prefix: str) -> Iterator[tuple[str, dict[str, str], float]]:
    for family in REGISTRY.collect():
        for s in family.samples:
            if s.name.startswith(prefix):
                yield s.name, dict(s.labels), float(s.value)
