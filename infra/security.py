"""The local stack's security: certificates, generated secrets, roles and credentials.

``prepare`` (before the services start) makes a private CA and certificates for
127.0.0.1/localhost, the ``elastic`` bootstrap password and the Kafka SCRAM user's
password. ``ensure_users`` (once Elasticsearch answers; also ``newsbeam stack users``)
writes the roles and users of docs/operations.md ("Credentials") as the node's file
realm. Everything is kept in ``<data_dir>/credentials.toml``, mode 0600, which
``pipelines.settings.load`` reads when no credential is configured. Idempotent: existing
secrets are kept, roles and users are rewritten.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import secrets
import time
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from infra.processes import RunAs, give_to
from pipelines.settings import Settings, credentials_path

KAFKA_USER = "newsbeam"
# Test runs work under `t-<test>-<id>` prefixes (tests/conftest.py); they are granted by
# adding this pattern on the local stack only, never by default.
TEST_PREFIX_PATTERN = "t-*"
CERT_DAYS = 825
KAFKA_SECURE_PORT_OFFSET = 2  # the SASL_SSL listener: broker port + 2 (9094)


class SecurityError(RuntimeError):
    """Setting up the local stack's security failed; the message says what to do."""


def secure_kafka_port(broker_port: int) -> int:
    return broker_port + KAFKA_SECURE_PORT_OFFSET


@dataclass(frozen=True)
class Certificates:
    """PEM files under ``<data_dir>/certs``: a CA, the services' certificate, a client's."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def node_cert(self) -> Path:
        return self.folder / "node.crt"

    @property
    def node_key(self) -> Path:
        return self.folder / "node.key"

    @property
    def node_pem(self) -> Path:
        """Key and certificate in one file: Kafka's ``ssl.keystore.type=PEM`` reads this."""
        return self.folder / "node.pem"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client.crt"

    @property
    def client_key(self) -> Path:
        return self.folder / "client.key"

    def complete(self) -> bool:
        files = (self.ca, self.ca_key, self.node_cert, self.node_key, self.node_pem)
        return all(path.is_file() for path in (*files, self.client_cert, self.client_key))


def _write_private(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` readable by the owner only, from the first byte on."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(raw)
    os.replace(temporary, path)


def make_certificates(folder: Path) -> Certificates:
    """A private CA and two certificates it signs: the services' (127.0.0.1, ::1, localhost)
    and a client's (for Kafka mutual TLS). Kept when already there."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    certs = Certificates(folder)
    if certs.complete():
        return certs
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def pem_key(private: rsa.RSAPrivateKey) -> bytes:
        return private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,  # the only unencrypted form Kafka's PEM reads
            serialization.NoEncryption(),
        )

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "newsbeam local stack"),
                x509.NameAttribute(NameOID.COMMON_NAME, common),
            ]
        )

    ca_key = key()
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("newsbeam local CA"))
        .issuer_name(name("newsbeam local CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    def signed(common: str, private: rsa.RSAPrivateKey, server: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(ca.subject)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                    if server
                    else [ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.IPAddress(ipaddress.ip_address("::1")),
                    ]
                ),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256())

    node_key, client_key = key(), key()
    node = signed("newsbeam-local-node", node_key, server=True)
    client = signed("newsbeam-client", client_key, server=False)
    as_pem = serialization.Encoding.PEM
    _write_private(certs.ca_key, pem_key(ca_key))
    _write_private(certs.node_key, pem_key(node_key))
    _write_private(certs.node_pem, pem_key(node_key) + node.public_bytes(as_pem))
    _write_private(certs.client_key, pem_key(client_key))
    certs.node_cert.write_bytes(node.public_bytes(as_pem))
    certs.client_cert.write_bytes(client.public_bytes(as_pem))
    certs.ca.write_bytes(ca.public_bytes(as_pem))  # public: written last, marks completion
    return certs


# --- The credentials file ------------------------------------------------------------------


def read_credentials(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def write_credentials(path: Path, data: Mapping[str, Any]) -> None:
    """Write the credentials as TOML, owner-only (0600), atomically."""
    lines = [
        "# Written by `newsbeam stack up` / `newsbeam stack users` (infra/security.py).",
        "# Secrets: readable by the owner only. Which credential goes where:",
        "# docs/operations.md, section Credentials.",
    ]
    for section, values in data.items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    _write_private(path, "\n".join(lines) + "\n")


def _address(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"//{url}")
    return f"{parts.hostname}:{parts.port}"


def prepare(settings: Settings, data_dir: Path) -> dict[str, Any]:
    """Certificates and the secrets the services need before they start; returns the file's
    content (written back with anything that was missing)."""
    path = credentials_path(str(data_dir))
    data = read_credentials(path)
    certs = make_certificates(data_dir / "certs")
    es = data.setdefault("elasticsearch", {})
    es.update(address=_address(settings.es_url), ca_file=str(certs.ca))
    data.setdefault("elastic", {"kind": "superuser", "username": "elastic"})
    data["elastic"].setdefault("password", secrets.token_urlsafe(18))
    kafka = data.setdefault("kafka", {})
    kafka.update(
        secured_bootstrap=f"127.0.0.1:{secure_kafka_port(settings.kafka_port)}",
        ca_file=str(certs.ca),
        cert_file=str(certs.client_cert),
        key_file=str(certs.client_key),
    )
    kafka.setdefault("username", KAFKA_USER)
    kafka.setdefault("password", secrets.token_urlsafe(18))
    write_credentials(path, data)
    return data


# --- Roles, users and API keys ------------------------------------------------------------


def index_privileges(
    prefixes: Iterable[str], local: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """Each role's index privileges for the given index prefixes (``news`` -> ``news-*``).

    The pipeline and the alert worker set up their own aliases (template, first index,
    alias) but hold no ``manage`` or ``delete_index``: they cannot delete or close an
    index. Only ``admin`` (migrations, clean-up) can; on the local node it is the
    operator's credential for every index but the system ones.
    """
    prefixes = sorted(set(prefixes))
    every = [f"{p}-*" for p in prefixes]
    # maintenance: refresh (stories and alerts read what was just written); no delete.
    set_up = ["create_index", "view_index_metadata", "maintenance", "indices:admin/aliases"]
    return {
        # The local operator: every non-system index (tests and benchmarks work under
        # their own prefixes); no security, user or cluster-settings privilege.
        "admin": [{"names": ["*"] if local else every, "privileges": ["all"]}],
        "pipeline": [{"names": every, "privileges": ["read", "write", *set_up]}],
        "alerts": [
            {"names": [f"{p}-articles*" for p in prefixes], "privileges": ["read"]},
            {"names": [f"{p}-alerts*" for p in prefixes], "privileges": ["read", "write", *set_up]},
        ],
        "analyst": [{"names": every, "privileges": ["read", "view_index_metadata"]}],
    }


# Index templates are cluster-wide in Elasticsearch (no per-name privilege): the writers
# install their own at start, so they hold manage_index_templates; analysts only read.
CLUSTER_PRIVILEGES = {
    "admin": ["monitor", "manage_index_templates"],
    "pipeline": ["monitor", "manage_index_templates"],
    "alerts": ["monitor", "manage_index_templates"],
    "analyst": ["monitor"],
}
# Kibana: analysts may use Discover, dashboards and visualisations, read only.
KIBANA_READ = [
    {
        "application": "kibana-.kibana",
        "privileges": ["feature_discover.read", "feature_dashboard.read", "feature_visualize.read"],
        "resources": ["*"],
    }
]


def role_descriptor(role: str, prefixes: Iterable[str], local: bool = True) -> dict[str, Any]:
    """A role as Elasticsearch's role API and roles.yml take it. ``local=False`` is the
    production form (infra/compose/roles/): the admin, too, only on the prefix."""
    descriptor: dict[str, Any] = {
        "cluster": CLUSTER_PRIVILEGES[role],
        "indices": index_privileges(prefixes, local)[role],
    }
    if role == "analyst":
        descriptor["applications"] = KIBANA_READ
    return descriptor


USERS = {  # credential name in credentials.toml -> user name on the node
    "admin": "newsbeam_admin",
    "pipeline": "newsbeam_pipeline",
    "alerts": "newsbeam_alerts",
    "analyst": "newsbeam_analyst",
}
PBKDF2_ROUNDS = 10_000
RELOAD_WAIT_S = 30.0  # the node re-reads its realm files every 5 s


def password_hash(password: str, rounds: int = PBKDF2_ROUNDS) -> str:
    """Elasticsearch's ``{PBKDF2}`` format (PBKDF2-HMAC-SHA512, 32-byte salt and key)."""
    salt = secrets.token_bytes(32)
    key = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, rounds, dklen=32)
    encode = base64.b64encode
    return f"{{PBKDF2}}{rounds}${encode(salt).decode()}${encode(key).decode()}"


def realm_files(data: Mapping[str, Any], prefixes: Iterable[str]) -> dict[str, str]:
    """The node's ``roles.yml``, ``users`` and ``users_roles`` for the newsbeam credentials.

    File roles and the file realm need no ``.security`` index, which the local
    distribution cannot create (its mapping needs the analysis-common module).
    """
    prefixes = list(prefixes)
    roles = {f"newsbeam_{role}": role_descriptor(role, prefixes) for role in USERS}
    users = [f"{user}:{password_hash(data[name]['password'])}" for name, user in USERS.items()]
    users_roles = [f"newsbeam_{name}:{user}" for name, user in USERS.items()]
    return {
        # Block style: the node reads this file one top-level role at a time.
        "roles.yml": yaml.safe_dump(roles, default_flow_style=False, sort_keys=True),
        "users": "\n".join(users) + "\n",
        "users_roles": "\n".join(users_roles) + "\n",
    }


def ensure_users(
    settings: Settings,
    data_dir: Path,
    extra_prefixes: Iterable[str] = (),
    account: RunAs | None = None,
) -> list[str]:
    """Create or update the roles and users; returns the credentials' names.

    The granted prefixes only grow: those recorded in the file stay (a test session's
    ``t-*`` is not taken away by a later ``stack up``). Waits until the node has read
    the new files and accepts the admin credential.
    """
    path = credentials_path(str(data_dir))
    data = read_credentials(path)
    if "elastic" not in data:
        raise SecurityError(f"{path} has no elastic password; run `newsbeam stack up` first.")
    if _answers_strangers(settings, data):
        raise SecurityError(
            "the running node answers without credentials: it was started with security off "
            "(before it was on by default, or with local_security=off); restart it with "
            "`newsbeam stack down` then `newsbeam stack up`."
        )
    es_section = data["elasticsearch"]
    prefixes = sorted({settings.index_prefix, *es_section.get("prefixes", []), *extra_prefixes})
    for name, user in USERS.items():
        entry = data.setdefault(name, {})
        entry.update(kind="user", username=user, prefixes=prefixes)
        entry.setdefault("password", secrets.token_urlsafe(18))
    es_section["prefixes"] = prefixes
    write_credentials(path, data)
    config = data_dir / "elasticsearch" / "config"
    if not _realm_current(config, data, prefixes):
        for file_name, text in realm_files(data, prefixes).items():
            _write_private(config / file_name, text)
            if account is not None:
                give_to(account, config / file_name)
    _wait_until_accepted(settings, data)
    return ["elastic", *USERS]


def _answers_strangers(settings: Settings, data: Mapping[str, Any]) -> bool:
    """The node serves an unauthenticated request (security off), or only plain HTTP."""
    import ssl
    import urllib.error
    import urllib.request

    context = None
    if settings.es_url.startswith("https"):
        context = ssl.create_default_context(cafile=data["elasticsearch"]["ca_file"])
    try:
        with urllib.request.urlopen(f"{settings.es_url.rstrip('/')}/", timeout=10, context=context):
            return True
    except urllib.error.HTTPError as refused:
        refused.close()
        return False
    except OSError:
        return True  # e.g. plain HTTP where TLS was expected: the node is not the secured one


def _realm_current(config: Path, data: Mapping[str, Any], prefixes: list[str]) -> bool:
    """The node's realm files already hold these roles and passwords (so a second ``up``
    does not make the node reload them)."""
    try:
        wanted = realm_files(data, prefixes)
        if (config / "roles.yml").read_text() != wanted["roles.yml"]:
            return False
        if (config / "users_roles").read_text() != wanted["users_roles"]:
            return False
        hashes = dict(
            line.split(":", 1) for line in (config / "users").read_text().splitlines() if line
        )
    except (OSError, ValueError):
        return False
    return all(
        _verify(data[name]["password"], hashes.get(user, "")) for name, user in USERS.items()
    )


def _verify(password: str, stored: str) -> bool:
    try:
        rounds, salt, key = stored.removeprefix("{PBKDF2}").split("$")
        computed = hashlib.pbkdf2_hmac(
            "sha512", password.encode("utf-8"), base64.b64decode(salt), int(rounds), dklen=32
        )
    except ValueError:
        return False
    return secrets.compare_digest(computed, base64.b64decode(key))


def _wait_until_accepted(settings: Settings, data: Mapping[str, Any]) -> None:
    """Until every user authenticates and holds its role as written (the node re-reads
    the files every few seconds; an old role set may still be in force)."""
    from elasticsearch import ApiError, TransportError

    from connectors.elasticsearch import client

    prefixes = data["elasticsearch"]["prefixes"]
    expected = index_privileges(prefixes)
    deadline = time.monotonic() + RELOAD_WAIT_S
    waiting = dict(USERS)
    why = ""
    while waiting:
        for name in list(waiting):
            probe = settings.replace(
                es_username=waiting[name],
                es_password=data[name]["password"],
                es_api_key=None,
                es_ca_file=data["elasticsearch"]["ca_file"]
                if settings.es_url.startswith("https")
                else None,
            )
            # Every index pattern of the role, with its privileges, on a name it matches.
            wanted = [
                {
                    "names": [pattern.replace("*", "x") for pattern in entry["names"]],
                    "privileges": entry["privileges"],
                }
                for entry in expected[name]
            ]
            es = client(probe)
            try:
                if es.security.has_privileges(index=wanted).body.get("has_all_requested"):
                    del waiting[name]
                else:
                    why = f"the {name} role is not in force yet"
            except (ApiError, TransportError) as exc:
                why = f"{name}: {exc.__class__.__name__}"
            finally:
                es.close()
        if waiting and time.monotonic() > deadline:
            raise SecurityError(
                f"the node did not accept the newsbeam credentials within "
                f"{RELOAD_WAIT_S:.0f} s ({why}); check its log."
            )
        if waiting:
            time.sleep(0.5)
