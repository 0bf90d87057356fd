"""The local Kafka broker: one KRaft node (broker + controller) from Maven Central jars.

Layout under ``<data_dir>/kafka/``: ``dist/libs`` (the jars, copied by Maven from
``~/.m2``), ``config/`` (server.properties, log4j.properties), ``data/`` (the log
dirs and KRaft metadata), ``logs/console.log``, ``kafka.pid``.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from connectors.redaction import redact
from infra.processes import RunAs, give_to
from infra.versions import (
    KAFKA_CONTROLLER_PORT_OFFSET,
    KAFKA_VERSION,
    SCALA_BINARY_VERSION,
    SLF4J_VERSION,
)
from pipelines.settings import Settings, credentials_path

POM = Path(__file__).resolve().parent / "maven" / "kafka" / "pom.xml"
HEAP = "-Xmx512m"  # plenty for a development broker; the JVM grows into it


class PrepareError(RuntimeError):
    """Obtaining or preparing a service failed; the message says what to do."""


def controller_port(broker_port: int) -> int:
    return broker_port + KAFKA_CONTROLLER_PORT_OFFSET


@dataclass(frozen=True)
class SecureListener:
    """The SASL_SSL listener: SCRAM (and PLAIN) users over TLS, client certificates optional."""

    port: int
    username: str
    password: str
    keystore_pem: Path  # private key + certificate chain
    ca_file: Path  # trusted for client certificates

    def properties(self) -> list[str]:
        name = "listener.name.sasl_ssl"
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        plain = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'user_{self.username}="{self.password}";'
        )
        return [
            "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
            f"{name}.scram-sha-256.sasl.jaas.config={scram}",
            f"{name}.scram-sha-512.sasl.jaas.config={scram}",
            f"{name}.plain.sasl.jaas.config={plain}",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.keystore_pem}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.ca_file}",
            "ssl.client.auth=requested",
        ]

    def scram_arguments(self) -> list[str]:
        """``kafka-storage format --add-scram`` arguments: the user exists from the start."""
        arguments = []
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
            arguments += [
                "--add-scram",
                f"{mechanism}=[name={self.username},password={self.password}]",
            ]
        return arguments


def render_server_properties(
    broker_port: int, data_dir: Path, secure: SecureListener | None = None
) -> str:
    """A single-node KRaft config on 127.0.0.1, tuned so one broker is a whole cluster.

    The PLAINTEXT listener stays for tools and tests on loopback; with ``secure``, a
    SASL_SSL listener on broker port + 2 serves every client that is configured for it.
    """
    ctl = controller_port(broker_port)
    listeners = [f"PLAINTEXT://127.0.0.1:{broker_port}", f"CONTROLLER://127.0.0.1:{ctl}"]
    advertised = [f"PLAINTEXT://127.0.0.1:{broker_port}"]
    protocols = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    if secure is not None:
        listeners.append(f"SASL_SSL://127.0.0.1:{secure.port}")
        advertised.append(f"SASL_SSL://127.0.0.1:{secure.port}")
        protocols += ",SASL_SSL:SASL_SSL"
    return "\n".join(
        [
            "# Written by `newsbeam stack up` (infra/kafka_broker.py); edits are overwritten.",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{ctl}",
            f"listeners={','.join(listeners)}",
            f"advertised.listeners={','.join(advertised)}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            f"listener.security.protocol.map={protocols}",
            *(secure.properties() if secure is not None else []),
            f"log.dirs={data_dir}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            # Consumers in tests join an empty group; do not make them wait 3 s for company.
            "group.initial.rebalance.delay.ms=0",
            # Topics are created explicitly by connectors.kafka.ensure_topics.
            "auto.create.topics.enable=false",
            "message.max.bytes=8388608",
            "",
        ]
    )


LOG4J_PROPERTIES = """\
# Written by `newsbeam stack up`: everything to stdout, which goes to logs/console.log.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaConfig=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.kafka.log.LogConfig=WARN
log4j.logger.state.change.logger=WARN
"""


def random_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes in URL-safe base64, as ``kafka-storage random-uuid``."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):  # Kafka avoids ids that look like command-line flags
            return text


def _admin_config(bootstrap: str, known: dict[str, object]) -> dict[str, object]:
    """Short timeouts for a health probe, in whichever names this kafka-python knows.

    kafka-python 2.x bounds the first connection with ``api_version_auto_timeout_ms``,
    3.x with ``bootstrap_timeout_ms``; each rejects the other's name.
    """
    wanted: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "client_id": "newsbeam-stack",
        "request_timeout_ms": 5000,
        "api_version_auto_timeout_ms": 3000,
        "bootstrap_timeout_ms": 3000,
    }
    return {name: value for name, value in wanted.items() if name in known}


class KafkaBroker:
    name = "kafka"
    setting_hint = "NEWSBEAM_KAFKA_BOOTSTRAP=127.0.0.1:<port> (controller on port + 1)"

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self.settings = settings
        self.folder = data_dir / "kafka"
        self.libs = self.folder / "dist" / "libs"
        self.config = self.folder / "config"
        self.data = self.folder / "data"
        self.logs = self.folder / "logs"
        self.log_file = self.logs / "console.log"
        self.pid_file = self.folder / "kafka.pid"
        self.port = settings.kafka_port
        self.host = settings.kafka_bootstrap.split(",")[0].rsplit(":", 1)[0].strip("[]")
        self.address = f"127.0.0.1:{self.port}"
        self.ports: tuple[int, ...] = (self.port, controller_port(self.port))
        self.secure = self._secure_listener(data_dir) if settings.local_security else None
        if self.secure is not None:
            self.ports += (self.secure.port,)
            self.address += f" + SASL_SSL {self.secure.port}"
        self._marker = self.folder / "dist" / f".complete-{SCALA_BINARY_VERSION}-{KAFKA_VERSION}"

    def _secure_listener(self, data_dir: Path) -> SecureListener | None:
        from infra.security import Certificates, read_credentials, secure_kafka_port

        kafka = read_credentials(credentials_path(str(data_dir))).get("kafka")
        if not kafka:
            return None  # prepared by infra.security.prepare before `up` starts anything
        certs = Certificates(data_dir / "certs")
        return (
            SecureListener(
                port=secure_kafka_port(self.port),
                username=kafka["username"],
                password=kafka["password"],
                keystore_pem=self.config / "node.pem",
                ca_file=self.config / "ca.crt",
            )
            if certs.complete()
            else None
        )

    @property
    def is_local(self) -> bool:
        single = "," not in self.settings.kafka_bootstrap
        return single and self.host in ("127.0.0.1", "localhost")

    def obtain(self) -> float:
        """Copy the broker's jars from Maven (cached in ~/.m2); seconds spent, 0 when cached."""
        if self._marker.is_file():
            return 0.0
        if shutil.which("mvn") is None:
            raise PrepareError("Maven (`mvn`) is not on PATH; install it (apt-get install maven).")
        started = time.monotonic()
        shutil.rmtree(self.libs, ignore_errors=True)
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-Dkafka.version={KAFKA_VERSION}",
                f"-Dscala.binary.version={SCALA_BINARY_VERSION}",
                f"-Dslf4j.version={SLF4J_VERSION}",
                f"-DoutputDirectory={self.libs}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise PrepareError(
                f"Maven could not fetch Kafka {KAFKA_VERSION} from Maven Central "
                f"(exit {result.returncode}); check network access to repo.maven.apache.org.\n"
                + (result.stdout + result.stderr)[-2000:]
            )
        self._marker.write_text("\n".join(sorted(p.name for p in self.libs.glob("*.jar"))))
        return time.monotonic() - started

    def configure(self, java_home: Path, account: RunAs) -> None:
        """Write the config and format the KRaft storage once (never reformat: it holds data)."""
        for folder in (self.config, self.data, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        if self.secure is not None:
            from infra.security import Certificates

            certs = Certificates(self.folder.parent / "certs")
            shutil.copy2(certs.node_pem, self.secure.keystore_pem)
            shutil.copy2(certs.ca, self.secure.ca_file)
            give_to(account, self.secure.keystore_pem, self.secure.ca_file)
        properties = self.config / "server.properties"
        properties.write_text(render_server_properties(self.port, self.data, self.secure))
        properties.chmod(0o600)  # it holds the PLAIN user's password
        give_to(account, properties)
        (self.config / "log4j.properties").write_text(LOG4J_PROPERTIES)
        give_to(account, self.data, self.logs)
        if (self.data / "meta.properties").is_file():
            return
        result = subprocess.run(
            [
                str(java_home / "bin" / "java"),
                "-cp",
                f"{self.libs}/*",
                f"-Dlog4j.configuration=file:{self.config / 'log4j.properties'}",
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                "--cluster-id",
                random_cluster_id(),
                "--config",
                str(self.config / "server.properties"),
                *(self.secure.scram_arguments() if self.secure is not None else []),
            ],
            capture_output=True,
            text=True,
            check=False,
            user=account.uid if account.user else None,
            group=account.gid if account.user else None,
        )
        if result.returncode != 0:
            secret = [self.secure.password] if self.secure is not None else []
            raise PrepareError(
                f"formatting Kafka storage in {self.data} failed (exit {result.returncode}):\n"
                + redact((result.stdout + result.stderr)[-2000:], secret)
            )
        if self.secure is not None:
            self._scram_marker.write_text(self._scram_fingerprint())

    @property
    def _scram_marker(self) -> Path:
        return self.config / ".scram-users"

    def _scram_fingerprint(self) -> str:
        assert self.secure is not None
        return hashlib.sha256(f"{self.secure.username}:{self.secure.password}".encode()).hexdigest()

    def ensure_scram_users(self, java_home: Path) -> str:
        """Add the SCRAM user to a broker whose storage was formatted without it (a data dir
        from before security); a no-op when format time already did. Returns a note."""
        if self.secure is None:
            return "SASL_SSL listener off (local_security=off)"
        if self._scram_marker.is_file() and (
            self._scram_marker.read_text() == self._scram_fingerprint()
        ):
            return f"SASL_SSL on {self.secure.port} (SCRAM user {self.secure.username})"
        password = self.secure.password
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):  # one per request, Kafka says
            result = subprocess.run(
                [
                    str(java_home / "bin" / "java"),
                    "-cp",
                    f"{self.libs}/*",
                    f"-Dlog4j.configuration=file:{self.config / 'log4j.properties'}",
                    "kafka.admin.ConfigCommand",
                    "--bootstrap-server",
                    f"127.0.0.1:{self.port}",
                    "--alter",
                    "--add-config",
                    f"{mechanism}=[password={password}]",
                    "--entity-type",
                    "users",
                    "--entity-name",
                    self.secure.username,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise PrepareError(
                    f"could not add the SCRAM user {self.secure.username} to Kafka "
                    f"(exit {result.returncode}): "
                    + redact((result.stdout + result.stderr)[-300:], [password])
                )
        self._scram_marker.write_text(self._scram_fingerprint())
        return f"SASL_SSL on {self.secure.port} (SCRAM user {self.secure.username} added)"

    def command(self, java_home: Path) -> tuple[list[str], dict[str, str], Path]:
        """argv, environment and working directory of the broker process."""
        argv = [
            str(java_home / "bin" / "java"),
            HEAP,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.logs}",
            f"-Dlog4j.configuration=file:{self.config / 'log4j.properties'}",
            "-cp",
            f"{self.libs}/*",  # absolute, so `down` finds the process by our folder
            "kafka.Kafka",
            str(self.config / "server.properties"),
        ]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "JAVA_HOME": str(java_home)}
        return argv, env, self.logs

    def health(self) -> tuple[bool, str]:
        """Healthy when a client can bootstrap and the broker lists itself in the cluster."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        bootstrap = self.settings.kafka_bootstrap
        first = bootstrap.split(",")[0].strip()
        try:
            # A refused connection answers in microseconds; the client would wait seconds.
            socket.create_connection((first.rsplit(":", 1)[0].strip("[]"), self.port), 1).close()
        except OSError as exc:
            return False, f"no answer at {bootstrap} ({exc.__class__.__name__})"
        try:
            admin = KafkaAdminClient(**_admin_config(bootstrap, KafkaAdminClient.DEFAULT_CONFIG))
        except (KafkaError, OSError) as exc:
            return False, f"no answer at {bootstrap} ({exc.__class__.__name__})"
        try:
            cluster = admin.describe_cluster()
            brokers = cluster.get("brokers", [])
            return bool(brokers), f"{len(brokers)} broker(s), cluster {cluster.get('cluster_id')}"
        except (KafkaError, OSError) as exc:
            return False, f"answers at {bootstrap} but not ready ({exc.__class__.__name__})"
        finally:
            admin.close()
