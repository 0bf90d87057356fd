"""``newsbeam search QUERY`` and ``newsbeam entities top``: the index from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from pipelines.commands.entities import add_train_parser
from pipelines.settings import Settings

BOLD, RESET = "\x1b[1m", "\x1b[0m"


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.elasticsearch import client
    from connectors.search import (
        SearchError,
        SearchRequest,
        language_fields,
        resolve_entities,
        search_articles,
        since_expression,
    )
    from transforms.entities import load_knowledge_base

    kb = load_knowledge_base(settings.knowledge_base_file or None)
    languages = tuple(args.lang or ())
    try:
        since = since_expression(args.since) if args.since else None
    except SearchError as exc:
        print(f"newsbeam search: {exc}", file=sys.stderr)
        return 2
    entities = tuple(
        (resolve_entities(name, kb, languages) or [name])[0] for name in (args.entity or ())
    )
    es = client(settings)
    try:
        if not es.indices.exists_alias(name=settings.articles_alias):
            print(
                f"newsbeam search: there is no index {settings.articles_alias} at "
                f"{settings.es_url}; index articles first with `newsbeam demo` or `newsbeam run`.",
                file=sys.stderr,
            )
            return 1
        request = SearchRequest(
            query=args.query,
            languages=languages,
            entities=entities,
            sources=tuple(args.source or ()),
            since=since,
            size=args.size,
            resolved=tuple(resolve_entities(args.query, kb, languages or ("und",))),
            language_fields=language_fields(es, settings.articles_alias, languages),
        )
        hits = search_articles(es, settings.articles_alias, request)
    finally:
        es.close()
    if args.json:
        for hit in hits:
            record = hit.to_dict()
            record["snippet"] = record["snippet"].replace("\x02", "").replace("\x03", "")
            print(json.dumps(record, ensure_ascii=False))
        return 0
    print_hits(hits, request.resolved, sys.stdout)
    return 0


def print_hits(hits: list[Any], resolved: tuple[str, ...], out: TextIO) -> None:
    """Title, outlet, date, language and the snippet with matches marked."""
    bold = out.isatty()
    if resolved:
        print(f"entities: {', '.join(resolved)}", file=out)
    print(f"{len(hits)} hit(s)", file=out)
    for number, hit in enumerate(hits, 1):
        date = hit.published or (f"received {hit.ingested[:10]}" if hit.ingested else "-")
        print(
            f"\n{number}. {hit.title or '(no title)'}\n"
            f"   {hit.outlet or '-'} | {date} | {hit.language or 'und'} | {hit.origin or hit.url}",
            file=out,
        )
        start, end = (BOLD, RESET) if bold else ("**", "**")
        print("   " + hit.snippet.replace("\x02", start).replace("\x03", end), file=out)


def _top(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.elasticsearch import client
    from connectors.search import SearchError, since_expression, top_entities
    from transforms.entities import load_knowledge_base

    try:
        since = since_expression(args.since) if args.since else None
    except SearchError as exc:
        print(f"newsbeam entities top: {exc}", file=sys.stderr)
        return 2
    only = None
    if args.type:
        kb = load_knowledge_base(settings.knowledge_base_file or None)
        only = [e.name for e in kb.entities.values() if e.label == args.type]
    es = client(settings)
    try:
        counts = top_entities(
            es,
            settings.articles_alias,
            since=since,
            size=args.size,
            languages=args.lang or (),
            only=only,
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
    search = commands.add_parser(
        "search",
        help="search the indexed articles across languages and spellings",
        description="Search the articles index. The query matches in every language: its "
        "words are stemmed and folded like the indexed text, and the entities it names are "
        "resolved through the knowledge base, so 'Hafter' finds articles that wrote 'Haftar' "
        "or 'Haftars', and 'Libya' finds 'Libyen' and 'Libië'.",
    )
    search.add_argument("query", help="words or a name, e.g. 'Haftar Tripoli'")
    search.add_argument(
        "--lang", type=_csv, help="only articles in these languages, e.g. en,nl (ISO 639-1)"
    )
    search.add_argument(
        "--entity",
        action="append",
        help="only articles linked to this entity (any alias; repeatable)",
    )
    search.add_argument("--source", action="append", help="only this outlet (repeatable)")
    search.add_argument(
        "--since", help="published since a date (2019-04-05) or an age (7d, 24h, 2w)"
    )
    search.add_argument("--size", type=int, default=10, help="how many hits (default 10)")
    search.add_argument("--json", action="store_true", help="one JSON object per hit")
    search.set_defaults(handler=_search)

    entities = commands.add_parser(
        "entities", help="what the index says about entities", description="Entity reports."
    )
    entity_commands = entities.add_subparsers(dest="entities_command", required=True)
    add_train_parser(entity_commands)
    top = entity_commands.add_parser(
        "top",
        help="the most mentioned entities",
        description="The linked entities named in the most articles (each article counts once).",
    )
    top.add_argument("--since", help="published since a date or an age (7d, 24h, 2w)")
    top.add_argument("--lang", type=_csv, help="only articles in these languages")
    top.add_argument("--type", choices=("PER", "ORG", "LOC", "MISC"), help="only this type")
    top.add_argument("--size", type=int, default=20, help="how many entities (default 20)")
    top.add_argument("--json", action="store_true", help="one JSON object per entity")
    top.set_defaults(handler=_top)
