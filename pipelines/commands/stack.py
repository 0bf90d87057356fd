"""``newsbeam stack up|down|status``: the local Kafka and Elasticsearch."""

from __future__ import annotations

import argparse

from pipelines.settings import Settings


def _stack(args: argparse.Namespace, settings: Settings) -> int:
    from infra.stack import down, status, up, users

    actions = {"up": up, "down": down, "status": status, "users": users}
    report = actions[args.action](settings)
    print(report.describe())
    return 0 if report.ok else 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "stack",
        help="start, stop or check the local Kafka and Elasticsearch; create their users",
        description="Obtain (from Maven Central, cached), start, stop and check the local "
        "Kafka broker and Elasticsearch node on 127.0.0.1. 'up' is idempotent and waits "
        "for health; 'down' leaves no process behind. 'users' (also part of 'up') creates "
        "the roles and credentials of the secured local node (docs/operations.md).",
    )
    parser.add_argument("action", choices=["up", "down", "status", "users"])
    parser.set_defaults(handler=_stack)
