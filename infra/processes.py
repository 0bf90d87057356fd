"""Detached service processes: start, find, stop, and who holds a port.

Linux only (reads ``/proc``), like the rest of the local stack. A process is
"ours" when its command line mentions our folder for that service, so a
recycled pid or a stale pid file never makes us signal a stranger.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "newsbeam"

# Popen handles of the services this Python process started. Kept so the handle is
# never garbage-collected while the service runs (that warns), and so `stop` can reap
# the child instead of leaving a zombie that still looks alive to `kill(pid, 0)`.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class RunAs:
    """Which account a service runs as; ``None`` fields mean the current user."""

    user: str | None
    uid: int
    gid: int
    home: str


def service_account() -> RunAs:
    """The account to run the services as: a system user when we are root, else ourselves.

    Elasticsearch refuses to run as root; running Kafka as the same user keeps one owner
    for everything under the data dir.
    """
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return RunAs(user=None, uid=entry.pw_uid, gid=entry.pw_gid, home=entry.pw_dir)
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SERVICE_USER)
    return RunAs(user=SERVICE_USER, uid=entry.pw_uid, gid=entry.pw_gid, home=entry.pw_dir)


def give_to(account: RunAs, *paths: Path) -> None:
    """Make ``paths`` (recursively) owned by the service account, when that is another user."""
    if account.user is None:
        return
    for top in paths:
        os.chown(top, account.uid, account.gid)
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                os.chown(
                    os.path.join(folder, name), account.uid, account.gid, follow_symlinks=False
                )


def unreachable_ancestor(account: RunAs, path: Path) -> Path | None:
    """The first folder above ``path`` another user cannot enter (e.g. pytest's 0700 tmp)."""
    if account.user is None:
        return None
    for folder in reversed(path.parents):
        try:
            info = folder.stat()
        except FileNotFoundError:
            return None
        if info.st_uid != account.uid and not info.st_mode & 0o001:
            return folder
    return None


def start_detached(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_file: Path,
    account: RunAs,
) -> int:
    """Start ``argv`` in its own session with output to ``log_file``; return its pid.

    The new session means the service outlives the caller and ignores its terminal's
    Ctrl-C; its pid is also its process-group id, so `stop` can signal the whole tree.
    """
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=account.uid if account.user else None,
            group=account.gid if account.user else None,
            extra_groups=[] if account.user else None,
        )
    _children[proc.pid] = proc
    return proc.pid


def is_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie is dead; our own exited children get reaped)."""
    child = _children.get(pid)
    if child is not None:
        # For our own child, waitpid is the authority, and it reaps the zombie too.
        if child.poll() is None:
            return True
        _children.pop(pid, None)
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the parenthesised command name, which may itself contain spaces.
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def processes_mentioning(folder: str) -> list[int]:
    """Live pids whose command line names a path inside ``folder`` (our service folder).

    The path must start an argument or follow ``=``/``:`` (``-Dx=/..``, ``file:/..``), so
    ``/a/.newsbeam/`` does not match a process of ``/b/a/.newsbeam/``.
    """
    pattern = re.compile(r"(?:^|[\s=:])" + re.escape(folder))
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            pid = int(entry.name)
            if pattern.search(command_line(pid)) and is_alive(pid):
                found.append(pid)
    return sorted(found)


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def stop(pids: Sequence[int], timeout_s: float) -> list[int]:
    """SIGTERM the group leaders among ``pids``, SIGKILL all after ``timeout_s``; return survivors.

    Only leaders get SIGTERM: Elasticsearch's launcher then shuts its server down in
    order, which a SIGTERM to the server itself would turn into "exited unexpectedly".
    """
    leaders = [pid for pid in pids if group_of(pid) == pid] or list(pids)
    for pid in leaders:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    if _wait_gone(pids, timeout_s):
        return []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    _wait_gone(pids, 10.0)
    return [pid for pid in pids if is_alive(pid)]


def group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _wait_gone(pids: Sequence[int], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while any(is_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_owner(port: int) -> str:
    """Best effort "pid 123 (python3 -m http.server)" for the process listening on ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{inode}]")
    if not inodes:
        return "an unknown process"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return f"pid {entry.name} ({command_line(int(entry.name))[:120]})"
    return "a process we cannot see"


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:])
