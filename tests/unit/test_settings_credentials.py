"""load() picks up the secured local stack's credentials, and only when it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.kafka_security import client_options
from infra.security import write_credentials
from pipelines.settings import SettingsError, load

PASSWORD = "local-admin-password"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    ca = tmp_path / "certs" / "ca.crt"
    ca.parent.mkdir()
    ca.write_text("not read by load()")
    write_credentials(
        tmp_path / "credentials.toml",
        {
            "elasticsearch": {"address": "127.0.0.1:9500", "ca_file": str(ca)},
            "elastic": {"kind": "superuser", "username": "elastic", "password": "su"},
            "admin": {"kind": "user", "username": "newsbeam_admin", "password": PASSWORD},
            "pipeline": {"kind": "user", "username": "newsbeam_pipeline", "password": "pp"},
            "kafka": {
                "secured_bootstrap": "127.0.0.1:9594",
                "ca_file": str(ca),
                "username": "newsbeam",
                "password": "kp",
            },
        },
    )
    return tmp_path


def _load(data_dir: Path, **overrides: object) -> object:
    base = {"data_dir": str(data_dir), "es_url": "https://127.0.0.1:9500"}
    return load(overrides={**base, **overrides}, environ={})


def test_the_file_is_written_owner_only(data_dir: Path) -> None:
    assert (data_dir / "credentials.toml").stat().st_mode & 0o777 == 0o600


def test_the_admin_credential_and_the_ca_are_picked_up_by_default(data_dir: Path) -> None:
    settings = _load(data_dir)
    assert settings.es_username == "newsbeam_admin"  # type: ignore[attr-defined]
    assert settings.es_password == PASSWORD  # type: ignore[attr-defined]
    assert settings.es_ca_file == str(data_dir / "certs" / "ca.crt")  # type: ignore[attr-defined]
    assert PASSWORD not in repr(settings)


def test_replace_picks_again_and_explicit_credentials_win(data_dir: Path) -> None:
    settings = load(overrides={"data_dir": str(data_dir), "es_url": "https://127.0.0.1:9500"})
    pipeline = settings.replace(es_credential="pipeline")
    assert (pipeline.es_username, pipeline.es_password) == ("newsbeam_pipeline", "pp")
    explicit = settings.replace(es_api_key="abc")
    assert explicit.es_api_key == "abc"
    assert explicit.es_username is None
    with pytest.raises(SettingsError, match="es_credential='nobody' is not in"):
        settings.replace(es_credential="nobody")


def test_another_node_or_security_off_gets_nothing(data_dir: Path) -> None:
    other = _load(data_dir, es_url="https://es.example.org:9200")
    assert other.es_username is None  # type: ignore[attr-defined]
    off = _load(data_dir, es_url="http://127.0.0.1:9500", local_security=False)
    assert off.es_username is None  # type: ignore[attr-defined]
    plain = _load(data_dir, es_url="http://127.0.0.1:9500")
    assert plain.es_username == "newsbeam_admin"  # type: ignore[attr-defined]
    assert plain.es_ca_file is None  # type: ignore[attr-defined]  # no TLS, no CA


def test_kafka_credentials_only_for_the_secured_listener(data_dir: Path) -> None:
    plain = _load(data_dir, kafka_bootstrap="127.0.0.1:9592")
    assert client_options(plain) == {}  # type: ignore[arg-type]
    secured = _load(data_dir, kafka_bootstrap="127.0.0.1:9594", kafka_security_protocol="SASL_SSL")
    options = client_options(secured)  # type: ignore[arg-type]
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("newsbeam", "kp")
    assert options["ssl_cafile"] == str(data_dir / "certs" / "ca.crt")
    assert options["ssl_check_hostname"] is True


def test_bad_kafka_security_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="needs kafka_username"):
        load(overrides={"kafka_security_protocol": "SASL_SSL", "data_dir": str(tmp_path)},
             environ={})  # fmt: skip
    with pytest.raises(SettingsError, match="is not one of"):
        load(overrides={"kafka_security_protocol": "TLS"}, environ={})
    with pytest.raises(SettingsError, match="kafka_sasl_mechanism"):
        load(overrides={"kafka_sasl_mechanism": "GSSAPI"}, environ={})
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(SettingsError, match="go together"):
        load(overrides={"kafka_cert_file": str(cert)}, environ={})
