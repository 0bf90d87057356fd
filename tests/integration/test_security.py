"""Against the enforcing local services: Elasticsearch with security and TLS on, Kafka's
SASL_SSL listener with SCRAM users.

The seed pipeline and its alerts run through the secured listener with the least-privilege
credentials; wrong, missing or under-privileged credentials and an untrusted CA each end
in one sentence from the CLI, with no traceback and no secret; the pipeline's credential
cannot delete an index or read another installation's alerts; an unauthenticated request
is refused.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AuthenticationException, AuthorizationException

from connectors.elasticsearch import client
from connectors.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from infra.security import make_certificates, read_credentials
from pipelines import ingest
from pipelines.alerting import deliver_alerts
from pipelines.cli import main
from pipelines.jobs import publish_files
from pipelines.settings import Settings, credentials_path

pytestmark = pytest.mark.integration

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
HOOK_KEY = "integration-hook-key-0123456789"


@pytest.fixture(scope="module")
def local(stack_settings: Settings) -> dict[str, Any]:
    if not stack_settings.local_security:
        pytest.skip("the local stack runs with local_security=off")
    return read_credentials(credentials_path(stack_settings.data_dir))


def _secured_kafka(settings: Settings, local: dict[str, Any], **more: Any) -> Settings:
    return settings.replace(
        kafka_bootstrap=local["kafka"]["secured_bootstrap"],
        kafka_security_protocol="SASL_SSL",
        **more,
    )


# --- The node refuses strangers -----------------------------------------------------------


def test_an_unauthenticated_request_is_refused(stack_settings: Settings) -> None:
    assert stack_settings.es_url.startswith("https://")
    context = ssl.create_default_context(cafile=stack_settings.es_ca_file)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{stack_settings.es_url}/_cat/indices", context=context)
    assert refused.value.code == 401
    refused.value.close()
    # Without the CA the client does not trust the node either.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"{stack_settings.es_url}/", context=ssl.create_default_context())


def test_credentials_file_is_owner_only_and_load_picks_it_up(
    stack_settings: Settings, local: dict[str, Any]
) -> None:
    path = credentials_path(stack_settings.data_dir)
    assert path.stat().st_mode & 0o777 == 0o600
    assert stack_settings.es_username == local["admin"]["username"] == "newsbeam_admin"
    assert stack_settings.es_password == local["admin"]["password"]
    assert repr(local["admin"]["password"]) not in repr(stack_settings)
    pipeline = stack_settings.replace(es_credential="pipeline")
    assert pipeline.es_username == "newsbeam_pipeline"
    assert pipeline.es_password == local["pipeline"]["password"]
    explicit = stack_settings.replace(es_username="someone", es_password="given")
    assert (explicit.es_username, explicit.es_password) == ("someone", "given")


# --- Least privilege ----------------------------------------------------------------------


def test_the_pipeline_credential_cannot_delete_an_index_or_read_alerts_it_does_not_own(
    test_settings: Settings,
) -> None:
    admin = client(test_settings)
    pipeline = client(test_settings.replace(es_credential="pipeline"))
    analyst = client(test_settings.replace(es_credential="analyst"))
    alerts = client(test_settings.replace(es_credential="alerts"))
    mine = f"{test_settings.articles_alias}-v1"
    foreign = "foreign-alerts-v1"  # another installation's alerts: outside the prefix
    try:
        admin.indices.create(index=foreign)
        admin.index(index=foreign, id="a", document={"rule": "secret watch"}, refresh=True)
        pipeline.indices.create(index=mine, aliases={test_settings.articles_alias: {}})
        pipeline.index(index=mine, id="1", document={"title": "x"}, refresh=True)
        assert pipeline.count(index=test_settings.articles_alias)["count"] == 1
        with pytest.raises(AuthorizationException):
            pipeline.indices.delete(index=mine)
        with pytest.raises(AuthorizationException):
            pipeline.search(index=foreign)
        with pytest.raises(AuthorizationException):
            pipeline.indices.delete(index=foreign)
        # Analysts read, never write; the alert worker reads articles but cannot write them.
        assert analyst.count(index=test_settings.articles_alias)["count"] == 1
        with pytest.raises(AuthorizationException):
            analyst.index(index=mine, id="2", document={"title": "y"})
        assert alerts.count(index=test_settings.articles_alias)["count"] == 1
        with pytest.raises(AuthorizationException):
            alerts.index(index=mine, id="3", document={"title": "z"})
        with pytest.raises(AuthorizationException):
            alerts.search(index=foreign)
    finally:
        admin.indices.delete(index=[mine, foreign], ignore_unavailable=True)
        for es in (admin, pipeline, analyst, alerts):
            es.close()


def test_a_wrong_password_is_a_401_from_the_client(test_settings: Settings) -> None:
    wrong = client(
        test_settings.replace(es_username="newsbeam_admin", es_password="not-the-password")
    )
    try:
        with pytest.raises(AuthenticationException):
            wrong.cluster.health()
    finally:
        wrong.close()


# --- The seed pipeline and its alerts through the secured services ------------------------


class _SignedReceiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = verify_signature(
                    HOOK_KEY, body, self.headers[SIGNATURE_HEADER], self.headers[TIMESTAMP_HEADER]
                )
                if ok:
                    receiver.bodies.append(json.loads(body))
                else:
                    receiver.refused += 1
                self.send_response(200 if ok else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def signed_receiver() -> Iterator[_SignedReceiver]:
    receiver = _SignedReceiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_seed_pipeline_and_signed_alerts_through_sasl_ssl_with_least_privilege(
    test_settings: Settings,
    local: dict[str, Any],
    signed_receiver: _SignedReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(
        "rules:\n  - name: haftar\n    entity: Khalifa Haftar\n    sinks:\n"
        f"      - webhook: http://127.0.0.1:{signed_receiver.port}/hook\n"
        "        secret_env: NEWSBEAM_TEST_HOOK_KEY\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("NEWSBEAM_TEST_HOOK_KEY", HOOK_KEY)
    base = test_settings.replace(watchlist_file=str(watchlist))
    pipeline = _secured_kafka(
        base, local, es_credential="pipeline", kafka_sasl_mechanism="SCRAM-SHA-512"
    )
    assert pipeline.es_username == "newsbeam_pipeline"
    assert pipeline.kafka_options["security_protocol"] == "SASL_SSL"
    assert pipeline.kafka_options["ssl_cafile"] == local["kafka"]["ca_file"]

    assert publish_files(sorted(SEEDS.glob("*.txt")), pipeline) == 0
    ingest.run(pipeline, until_idle=True, idle_seconds=2)

    admin = client(base)
    admin.indices.refresh(index=[base.articles_alias, base.alerts_alias])
    admin.close()
    analyst = client(base.replace(es_credential="analyst"))
    try:
        assert analyst.count(index=base.articles_alias)["count"] == 5
        alerts = analyst.search(index=base.alerts_alias, size=20)["hits"]["hits"]
    finally:
        analyst.close()
    assert len(alerts) == 5
    assert all(hit["_source"]["sinks"][-1]["signed"] == "env" for hit in alerts)
    assert HOOK_KEY not in json.dumps(alerts)

    # Delivery with the alert worker's credential, over SCRAM-SHA-256 this time.
    worker = _secured_kafka(
        base.replace(es_credential="alerts"), local, kafka_sasl_mechanism="SCRAM-SHA-256"
    )
    stop = threading.Event()
    thread = threading.Thread(target=deliver_alerts, args=(worker, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(signed_receiver.bodies) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(60)
    assert len(signed_receiver.bodies) == 5
    assert signed_receiver.refused == 0
    assert {body["rule"] for body in signed_receiver.bodies} == {"haftar"}


# --- One sentence, no traceback, no secret: the CLI against refusing services -------------


def _cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    env: dict[str, str],
    argv: list[str],
) -> tuple[int, str]:
    for name in (
        "ES_USERNAME", "ES_PASSWORD", "ES_API_KEY", "ES_CA_FILE", "ES_CREDENTIAL",
        "KAFKA_SECURITY_PROTOCOL", "KAFKA_USERNAME", "KAFKA_PASSWORD", "KAFKA_CA_FILE",
        "CONFIG",
    ):  # fmt: skip
        monkeypatch.delenv(f"NEWSBEAM_{name}", raising=False)
    monkeypatch.setenv("NEWSBEAM_ES_URL", settings.es_url)
    monkeypatch.setenv("NEWSBEAM_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    monkeypatch.setenv("NEWSBEAM_DATA_DIR", settings.data_dir)
    monkeypatch.setenv("NEWSBEAM_INDEX_PREFIX", settings.index_prefix)
    monkeypatch.setenv("NEWSBEAM_RAW_TOPIC", settings.raw_topic)
    monkeypatch.setenv("NEWSBEAM_DLQ_TOPIC", settings.dlq_topic)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err


def _one_sentence(err: str, *secrets: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for secret in secrets:
        assert secret not in err
    return lines[0]


def test_wrong_password_missing_credentials_and_bad_api_key_are_one_sentence(
    test_settings: Settings,
    local: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "wrong-Password-123"
    code, err = _cli(
        monkeypatch, capsys, test_settings,
        {"NEWSBEAM_ES_USERNAME": "newsbeam_admin", "NEWSBEAM_ES_PASSWORD": wrong},
        ["search", "Haftar"],
    )  # fmt: skip
    line = _one_sentence(err, wrong)
    assert code == 1
    assert "refused user 'newsbeam_admin'" in line
    assert "401" in line

    # No credential at all: a data dir without credentials.toml, the CA given by hand.
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = _cli(
        monkeypatch, capsys, test_settings.replace(data_dir=str(empty)),
        {"NEWSBEAM_ES_CA_FILE": local["elasticsearch"]["ca_file"]},
        ["index", "migrate"],
    )  # fmt: skip
    line = _one_sentence(err)
    assert code == 1
    assert "refused no credentials" in line

    api_key = "bm90LWEta2V5OnJlYWxseS1ub3Q="
    code, err = _cli(
        monkeypatch, capsys, test_settings, {"NEWSBEAM_ES_API_KEY": api_key}, ["search", "x"]
    )
    line = _one_sentence(err, api_key)
    assert code == 1
    assert "refused the API key NEWSBEAM_ES_API_KEY" in line


def test_an_under_privileged_credential_is_one_sentence(
    test_settings: Settings,
    local: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Analysts read only: setting up an index is refused by the node, said in one line.
    code, err = _cli(
        monkeypatch, capsys, test_settings, {"NEWSBEAM_ES_CREDENTIAL": "analyst"},
        ["index", "migrate"],
    )  # fmt: skip
    line = _one_sentence(err, local["analyst"]["password"])
    assert code == 1
    assert "accepted user 'newsbeam_analyst'" in line
    assert "'analyst' credential" in line
    assert "refused the request (403" in line


def test_an_untrusted_ca_is_one_sentence_for_elasticsearch_and_kafka(
    test_settings: Settings,
    local: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stranger = make_certificates(tmp_path / "other-ca").ca  # a CA that signed nothing here
    code, err = _cli(
        monkeypatch, capsys, test_settings, {"NEWSBEAM_ES_CA_FILE": str(stranger)},
        ["search", "Haftar"],
    )  # fmt: skip
    line = _one_sentence(err, local["admin"]["password"])
    assert code == 1
    assert "presented a TLS certificate that" in line
    assert str(stranger) in line

    secured = _secured_kafka(test_settings, local)
    code, err = _cli(
        monkeypatch, capsys, secured,
        {"NEWSBEAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "NEWSBEAM_KAFKA_CA_FILE": str(stranger)},
        ["publish", str(next(SEEDS.glob("*.txt")))],
    )  # fmt: skip
    line = _one_sentence(err, local["kafka"]["password"])
    assert code == 1
    assert "Kafka at" in line
    assert "TLS certificate" in line


def test_wrong_kafka_password_is_one_sentence(
    test_settings: Settings,
    local: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "not-the-kafka-password"
    secured = _secured_kafka(test_settings, local)
    code, err = _cli(
        monkeypatch, capsys, secured,
        {"NEWSBEAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "NEWSBEAM_KAFKA_USERNAME": "newsbeam",
         "NEWSBEAM_KAFKA_PASSWORD": wrong},
        ["publish", str(next(SEEDS.glob("*.txt")))],
    )  # fmt: skip
    line = _one_sentence(err, wrong)
    assert code == 1
    assert "refused user 'newsbeam'" in line


def test_a_client_certificate_is_accepted_by_the_tls_listener(
    test_settings: Settings, local: dict[str, Any]
) -> None:
    from connectors.kafka import check_access, end_offsets, ensure_topics

    secured = _secured_kafka(
        test_settings,
        local,
        kafka_cert_file=local["kafka"]["cert_file"],
        kafka_key_file=local["kafka"]["key_file"],
    )
    assert secured.kafka_options["ssl_certfile"] == local["kafka"]["cert_file"]
    check_access(secured.kafka_bootstrap, secured.kafka_options)
    ensure_topics(secured.kafka_bootstrap, [secured.raw_topic], security=secured.kafka_options)
    assert end_offsets(secured.kafka_bootstrap, secured.raw_topic, security=secured.kafka_options)
