"""The local stack: one Kafka broker and one Elasticsearch node on 127.0.0.1, no Docker.

``up`` obtains the services from Maven Central (cached in ``~/.m2`` and extracted once
under ``settings.data_dir``), starts them detached, waits until they are healthy and
creates the project's topics. ``down`` stops them and checks that no process of ours
is left. ``status`` says how each one is. Failures come back in the report, as
sentences that say what to do; none of the three raises for an expected problem.

A service whose address is not on this machine (e.g. docker-compose, a remote
cluster) is only checked, never started or stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from infra import processes, security
from infra.elasticsearch_node import ElasticsearchNode
from infra.kafka_broker import KafkaBroker, PrepareError
from infra.processes import RunAs
from pipelines.settings import Settings, credentials_path

STOP_TIMEOUT_S = 30.0
JDK_CANDIDATES = ("/usr/lib/jvm/java-17-openjdk-*", "/usr/lib/jvm/java-21-openjdk-*")


@dataclass
class ServiceStatus:
    name: str
    running: bool  # a process we started is alive
    healthy: bool  # the service answers its health check
    pid: int | None
    address: str
    detail: str
    started_in_s: float | None = None  # wall time from start to healthy, in this `up`


@dataclass
class StackReport:
    services: list[ServiceStatus]
    action: str = "status"  # up, down or status: decides what `ok` means

    @property
    def ok(self) -> bool:
        """Every service healthy; after ``down``: nothing of ours left running."""
        if self.action == "down":
            return not any(service.running for service in self.services)
        return bool(self.services) and all(service.healthy for service in self.services)

    def describe(self) -> str:
        lines = []
        for s in self.services:
            state = "healthy" if s.healthy else ("running" if s.running else "stopped")
            if not s.healthy and self.action == "up":
                state = "FAILED"
            pid = f"pid {s.pid}" if s.pid else "no pid"
            took = f" (started in {s.started_in_s:.1f} s)" if s.started_in_s is not None else ""
            lines.append(f"{s.name:<13} {state:<8} {s.address:<24} {pid}{took}  {s.detail}")
        return "\n".join(lines)


class _Service(Protocol):
    name: str
    folder: Path
    log_file: Path
    pid_file: Path
    address: str
    ports: tuple[int, ...]
    setting_hint: str

    @property
    def is_local(self) -> bool: ...
    def obtain(self) -> float: ...
    def configure(self, java_home: Path, account: RunAs) -> None: ...
    def command(self, java_home: Path) -> tuple[list[str], dict[str, str], Path]: ...
    def health(self) -> tuple[bool, str]: ...


class StackError(RuntimeError):
    """A problem that stops one service from starting; the message says what to do."""


def data_dir(settings: Settings) -> Path:
    """``settings.data_dir`` made absolute against the current directory (symlinks kept)."""
    return Path(os.path.abspath(os.path.expanduser(settings.data_dir)))


def _services(settings: Settings) -> list[_Service]:
    root = data_dir(settings)
    return [KafkaBroker(settings, root), ElasticsearchNode(settings, root)]


def find_java_home() -> Path:
    """A JDK for both services: $ES_JAVA_HOME, a system JDK 17/21, $JAVA_HOME, then PATH."""
    candidates = [os.environ.get("ES_JAVA_HOME", "")]
    for pattern in JDK_CANDIDATES:
        candidates += sorted(glob.glob(pattern))
    candidates.append(os.environ.get("JAVA_HOME", ""))
    java = shutil.which("java")
    if java:
        candidates.append(str(Path(os.path.realpath(java)).parent.parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "bin" / "java").is_file():
            return Path(candidate)
    raise StackError(
        "no Java found; install a JDK 17 (apt-get install openjdk-17-jdk-headless) "
        "or set ES_JAVA_HOME."
    )


def _marker(service: _Service) -> str:
    return f"{service.folder}/"


def _our_pids(service: _Service) -> list[int]:
    """Our live processes for ``service``: every one whose command line names our folder."""
    return processes.processes_mentioning(_marker(service))


def _leader(service: _Service) -> int | None:
    """The pid we signal: the recorded one when it is ours and alive, else the oldest stray."""
    pids = _our_pids(service)
    recorded = processes.read_pid(service.pid_file)
    if recorded in pids:
        return recorded
    return pids[0] if pids else None


def _failure(service: _Service, what: str) -> str:
    return (
        f"{service.name} at {service.address} {what}; its log is {service.log_file}, "
        f"last lines:\n{processes.tail(service.log_file)}"
    )


def _external(service: _Service) -> ServiceStatus:
    healthy, detail = service.health()
    note = "not on this machine, so newsbeam does not start or stop it"
    return ServiceStatus(service.name, False, healthy, None, service.address, f"{detail}; {note}")


def _status(service: _Service) -> ServiceStatus:
    if not service.is_local:
        return _external(service)
    pid = _leader(service)
    healthy, detail = service.health()
    if pid is None and healthy:
        detail += f"; answered by a process newsbeam did not start from {service.folder}"
    return ServiceStatus(service.name, pid is not None, healthy, pid, service.address, detail)


def status(settings: Settings) -> StackReport:
    """How each service is, without changing anything."""
    return StackReport([_status(service) for service in _services(settings)], "status")


def _start(service: _Service, java_home: Path, account: RunAs) -> tuple[int, str]:
    """Obtain, configure and launch one service; return its pid and how it was obtained."""
    for port in service.ports:
        if not processes.port_is_free("127.0.0.1", port):
            raise StackError(
                f"port {port} for {service.name} is already taken by "
                f"{processes.port_owner(port)}, which newsbeam did not start; stop it, or "
                f"move newsbeam's {service.name} to other ports with {service.setting_hint}."
            )
    blocked = processes.unreachable_ancestor(account, service.folder)
    if blocked is not None:
        raise StackError(
            f"the {account.user} user that runs {service.name} cannot enter {blocked} "
            f"(mode {blocked.stat().st_mode & 0o777:o}); choose a data dir under a folder "
            f"others can traverse, or run `chmod o+x {blocked}`."
        )
    try:
        service.folder.mkdir(parents=True, exist_ok=True)
        spent = service.obtain()
        service.configure(java_home, account)
    except PrepareError as exc:
        raise StackError(str(exc)) from exc
    obtained = f"obtained and extracted in {spent:.1f} s" if spent else "already extracted"
    argv, env, cwd = service.command(java_home)
    with service.log_file.open("a") as log:
        log.write(f"\n=== newsbeam stack up {time.strftime('%Y-%m-%dT%H:%M:%S%z')}: {argv}\n")
    pid = processes.start_detached(
        argv, cwd=cwd, env=env, log_file=service.log_file, account=account
    )
    service.pid_file.write_text(f"{pid}\n")
    return pid, obtained


@dataclass
class _Pending:
    service: _Service
    pid: int
    started: float
    note: str
    fresh: bool  # started by this call, so stopped again if it never becomes healthy
    result: ServiceStatus | None = field(default=None)


@contextlib.contextmanager
def _exclusive(settings: Settings) -> Iterator[None]:
    """One `up` or `down` at a time per data dir.

    Several test sessions may call `up` on the shared stack at once; without this, both
    would start a broker, the second would die on the taken port, and cleaning up after
    it must not touch the first.
    """
    root = data_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    with (root / "stack.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def up(settings: Settings) -> StackReport:
    """Start whatever is not running, wait until both are healthy, create the topics.

    Idempotent: services already running (ours) are only waited for and checked.
    """
    with _exclusive(settings):
        return _up(settings)


def _up(settings: Settings) -> StackReport:
    results: dict[str, ServiceStatus] = {}
    pending: list[_Pending] = []
    try:
        java_home = find_java_home()
        account = processes.service_account()
        if settings.local_security and any(s.is_local for s in _services(settings)):
            security.prepare(settings, data_dir(settings))
    except (StackError, OSError, ValueError) as exc:
        services = _services(settings)
        message = f"cannot start: {exc}"
        return StackReport(
            [ServiceStatus(s.name, False, False, None, s.address, message) for s in services], "up"
        )
    services = _services(settings)
    for service in services:
        if not service.is_local:
            results[service.name] = _external(service)
            continue
        running = _leader(service)
        if running is not None:
            pending.append(_Pending(service, running, time.monotonic(), "already running", False))
            continue
        try:
            pid, note = _start(service, java_home, account)
        except (StackError, OSError) as exc:
            results[service.name] = ServiceStatus(
                service.name, False, False, None, service.address, str(exc)
            )
            continue
        pending.append(_Pending(service, pid, time.monotonic(), note, True))

    _wait_healthy(pending, settings.startup_timeout_s)
    _undo_if_failed(pending, [name for name, r in results.items() if not r.healthy])
    for item in pending:
        assert item.result is not None
        results[item.service.name] = item.result

    kafka = results.get("kafka")
    if kafka is not None and kafka.healthy:
        _create_topics(settings, kafka)
        broker = next(s for s in services if s.name == "kafka")
        if broker.is_local and isinstance(broker, KafkaBroker):
            try:
                kafka.detail += "; " + broker.ensure_scram_users(java_home)
            except PrepareError as exc:
                kafka.healthy = False
                kafka.detail += f"; {exc}"
    elastic = results.get("elasticsearch")
    if elastic is not None and elastic.healthy and settings.local_security:
        node = next(s for s in services if s.name == "elasticsearch")
        if node.is_local:
            _ensure_users(settings, elastic)
    ordered = [results[service.name] for service in services]
    return StackReport(ordered, "up")


def _undo_if_failed(pending: list[_Pending], failed_to_start: list[str]) -> None:
    """A failed ``up`` leaves nothing it started behind: a service that came up (Kafka,
    often healthy before Elasticsearch is even configured) is stopped again when another
    one of this call failed, so the next ``up`` starts from a clean state."""
    failed = failed_to_start + [
        i.service.name for i in pending if i.result is not None and not i.result.healthy
    ]
    if not failed:
        return
    for item in pending:
        if item.fresh and item.result is not None and item.result.healthy:
            _stop_started(item.service, item.pid)
            item.result = ServiceStatus(
                item.service.name,
                False,
                False,
                None,
                item.service.address,
                f"started, then stopped again because {', '.join(failed)} did not start",
            )


def _wait_healthy(pending: list[_Pending], timeout_s: float) -> None:
    """Poll every pending service until healthy, dead, or out of time; fill in ``result``."""
    deadline = time.monotonic() + timeout_s
    while any(item.result is None for item in pending):
        for item in pending:
            if item.result is not None:
                continue
            service = item.service
            healthy, detail = service.health()
            if healthy:
                took = time.monotonic() - item.started if item.fresh else None
                item.result = ServiceStatus(
                    service.name,
                    True,
                    True,
                    item.pid,
                    service.address,
                    f"{detail}; {item.note}",
                    took,
                )
            elif not processes.is_alive(item.pid):
                item.result = ServiceStatus(
                    service.name,
                    False,
                    False,
                    None,
                    service.address,
                    _failure(service, f"exited during start-up (pid {item.pid})"),
                )
                _stop_started(service, item.pid)
            elif time.monotonic() > deadline:
                message = _failure(
                    service, f"was not healthy after {timeout_s:g} s (last check: {detail})"
                )
                if item.fresh:
                    _stop_started(service, item.pid)
                    message += "\nIt was stopped again; raise NEWSBEAM_STARTUP_TIMEOUT_S if slow."
                alive = item.pid if processes.is_alive(item.pid) else None
                item.result = ServiceStatus(
                    service.name, alive is not None, False, alive, service.address, message
                )
        if any(item.result is None for item in pending):
            time.sleep(0.5)


def _ensure_users(
    settings: Settings, elastic: ServiceStatus, extra_prefixes: tuple[str, ...] = ()
) -> None:
    try:
        names = security.ensure_users(
            settings, data_dir(settings), extra_prefixes, processes.service_account()
        )
    except security.SecurityError as exc:
        elastic.healthy = False
        elastic.detail += f"; {exc}"
        return
    where = credentials_path(str(data_dir(settings)))
    elastic.detail += f"; credentials {', '.join(names)} in {where}"


def elasticsearch_is_local(settings: Settings) -> bool:
    """The configured node is the one ``up`` starts on this machine."""
    return ElasticsearchNode(settings, data_dir(settings)).is_local


def users(settings: Settings, extra_prefixes: tuple[str, ...] = ()) -> StackReport:
    """Create or update the roles, users and API keys on the running local node.

    ``extra_prefixes`` are further index name patterns to grant (tests add ``t-*``).
    """
    with _exclusive(settings):
        node = ElasticsearchNode(settings, data_dir(settings))
        healthy, detail = node.health()
        result = ServiceStatus(node.name, False, healthy, None, node.address, detail)
        if not settings.local_security:
            result.detail += "; local_security is off, so there are no users to create"
        elif not node.is_local:
            result.healthy = False
            result.detail += (
                "; not the local node: create the roles on a remote cluster with its own "
                "superuser (docs/operations.md, Credentials)"
            )
        elif healthy:
            _ensure_users(settings, result, extra_prefixes)
        return StackReport([result], "users")


def _create_topics(settings: Settings, kafka: ServiceStatus) -> None:
    topics = [settings.raw_topic, settings.dlq_topic, settings.alerts_topic]
    try:
        from connectors.kafka import ensure_topics

        ensure_topics(settings.kafka_bootstrap, topics)
    except Exception as exc:  # noqa: BLE001 - reported, not raised: failures are data
        kafka.healthy = False
        kafka.detail += f"; could not create topics {topics}: {exc.__class__.__name__}: {exc}"
        return
    kafka.detail += f"; topics {', '.join(topics)}"


def _stop_started(service: _Service, leader: int) -> None:
    """Stop the process tree this call started, and nothing else of the service's."""
    tree = [pid for pid in _our_pids(service) if pid == leader or processes.group_of(pid) == leader]
    processes.stop(tree or [leader], STOP_TIMEOUT_S)
    # A launcher stopped while it was starting its server may have spawned it meanwhile
    # (slow under load). The service was not running before this call and `up` holds the
    # data dir's lock, so whatever of it runs now is ours to stop: sweep until none is left.
    quiet = 0
    for _ in range(10):
        time.sleep(0.5)
        strays = _our_pids(service)
        if strays:
            processes.stop(strays, STOP_TIMEOUT_S)
            quiet = 0
        else:
            quiet += 1
            if quiet == 2:
                break
    if processes.read_pid(service.pid_file) == leader:
        service.pid_file.unlink(missing_ok=True)


def _stop_service(service: _Service) -> list[int]:
    """Stop every process of ours for ``service``; return the pids that survived SIGKILL."""
    pids = _our_pids(service)
    survivors = processes.stop(pids, STOP_TIMEOUT_S) if pids else []
    # A launcher's children can outlive it for a moment; sweep our folder once more.
    strays = [pid for pid in processes.processes_mentioning(_marker(service)) if pid not in pids]
    if strays:
        survivors += processes.stop(strays, STOP_TIMEOUT_S)
    if not survivors:
        service.pid_file.unlink(missing_ok=True)
    return survivors


def down(settings: Settings) -> StackReport:
    """Stop both services (SIGTERM, SIGKILL after a timeout) and verify nothing of ours is left."""
    if not data_dir(settings).is_dir():
        return _down(settings)  # nothing was ever started here; do not create the folder
    with _exclusive(settings):
        return _down(settings)


def _down(settings: Settings) -> StackReport:
    report = []
    for service in _services(settings):
        if not service.is_local:
            note = "not on this machine, so newsbeam does not stop it"
            report.append(ServiceStatus(service.name, False, False, None, service.address, note))
            continue
        pids = _our_pids(service)
        started = time.monotonic()
        survivors = _stop_service(service)
        if survivors:
            detail = f"pids {survivors} survived SIGKILL; check them with `ps -fp`"
        elif pids:
            detail = f"stopped pids {pids} in {time.monotonic() - started:.1f} s"
        else:
            detail = "was not running"
        report.append(
            ServiceStatus(
                service.name,
                bool(survivors),
                False,
                survivors[0] if survivors else None,
                service.address,
                detail,
            )
        )
    return StackReport(report, "down")
