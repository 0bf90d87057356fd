"""Which Beam runner executes the ingest pipeline, and with which options.

- ``direct``: Beam's in-process FnApiRunner (what ``ingest.run`` uses by default), one
  worker. ``newsbeam run --workers N`` runs N of these side by side, each on its share
  of the partitions (``pipelines/workers.py``).
- ``flink``: Beam's FlinkRunner through the Flink job server jar, on an embedded
  mini-cluster (``--flink_master=[local]``) or a given cluster, in streaming mode
  (the Kafka source is an unbounded splittable DoFn), with ``parallelism = workers``.
- ``prism``: Beam's Go portable runner, a local binary built from the Go module proxy.

Nothing is downloaded at run time: the job server jar and the Prism binary are local
paths (``infra/flink.py`` obtains them with mvn and go), and the SDK harness runs in
this process (LOOPBACK) or as a local subprocess (PROCESS).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.settings import Settings

if TYPE_CHECKING:  # Beam takes a second to import; the CLI registers these flags without it.
    from apache_beam.options.pipeline_options import PipelineOptions

    from connectors.kafka import Shard

RUNNERS = ("direct", "flink", "prism")
ENVIRONMENTS = ("LOOPBACK", "PROCESS")


class RunnerError(ValueError):
    """A runner choice that cannot work; the message says what to change."""


@dataclass(frozen=True)
class RunnerChoice:
    """What ``newsbeam run --runner ... --workers ...`` asked for."""

    name: str = "direct"
    workers: int = 1
    flink_master: str = "[local]"
    environment_type: str = "LOOPBACK"
    job_server_jar: str | None = None  # default: obtained with mvn into the data dir
    prism_location: str | None = None  # default: built with go into the data dir
    extra_options: tuple[str, ...] = ()  # passed to Beam as they are, e.g. --checkpointing_interval

    def __post_init__(self) -> None:
        if self.name not in RUNNERS:
            raise RunnerError(
                f"runner {self.name!r} is unknown; choose one of {', '.join(RUNNERS)}."
            )
        if self.workers < 1:
            raise RunnerError(f"workers={self.workers} must be at least 1.")
        if self.environment_type not in ENVIRONMENTS:
            raise RunnerError(
                f"environment type {self.environment_type!r} is not supported here; "
                f"choose one of {', '.join(ENVIRONMENTS)} (DOCKER needs a Docker daemon)."
            )


def process_environment_config() -> str:
    """A PROCESS environment that starts the SDK harness from this interpreter's install.

    Workers must have the project installed (``pip install newsbeam``) at the same path.
    """
    return json.dumps(
        {"command": f"{sys.executable} -m apache_beam.runners.worker.sdk_worker_main"}
    )


def direct_arguments(choice: RunnerChoice) -> list[str]:
    if choice.workers != 1:
        # Measured with Beam 2.77: with several workers the FnApiRunner does not resume the
        # Kafka SDF's deferred residuals, so each partition stops after its first batch.
        raise RunnerError(
            f"the direct runner runs one worker per process; for {choice.workers} workers use "
            f"`newsbeam run --workers {choice.workers}` (one process per share of the "
            "partitions) or --runner flink."
        )
    return ["--direct_num_workers=1", "--direct_running_mode=in_memory"]


def flink_arguments(choice: RunnerChoice, job_server_jar: str) -> list[str]:
    from infra.flink import FLINK_VERSION

    arguments = [
        f"--flink_master={choice.flink_master}",
        f"--flink_version={FLINK_VERSION}",
        f"--flink_job_server_jar={job_server_jar}",
        f"--parallelism={choice.workers}",
        # The Kafka source is unbounded: Flink's batch mode cannot run it.
        "--streaming",
        f"--environment_type={choice.environment_type}",
    ]
    if choice.environment_type == "PROCESS":
        arguments.append(f"--environment_config={process_environment_config()}")
    return arguments


def prism_arguments(choice: RunnerChoice, prism_location: str) -> list[str]:
    arguments = [
        f"--prism_location={prism_location}",
        f"--environment_type={choice.environment_type}",
        "--prism_log_level=warn",
    ]
    if choice.environment_type == "PROCESS":
        arguments.append(f"--environment_config={process_environment_config()}")
    return arguments


def runner_and_options(choice: RunnerChoice, settings: Settings) -> tuple[Any, PipelineOptions]:
    """The Beam runner object and its options; obtains the jar or binary if not given."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from infra import flink

    if choice.name == "direct":
        from pipelines.local_runner import fn_api_runner

        arguments = direct_arguments(choice)
        runner: Any = fn_api_runner()
    elif choice.name == "flink":
        from apache_beam.runners.portability.flink_runner import FlinkRunner

        jar = choice.job_server_jar or str(flink.obtain_job_server_jar(settings))
        arguments = flink_arguments(choice, jar)
        runner = FlinkRunner()
    else:
        from apache_beam.runners.portability.prism_runner import PrismRunner

        if choice.workers != 1:
            raise RunnerError(
                "Prism has no worker count to set: it runs every stage on one SDK harness. "
                "Use --runner direct or flink for --workers > 1."
            )
        location = choice.prism_location or str(flink.obtain_prism(settings)[0])
        arguments = prism_arguments(choice, location)
        runner = PrismRunner()
    options = PipelineOptions([*arguments, *choice.extra_options], save_main_session=False)
    return runner, options


def run(
    settings: Settings,
    choice: RunnerChoice,
    until_idle: bool,
    idle_seconds: float,
    shard: Shard | None = None,
) -> None:
    """Run the ingest pipeline on the chosen runner.

    The alerts alias is created here, before any worker starts: each worker's alert
    stage would otherwise race to create it and all but one would fail.
    """
    from pipelines import ingest
    from pipelines.alerting import ensure_alerts

    runner, options = runner_and_options(choice, settings)
    ensure_alerts(settings)
    ingest.run(settings, until_idle, idle_seconds, runner=runner, options=options, shard=shard)


def add_arguments(parser: Any) -> None:
    """The runner flags of ``newsbeam run``."""
    parser.add_argument(
        "--runner",
        choices=RUNNERS,
        default="direct",
        help="direct: in-process FnApiRunner (default); flink: Beam's FlinkRunner; "
        "prism: Beam's Go runner",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="parallel workers (default 1): processes each reading a share of the raw topic's "
        "partitions (direct; the topic grows to at least N partitions; metrics of worker i "
        "on --metrics-port + i), or Flink parallelism",
    )
    parser.add_argument(
        "--flink-master",
        default="[local]",
        help="with --runner flink: host:port of the JobManager's REST API "
        "(default [local], an embedded mini-cluster)",
    )
    parser.add_argument(
        "--environment-type",
        choices=ENVIRONMENTS,
        default="LOOPBACK",
        help="where the Python SDK harness runs: LOOPBACK (in this process, default) or "
        "PROCESS (a subprocess per Flink task manager)",
    )
    parser.add_argument(
        "--flink-job-server-jar", help="a local Beam Flink job server jar (default: fetched by mvn)"
    )
    parser.add_argument("--prism-location", help="a local Prism binary (default: built by go)")


def choice_from_arguments(args: Any) -> RunnerChoice:
    return RunnerChoice(
        name=args.runner,
        workers=args.workers,
        flink_master=args.flink_master,
        environment_type=args.environment_type,
        job_server_jar=args.flink_job_server_jar,
        prism_location=args.prism_location,
    )
