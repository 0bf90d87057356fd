"""Outages on a stack of our own (Kafka 29092/29093, Elasticsearch 29200/29300, own data dir):
Elasticsearch stopped for 60 s mid-stream, and the Kafka broker restarted mid-stream.
The shared stack other tests use is never touched."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.kafka import DocumentProducer, committed_offsets, end_offsets, ensure_topics
from infra import processes, stack
from pipelines.settings import Settings, load
from tests.integration.test_reliability import (
    assert_exactly_once,
    indexed_count,
    kill_hard,
    make_documents,
    publish,
    run_until_idle,
    start_pipeline,
    topic_values,
)
from transforms.document import Document, document_id

pytestmark = [pytest.mark.integration, pytest.mark.slow]

METRICS_PORT = 29464


@pytest.fixture(scope="module")
def own_stack() -> Iterator[Settings]:
    folder = Path(tempfile.mkdtemp(prefix="newsbeam-outage-"))
    folder.chmod(0o755)  # the services run as the service user
    settings = load(
        overrides={
            "data_dir": str(folder),
            "kafka_bootstrap": "127.0.0.1:29092",
            "es_url": "http://127.0.0.1:29200",
            "bulk_size": 100,
        },
        environ={},
    )
    report = stack.up(settings)
    assert report.ok, report.describe()
    yield settings
    stack.down(settings)
    shutil.rmtree(folder, ignore_errors=True)


def _named(settings: Settings, name: str) -> Settings:
    return settings.replace(
        raw_topic=f"{name}.raw",
        dlq_topic=f"{name}.dlq",
        alerts_topic=f"{name}.alerts",
        index_prefix=name,
        consumer_group=name,
    )


def _stop(settings: Settings, service: str) -> list[int]:
    """Stop one service of our own stack by the pids of its processes."""
    pids = processes.processes_mentioning(f"{stack.data_dir(settings)}/{service}/")
    assert pids, f"{service} is not running"
    assert processes.stop(pids, 30.0) == []
    return pids


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _healthz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait(what: str, check: object, timeout_s: float, pipeline: object = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        if pipeline is not None:
            assert pipeline.poll() is None, f"the pipeline exited while waiting for {what}"  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f} s"
        time.sleep(1)


def _drained(settings: Settings) -> bool:
    ends = end_offsets(settings.kafka_bootstrap, settings.raw_topic)
    done = committed_offsets(settings.kafka_bootstrap, settings.raw_topic, settings.consumer_group)
    return done == ends


def test_elasticsearch_down_60_s_mid_stream_waits_retries_then_drains(
    own_stack: Settings, tmp_path: Path
) -> None:
    settings = _named(own_stack, "es-outage")
    docs = make_documents(2000, seed=31)
    # A document whose url is over Lucene's 32 766-byte term limit: a real mapping error.
    long_url = "https://example.org/" + "a" * 40_000
    refused = Document(
        id=document_id(url=long_url),
        origin="generated/too-long-url",
        url=long_url,
        content="A perfectly fine article about the harbour council and its budget vote.",
    )
    publish(settings, [*docs[:800], refused])
    log = tmp_path / "pipeline.log"
    pipeline = start_pipeline(settings, log, metrics_port=METRICS_PORT)
    try:
        _wait("300 indexed", lambda: indexed_count(settings) >= 300, 300, pipeline)
        assert _healthz(METRICS_PORT)[0] == 200

        _stop(settings, "elasticsearch")
        stopped = time.monotonic()
        publish(settings, docs[800:])  # the stream goes on while Elasticsearch is away
        cpu_before = _cpu_seconds(pipeline.pid)
        time.sleep(15)
        status, text = _healthz(METRICS_PORT)
        print(f"healthz during the outage: {status} {text.strip()}")
        assert status == 503
        assert "Elasticsearch at http://127.0.0.1:29200" in text
        assert "retrying" in text
        time.sleep(max(0.0, 60 - (time.monotonic() - stopped)))
        cpu = _cpu_seconds(pipeline.pid) - cpu_before
        outage = time.monotonic() - stopped
        print(f"outage {outage:.0f} s: the pipeline used {cpu:.1f} s of CPU")
        assert pipeline.poll() is None, "the pipeline crashed during the outage"
        assert cpu < 0.25 * outage, "busy spin: back-off should leave the CPU idle"

        report = stack.up(settings)
        assert report.ok, report.describe()
        _wait("everything indexed", lambda: indexed_count(settings) == len(docs), 300, pipeline)
        _wait("healthy again", lambda: _healthz(METRICS_PORT)[0] == 200, 60, pipeline)
    finally:
        kill_hard(pipeline)
    # The streaming run on the in-process runner commits offsets and writes dead letters
    # only when its read stage ends (docs/reliability.md, known gaps): a stop and an
    # --until-idle restart, the crash path, finishes the job without doubling anything.
    run_until_idle(settings, tmp_path / "restart.log")
    assert _drained(settings)
    assert_exactly_once(settings, docs)
    letters = [v.decode() for v in topic_values(settings, settings.dlq_topic)]
    assert len(letters) == 1
    assert refused.id in letters[0]
    assert '"stage":"index"' in letters[0]
    print(f"published {len(docs) + 1}, indexed {indexed_count(settings)}, dead letters 1")


def test_kafka_restart_mid_stream_producers_and_pipeline_reconnect(
    own_stack: Settings, tmp_path: Path
) -> None:
    settings = _named(own_stack, "kafka-restart")
    docs = make_documents(2000, seed=41)
    ensure_topics(settings.kafka_bootstrap, [settings.raw_topic, settings.dlq_topic])
    log = tmp_path / "pipeline.log"
    pipeline = start_pipeline(settings, log, metrics_port=METRICS_PORT + 1)
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            with DocumentProducer(
                settings.kafka_bootstrap, settings.raw_topic, settings.dlq_topic
            ) as producer:
                for start in range(0, len(docs), 100):
                    for doc in docs[start : start + 100]:
                        producer.publish(doc)
                    time.sleep(0.3)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    producer = threading.Thread(target=produce)
    try:
        producer.start()
        _wait("200 indexed", lambda: indexed_count(settings) >= 200, 300, pipeline)
        _stop(settings, "kafka")
        stopped_at = indexed_count(settings)
        time.sleep(10)
        report = stack.up(settings)
        assert report.ok, report.describe()
        producer.join(timeout=300)
        assert not producer.is_alive()
        assert not errors, errors
        _wait("everything indexed", lambda: indexed_count(settings) == len(docs), 300, pipeline)
        assert pipeline.poll() is None, "the pipeline exited instead of reconnecting"
    finally:
        kill_hard(pipeline)
        producer.join(timeout=60)
    print(f"broker stopped with {stopped_at} indexed; the streaming run indexed the rest")
    run_until_idle(settings, tmp_path / "restart.log")  # commits (see the Elasticsearch test)
    assert _drained(settings)
    assert_exactly_once(settings, docs)
    print(f"published {len(docs)}, indexed {indexed_count(settings)} after a broker restart")
