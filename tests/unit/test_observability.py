"""Logs carry document id and stage and never a secret; metrics count per stage; /healthz
speaks in sentences; the credentials reach the client and a refusal is a clear error."""

from __future__ import annotations

import io
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.elasticsearch import ElasticsearchAccessError, check_access, client
from pipelines import observability
from pipelines.settings import Settings, load

SECRET = "s3cr3t-pa55"
API_KEY = "QUJDREVGOmFwaS1rZXktdmFsdWU="


def _log_line(settings: Settings, *args: object, **extra: object) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter(observability.secrets_of(settings)))
    logger = logging.getLogger("newsbeam.test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"connect to http://elastic:{SECRET}@127.0.0.1:9200 failed")
        except RuntimeError:
            logger.error(*args, exc_info=True, extra=extra)
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue().strip()
    assert "\n" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_json_log_has_document_id_and_stage_and_no_secret() -> None:
    settings = load(overrides={"es_username": "elastic", "es_password": SECRET}, environ={})
    entry = _log_line(
        settings,
        "bulk failed for %s with password %s",
        "doc-1",
        SECRET,
        document_id="doc-1",
        stage="index",
    )
    assert entry["document_id"] == "doc-1"
    assert entry["stage"] == "index"
    assert entry["level"] == "error"
    assert SECRET not in json.dumps(entry)
    assert "***" in str(entry["message"])
    assert "http://***@127.0.0.1:9200" in str(entry["error"])


def test_redact_removes_api_keys_and_authorization_headers() -> None:
    text = f"headers={{'authorization': 'ApiKey {API_KEY}'}} key={API_KEY}"
    clean = observability.redact(text, [API_KEY])
    assert API_KEY not in clean
    assert "ApiKey ***" in clean or "***" in clean


def test_counts_at_the_sinks_are_per_stage_and_source() -> None:
    before_in = observability.sample(
        "newsbeam_documents_total", {"stage": "language", "source": "unit", "outcome": "in"}
    )
    observability.count_indexed("unit")
    observability.count_dead_letter("language", "und", "unit")
    observability.count_dead_letter("read", "too_large", None)

    def value(stage: str, outcome: str, source: str = "unit") -> float:
        labels = {"stage": stage, "source": source, "outcome": outcome}
        return observability.sample("newsbeam_documents_total", labels)

    assert value("language", "in") == before_in + 2
    observability.count_indexed("unit", 3)  # one bulk answer's articles of one outlet
    assert value("language", "in") == before_in + 5
    assert value("language", "rejected") >= 1
    assert value("entities", "in") >= 1
    assert value("read", "rejected", observability.UNKNOWN_SOURCE) >= 1
    assert (
        observability.sample("newsbeam_dead_letters_total", {"stage": "language", "reason": "und"})
        >= 1
    )


def test_healthz_says_what_is_wrong_in_a_sentence_and_recovers() -> None:
    health = observability.HEALTH
    health.problem("elasticsearch:test", "Elasticsearch at X has refused bulk writes for {age} s.")
    try:
        server = observability.MetricsServer(load(environ={}), port=0, every_s=3600).start()
        try:
            with pytest.raises(urllib.error.HTTPError) as failed:
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5)
            assert failed.value.code == 503
            text = failed.value.read().decode()
            assert text.startswith("Elasticsearch at X has refused bulk writes for ")
            assert text.rstrip().endswith("s.")
            health.resolved("elasticsearch:test")
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz") as ok:
                assert ok.status == 200
                assert ok.read().decode().startswith("ok:")
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics") as metrics:
                body = metrics.read().decode()
            assert "newsbeam_documents_total" in body
            assert "newsbeam_bulk_seconds" in body
            assert "newsbeam_alert_latency_seconds" in body
        finally:
            server.stop()
    finally:
        health.resolved("elasticsearch:test")


def test_credentials_and_ca_file_reach_the_client(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked until a TLS handshake\n")
    settings = load(
        overrides={
            "es_url": "https://127.0.0.1:9200",
            "es_username": "elastic",
            "es_password": SECRET,
            "es_ca_file": str(ca),
        },
        environ={},
    )
    es = client(settings)
    try:
        assert es._headers["authorization"].startswith("Basic ")
        node = es.transport.node_pool.all()[0]
        assert node.config.ca_certs == str(ca)
    finally:
        es.close()
    keyed = client(load(overrides={"es_api_key": API_KEY}, environ={}))
    try:
        assert keyed._headers["authorization"] == f"ApiKey {API_KEY}"
    finally:
        keyed.close()


class _Refusing(BaseHTTPRequestHandler):
    """Answers like a secured Elasticsearch node given wrong credentials."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "error": {"type": "security_exception", "reason": "unable to authenticate"},
                "status": 401,
            }
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-elastic-product", "Elasticsearch")
        self.send_header("WWW-Authenticate", 'Basic realm="security"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def refusing_node() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_bad_credentials_give_a_clear_error_without_the_secret(refusing_node: int) -> None:
    settings = load(
        overrides={
            "es_url": f"http://127.0.0.1:{refusing_node}",
            "es_username": "elastic",
            "es_password": SECRET,
        },
        environ={},
    )
    with pytest.raises(ElasticsearchAccessError) as refused:
        check_access(settings)
    message = str(refused.value)
    assert f"Elasticsearch at http://127.0.0.1:{refusing_node} refused user 'elastic'" in message
    assert "check the credentials" in message
    assert SECRET not in message
    assert refused.value.__cause__ is None  # no chained traceback carrying headers
