"""The ingest commands: ``process`` (offline), ``publish``, ``run`` and ``demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from pipelines import runners
from pipelines.settings import Settings

if TYPE_CHECKING:  # the CLI registers its commands without importing Beam
    from connectors.kafka import Shard


def _process(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.offline import process_paths

    return process_paths(args.paths, settings, out=sys.stdout, err=sys.stderr)


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.jobs import publish_files

    return publish_files(args.paths, settings, err=sys.stderr)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        choice = runners.choice_from_arguments(args)
    except runners.RunnerError as exc:
        print(f"newsbeam run: {exc}", file=sys.stderr)
        return 2
    if choice.name != "direct" or choice.workers == 1:
        return _run_one(args, settings, choice)
    # Several local workers: one process per share of the partitions (pipelines/workers.py).
    from pipelines import workers

    failure = _reported(settings, lambda: workers.prepare(settings, choice.workers))
    if failure:
        return failure
    return workers.run(choice.workers, _run_worker, args, settings)


def _run_worker(shard: Shard, args: argparse.Namespace, settings: Settings) -> None:
    """One of ``--workers N`` processes; its metrics are on the given port + its index."""
    if args.metrics_port:
        args.metrics_port += shard.index
    choice = runners.RunnerChoice(name="direct", workers=1)
    code = _run_one(args, settings, choice, shard)
    if code:
        raise SystemExit(code)


def _run_one(
    args: argparse.Namespace,
    settings: Settings,
    choice: runners.RunnerChoice,
    shard: Shard | None = None,
) -> int:
    from pipelines import observability

    observability.configure_logging(settings, fmt=args.log_format, level=args.log_level)
    server = None
    if args.metrics_port:
        try:
            server = observability.MetricsServer(
                settings, host=args.metrics_host, port=args.metrics_port
            ).start()
        except OSError as exc:
            print(
                f"newsbeam run: cannot serve metrics on {args.metrics_host}:{args.metrics_port} "
                f"({exc.strerror}); choose another --metrics-port, or 0 to turn them off.",
                file=sys.stderr,
            )
            return 2
    try:
        return _reported(
            settings,
            lambda: runners.run(settings, choice, args.until_idle, args.idle_seconds, shard=shard),
        )
    finally:
        if server is not None:
            server.stop()


def _reported(settings: Settings, work: Callable[[], object]) -> int:
    """Run ``work``; a known failure becomes one sentence on stderr and an exit code."""
    from connectors.elasticsearch import ElasticsearchAccessError, ElasticsearchUnavailableError
    from connectors.kafka import KafkaUnavailableError
    from connectors.redaction import redact
    from infra.kafka_broker import PrepareError
    from pipelines import observability

    try:
        work()
    except (runners.RunnerError, PrepareError) as exc:
        print(f"newsbeam run: {exc}", file=sys.stderr)
        return 2
    except (ElasticsearchAccessError, ElasticsearchUnavailableError, KafkaUnavailableError) as exc:
        message = redact(str(exc), observability.secrets_of(settings))
        print(f"newsbeam run: {message}", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.jobs import demo

    return demo(settings, args.paths)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    process = commands.add_parser(
        "process",
        help="run the transforms offline and print one JSON document per line",
        description="Run the transforms on files or folders with no services; print one JSON "
        "object per accepted document on stdout and one line per rejected input on stderr. "
        "Exits 1 when any input was rejected.",
    )
    process.add_argument(
        "paths",
        nargs="+",
        help="files or folders: text articles, saved pages (.html, .htm, .html.gz), WARC "
        "archives (.warc, .warc.gz)",
    )
    process.set_defaults(handler=_process)

    publish = commands.add_parser(
        "publish",
        help="publish article files, saved pages and WARC archives to the raw Kafka topic",
        description="Read files or folders of articles, saved HTML pages and WARC archives "
        "(every HTML response record) and publish them to the raw topic, keyed by document "
        "id; rejected inputs go to the dead-letter topic with a reason. Long runs print "
        "progress on stderr.",
    )
    publish.add_argument(
        "paths",
        nargs="+",
        help="files or folders: text articles, saved pages (.html, .htm, .html.gz), WARC "
        "archives (.warc, .warc.gz)",
    )
    publish.set_defaults(handler=_publish)

    run = commands.add_parser(
        "run",
        help="run the Beam pipeline: Kafka -> transforms -> Elasticsearch",
        description="Read the raw topic, enrich every document and index it. Streams until "
        "stopped unless --until-idle is given.",
    )
    run.add_argument("--until-idle", action="store_true", help="stop once the topic is drained")
    run.add_argument(
        "--idle-seconds",
        type=float,
        default=5.0,
        help="with --until-idle: how long the topic must stay quiet before stopping (default 5)",
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        default=9464,
        help="serve Prometheus /metrics and /healthz on this port (default 9464; 0 = off)",
    )
    run.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address for /metrics and /healthz (default 127.0.0.1; 0.0.0.0 for a scraper "
        "on another machine)",
    )
    run.add_argument(
        "--log-format",
        choices=("json", "text"),
        default="json",
        help="json: one object per line with document id and stage (default); text: for people",
    )
    run.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="lowest level logged (default INFO)",
    )
    runners.add_arguments(run)
    run.set_defaults(handler=_run)

    demo = commands.add_parser(
        "demo",
        help="the main job: stack up, publish the seeds, run until idle, show results",
        description="Start the local stack, publish the seed articles, run the pipeline until "
        "idle, then print a table of what was indexed and the answer of one search.",
    )
    demo.add_argument("paths", nargs="*", default=["seeds"], help="articles (default: seeds/)")
    demo.set_defaults(handler=_demo)
