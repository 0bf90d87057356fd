"""The ``newsbeam`` command: one CLI, one subcommand per job.

Heavy imports (Beam, clients) happen inside the handlers so ``--help`` and the
offline ``process`` command start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pipelines.settings import Settings, SettingsError, load

Handler = Callable[[argparse.Namespace, Settings], int]

# Flags that override settings; each maps to the Settings field of the same name.
_SETTING_FLAGS = {
    "--kafka-bootstrap": "kafka bootstrap servers, host:port[,host:port] (NEWSBEAM_KAFKA_BOOTSTRAP)",
    "--es-url": "Elasticsearch URL (NEWSBEAM_ES_URL)",
    "--raw-topic": "Kafka topic of raw documents (NEWSBEAM_RAW_TOPIC)",
    "--dlq-topic": "Kafka topic of dead letters (NEWSBEAM_DLQ_TOPIC)",
    "--index-prefix": "prefix of every Elasticsearch index and alias (NEWSBEAM_INDEX_PREFIX)",
    "--data-dir": "where local services keep downloads, data and logs (NEWSBEAM_DATA_DIR)",
}


def _stack(args: argparse.Namespace, settings: Settings) -> int:
    from infra import stack

    if args.action == "up":
        report = stack.up(settings)
    elif args.action == "down":
        report = stack.down(settings)
    else:
        report = stack.status(settings)
    print(report.describe())
    return 0 if report.ok else 1


def _process(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.offline import process_paths

    return process_paths(args.paths, settings, out=sys.stdout, err=sys.stderr)


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.jobs import publish_files

    return publish_files(args.paths, settings)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.jobs import run_pipeline

    return run_pipeline(settings, until_idle=args.until_idle, idle_seconds=args.idle_seconds)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.jobs import demo

    return demo(settings, args.paths)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbeam",
        description="Multilingual news ingestion: files and feeds -> Kafka -> Beam -> Elasticsearch.",
    )
    parser.add_argument("--config", help="TOML config file (NEWSBEAM_CONFIG; default ./newsbeam.toml)")
    for flag, text in _SETTING_FLAGS.items():
        parser.add_argument(flag, help=text)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stack = commands.add_parser(
        "stack", help="start, stop or check the local Kafka and Elasticsearch",
        description="Obtain (from Maven Central, cached), start, stop and check the local "
        "Kafka broker and Elasticsearch node on 127.0.0.1.",
    )
    stack.add_argument("action", choices=["up", "down", "status"])
    stack.set_defaults(handler=_stack)

    process = commands.add_parser(
        "process", help="run the transforms offline and print one JSON document per line",
        description="Run the transforms on files or folders with no services; print one JSON "
        "object per accepted document on stdout and one line per rejected input on stderr. "
        "Exits 1 when any input was rejected.",
    )
    process.add_argument("paths", nargs="+", help="files or folders of articles")
    process.set_defaults(handler=_process)

    publish = commands.add_parser(
        "publish", help="publish article files to the raw Kafka topic",
        description="Read files or folders of articles and publish them to the raw topic, "
        "keyed by document id; rejected files go to the dead-letter topic with a reason.",
    )
    publish.add_argument("paths", nargs="+", help="files or folders of articles")
    publish.set_defaults(handler=_publish)

    run = commands.add_parser(
        "run", help="run the Beam pipeline: Kafka -> transforms -> Elasticsearch",
        description="Read the raw topic, enrich every document and index it. Streams forever "
        "unless --until-idle is given.",
    )
    run.add_argument("--until-idle", action="store_true", help="stop once the topic is drained")
    run.add_argument(
        "--idle-seconds", type=float, default=5.0,
        help="with --until-idle: how long the topic must stay quiet (default 5)",
    )
    run.set_defaults(handler=_run)

    demo = commands.add_parser(
        "demo", help="the main job: stack up, publish the seeds, run until idle, show results",
        description="Start the local stack, publish the seed articles, run the pipeline until "
        "idle, then print a table of what was indexed and the answer of one search.",
    )
    demo.add_argument("paths", nargs="*", default=["seeds"], help="articles (default: seeds/)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {
        flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"))
        for flag in _SETTING_FLAGS
    }
    try:
        settings = load(config_file=args.config, overrides=overrides)
    except SettingsError as exc:
        print(f"newsbeam: bad setting: {exc}", file=sys.stderr)
        return 2
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
