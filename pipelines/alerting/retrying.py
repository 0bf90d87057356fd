"""Elasticsearch calls retried until it answers: an outage pauses alerting, loses nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from elasticsearch import ApiError, TransportError

from connectors.elasticsearch import RETRYABLE_STATUS

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


def backoff_s(attempt: int) -> float:
    return min(MAX_BACKOFF_S, 0.25 * (1 << min(attempt, 10)))


def retrying(what: str, call: Callable[[], Any]) -> Any:
    """Run ``call`` until Elasticsearch answers; an outage pauses instead of losing alerts."""
    attempt = 0
    while True:
        try:
            return call()
        except (TransportError, ApiError) as exc:
            status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
            if isinstance(exc, ApiError) and status not in RETRYABLE_STATUS:
                raise
            attempt += 1
            delay = backoff_s(attempt)
            log.warning("%s failed (%s); retrying in %.1f s", what, exc.__class__.__name__, delay)
            time.sleep(delay)
