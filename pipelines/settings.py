"""One typed settings object, layered: defaults < config file < environment < CLI flags.

The config file is TOML (``newsbeam.toml`` in the working directory, or the path
in ``NEWSBEAM_CONFIG`` / ``--config``) with the same keys as the fields below.
Each field can be set from the environment as ``NEWSBEAM_<FIELD>`` in upper
case, e.g. ``NEWSBEAM_ES_URL``.

The local stack is secured (``newsbeam stack up``): its generated credentials live in
``<data_dir>/credentials.toml`` (owner-only). When no Elasticsearch credential is set in
any layer and that file was written for the same node, ``load`` takes the credential
named by ``es_credential`` from it (and the CA that signed the node's certificate), so
every command and test works against the secured node unchanged. Likewise for Kafka
when ``kafka_security_protocol`` asks for SASL or TLS and no user or CA is set.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connectors.kafka_security import client_options
from connectors.redaction import redact_url

ENV_PREFIX = "NEWSBEAM_"
CREDENTIALS_FILE = "credentials.toml"
KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SettingsError(ValueError):
    """A bad setting; the message says which one and what to do."""


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str = "127.0.0.1:9092"
    es_url: str = "https://127.0.0.1:9200"
    es_username: str | None = None
    es_password: str | None = dataclasses.field(default=None, repr=False)
    es_api_key: str | None = dataclasses.field(default=None, repr=False)
    es_ca_file: str | None = None
    # Which credential of the local stack's credentials.toml to use when none is set:
    # admin (default), pipeline, alerts, analyst (docs/operations.md, "Credentials").
    es_credential: str = "admin"
    # off: the local stack runs Elasticsearch open, without TLS (development only).
    local_security: bool = True
    # Kafka client security; reaches every producer, consumer and admin client.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: str | None = dataclasses.field(default=None, repr=False)
    kafka_ca_file: str | None = None
    kafka_cert_file: str | None = None
    kafka_key_file: str | None = None
    kafka_check_hostname: bool = True
    kibana_url: str = "http://127.0.0.1:5601"
    raw_topic: str = "news.raw"
    dlq_topic: str = "news.dlq"
    alerts_topic: str = "news.alerts"
    consumer_group: str = "newsbeam-pipeline"
    index_prefix: str = "news"
    data_dir: str = ".newsbeam"
    max_document_bytes: int = 2_000_000
    bulk_size: int = 500
    startup_timeout_s: float = 120.0
    # A stage that runs longer than this on one document stops and dead-letters it as
    # `timeout` (transforms/budget.py); ordinary documents take milliseconds per stage.
    stage_timeout_s: float = 5.0
    # Operator-edited data files; empty means the packaged default.
    sources_file: str = ""
    watchlist_file: str = ""
    knowledge_base_file: str = ""
    # Feeds: only public addresses are fetched, plus the networks (CIDRs) and host names
    # listed here, comma-separated: "127.0.0.0/8, ::1, feeds.intranet.example".
    fetch_allow: str = ""
    # Deprecated: true adds loopback and private ranges (never link-local) to fetch_allow.
    allow_private_addresses: bool = False
    # One deadline per fetch of a feed or page, covering connect, headers and body.
    fetch_timeout_s: float = 15.0
    user_agent: str = "newsbeam/0.1 (+https://pypi.org/project/newsbeam/; news ingestion)"
    # Filled by `load`: which fields it took from the local credentials file (so `replace`
    # can pick again when es_credential or data_dir changes); never read from file or env.
    resolved_credentials: str = ""

    @property
    def articles_alias(self) -> str:
        return f"{self.index_prefix}-articles"

    @property
    def dlq_alias(self) -> str:
        return f"{self.index_prefix}-dead-letters"

    @property
    def alerts_alias(self) -> str:
        return f"{self.index_prefix}-alerts"

    @property
    def kafka_port(self) -> int:
        return _port(self.kafka_bootstrap.split(",")[0], "kafka_bootstrap")

    @property
    def es_port(self) -> int:
        return _port(self.es_url, "es_url")

    @property
    def kafka_options(self) -> dict[str, Any]:
        """SASL/TLS keyword arguments for every kafka-python client (empty for PLAINTEXT)."""
        return client_options(self)

    def replace(self, **changes: Any) -> Settings:
        return load(overrides=changes, base=self)


def _port(address: str, name: str) -> int:
    parsed = urlsplit(address if "://" in address else f"//{address}")
    if parsed.port is None:
        raise SettingsError(f"{name}={redact_url(address)!r} has no port; write it as host:port.")
    return parsed.port


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_INTERNAL = frozenset({"resolved_credentials"})
_ES_SECRETS = ("es_username", "es_password", "es_api_key")
_KAFKA_SECRETS = ("kafka_username", "kafka_password")


def _coerce(name: str, value: Any) -> Any:
    """Turn a file/env/CLI value into the field's type, or say what is wrong."""
    kind = _FIELDS[name].type
    if value is None:
        return None
    if "bool" in str(kind):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={value!r} is not true or false.")
    if "int" in str(kind):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name}={value!r} is not a whole number.") from None
        if number <= 0:
            raise SettingsError(f"{name}={value!r} must be greater than zero.")
        return number
    if "float" in str(kind):
        try:
            real = float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name}={value!r} is not a number.") from None
        if real <= 0:
            raise SettingsError(f"{name}={value!r} must be greater than zero.")
        return real
    if isinstance(value, list | tuple):  # a TOML array for a list setting (fetch_allow)
        return ", ".join(str(v) for v in value)
    return str(value)


def _validate(settings: Settings) -> None:
    try:
        url = urlsplit(settings.es_url)
        host = url.hostname
    except ValueError:
        host = None
    if url.scheme not in ("http", "https") or not host:
        raise SettingsError(
            f"es_url={redact_url(settings.es_url)!r} is not an http(s) URL; "
            "set it like NEWSBEAM_ES_URL=https://127.0.0.1:9200."
        )
    settings.es_port  # noqa: B018 - validates the port
    for server in settings.kafka_bootstrap.split(","):
        _port(server.strip(), "kafka_bootstrap")
    if settings.es_ca_file and not Path(settings.es_ca_file).is_file():
        raise SettingsError(f"es_ca_file={settings.es_ca_file!r} does not exist.")
    if settings.es_password and not settings.es_username:
        raise SettingsError("es_password is set but es_username is not; set both.")
    if settings.es_api_key and settings.es_username:
        raise SettingsError("es_api_key and es_username are both set; use one of them.")
    if settings.kafka_security_protocol not in KAFKA_SECURITY_PROTOCOLS:
        raise SettingsError(
            f"kafka_security_protocol={settings.kafka_security_protocol!r} is not one of "
            f"{', '.join(KAFKA_SECURITY_PROTOCOLS)}."
        )
    if settings.kafka_sasl_mechanism not in KAFKA_SASL_MECHANISMS:
        raise SettingsError(
            f"kafka_sasl_mechanism={settings.kafka_sasl_mechanism!r} is not one of "
            f"{', '.join(KAFKA_SASL_MECHANISMS)}."
        )
    if settings.kafka_security_protocol.startswith("SASL") and not (
        settings.kafka_username and settings.kafka_password
    ):
        raise SettingsError(
            f"kafka_security_protocol={settings.kafka_security_protocol} needs kafka_username "
            "and kafka_password (NEWSBEAM_KAFKA_USERNAME / NEWSBEAM_KAFKA_PASSWORD)."
        )
    for name in ("kafka_ca_file", "kafka_cert_file", "kafka_key_file"):
        value = getattr(settings, name)
        if value and not Path(value).is_file():
            raise SettingsError(f"{name}={value!r} does not exist.")
    if bool(settings.kafka_cert_file) != bool(settings.kafka_key_file):
        raise SettingsError("kafka_cert_file and kafka_key_file go together; set both.")
    from connectors.address_policy import AddressPolicy, AllowListError

    try:
        AddressPolicy.from_setting(settings.fetch_allow)
    except AllowListError as exc:
        raise SettingsError(f"fetch_allow: {exc}") from None
    for topic in (settings.raw_topic, settings.dlq_topic, settings.alerts_topic):
        if not topic or any(c in topic for c in " /\\"):
            raise SettingsError(f"topic name {topic!r} is empty or has a space or slash.")


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}.") from None
    unknown = sorted(set(data) - set(_FIELDS) | set(data) & _INTERNAL)
    if unknown:
        raise SettingsError(
            f"config file {path} has unknown keys {unknown}; known keys are {sorted(_FIELDS)}."
        )
    return data


def load(
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    base: Settings | None = None,
) -> Settings:
    """Build the settings from every layer; raise ``SettingsError`` on a bad value."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = dataclasses.asdict(base) if base else {}
    if base is None:
        path = config_file or environ.get(ENV_PREFIX + "CONFIG")
        if path is None and Path("newsbeam.toml").is_file():
            path = "newsbeam.toml"
        if path is not None:
            values.update(_from_file(Path(path)))
        for name in set(_FIELDS) - _INTERNAL:
            env_value = environ.get(ENV_PREFIX + name.upper())
            if env_value not in (None, ""):
                values[name] = env_value
    overrides = dict(overrides or {})
    for name in values.get("resolved_credentials", "").split():
        if name not in overrides:  # picked from the file before: pick again below
            values[name] = None
    values["resolved_credentials"] = ""
    for name, value in overrides.items():
        if name not in _FIELDS or name in _INTERNAL:
            raise SettingsError(f"unknown setting {name!r}.")
        if value is not None:
            values[name] = value
    coerced = {name: _coerce(name, v) for name, v in values.items()}
    picked = _local_credentials(Settings(**coerced))
    if picked:
        coerced.update(picked, resolved_credentials=" ".join(sorted(picked)))
    settings = Settings(**coerced)
    _validate(settings)
    return settings


def credentials_path(data_dir: str) -> Path:
    """Where the local stack keeps its generated credentials (mode 0600)."""
    return Path(os.path.abspath(os.path.expanduser(data_dir))) / CREDENTIALS_FILE


def _address(url: str) -> str:
    """host:port of a URL or bootstrap server, for matching a node to its credentials."""
    try:
        parts = urlsplit(url if "://" in url else f"//{url}")
        return f"{parts.hostname}:{parts.port}"
    except ValueError:
        return ""


def _local_credentials(settings: Settings) -> dict[str, Any]:
    """The fields to take from the local stack's credentials file, if it applies.

    Only for the very node and broker that file was written for (same host and port),
    and only for fields no layer set: an explicit credential always wins.
    """
    if not settings.local_security:
        return {}
    path = credentials_path(settings.data_dir)
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(
            f"cannot read the local credentials {path} ({exc.__class__.__name__}); "
            "run `newsbeam stack users` to write them again."
        ) from None
    picked: dict[str, Any] = {}
    elasticsearch = data.get("elasticsearch", {})
    if elasticsearch.get("address") == _address(settings.es_url):
        if not any(getattr(settings, name) for name in _ES_SECRETS):
            credential = data.get(settings.es_credential)
            default = _FIELDS["es_credential"].default
            if credential is None and settings.es_credential == default:
                credential = {}  # `stack users` has not run yet: no credential, 401 says so
            if not isinstance(credential, dict) or (credential and "kind" not in credential):
                known = sorted(k for k, v in data.items() if isinstance(v, dict) and "kind" in v)
                raise SettingsError(
                    f"es_credential={settings.es_credential!r} is not in {path}; "
                    f"known credentials are {known}."
                )
            for name, key in (("es_username", "username"), ("es_password", "password")):
                if credential.get(key):
                    picked[name] = credential[key]
            if credential.get("api_key"):
                picked["es_api_key"] = credential["api_key"]
        ca_file = elasticsearch.get("ca_file")
        if settings.es_url.startswith("https:") and not settings.es_ca_file and ca_file:
            picked["es_ca_file"] = ca_file
    kafka = data.get("kafka", {})
    secured = kafka.get("secured_bootstrap")
    if secured and _address(settings.kafka_bootstrap.split(",")[0]) == _address(secured):
        protocol = settings.kafka_security_protocol
        if protocol.startswith("SASL") and not any(
            getattr(settings, name) for name in _KAFKA_SECRETS
        ):
            picked["kafka_username"] = kafka.get("username")
            picked["kafka_password"] = kafka.get("password")
        if "SSL" in protocol and not settings.kafka_ca_file and kafka.get("ca_file"):
            picked["kafka_ca_file"] = kafka["ca_file"]
    return picked
