"""docker-compose.yml and the Dockerfile cannot run here, so keep them in step by reading them.

They must agree with the local stack (``infra/versions.py``, the derived ports) and with
the Settings defaults, so both routes give the pipeline the same world; and both are
secured the same way (docs/deploy.md lists what only reading could check).
"""

from __future__ import annotations

import base64
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import versions
from infra.elasticsearch_node import render_elasticsearch_yml, transport_port
from infra.kafka_broker import controller_port, random_cluster_id, render_server_properties
from infra.security import role_descriptor, secure_kafka_port
from pipelines.settings import ENV_PREFIX, Settings, load

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = Settings()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = compose["services"]
    return result


BIND = "${NEWSBEAM_BIND:-127.0.0.1}"  # loopback unless the operator opts out in .env
_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::([?-])([^}]*))?\}")


def _host_ports(service: dict[str, Any]) -> set[int]:
    """Published host ports; every one must be bound to loopback, like the local stack."""
    ports = set()
    for mapping in service.get("ports", []):
        text = str(mapping)
        assert text.startswith(BIND + ":"), f"{mapping} would listen on every interface"
        published, _container = text[len(BIND) + 1 :].split(":")
        ports.add(int(published))
    return ports


def _dotenv() -> dict[str, str]:
    """.env.example's variables, filled the way an operator would (non-empty values)."""
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value or f"filled-{name.lower()}"
    return values


def _interpolated(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A service's environment as compose would pass it: variables from the filled .env,
    the certificate volume's CA replaced by a file that exists here."""
    ca = tmp_path / "ca.crt"
    ca.write_text("a CA")
    dotenv = _dotenv()
    result = {}
    for name, value in env.items():
        text = _VARIABLE.sub(lambda m: dotenv[m.group(1)], str(value))
        result[name] = str(ca) if text == "/certs/ca/ca.crt" else text
    return result


def test_the_compose_file_parses_and_has_every_service(services: dict[str, Any]) -> None:
    assert set(services) >= {
        "kafka",
        "kafka-setup",
        "elasticsearch",
        "kibana",
        "pipeline",
        "alerts-deliver",
        "kibana-setup",
        "certs",
        "es-setup",
    }


def test_images_are_the_versions_the_local_stack_runs(services: dict[str, Any]) -> None:
    assert services["elasticsearch"]["image"] == versions.ELASTICSEARCH_IMAGE
    assert services["kibana"]["image"] == versions.KIBANA_IMAGE
    assert services["kafka"]["image"] == versions.KAFKA_IMAGE
    assert services["kafka-setup"]["image"] == versions.KAFKA_IMAGE
    assert services["certs"]["image"] == versions.ELASTICSEARCH_IMAGE
    assert services["es-setup"]["image"] == versions.ELASTICSEARCH_IMAGE
    assert versions.KIBANA_VERSION == versions.ELASTICSEARCH_VERSION
    assert versions.ELASTICSEARCH_IMAGE.endswith(":" + versions.ELASTICSEARCH_VERSION)
    assert versions.KAFKA_IMAGE.endswith(":" + versions.KAFKA_VERSION)


def test_the_kafka_pom_defaults_match_the_pinned_versions() -> None:
    pom = (ROOT / "infra" / "maven" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    assert f"<kafka.version>{versions.KAFKA_VERSION}</kafka.version>" in pom
    binary = versions.SCALA_BINARY_VERSION
    assert f"<scala.binary.version>{binary}</scala.binary.version>" in pom
    assert f"<slf4j.version>{versions.SLF4J_VERSION}</slf4j.version>" in pom


def test_host_ports_are_the_settings_defaults(services: dict[str, Any]) -> None:
    # Kafka publishes only its SASL_SSL listener, on the port the local stack uses for it.
    assert _host_ports(services["kafka"]) == {secure_kafka_port(DEFAULTS.kafka_port)}
    assert _host_ports(services["elasticsearch"]) == {DEFAULTS.es_port}
    assert _host_ports(services["kibana"]) == {5601}
    assert _host_ports(services["pipeline"]) == set()


def test_kafka_is_kraft_with_the_controller_where_the_local_stack_puts_it(
    services: dict[str, Any],
) -> None:
    env = services["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    controller = controller_port(DEFAULTS.kafka_port)
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].endswith(f":{controller}")
    assert f"CONTROLLER://:{controller}" in env["KAFKA_LISTENERS"]
    secure = secure_kafka_port(DEFAULTS.kafka_port)
    assert f"CLIENT://kafka:{secure}" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "CLIENT:SASL_SSL" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert "INTERNAL:PLAINTEXT" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16  # a KRaft cluster id
    # Every newsbeam client reaches the broker on the SASL_SSL listener, with SCRAM.
    pipeline = services["pipeline"]["environment"]
    assert pipeline["NEWSBEAM_KAFKA_BOOTSTRAP"] == f"kafka:{secure}"
    assert pipeline["NEWSBEAM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert pipeline["NEWSBEAM_KAFKA_SASL_MECHANISM"] in env["KAFKA_SASL_ENABLED_MECHANISMS"]
    mechanism = pipeline["NEWSBEAM_KAFKA_SASL_MECHANISM"].replace("-", "___")
    assert "ScramLoginModule" in env[f"KAFKA_LISTENER_NAME_CLIENT_{mechanism}_SASL_JAAS_CONFIG"]
    assert env["KAFKA_SSL_KEYSTORE_LOCATION"] == "/certs/kafka/kafka.p12"
    assert "certs:/certs:ro" in services["kafka"]["volumes"]


def test_kafka_setup_creates_exactly_the_default_topics(services: dict[str, Any]) -> None:
    script = " ".join(services["kafka-setup"]["command"])
    listed = re.search(r"for topic in ([^;]+);", script)
    assert listed is not None
    topics = listed.group(1).split()
    assert topics == [DEFAULTS.raw_topic, DEFAULTS.dlq_topic, DEFAULTS.alerts_topic]


def test_elasticsearch_runs_like_the_local_node(services: dict[str, Any]) -> None:
    env = services["elasticsearch"]["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "true"
    assert "-Xms1g -Xmx1g" in env["ES_JAVA_OPTS"]
    local = render_elasticsearch_yml(9200, Path("/d"), Path("/l"))
    for key in (
        "cluster.name",
        "discovery.type",
        "xpack.security.enabled",
        "xpack.security.http.ssl.enabled",
        "xpack.security.transport.ssl.enabled",
        "xpack.security.transport.ssl.verification_mode",
    ):
        assert f"{key}: {env[key]}" in local, key
    assert env["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")


def test_pipeline_is_configured_only_through_real_settings(
    services: dict[str, Any], tmp_path: Path
) -> None:
    env: dict[str, str] = services["pipeline"]["environment"]
    fields = {f.name for f in dataclasses.fields(Settings)}
    for name in env:
        assert name.startswith(ENV_PREFIX), name
        assert name[len(ENV_PREFIX) :].lower() in fields, f"{name} is not a Settings field"
    # And the values are valid settings that name the defaults' topics and indices.
    settings = load(environ=_interpolated(env, tmp_path), config_file=None)
    assert settings.es_username == "newsbeam_pipeline"
    assert settings.kafka_options["security_protocol"] == "SASL_SSL"
    assert settings.raw_topic == DEFAULTS.raw_topic
    assert settings.dlq_topic == DEFAULTS.dlq_topic
    assert settings.alerts_topic == DEFAULTS.alerts_topic
    assert settings.index_prefix == DEFAULTS.index_prefix
    assert settings.consumer_group == DEFAULTS.consumer_group
    assert settings.es_port == DEFAULTS.es_port
    assert settings.es_url == "https://elasticsearch:9200"


@pytest.mark.parametrize("name", ["pipeline", "alerts-deliver", "kibana-setup"])
def test_every_newsbeam_service_uses_real_settings_and_real_commands(
    services: dict[str, Any], name: str, tmp_path: Path
) -> None:
    from pipelines.cli import build_parser

    service = services[name]
    assert service.get("image") == services["pipeline"]["image"]
    fields = {f.name for f in dataclasses.fields(Settings)}
    env: dict[str, str] = service["environment"]
    for variable in env:
        assert variable[len(ENV_PREFIX) :].lower() in fields, f"{name}: {variable}"
    settings = load(environ=_interpolated(env, tmp_path), config_file=None)
    assert settings.index_prefix == DEFAULTS.index_prefix
    assert settings.es_url.startswith("https://")
    assert settings.es_ca_file
    assert settings.es_username
    # The command parses as a newsbeam command line (the image's entrypoint is newsbeam).
    args = build_parser().parse_args(service["command"])
    assert callable(args.handler)


def test_pipeline_runs_after_its_services_are_healthy(services: dict[str, Any]) -> None:
    pipeline = services["pipeline"]
    assert pipeline["command"] == ["run"]
    assert pipeline["build"]["dockerfile"] == "Dockerfile"
    assert pipeline["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "kafka-setup": {"condition": "service_completed_successfully"},
        "elasticsearch": {"condition": "service_healthy"},
        "es-setup": {"condition": "service_completed_successfully"},
    }
    for name in ("kafka", "elasticsearch", "kibana"):
        assert services[name]["healthcheck"]["test"], f"{name} has no health check"


def test_the_dockerfile_installs_the_project_with_newsbeam_as_entrypoint() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(rf"^FROM {re.escape(versions.PYTHON_IMAGE)}$", text, re.MULTILINE)
    assert 'ENTRYPOINT ["newsbeam"]' in text
    assert "pip install --no-deps ." in text
    for package in ("connectors", "transforms", "pipelines", "infra"):
        assert f"COPY {package} ./{package}" in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".venv" in ignored
    assert ".newsbeam" in ignored


def test_local_kafka_config_listens_on_loopback_on_both_ports(tmp_path: Path) -> None:
    text = render_server_properties(19092, tmp_path)
    lines = set(text.splitlines())
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in lines
    assert "controller.quorum.voters=1@127.0.0.1:19093" in lines
    assert f"log.dirs={tmp_path}" in lines
    assert controller_port(9092) == 9093


def test_local_elasticsearch_config_uses_the_given_ports_and_folders() -> None:
    text = render_elasticsearch_yml(19200, Path("/x/data"), Path("/x/logs"))
    lines = set(text.splitlines())
    assert {"http.port: 19200", "transport.port: 19300", "network.host: 127.0.0.1"} <= lines
    assert {"path.data: /x/data", "path.logs: /x/logs"} <= lines
    assert transport_port(9200) == 9300


def test_kraft_cluster_ids_are_16_bytes_in_urlsafe_base64() -> None:
    ids = {random_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert not cluster_id.startswith("-")


def test_every_variable_compose_uses_is_in_env_example_and_secrets_are_required() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = {m.group(1): m.group(2) for m in _VARIABLE.finditer(text)}
    example = _dotenv()
    assert set(used) <= set(example), set(used) - set(example)
    for name, how in used.items():
        if name != "NEWSBEAM_BIND":
            assert how == "?", f"{name} must be required (${{{name}:?...}}), not defaulted"
    # The example holds no secret: every value but the bind address is empty.
    raw = (ROOT / ".env.example").read_text(encoding="utf-8")
    filled = [line for line in raw.splitlines() if re.match(r"^[A-Z_]+=.+", line)]
    assert filled == ["NEWSBEAM_BIND=127.0.0.1"]
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert 'xpack.security.enabled: "false"' not in text


def test_compose_roles_are_the_ones_the_local_stack_grants(services: dict[str, Any]) -> None:
    import json

    for role in ("admin", "pipeline", "alerts", "analyst"):
        path = ROOT / "infra" / "compose" / "roles" / f"newsbeam_{role}.json"
        stored = json.loads(path.read_text(encoding="utf-8"))
        assert stored == role_descriptor(role, [DEFAULTS.index_prefix], local=False), role
    script = (ROOT / "infra" / "compose" / "es-setup.sh").read_text(encoding="utf-8")
    for role in ("admin", "pipeline", "alerts", "analyst"):
        assert f"user newsbeam_{role} newsbeam_{role}" in script
    # Each newsbeam service logs in as its own least-privilege user.
    env = {name: services[name]["environment"] for name in ("pipeline", "alerts-deliver")}
    assert env["pipeline"]["NEWSBEAM_ES_USERNAME"] == "newsbeam_pipeline"
    assert env["alerts-deliver"]["NEWSBEAM_ES_USERNAME"] == "newsbeam_alerts"


def test_certificates_come_from_certutil_before_anything_uses_them(
    services: dict[str, Any],
) -> None:
    script = (ROOT / "infra" / "compose" / "certs.sh").read_text(encoding="utf-8")
    assert "elasticsearch-certutil ca" in script
    assert "elasticsearch-certutil cert" in script
    for name in ("kafka", "elasticsearch"):
        assert services[name]["depends_on"]["certs"] == {
            "condition": "service_completed_successfully"
        }
    kibana = services["kibana"]
    assert "ELASTICSEARCH_SERVICEACCOUNTTOKEN" in " ".join(kibana["command"])
    assert kibana["depends_on"]["es-setup"] == {"condition": "service_completed_successfully"}
    assert "ELASTICSEARCH_USERNAME" not in kibana["environment"]
