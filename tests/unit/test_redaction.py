"""No password of a URL, no credential and no server-echoed Authorization header reaches
what newsbeam prints, logs or serves (issue 18, finding 5)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.redaction import redact, redact_url, server_answer
from pipelines import observability
from pipelines.cli import main
from pipelines.commands.kibana import KibanaError, import_saved_objects

PASSWORD = "Pa55-word-xyz"
TOKEN_ECHO = "Authorization"


def test_redact_url_hides_user_and_password_and_keeps_the_rest() -> None:
    assert redact_url(f"https://elastic:{PASSWORD}@es.example:9200/x?y=1") == (
        "https://***@es.example:9200/x?y=1"
    )
    assert redact_url("https://token@es.example/") == "https://***@es.example/"
    assert redact_url("http://127.0.0.1:9200") == "http://127.0.0.1:9200"
    assert PASSWORD not in redact_url(f"http://u:{PASSWORD}@[::1")  # unparseable: regex path


def test_redact_text_secrets_urls_and_authorization_headers() -> None:
    text = (
        f"GET http://elastic:{PASSWORD}@h:1/ failed; headers {{'Authorization': 'Basic "
        "ZWxhc3RpYzpzZWNyZXQ='}} key=AbCdEf123"
    )
    clean = redact(text, ["AbCdEf123", None, "ab"])
    assert PASSWORD not in clean
    assert "ZWxhc3RpYzpzZWNyZXQ=" not in clean
    assert "AbCdEf123" not in clean
    assert "http://***@h:1/" in clean


def test_server_answer_is_one_short_redacted_line() -> None:
    body = f"<h1>401</h1>\n<pre>Authorization: Basic c2VjcmV0\nuser {PASSWORD}</pre>" + "x" * 999
    shown = server_answer(body.encode(), [PASSWORD], limit=120)
    assert "\n" not in shown
    assert len(shown) <= 120
    assert "c2VjcmV0" not in shown
    assert PASSWORD not in shown


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No NEWSBEAM_* from the caller's shell, and a data dir without local credentials."""
    import os

    for name in list(os.environ):
        if name.startswith("NEWSBEAM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBEAM_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://elastic:{PASSWORD}@127.0.0.1:9200",
        f"http://elastic:{PASSWORD}@127.0.0.1",
        f"http://elastic:{PASSWORD}@",
    ],
)
def test_bad_setting_errors_do_not_print_the_password(
    url: str, clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--es-url", url, "search", "x"]) == 2
    err = capsys.readouterr().err
    assert "bad setting" in err
    assert PASSWORD not in err


def test_stack_status_does_not_print_the_password(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    es_port, kafka_port = _free_port(), _free_port()
    url = f"https://elastic:{PASSWORD}@127.0.0.1:{es_port}"
    code = main(
        ["--es-url", url, "--kafka-bootstrap", f"127.0.0.1:{kafka_port}", "stack", "status"]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert PASSWORD not in out + err
    assert f"https://***@127.0.0.1:{es_port}" in out


def test_index_migrate_against_a_node_that_is_down_is_one_redacted_sentence(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSBEAM_STARTUP_TIMEOUT_S", "1")
    url = f"http://elastic:{PASSWORD}@127.0.0.1:{_free_port()}"
    assert main(["--es-url", url, "index", "migrate"]) == 1
    err = capsys.readouterr().err
    assert PASSWORD not in err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert "did not answer" in line


class _EchoingRefusal(BaseHTTPRequestHandler):
    """A server that refuses and echoes the request's headers in its body (as some
    proxies' error pages do)."""

    def _refuse(self) -> None:
        echoed = "".join(f"{name}: {value}\n" for name, value in self.headers.items())
        body = json.dumps(
            {"error": {"type": "security_exception", "reason": f"refused; you sent {echoed}"},
             "status": 401}
        ).encode()  # fmt: skip
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-elastic-product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._refuse()

    def do_POST(self) -> None:
        self._refuse()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def echoing_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingRefusal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_search_refused_is_one_sentence_without_the_echoed_credentials(
    echoing_server: int,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NEWSBEAM_ES_USERNAME", "elastic")
    monkeypatch.setenv("NEWSBEAM_ES_PASSWORD", PASSWORD)
    assert main(["--es-url", f"http://127.0.0.1:{echoing_server}", "search", "x"]) == 1
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    assert "refused user 'elastic'" in line
    assert PASSWORD not in err
    import base64

    assert base64.b64encode(f"elastic:{PASSWORD}".encode()).decode() not in err


def test_kibana_setup_never_prints_the_servers_echo_of_our_authorization(
    echoing_server: int,
) -> None:
    import base64

    with pytest.raises(KibanaError) as refused:
        import_saved_objects(
            f"http://127.0.0.1:{echoing_server}",
            [],
            username="elastic",
            password=PASSWORD,
            timeout_s=1,
        )
    message = str(refused.value)
    assert "HTTP 401" in message
    assert PASSWORD not in message
    assert base64.b64encode(f"elastic:{PASSWORD}".encode()).decode() not in message
    assert "\n" not in message


def test_healthz_serves_problems_without_url_credentials() -> None:
    observability.HEALTH.problem(
        "test-redaction", f"Elasticsearch at http://elastic:{PASSWORD}@10.0.0.1:9200 is down."
    )
    try:
        status, text = observability.report()
    finally:
        observability.HEALTH.resolved("test-redaction")
    assert status == 503
    assert PASSWORD not in text
    assert "http://***@10.0.0.1:9200" in text


def test_log_lines_hide_the_url_password_of_the_settings() -> None:
    from pipelines.settings import load

    settings = load(overrides={"es_url": f"http://elastic:{PASSWORD}@127.0.0.1:9200"}, environ={})
    assert PASSWORD in observability.secrets_of(settings)
    formatter = observability.JsonFormatter(observability.secrets_of(settings))
    import logging

    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "%s", (PASSWORD,), None)
    assert PASSWORD not in formatter.format(record)


class _Failing(BaseHTTPRequestHandler):
    """A node that answers every request with an internal error."""

    def do_GET(self) -> None:
        body = json.dumps(
            {"error": {"type": "exception", "reason": "shard failure"}, "status": 500}
        ).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-elastic-product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_HEAD = do_GET  # noqa: N815 - the handler's method names

    def log_message(self, *_: object) -> None:
        pass


@pytest.mark.parametrize("argv", [["search", "x"], ["entities", "top"]])
def test_a_server_error_is_one_sentence(
    argv: list[str], clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = main(["--es-url", f"http://127.0.0.1:{server.server_address[1]}", *argv])
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert "answered HTTP 500" in line or "did not answer" in line


def test_redaction_is_linear_in_a_long_run_of_letters() -> None:
    """A scheme is read from the start of a run only; from inside a run of letters the
    search restarted at every letter (20k letters cost 0.2 s, growing quadratically)."""
    import time

    def cpu_s(text: str) -> float:
        started = time.thread_time()
        redact(text)
        return time.thread_time() - started

    small, large = cpu_s("a" * 20_000), cpu_s("a" * 80_000)
    assert large < 0.05 or large < 8 * small
