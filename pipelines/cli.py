"""The ``newsbeam`` command: one CLI whose subcommands live in ``pipelines/commands/``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

import pipelines.commands
from connectors.redaction import redact
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
        print(f"newsbeam: bad setting: {redact(str(exc))}", file=sys.stderr)
        return 2
    handler: Handler = args.handler
    try:
        _check_access(args, settings)
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        sentence = service_failure(exc, settings)
        if sentence is None:
            raise
        print(f"newsbeam {args.command}: {sentence}", file=sys.stderr)
        return 1


# The services each command talks to, (command, action) -> which; action None: any.
_NEEDS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("run", None): ("elasticsearch", "kafka"),
    ("demo", None): ("elasticsearch", "kafka"),
    ("publish", None): ("kafka",),
    ("search", None): ("elasticsearch",),
    ("entities", None): ("elasticsearch",),
    ("entities", "train"): (),
    ("index", None): ("elasticsearch",),
    ("alerts", None): ("elasticsearch", "kafka"),
    ("alerts", "check"): (),
    ("dlq", None): ("elasticsearch", "kafka"),
    ("feeds", "poll"): ("kafka",),
}


def _needs(args: argparse.Namespace) -> tuple[str, ...]:
    action = next(
        (getattr(args, name) for name in vars(args) if name.startswith(f"{args.command}_")),
        None,
    )
    return _NEEDS.get((args.command, action), _NEEDS.get((args.command, None), ()))


def _check_access(args: argparse.Namespace, settings: Settings) -> None:
    """Refused credentials or an untrusted certificate end here, in one sentence, before
    the command starts retry loops (a node or broker that is down is left to them)."""
    needs = _needs(args)
    if "elasticsearch" in needs:
        from connectors.elasticsearch import check_access

        check_access(settings)
    if "kafka" in needs and settings.kafka_options:
        from connectors.kafka import check_access as check_kafka

        check_kafka(settings.kafka_bootstrap, settings.kafka_options)


def service_failure(exc: BaseException, settings: Settings) -> str | None:
    """One redacted sentence for a failure of Elasticsearch or Kafka; ``None`` otherwise.

    The last line of defence against a traceback when a service is down or refuses us.
    """
    from kafka.errors import KafkaError

    from connectors.elasticsearch import IndexLayoutError, describe_error
    from connectors.kafka import KafkaAccessError, KafkaUnavailableError
    from connectors.redaction import redact
    from pipelines.observability import secrets_of

    sentence = describe_error(exc, settings)
    if sentence is None and isinstance(
        exc, KafkaAccessError | KafkaUnavailableError | IndexLayoutError
    ):
        sentence = str(exc)
    elif sentence is None and isinstance(exc, KafkaError):
        sentence = (
            f"Kafka at {settings.kafka_bootstrap} failed ({exc.__class__.__name__}); "
            "check that it runs (`newsbeam stack status`) and NEWSBEAM_KAFKA_* settings."
        )
    return None if sentence is None else redact(sentence, secrets_of(settings))


if __name__ == "__main__":
    sys.exit(main())
