"""``newsbeam entities top``: the entities named in the most articles, per type.

Registered into the ``newsbeam entities`` group through ``command_group``, so other
``entities`` subcommands can live in modules of their own.
"""

from __future__ import annotations

import argparse
import json
import sys

from pipelines.commands import ENTITIES_HELP, command_group
from pipelines.settings import Settings

ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _top(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.elasticsearch import client
    from connectors.search import SearchError, since_expression, top_entities

    try:
        since = since_expression(args.since) if args.since else None
    except SearchError as exc:
        print(f"newsbeam entities top: {exc}", file=sys.stderr)
        return 2
    es = client(settings)
    try:
        if not es.indices.exists_alias(name=settings.articles_alias):
            print(
                f"newsbeam entities top: there is no index {settings.articles_alias} at "
                f"{settings.es_url}; index articles first with `newsbeam demo` or `newsbeam run`.",
                file=sys.stderr,
            )
            return 1
        counts = top_entities(
            es,
            settings.articles_alias,
            since=since,
            size=args.size,
            languages=args.lang or (),
            entity_type=args.type,
        )
    finally:
        es.close()
    if args.json:
        for count in counts:
            print(json.dumps({"name": count.name, "articles": count.articles}, ensure_ascii=False))
        return 0
    width = max((len(c.name) for c in counts), default=6)
    print(f"{'entity'.ljust(width)}  articles")
    for count in counts:
        print(f"{count.name.ljust(width)}  {count.articles}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    entities = command_group(commands, "entities", ENTITIES_HELP)
    top = entities.add_parser(
        "top",
        help="the entities named in the most articles",
        description="The entities named in the most articles (each article counts once): "
        "the canonical name where linked, the spelling otherwise. --type counts one type "
        "only, from its own field (people, organisations, places, other), so a place is "
        "never counted because the article also names a person.",
    )
    top.add_argument("--type", choices=ENTITY_TYPES, type=str.upper, help="only this type")
    top.add_argument("--since", help="published since a date or an age (7d, 24h, 2w)")
    top.add_argument("--lang", type=_csv, help="only articles in these languages")
    top.add_argument("--size", type=int, default=20, help="how many entities (default 20)")
    top.add_argument("--json", action="store_true", help="one JSON object per entity")
    top.set_defaults(handler=_top)
