"""Webhooks: POST an alert as JSON (or a Slack-compatible message), with retries and backoff.

A sink with a secret gets signed requests: ``X-Newsbeam-Timestamp`` (Unix seconds) and
``X-Newsbeam-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``, so a receiver
can check the sender and the body, and refuse an old (replayed) request
(``verify_signature``; docs/alerts.md shows the receiver's side).

Only the standard library: one small request per alert needs no HTTP stack.
A failure is classified: a refused request (4xx other than 408/429) is
permanent and goes to the dead letters at once; a connection error, a timeout,
408, 429 or 5xx is transient and retried with capped exponential backoff
(honouring ``Retry-After``) until the retry budget is spent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from connectors.redaction import redact_url
from transforms.alerts import Alert, Sink, slack_message
from transforms.document import ReasonedError

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
SIGNATURE_HEADER = "X-Newsbeam-Signature"
TIMESTAMP_HEADER = "X-Newsbeam-Timestamp"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300  # how old a signed request a receiver should accept


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``v1=`` + hex HMAC-SHA256 over ``<timestamp>.<body>``."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """What a receiver checks: the signature matches this body and timestamp, and the
    timestamp is within ``tolerance_s`` of ``now`` (so a captured request cannot be
    replayed later). Constant-time comparison."""
    if not signature or not timestamp or not timestamp.isdigit():
        return False
    moment = time.time() if now is None else now
    if abs(moment - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


class WebhookError(ReasonedError):
    """A delivery that did not succeed; ``retryable`` says whether trying again can help."""

    def __init__(self, reason: str, message: str, retryable: bool, retry_after_s: float = 0.0):
        super().__init__(reason, message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        return self.message  # the message grows when the retry budget is spent


def webhook_body(sink: Sink, alert: Alert) -> dict[str, Any]:
    """What the receiver gets: the alert itself, or a Slack message carrying it."""
    return slack_message(alert) if sink.format == "slack" else alert.to_dict()


def post_json(
    url: str,
    body: dict[str, Any],
    timeout_s: float,
    headers: dict[str, str],
    secret: str | None = None,
) -> int:
    """POST ``body`` once (signed with ``secret`` when given, timestamped now); returns the
    2xx status or raises ``WebhookError``."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", **headers}
    if secret:
        timestamp = int(time.time())
        headers[TIMESTAMP_HEADER] = str(timestamp)
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, data)
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        retry_after = _seconds(exc.headers.get("Retry-After") if exc.headers else None)
        exc.close()  # it holds the response's socket
        raise WebhookError(
            f"http_{exc.code}",
            f"{redact_url(url)} answered {exc.code} {exc.reason}",
            retryable=exc.code in RETRYABLE_STATUS,
            retry_after_s=retry_after,
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookError(
            "unreachable", f"{redact_url(url)} did not answer: {reason}", retryable=True
        ) from None


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


class WebhookSender:
    """Delivers alerts to webhooks, retrying transient failures within a time budget.

    ``deliver`` returns once the receiver accepted the alert, or raises the last
    ``WebhookError`` when the failure is permanent, the budget is spent, or
    ``stop`` is set (so a worker can shut down without committing).
    """

    def __init__(
        self,
        timeout_s: float = 10.0,
        retry_budget_s: float = 300.0,
        base_backoff_s: float = 0.25,
        max_backoff_s: float = 15.0,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_s = timeout_s
        self.retry_budget_s = retry_budget_s
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self.stop = stop or threading.Event()
        self._clock = clock

    def deliver(self, sink: Sink, alert: Alert) -> int:
        """POST ``alert`` to ``sink.url``; returns how many attempts it took."""
        if not sink.url:
            raise WebhookError("no_url", "the webhook sink has no url", retryable=False)
        body = webhook_body(sink, alert)
        headers = {"Idempotency-Key": alert.id, "X-Newsbeam-Alert": alert.id}
        try:
            secret = sink.signing_key(os.environ)
        except KeyError as missing:
            raise WebhookError(
                "no_secret",
                f"the webhook {redact_url(sink.url)} is signed with the environment variable "
                f"{missing.args[0]}, which is not set; set it where `alerts deliver` runs.",
                retryable=False,
            ) from None
        deadline = self._clock() + self.retry_budget_s
        attempt = 0
        while True:
            attempt += 1
            try:
                post_json(sink.url, body, self.timeout_s, headers, secret)
                return attempt
            except WebhookError as exc:
                if not exc.retryable:
                    raise
                delay = max(
                    exc.retry_after_s,
                    min(self.max_backoff_s, self.base_backoff_s * 2 ** min(attempt - 1, 16)),
                )
                if self._clock() + delay > deadline:
                    exc.reason = f"{exc.reason}_budget_spent"
                    exc.message = (
                        f"{exc.message}; gave up after {attempt} attempts "
                        f"in {self.retry_budget_s:.0f} s"
                    )
                    raise
                log.warning(
                    "webhook %s: %s; retrying in %.2f s (attempt %d)",
                    redact_url(sink.url),
                    exc.message,
                    delay,
                    attempt,
                )
                if self.stop.wait(delay):
                    raise
