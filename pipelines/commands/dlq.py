"""``newsbeam dlq list | show | replay``: inspect what was rejected and why, replay after a fix."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from pipelines.settings import Settings


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.deadletters import indexed_ids, letter_summary, read_letters

    letters = read_letters(settings, stage=args.stage, reason=args.reason)
    indexed = indexed_ids(settings, (s.letter.document_id or "" for s in letters))
    if args.json:
        for stored in letters:
            row = letter_summary(stored) | {"indexed_now": stored.letter.document_id in indexed}
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if not letters:
        print(f"no dead letters in {settings.dlq_topic}" + _filters(args))
        return 0
    by_kind = Counter((s.letter.stage, s.letter.reason) for s in letters)
    print(f"{len(letters)} dead letters in {settings.dlq_topic}{_filters(args)}:")
    for (stage, reason), count in sorted(by_kind.items()):
        print(f"  {count:6d}  {stage}/{reason}")
    print()
    for stored in letters[-args.limit :] if args.limit else letters:
        letter = stored.letter
        state = "indexed now" if letter.document_id in indexed else ""
        copies = f" x{stored.copies}" if stored.copies > 1 else ""
        print(
            f"{stored.ref:>10}  {letter.at}  {letter.stage}/{letter.reason}{copies}  "
            f"{letter.document_id or '-'}  {_clip(letter.origin, 60)}  {state}".rstrip()
        )
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.deadletters import DeadLetterError, find_letter, letter_summary

    try:
        stored = find_letter(settings, args.ref)
    except DeadLetterError as exc:
        print(f"newsbeam dlq show: {exc}", file=sys.stderr)
        return 1
    body = letter_summary(stored) | {"document": stored.letter.document}
    if not args.full and body["document"] and len(body["document"].get("content", "")) > 2000:
        body["document"] = dict(body["document"])
        content = body["document"]["content"]
        body["document"]["content"] = content[:2000] + f"... ({len(content)} characters; --full)"
    print(json.dumps(body, ensure_ascii=False, indent=2))
    return 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.deadletters import DeadLetterError, find_letter, read_letters, replay

    if not (args.refs or args.stage or args.reason or args.all):
        print(
            "newsbeam dlq replay: say what to replay: refs, --stage, --reason, or --all.",
            file=sys.stderr,
        )
        return 2
    try:
        if args.refs:
            chosen = [find_letter(settings, ref) for ref in args.refs]
        else:
            chosen = read_letters(settings, stage=args.stage, reason=args.reason)
    except DeadLetterError as exc:
        print(f"newsbeam dlq replay: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        for stored in chosen:
            print(
                f"would replay {stored.ref} {stored.letter.stage}/{stored.letter.reason} "
                f"{stored.letter.document_id or stored.letter.origin}"
            )
        print(f"{len(chosen)} dead letters would be replayed to {settings.raw_topic}")
        return 0
    result = replay(settings, chosen)
    for stored, why in result.skipped:
        print(f"skipped {stored.ref}: {why}", file=sys.stderr)
    print(
        f"replayed {len(result.replayed)} dead letters to {settings.raw_topic}; "
        f"{len(result.skipped)} skipped. `newsbeam run` indexes them (same ids: no copies)."
    )
    return 1 if result.skipped else 0


def _filters(args: argparse.Namespace) -> str:
    parts = [
        f"stage={args.stage}" if args.stage else "",
        f"reason={args.reason}" if args.reason else "",
    ]
    text = ", ".join(p for p in parts if p)
    return f" ({text})" if text else ""


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="dead letters: list, show, replay",
        description="Inspect the dead-letter topic by stage and reason, show one letter, and "
        "replay letters after a fix: their raw document goes back to the raw topic under its "
        "own id, so the pipeline upserts it (never a second copy).",
    )
    actions = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="count and list dead letters by stage and reason")
    listing.add_argument("--stage", help="only this stage (read, decode, extract, index ...)")
    listing.add_argument("--reason", help="only this reason code (empty, binary, too_large ...)")
    listing.add_argument(
        "--limit", type=int, default=50, help="list the latest N letters (default 50; 0 = all)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per letter")
    listing.set_defaults(handler=_list)

    show = actions.add_parser("show", help="one dead letter in full, with its document")
    show.add_argument("ref", help="partition:offset, letter id, or document id")
    show.add_argument("--full", action="store_true", help="do not shorten long content")
    show.set_defaults(handler=_show)

    again = actions.add_parser("replay", help="republish dead letters' documents to the raw topic")
    again.add_argument("refs", nargs="*", help="partition:offset, letter id, or document id")
    again.add_argument("--stage", help="every letter of this stage")
    again.add_argument("--reason", help="every letter with this reason code")
    again.add_argument("--all", action="store_true", help="every letter in the topic")
    again.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    again.set_defaults(handler=_replay)
