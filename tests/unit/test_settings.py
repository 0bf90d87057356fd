from pathlib import Path

import pytest

from pipelines.settings import Settings, SettingsError, load


def test_defaults_without_any_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The data dir is relative to the working directory: away from a checkout whose local
    # stack already wrote credentials there, which `load` would rightly pick up.
    monkeypatch.chdir(tmp_path)
    settings = load(environ={})
    assert settings == Settings()
    assert settings.kafka_port == 9092
    assert settings.es_port == 9200
    assert settings.articles_alias == "news-articles"


def test_layers_apply_in_order_file_env_flags(tmp_path: Path) -> None:
    config = tmp_path / "newsbeam.toml"
    config.write_text('raw_topic = "from.file"\nbulk_size = 50\nindex_prefix = "file"\n')
    environ = {"NEWSBEAM_BULK_SIZE": "70", "NEWSBEAM_INDEX_PREFIX": "env"}
    settings = load(config_file=config, environ=environ, overrides={"index_prefix": "flag"})
    assert settings.raw_topic == "from.file"  # only the file sets it
    assert settings.bulk_size == 70  # env beats file
    assert settings.index_prefix == "flag"  # flags beat env


def test_bool_setting_from_environment() -> None:
    assert load(environ={"NEWSBEAM_ALLOW_PRIVATE_ADDRESSES": "yes"}).allow_private_addresses
    with pytest.raises(SettingsError, match="not true or false"):
        load(environ={"NEWSBEAM_ALLOW_PRIVATE_ADDRESSES": "maybe"})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"NEWSBEAM_ES_URL": "localhost:9200"}, "not an http"),
        ({"NEWSBEAM_KAFKA_BOOTSTRAP": "localhost"}, "has no port"),
        ({"NEWSBEAM_BULK_SIZE": "many"}, "not a whole number"),
        ({"NEWSBEAM_BULK_SIZE": "0"}, "greater than zero"),
        ({"NEWSBEAM_ES_PASSWORD": "secret"}, "es_username is not"),
        ({"NEWSBEAM_ES_CA_FILE": "/no/such/ca.pem"}, "does not exist"),
        ({"NEWSBEAM_RAW_TOPIC": "news raw"}, "space or slash"),
    ],
)
def test_bad_values_stop_start_up_with_a_sentence(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(environ=environ)


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('es_ulr = "http://x:1"\n')
    with pytest.raises(SettingsError, match="es_ulr"):
        load(config_file=config, environ={})


def test_bad_value_is_reported_by_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.cli import main

    assert main(["--es-url", "ftp://nowhere", "stack", "status"]) == 2
    assert "es_url" in capsys.readouterr().err


def test_fetch_allow_takes_networks_and_host_names_from_env_and_toml(tmp_path: Path) -> None:
    settings = load(environ={"NEWSBEAM_FETCH_ALLOW": "127.0.0.0/8, ::1 feeds.local"})
    assert settings.fetch_allow == "127.0.0.0/8, ::1 feeds.local"
    config = tmp_path / "newsbeam.toml"
    config.write_text('fetch_allow = ["10.2.0.0/16", "*.intranet.example"]\n')
    assert load(config_file=config, environ={}).fetch_allow == "10.2.0.0/16, *.intranet.example"
    with pytest.raises(SettingsError, match="fetch_allow: allow-list entry 'http://x/'"):
        load(environ={"NEWSBEAM_FETCH_ALLOW": "http://x/"})
    assert load(environ={"NEWSBEAM_FETCH_TIMEOUT_S": "2.5"}).fetch_timeout_s == 2.5
