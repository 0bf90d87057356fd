"""The local stack's life cycle: up (twice), status, down, and its failure reports.

These tests start and stop their own services, in their own data dir and on their own
ports (Kafka 19092/19093, Elasticsearch 19200/19300), so the shared stack that the
other integration tests use (``stack_settings``) is never touched.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra import processes, stack
from pipelines.settings import Settings, credentials_path, load

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _own_data_dir(name: str) -> Path:
    # Not pytest's tmp_path: it is mode 0700 under /tmp/pytest-of-root, and the services
    # run as the `newsbeam` user when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix=f"newsbeam-{name}-"))
    folder.chmod(0o755)
    return folder


def _settings(data_dir: Path, kafka_port: int, es_port: int, **more: object) -> Settings:
    return load(
        overrides={
            "data_dir": str(data_dir),
            "kafka_bootstrap": f"127.0.0.1:{kafka_port}",
            "es_url": f"http://127.0.0.1:{es_port}",
            **more,
        },
        environ={},
    )


def _leftovers(settings: Settings) -> list[int]:
    return processes.processes_mentioning(f"{stack.data_dir(settings)}/")


def _leftovers_after_exit(settings: Settings, within_s: float = 10.0) -> list[int]:
    """What is still running after processes already signalled have had ``within_s`` to
    exit: under load a killed JVM can still be listed a moment after ``up`` returned."""
    deadline = time.monotonic() + within_s
    while (left := _leftovers(settings)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


@pytest.fixture(scope="module")
def private_stack() -> Iterator[Settings]:
    folder = _own_data_dir("stack-test")
    settings = _settings(folder, 19092, 19200)
    yield settings
    stack.down(settings)  # a safety net when a test failed half-way
    shutil.rmtree(folder, ignore_errors=True)


def test_up_twice_is_harmless_and_status_reports_both_healthy(private_stack: Settings) -> None:
    first = stack.up(private_stack)
    assert first.ok, first.describe()
    assert [s.name for s in first.services] == ["kafka", "elasticsearch"]
    assert all(s.started_in_s is not None and s.started_in_s > 0 for s in first.services)
    pids = {s.name: s.pid for s in first.services}

    second = stack.up(private_stack)
    assert second.ok, second.describe()
    assert {s.name: s.pid for s in second.services} == pids, "a second `up` must not restart"
    assert all(s.started_in_s is None for s in second.services)
    assert "already running" in second.describe()

    now = stack.status(private_stack)
    assert now.ok, now.describe()
    assert all(s.running and s.healthy for s in now.services)
    assert {s.name: s.pid for s in now.services} == pids
    assert "127.0.0.1:19092" in now.describe()
    assert "http://127.0.0.1:19200" in now.describe()
    # Secured by default: credentials owner-only, and the node refuses strangers.
    assert "security on" in now.describe()
    credentials = credentials_path(private_stack.data_dir)
    assert credentials.stat().st_mode & 0o777 == 0o600
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{private_stack.es_url}/", timeout=10)
    assert refused.value.code == 401
    refused.value.close()
    assert private_stack.replace().es_username == "newsbeam_admin"  # picked up now


def test_up_created_the_project_topics(private_stack: Settings) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=private_stack.kafka_bootstrap)
    try:
        topics = set(admin.list_topics())
    finally:
        admin.close()
    wanted = {private_stack.raw_topic, private_stack.dlq_topic, private_stack.alerts_topic}
    assert wanted <= topics


def test_services_run_as_the_service_user_and_keep_everything_in_the_data_dir(
    private_stack: Settings,
) -> None:
    root = stack.data_dir(private_stack)
    pids = _leftovers(private_stack)
    assert len(pids) >= 2  # the broker, Elasticsearch's launcher and its server
    account = processes.service_account()
    for pid in pids:
        assert Path(f"/proc/{pid}").stat().st_uid == account.uid
    for part in ("kafka/dist/libs", "kafka/data/meta.properties", "kafka/logs/console.log"):
        assert (root / part).exists(), part
    for part in ("elasticsearch/dist", "elasticsearch/data", "elasticsearch/logs/console.log"):
        assert (root / part).exists(), part


def test_down_leaves_no_process_behind(private_stack: Settings) -> None:
    before = _leftovers(private_stack)
    assert before, "the stack should be running before this test"

    report = stack.down(private_stack)

    assert report.ok, report.describe()
    assert not any(s.running for s in report.services)
    assert _leftovers(private_stack) == []
    assert not any(processes.is_alive(pid) for pid in before)
    for port in (19092, 19093, 19094, 19200, 19300):
        assert processes.port_is_free("127.0.0.1", port), port
    after = stack.status(private_stack)
    assert not after.ok
    assert not any(s.running or s.healthy for s in after.services)
    assert "was not running" in stack.down(private_stack).describe()


def test_a_port_taken_by_a_stranger_is_named_and_nothing_starts() -> None:
    folder = _own_data_dir("stack-port")
    with socket.socket() as kafka_squatter, socket.socket() as es_squatter:
        kafka_squatter.bind(("127.0.0.1", 0))
        kafka_squatter.listen()
        es_squatter.bind(("127.0.0.1", 0))
        es_squatter.listen()
        kafka_port = kafka_squatter.getsockname()[1]
        es_port = es_squatter.getsockname()[1]
        settings = _settings(folder, kafka_port, es_port, startup_timeout_s=5.0)
        try:
            report = stack.up(settings)
        finally:
            stack.down(settings)
            shutil.rmtree(folder, ignore_errors=True)
    assert not report.ok
    text = report.describe()
    assert f"port {kafka_port} for kafka is already taken by pid" in text
    assert f"port {es_port} for elasticsearch is already taken by pid" in text
    assert "newsbeam did not start" in text
    assert _leftovers(settings) == []


def test_a_start_up_timeout_names_the_service_its_address_and_its_log() -> None:
    folder = _own_data_dir("stack-timeout")
    # Nothing answers within 0.5 s, so both time out; `up` must stop what it started.
    settings = _settings(folder, 19492, 19600, startup_timeout_s=0.5)
    try:
        report = stack.up(settings)
        leftovers = _leftovers_after_exit(settings)
    finally:
        stack.down(settings)
        shutil.rmtree(folder, ignore_errors=True)
    assert not report.ok
    by_name = {s.name: s for s in report.services}
    es = by_name["elasticsearch"]
    assert not es.healthy
    assert "elasticsearch at http://127.0.0.1:19600 was not healthy after 0.5 s" in es.detail
    assert f"{folder}/elasticsearch/logs/console.log" in es.detail
    assert "last lines:" in es.detail
    assert leftovers == [], [processes.command_line(p)[:300] for p in leftovers]


def test_two_concurrent_ups_share_one_stack() -> None:
    # Two pytest sessions may start the shared stack at the same moment.
    folder = _own_data_dir("stack-race")
    settings = _settings(folder, 19092, 19200)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            reports = list(pool.map(lambda _: stack.up(settings), range(2)))
        brokers = [
            pid for pid in _leftovers(settings) if "kafka.Kafka" in processes.command_line(pid)
        ]
    finally:
        stack.down(settings)
        shutil.rmtree(folder, ignore_errors=True)
    assert all(report.ok for report in reports), [r.describe() for r in reports]
    pids = [{s.name: s.pid for s in report.services} for report in reports]
    assert pids[0] == pids[1]
    kafka_pid = pids[0]["kafka"]
    assert kafka_pid is not None
    assert brokers == [kafka_pid]
    assert _leftovers(settings) == []
