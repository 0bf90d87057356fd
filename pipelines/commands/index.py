"""``newsbeam index migrate``: a mapping change is a new index version and an alias swap."""

from __future__ import annotations

import argparse
import sys

from pipelines.settings import Settings


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.elasticsearch import (
        IndexLayoutError,
        client,
        migrate_index,
        wait_until_ready,
    )
    from transforms.entities import load_knowledge_base

    targets = {
        "articles": (settings.articles_alias, "articles"),
        "dead-letters": (settings.dlq_alias, "dead_letters"),
    }
    chosen = list(targets) if args.which == "all" else [args.which]
    es = client(settings)
    try:
        wait_until_ready(es, settings.es_url, settings.startup_timeout_s)
        for name in chosen:
            alias, mapping = targets[name]
            try:
                done = migrate_index(
                    es,
                    alias,
                    mapping,
                    delete_old=args.delete_old,
                    from_index=args.from_index,
                    recompute=not args.no_recompute,
                    kb=load_knowledge_base(settings.knowledge_base_file or None),
                )
            except IndexLayoutError as exc:
                print(f"newsbeam index migrate: {exc}", file=sys.stderr)
                return 1
            kept = "deleted" if done.old_deleted else "kept (no longer behind the alias)"
            print(
                f"{alias}: {done.old_index} -> {done.new_index}; copied {done.copied}, "
                f"caught up {done.caught_up} written during the copy; old index {kept}"
            )
    finally:
        es.close()
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    index = commands.add_parser(
        "index", help="manage the Elasticsearch indices", description="Index management."
    )
    index_commands = index.add_subparsers(dest="index_command", required=True)
    migrate = index_commands.add_parser(
        "migrate",
        help="move an alias to a new index version built from the current mapping",
        description="Create <alias>-v<N+1> from the current index template, copy every "
        "document into it (recomputing search_text with the current normalisation), swap the "
        "write alias atomically, then copy again what the pipeline wrote meanwhile. The old "
        "index leaves the alias in the same step, so no id is ever visible twice.",
    )
    migrate.add_argument(
        "which",
        nargs="?",
        choices=("articles", "dead-letters", "all"),
        default="articles",
        help="which alias (default: articles)",
    )
    migrate.add_argument(
        "--delete-old", action="store_true", help="delete the old index after the swap"
    )
    migrate.add_argument(
        "--no-recompute",
        action="store_true",
        help="copy documents as they are (server-side _reindex when the node has it)",
    )
    migrate.add_argument(
        "--from-index",
        help="adopt a concrete index that took the alias's name (it is deleted after the copy)",
    )
    migrate.set_defaults(handler=_migrate)
