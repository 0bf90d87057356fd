"""The ``newsbeam`` command: one CLI whose subcommands live in ``pipelines/commands/``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

import pipelines.commands
from pipelines.settings import Settings, SettingsError, load

Handler = Callable[[argparse.Namespace, Settings], int]

# Flags that override settings; each maps to the Settings field of the same name.
_SETTING_FLAGS = {
    "--kafka-bootstrap": "Kafka bootstrap servers, host:port,... (NEWSBEAM_KAFKA_BOOTSTRAP)",
    "--es-url": "Elasticsearch URL (NEWSBEAM_ES_URL)",
    "--raw-topic": "Kafka topic of raw documents (NEWSBEAM_RAW_TOPIC)",
    "--dlq-topic": "Kafka topic of dead letters (NEWSBEAM_DLQ_TOPIC)",
    "--index-prefix": "prefix of every Elasticsearch index and alias (NEWSBEAM_INDEX_PREFIX)",
    "--data-dir": "where local services keep downloads, data and logs (NEWSBEAM_DATA_DIR)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbeam",
        description="Multilingual news ingestion: files, feeds -> Kafka -> Beam -> Elasticsearch.",
    )
    parser.add_argument(
        "--config", help="TOML config file (NEWSBEAM_CONFIG; default: ./newsbeam.toml)"
    )
    for flag, text in _SETTING_FLAGS.items():
        parser.add_argument(flag, help=text)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in pkgutil.iter_modules(pipelines.commands.__path__):
        module = importlib.import_module(f"pipelines.commands.{module_info.name}")
        module.register(commands)
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
