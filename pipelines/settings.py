"""One typed settings object, layered: defaults < config file < environment < CLI flags.

The config file is TOML (``newsbeam.toml`` in the working directory, or the path
in ``NEWSBEAM_CONFIG`` / ``--config``) with the same keys as the fields below.
Each field can be set from the environment as ``NEWSBEAM_<FIELD>`` in upper
case, e.g. ``NEWSBEAM_ES_URL``.
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

ENV_PREFIX = "NEWSBEAM_"


class SettingsError(ValueError):
    """A bad setting; the message says which one and what to do."""


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str = "127.0.0.1:9092"
    es_url: str = "http://127.0.0.1:9200"
    es_username: str | None = None
    es_password: str | None = None
    es_api_key: str | None = None
    es_ca_file: str | None = None
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

    def replace(self, **changes: Any) -> Settings:
        return load(overrides=changes, base=self)


def _port(address: str, name: str) -> int:
    parsed = urlsplit(address if "://" in address else f"//{address}")
    if parsed.port is None:
        raise SettingsError(f"{name}={address!r} has no port; write it as host:port.")
    return parsed.port


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


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
    url = urlsplit(settings.es_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise SettingsError(
            f"es_url={settings.es_url!r} is not an http(s) URL; "
            "set it like NEWSBEAM_ES_URL=http://127.0.0.1:9200."
        )
    settings.es_port  # noqa: B018 - validates the port
    for server in settings.kafka_bootstrap.split(","):
        _port(server.strip(), "kafka_bootstrap")
    if settings.es_ca_file and not Path(settings.es_ca_file).is_file():
        raise SettingsError(f"es_ca_file={settings.es_ca_file!r} does not exist.")
    if settings.es_password and not settings.es_username:
        raise SettingsError("es_password is set but es_username is not; set both.")
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
    unknown = sorted(set(data) - set(_FIELDS))
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
        for name in _FIELDS:
            env_value = environ.get(ENV_PREFIX + name.upper())
            if env_value not in (None, ""):
                values[name] = env_value
    for name, value in (overrides or {}).items():
        if name not in _FIELDS:
            raise SettingsError(f"unknown setting {name!r}.")
        if value is not None:
            values[name] = value
    settings = Settings(**{name: _coerce(name, v) for name, v in values.items()})
    _validate(settings)
    return settings
