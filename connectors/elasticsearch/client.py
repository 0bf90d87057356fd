"""The client, its credentials and CA, and one sentence for every way talking to it fails."""

from __future__ import annotations

import time
from typing import Any, Protocol

import orjson
from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch.serializer import (
    CompatibilityModeJsonSerializer,
    CompatibilityModeNdjsonSerializer,
    JsonSerializer,
    NdjsonSerializer,
)

from connectors.redaction import redact_url, server_answer

RETRYABLE_STATUS = {429, 502, 503, 504}
# Of a bulk answer only each item's status and error are read: the rest was most of its size.
MAX_BACKOFF_S = 30.0


class ElasticsearchSettings(Protocol):
    """What this package reads of the settings (``pipelines.settings.Settings`` has it all)."""

    @property
    def es_url(self) -> str: ...
    @property
    def es_username(self) -> str | None: ...
    @property
    def es_password(self) -> str | None: ...
    @property
    def es_api_key(self) -> str | None: ...
    @property
    def es_ca_file(self) -> str | None: ...
    @property
    def es_credential(self) -> str: ...
    @property
    def resolved_credentials(self) -> str: ...
    @property
    def startup_timeout_s(self) -> float: ...
    @property
    def articles_alias(self) -> str: ...
    @property
    def dlq_alias(self) -> str: ...


class ElasticsearchUnavailableError(RuntimeError):
    """Elasticsearch did not answer; the message says where and what to do."""


class _Orjson:
    """JSON bodies through orjson: with the standard library, encoding bulk requests and
    decoding search and bulk answers took a tenth of the pipeline's CPU. A value orjson
    refuses (a lone surrogate from a bad page, a key that is not a string) goes through
    the standard library as before, so it fails or passes exactly as it did."""

    def json_dumps(self, data: Any) -> bytes:
        try:
            return orjson.dumps(data, default=self.default)  # type: ignore[attr-defined]
        except orjson.JSONEncodeError:
            return super().json_dumps(data)  # type: ignore[misc, no-any-return]

    def json_loads(self, data: bytes) -> Any:
        return orjson.loads(data)


def _serializers() -> dict[str, Any]:
    """The client's serializers, by media type, with orjson behind every JSON one."""
    serializers = {}
    for base in (
        JsonSerializer,
        NdjsonSerializer,
        CompatibilityModeJsonSerializer,
        CompatibilityModeNdjsonSerializer,
    ):
        serializers[base.mimetype] = type(f"Orjson{base.__name__}", (_Orjson, base), {})()
    return serializers


def client(settings: ElasticsearchSettings) -> Elasticsearch:
    """A client for ``settings.es_url`` with the configured credentials and CA file."""
    options: dict[str, Any] = {"request_timeout": 30, "serializers": _serializers()}
    if settings.es_username:
        options["basic_auth"] = (settings.es_username, settings.es_password or "")
    if settings.es_api_key:
        options["api_key"] = settings.es_api_key
    if settings.es_ca_file:
        options["ca_certs"] = settings.es_ca_file
    return Elasticsearch(settings.es_url, **options)


class ElasticsearchAccessError(RuntimeError):
    """Elasticsearch answered but refused us (credentials, privileges, TLS); says what to fix."""


def _credential_named(settings: ElasticsearchSettings) -> str:
    """Which credential was used, by setting name: never its value."""
    if settings.es_api_key:
        return "the API key NEWSBEAM_ES_API_KEY"
    if settings.es_username and "es_username" in settings.resolved_credentials.split():
        return (
            f"user {settings.es_username!r} (the local stack's {settings.es_credential!r} "
            "credential, NEWSBEAM_ES_CREDENTIAL)"
        )
    if settings.es_username:
        return f"user {settings.es_username!r} (NEWSBEAM_ES_USERNAME / NEWSBEAM_ES_PASSWORD)"
    return (
        "no credentials (set NEWSBEAM_ES_USERNAME and NEWSBEAM_ES_PASSWORD, or NEWSBEAM_ES_API_KEY)"
    )


def _reason(exc: ApiError) -> str:
    """The error type and reason Elasticsearch gave, cut short and redacted."""
    body = exc.body if isinstance(exc.body, dict) else {}
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    reason = str(error.get("reason") or exc.error or "")
    if reason in ("", "None"):
        return "no reason given"
    return server_answer(reason, limit=200)


def describe_error(exc: BaseException, settings: ElasticsearchSettings) -> str | None:
    """One sentence for a failure talking to Elasticsearch, or ``None`` when ``exc`` is
    not one. No credential or server-echoed header ever reaches the sentence."""
    from elasticsearch import AuthenticationException, AuthorizationException
    from elasticsearch import ConnectionError as EsConnectionError

    url = redact_url(settings.es_url)
    if isinstance(exc, ElasticsearchAccessError | ElasticsearchUnavailableError):
        return str(exc)
    if isinstance(exc, AuthenticationException):
        return (
            f"Elasticsearch at {url} refused {_credential_named(settings)} "
            f"(401: {_reason(exc)}); check the credentials."
        )
    if isinstance(exc, AuthorizationException):
        return (
            f"Elasticsearch at {url} accepted {_credential_named(settings)} but refused the "
            f"request (403: {_reason(exc)}); use a credential with the privileges this "
            "command needs (docs/operations.md, Credentials)."
        )
    if isinstance(exc, EsConnectionError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
            ca = settings.es_ca_file or "the system CA store (set NEWSBEAM_ES_CA_FILE)"
            return (
                f"Elasticsearch at {url} presented a TLS certificate that {ca} does not "
                "verify; point NEWSBEAM_ES_CA_FILE at the CA that signed it."
            )
        return (
            f"Elasticsearch at {url} did not answer ({exc.__class__.__name__}); start it "
            "with `newsbeam stack up` or set NEWSBEAM_ES_URL."
        )
    if isinstance(exc, ApiError):
        return f"Elasticsearch at {url} answered HTTP {exc.status_code}: {_reason(exc)}."
    if isinstance(exc, TransportError):
        return (
            f"Elasticsearch at {url} did not answer ({exc.__class__.__name__}); start it "
            "with `newsbeam stack up` or set NEWSBEAM_ES_URL."
        )
    return None


def check_access(settings: ElasticsearchSettings) -> None:
    """Fail fast, with a sentence, when Elasticsearch refuses the credentials or the CA file.

    An unreachable node is not an error here: ``wait_until_ready`` waits for it. The
    message never carries the password or API key, only which setting to look at.
    """
    from elasticsearch import AuthenticationException, AuthorizationException
    from elasticsearch import ConnectionError as EsConnectionError

    es = client(settings)
    try:
        es.options(request_timeout=10).cluster.health()
    except (AuthenticationException, AuthorizationException) as exc:
        raise ElasticsearchAccessError(describe_error(exc, settings)) from None
    except EsConnectionError as exc:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
            raise ElasticsearchAccessError(describe_error(exc, settings)) from None
    except (TransportError, ApiError):
        pass  # not answering (yet): wait_until_ready waits and says so
    finally:
        es.close()


def wait_until_ready(es: Elasticsearch, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            es.cluster.health(wait_for_status="yellow", timeout="5s")
            return
        except (TransportError, ApiError) as exc:
            if time.monotonic() > deadline:
                raise ElasticsearchUnavailableError(
                    f"Elasticsearch at {redact_url(url)} did not answer in {timeout_s:.0f} s "
                    f"({exc.__class__.__name__}); start it with `newsbeam stack up` "
                    "or set NEWSBEAM_ES_URL."
                ) from exc
            time.sleep(1)
