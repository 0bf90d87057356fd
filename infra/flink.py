"""Local portable runners: Beam's Flink job server jar and the Prism binary, obtained once.

Beam's Python SDK would download either at pipeline run time (the job server jar from
Maven by URL, Prism from GitHub). newsbeam fetches them ahead of time through the
ordinary clients instead: the jar with ``mvn dependency:copy`` (cached in ``~/.m2`` and
copied to ``<data_dir>/flink/``), Prism with ``go install`` from the Go module proxy
(into ``<data_dir>/prism/bin/``), and passes the local paths to the runner.

The job server matches the installed Beam version exactly: its runner API and the
Python SDK harness speak the same protocol only within one release.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from infra.kafka_broker import PrepareError
from pipelines.settings import Settings

# Flink lines Beam 2.77 publishes a job server for (FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS):
# 1.19, 1.20, 2.0, 2.1, 2.2. 1.20 is the last 1.x, the long-term-support line.
FLINK_VERSION = "1.20"
BEAM_GROUP = "org.apache.beam"
PRISM_PACKAGE = "github.com/apache/beam/sdks/v2/go/cmd/prism"


def beam_version() -> str:
    """The installed Beam Python SDK's version: the job server and Prism must match it."""
    from apache_beam.version import __version__

    return str(__version__)


def job_server_artifact(flink_version: str = FLINK_VERSION, beam: str | None = None) -> str:
    """Maven coordinates ``group:artifact:version`` of the Flink job server jar."""
    return f"{BEAM_GROUP}:beam-runners-flink-{flink_version}-job-server:{beam or beam_version()}"


def job_server_jar_path(settings: Settings, flink_version: str = FLINK_VERSION) -> Path:
    """Where the jar is cached for this Beam version (it may not exist yet)."""
    from infra.stack import data_dir

    name = f"beam-runners-flink-{flink_version}-job-server-{beam_version()}.jar"
    return data_dir(settings) / "flink" / name


def obtain_job_server_jar(settings: Settings, flink_version: str = FLINK_VERSION) -> Path:
    """The local job server jar, fetched from Maven Central with mvn the first time.

    Raises ``PrepareError`` saying what Maven answered and how to supply the jar by hand.
    """
    target = job_server_jar_path(settings, flink_version)
    if target.is_file():
        return target
    if shutil.which("mvn") is None:
        raise PrepareError("Maven (`mvn`) is not on PATH; install it (apt-get install maven).")
    artifact = job_server_artifact(flink_version)
    target.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-U",  # re-ask Central: do not trust a cached "not found"
            "dependency:copy",
            f"-Dartifact={artifact}",
            f"-DoutputDirectory={target.parent}",
            "-Dmdep.overWriteIfNewer=true",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not target.is_file():
        output = result.stdout + result.stderr
        errors = [
            line
            for line in output.splitlines()
            if "[ERROR]" in line and line.replace("[ERROR]", "").strip()
        ]
        why = (
            errors[0].split("[ERROR]", 1)[1].strip()
            if errors
            else f"mvn exited {result.returncode}"
        )
        raise PrepareError(
            f"cannot obtain the Flink job server {artifact} from Maven Central: {why[:600]}. "
            f"Put the jar at {target} or pass --flink-job-server-jar."
        )
    return target


def prism_binary_path(settings: Settings) -> Path:
    from infra.stack import data_dir

    return data_dir(settings) / "prism" / beam_version() / "prism"


def obtain_prism(settings: Settings) -> tuple[Path, float]:
    """The local Prism binary for this Beam version, built with ``go install`` the first time.

    Returns the path and the seconds spent building (0 when cached).
    """
    target = prism_binary_path(settings)
    if target.is_file():
        return target, 0.0
    go = shutil.which("go") or next(
        (c for c in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(c, os.X_OK)), None
    )
    if go is None:
        raise PrepareError(
            "Go is not installed, and Prism is built from the Go module proxy with "
            "`go install`; install Go 1.24+ or pass --prism-location."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = subprocess.run(
        [go, "install", f"{PRISM_PACKAGE}@v{beam_version()}"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GOBIN": str(target.parent), "GOFLAGS": "-mod=mod"},
    )
    if result.returncode != 0 or not target.is_file():
        raise PrepareError(
            f"`go install {PRISM_PACKAGE}@v{beam_version()}` failed "
            f"(exit {result.returncode}); check access to proxy.golang.org.\n"
            + (result.stdout + result.stderr)[-1500:]
        )
    return target, time.monotonic() - started
