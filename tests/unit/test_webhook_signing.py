"""Signed webhooks: a local receiver verifies what the sender signed, and refuses a
tampered body, a wrong key and an old (replayed) request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from connectors.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookError,
    WebhookSender,
    sign,
    verify_signature,
)
from transforms.alerts import AlertRule, Sink, WatchlistError, parse_watchlist, raise_alerts
from transforms.chain import enrich
from transforms.document import Document

SECRET = "s3cret-signing-key-for-tests-0123"


class _VerifyingReceiver(BaseHTTPRequestHandler):
    """Accepts only requests whose signature verifies with SECRET (as docs/alerts.md)."""

    received: ClassVar[list[tuple[bytes, str | None, str | None]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        signature, timestamp = self.headers[SIGNATURE_HEADER], self.headers[TIMESTAMP_HEADER]
        type(self).received.append((body, signature, timestamp))
        ok = verify_signature(SECRET, body, signature, timestamp)
        self.send_response(200 if ok else 401)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _VerifyingReceiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _VerifyingReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _alert() -> Any:
    doc = enrich(Document(id="d", origin="test:d", content="Khalifa Haftar ordered a march."))
    (alert,) = raise_alerts([AlertRule(name="h", entity="Khalifa Haftar")], doc)
    return alert


def test_a_signed_sink_is_accepted_by_a_verifying_receiver(receiver: str) -> None:
    sink = Sink("webhook", receiver, secret=SECRET)
    assert WebhookSender(retry_budget_s=1).deliver(sink, _alert()) == 1
    ((body, signature, timestamp),) = _VerifyingReceiver.received
    assert signature is not None
    assert signature.startswith("v1=")
    assert timestamp is not None
    assert abs(int(timestamp) - time.time()) < 60
    assert b"Khalifa Haftar" in body


def test_the_key_can_come_from_an_environment_variable(
    receiver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBEAM_TEST_HOOK_KEY", SECRET)
    sink = Sink("webhook", receiver, secret_env="NEWSBEAM_TEST_HOOK_KEY")
    assert WebhookSender(retry_budget_s=1).deliver(sink, _alert()) == 1
    monkeypatch.delenv("NEWSBEAM_TEST_HOOK_KEY")
    with pytest.raises(WebhookError) as missing:
        WebhookSender(retry_budget_s=1).deliver(sink, _alert())
    assert missing.value.reason == "no_secret"
    assert not missing.value.retryable
    assert "NEWSBEAM_TEST_HOOK_KEY" in str(missing.value)


def test_a_wrong_key_is_refused_by_the_receiver(receiver: str) -> None:
    sink = Sink("webhook", receiver, secret="another-key-of-enough-length")
    with pytest.raises(WebhookError) as refused:
        WebhookSender(retry_budget_s=1).deliver(sink, _alert())
    assert refused.value.reason == "http_401"


def test_tampered_or_old_or_unsigned_messages_fail_verification() -> None:
    body = b'{"rule": "h", "entity": "Khalifa Haftar"}'
    now = int(time.time())
    good = sign(SECRET, now, body)
    assert verify_signature(SECRET, body, good, str(now))
    assert not verify_signature(SECRET, body.replace(b"h", b"x", 1), good, str(now))
    assert not verify_signature(SECRET, body, good, str(now + 1))  # timestamp is signed too
    assert not verify_signature("not-the-key-at-all-000", body, good, str(now))
    old = now - 3600
    assert not verify_signature(SECRET, body, sign(SECRET, old, body), str(old))  # a replay
    assert verify_signature(SECRET, body, sign(SECRET, old, body), str(old), tolerance_s=7200)
    assert not verify_signature(SECRET, body, None, None)
    assert not verify_signature(SECRET, body, good, "yesterday")


def test_the_watchlist_names_the_key_and_an_alert_never_carries_it() -> None:
    watchlist = parse_watchlist(
        {
            "rules": [
                {
                    "name": "h",
                    "entity": "Khalifa Haftar",
                    "sinks": [{"webhook": "https://example.org/hook", "secret": SECRET}],
                }
            ]
        }
    )
    (sink,) = watchlist.rules[0].sinks
    assert sink.secret == SECRET
    assert SECRET not in repr(sink)
    assert SECRET not in str(sink.to_dict())
    assert sink.to_dict()["signed"] == "inline"
    for bad in ({"secret": "short"}, {"secret": SECRET, "secret_env": "X"}, {"secret_env": ""}):
        with pytest.raises(WatchlistError):
            parse_watchlist(
                {"rules": [{"name": "h", "entity": "Khalifa Haftar",
                            "sinks": [{"webhook": "https://example.org/hook", **bad}]}]}
            )  # fmt: skip


def test_the_receiver_snippet_in_the_docs_verifies_like_the_sender_signs() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "alerts.md").read_text("utf-8")
    snippet = next(
        block.split("\n", 1)[1]
        for block in text.split("```python")[1:]
        if "def verify(" in block.split("```")[0]
    ).split("```")[0]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    verify = namespace["verify"]
    body = b'{"rule": "h"}'
    now = int(time.time())
    assert verify(SECRET, body, sign(SECRET, now, body), str(now))
    assert not verify(SECRET, body + b" ", sign(SECRET, now, body), str(now))
    old = now - 600
    assert not verify(SECRET, body, sign(SECRET, old, body), str(old))
