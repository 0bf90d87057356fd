"""The local Elasticsearch node: the minimal integ-test distribution from Maven Central.

Layout under ``<data_dir>/elasticsearch/``: ``dist/elasticsearch-<version>/`` (the
extracted zip, never modified), ``config/`` (our copy: elasticsearch.yml, heap, and the
keystore Elasticsearch creates), ``data/``, ``logs/`` (Elasticsearch's own logs plus
``console.log``), ``tmp/``, ``elasticsearch.pid`` (the launcher; its child, the server,
writes ``server.pid``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from connectors.redaction import redact_url
from infra.kafka_broker import PrepareError
from infra.processes import RunAs, give_to
from infra.security import Certificates, read_credentials
from infra.versions import (
    ELASTICSEARCH_ARTIFACT,
    ELASTICSEARCH_TRANSPORT_PORT_OFFSET,
    ELASTICSEARCH_VERSION,
)
from pipelines.settings import Settings, credentials_path

HEAP = ("-Xms1g", "-Xmx1g")


def transport_port(http_port: int) -> int:
    return http_port + ELASTICSEARCH_TRANSPORT_PORT_OFFSET


def _security_lines(secured: bool, https: bool) -> list[str]:
    """Security on: every request authenticated, TLS between nodes, TLS on HTTP for https."""
    if not secured:
        return ["xpack.security.enabled: false"]
    lines = ["xpack.security.enabled: true", "xpack.security.enrollment.enabled: false"]
    for layer, enabled in (("transport", True), ("http", https)):
        lines.append(f"xpack.security.{layer}.ssl.enabled: {str(enabled).lower()}")
        if enabled:
            lines += [
                f"xpack.security.{layer}.ssl.key: certs/node.key",
                f"xpack.security.{layer}.ssl.certificate: certs/node.crt",
                f"xpack.security.{layer}.ssl.certificate_authorities: [certs/ca.crt]",
            ]
    lines.append("xpack.security.transport.ssl.verification_mode: certificate")
    return lines


def render_elasticsearch_yml(
    http_port: int, data: Path, logs: Path, secured: bool = True, https: bool = True
) -> str:
    """One node on loopback, security on unless asked otherwise, no disk watermarks."""
    return "\n".join(
        [
            "# Written by `newsbeam stack up` (infra/elasticsearch_node.py); do not edit.",
            "cluster.name: newsbeam-local",
            "node.name: newsbeam-local-1",
            f"path.data: {data}",
            f"path.logs: {logs}",
            "network.host: 127.0.0.1",
            f"http.port: {http_port}",
            f"transport.port: {transport_port(http_port)}",
            "discovery.type: single-node",
            *_security_lines(secured, https),
            # A nearly full developer disk must not silently turn the cluster red.
            "cluster.routing.allocation.disk.threshold_enabled: false",
            "",
        ]
    )


def maven_local_repository() -> Path:
    return Path.home() / ".m2" / "repository"


def artifact_path(repository: Path) -> Path:
    group, artifact, version, kind = ELASTICSEARCH_ARTIFACT.split(":")
    return repository.joinpath(*group.split("."), artifact, version, f"{artifact}-{version}.{kind}")


def extract_zip(archive: Path, target: Path) -> None:
    """Unzip keeping Unix permissions (Python's zipfile drops them; the bin/ scripts need +x)."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            written = Path(zipped.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                written.chmod(mode)


class ElasticsearchNode:
    name = "elasticsearch"
    setting_hint = "NEWSBEAM_ES_URL=http://127.0.0.1:<port> (transport on port + 100)"

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self.settings = settings
        self.folder = data_dir / "elasticsearch"
        self.dist = self.folder / "dist"
        self.home = self.dist / f"elasticsearch-{ELASTICSEARCH_VERSION}"
        self.config = self.folder / "config"
        self.data = self.folder / "data"
        self.logs = self.folder / "logs"
        self.tmp = self.folder / "tmp"
        self.log_file = self.logs / "console.log"
        self.pid_file = self.folder / "elasticsearch.pid"
        self.port = settings.es_port
        self.host = urllib.parse.urlsplit(settings.es_url).hostname or ""
        self.address = redact_url(settings.es_url.rstrip("/"))
        self._url = settings.es_url.rstrip("/")
        self.https = urllib.parse.urlsplit(settings.es_url).scheme == "https"
        self.secured = settings.local_security
        self.credentials_file = credentials_path(str(data_dir))
        self.ports: tuple[int, ...] = (self.port, transport_port(self.port))
        self._marker = self.dist / f".complete-{ELASTICSEARCH_VERSION}"

    @property
    def is_local(self) -> bool:
        scheme = urllib.parse.urlsplit(self.settings.es_url).scheme
        return scheme in ("http", "https") and self.host in ("127.0.0.1", "localhost")

    def obtain(self) -> float:
        """Fetch the zip into ~/.m2 (once) and extract it (once); seconds spent, 0 when cached."""
        if self._marker.is_file() and (self.home / "bin" / "elasticsearch").is_file():
            return 0.0
        started = time.monotonic()
        archive = artifact_path(maven_local_repository())
        if not archive.is_file():
            if shutil.which("mvn") is None:
                raise PrepareError(
                    "Maven (`mvn`) is not on PATH; install it (apt-get install maven)."
                )
            result = subprocess.run(
                [
                    "mvn",
                    "-q",
                    "-B",
                    "dependency:get",
                    f"-Dartifact={ELASTICSEARCH_ARTIFACT}",
                    "-Dtransitive=false",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0 or not archive.is_file():
                raise PrepareError(
                    f"Maven could not fetch {ELASTICSEARCH_ARTIFACT} into {archive} "
                    f"(exit {result.returncode}); check access to repo.maven.apache.org.\n"
                    + (result.stdout + result.stderr)[-2000:]
                )
        shutil.rmtree(self.dist, ignore_errors=True)
        self.dist.mkdir(parents=True)
        extract_zip(archive, self.dist)
        if not (self.home / "bin" / "elasticsearch").is_file():
            raise PrepareError(f"{archive} did not contain elasticsearch-{ELASTICSEARCH_VERSION}/.")
        self._marker.write_text(str(archive))
        return time.monotonic() - started

    def configure(self, java_home: Path, account: RunAs) -> None:
        """Our own config folder (the keystore lives there), rewritten settings, owned dirs."""
        if not self.config.is_dir():
            shutil.copytree(self.home / "config", self.config)
        for folder in (self.data, self.logs, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        if self.https and not self.secured:
            raise PrepareError(
                f"local_security is off, so the local node serves plain HTTP, but es_url is "
                f"{self.address}; set NEWSBEAM_ES_URL=http://127.0.0.1:{self.port}."
            )
        if self.secured:
            give_to(account, self.config)  # the keystore tool refuses to change its owner
            self._install_security(java_home, account)
        (self.config / "elasticsearch.yml").write_text(
            render_elasticsearch_yml(self.port, self.data, self.logs, self.secured, self.https)
        )
        options = self.config / "jvm.options.d"
        options.mkdir(exist_ok=True)
        (options / "newsbeam.options").write_text("\n".join(HEAP) + "\n")
        give_to(account, self.config, self.data, self.logs, self.tmp)

    def _cli_env(self, java_home: Path) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "ES_JAVA_HOME": str(java_home),
            "ES_PATH_CONF": str(self.config),
            "HOME": str(self.folder),
        }

    def _install_security(self, java_home: Path, account: RunAs) -> None:
        """The certificates inside config/ (the node reads no file outside it) and the
        ``elastic`` password as the keystore's bootstrap password (used until changed)."""
        credentials = read_credentials(self.credentials_file)
        certs = Certificates(self.credentials_file.parent / "certs")
        target = self.config / "certs"
        target.mkdir(exist_ok=True)
        for source in (certs.ca, certs.node_cert, certs.node_key):
            shutil.copy2(source, target / source.name)
        password = credentials["elastic"]["password"]
        marker = self.config / ".bootstrap-password"
        if marker.is_file() and marker.read_text() == _fingerprint(password):
            return
        result = subprocess.run(
            [
                str(self.home / "bin" / "elasticsearch-keystore"),
                "add",
                "--force",
                "--stdin",
                "bootstrap.password",
            ],
            input=password,
            capture_output=True,
            text=True,
            env=self._cli_env(java_home),
            check=False,
            user=account.uid if account.user else None,
            group=account.gid if account.user else None,
        )
        if result.returncode != 0:
            raise PrepareError(
                f"could not store the elastic password in {self.config}/elasticsearch.keystore "
                f"(exit {result.returncode}): {(result.stdout + result.stderr)[-500:]}"
            )
        marker.write_text(_fingerprint(password))

    def command(self, java_home: Path) -> tuple[list[str], dict[str, str], Path]:
        """argv, environment and working directory (logs/, where gc.log and crash files go)."""
        argv = [str(self.home / "bin" / "elasticsearch"), "-p", str(self.logs / "server.pid")]
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "ES_JAVA_HOME": str(java_home),
            "ES_PATH_CONF": str(self.config),
            "ES_TMPDIR": str(self.tmp),
            "HOME": str(self.folder),
        }
        return argv, env, self.logs

    def health(self) -> tuple[bool, str]:
        """Healthy when ``/_cluster/health`` says yellow or green (asked as ``elastic``)."""
        url = f"{self._url}/_cluster/health"
        shown = redact_url(url)
        request = urllib.request.Request(url)
        context = None
        credentials = read_credentials(self.credentials_file) if self.secured else {}
        if "elastic" in credentials:
            token = base64.b64encode(
                f"elastic:{credentials['elastic']['password']}".encode()
            ).decode()
            request.add_header("Authorization", f"Basic {token}")
        if self.https:
            ca_file = credentials.get("elasticsearch", {}).get("ca_file")
            context = ssl.create_default_context(cafile=ca_file)
        try:
            with urllib.request.urlopen(request, timeout=3, context=context) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            exc.close()
            return False, f"{shown} answered HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return False, f"no answer at {shown} ({exc.__class__.__name__})"
        status = body.get("status", "unknown")
        security = (
            ("security on, TLS" if self.https else "security on, plain HTTP")
            if self.secured
            else "security OFF"
        )
        healthy = status in ("yellow", "green")
        return healthy, f"cluster {body.get('cluster_name')} {status}, {security}"


def _fingerprint(secret: str) -> str:
    """Which password the keystore holds, without keeping the password itself."""
    return hashlib.sha256(secret.encode()).hexdigest()
