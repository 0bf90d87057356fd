"""``newsbeam alerts tail|backfill|deliver|check``: watching what the watchlist raises."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from pipelines.settings import Settings


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _tail(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.alerting import tail_alerts

    tail_alerts(settings, _stop_on_signals(), from_beginning=args.from_beginning, as_json=args.json)
    return 0


def _backfill(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.alerting import backfill
    from transforms.alerts import WatchlistError

    try:
        backfill(settings, args.rule)
    except WatchlistError as exc:
        print(f"newsbeam alerts backfill: {exc}", file=sys.stderr)
        return 2
    return 0


def _deliver(args: argparse.Namespace, settings: Settings) -> int:
    from pipelines.alerting import deliver_alerts

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    workers = deliver_alerts(settings, _stop_on_signals(), retry_budget_s=args.retry_budget)
    for worker in workers:
        print(
            f"{worker.sink.key}: {worker.delivered} delivered, "
            f"{worker.dead_lettered} dead-lettered",
            file=sys.stderr,
        )
    return 1 if any(worker.error for worker in workers) else 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from transforms.alerts import WatchlistError, load_watchlist

    try:
        watchlist = load_watchlist(args.file or settings.watchlist_file or None)
    except WatchlistError as exc:
        print(f"newsbeam alerts check: {exc}", file=sys.stderr)
        return 2
    for rule in watchlist.rules:
        what = f"entity {rule.entity!r}" if rule.entity else f"query {list(rule.query)!r}"
        sinks = ", ".join(s.url or s.kind for s in rule.sinks)
        state = "" if rule.enabled else " (disabled)"
        print(f"{rule.name}: {what} -> {sinks}{state}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "alerts",
        help="show, backfill and deliver watchlist alerts",
        description="Alerts fire once per watchlist rule per story. They are stored in the "
        "alerts index and published to the alerts topic by the pipeline; `deliver` sends them "
        "to the console and webhooks the rules name.",
    )
    actions = parser.add_subparsers(dest="alerts_action", required=True, metavar="ACTION")

    tail = actions.add_parser("tail", help="print alerts as they arrive (Ctrl-C to stop)")
    tail.add_argument(
        "--from-beginning", action="store_true", help="show every alert on the topic first"
    )
    tail.add_argument("--json", action="store_true", help="one JSON object per alert")
    tail.set_defaults(handler=_tail)

    backfill = actions.add_parser(
        "backfill",
        help="evaluate one rule over what is already indexed (still once per story)",
        description="Run a new or changed rule over the articles index; stories that already "
        "alerted on that rule do not alert again. New alerts are queued for delivery.",
    )
    backfill.add_argument("rule", help="the rule's name in the watchlist")
    backfill.set_defaults(handler=_backfill)

    deliver = actions.add_parser(
        "deliver",
        help="deliver queued alerts to the console and webhooks until stopped",
        description="One consumer group per sink reads the alerts topic and commits only "
        "after the sink accepted an alert, so alerts raised while a webhook is down are "
        "delivered when it comes back; after the retry budget an alert is dead-lettered.",
    )
    deliver.add_argument(
        "--retry-budget",
        type=float,
        default=300.0,
        help="seconds to keep retrying one alert on one sink before dead-lettering it "
        "(default 300)",
    )
    deliver.set_defaults(handler=_deliver)

    check = actions.add_parser("check", help="validate the watchlist and list its rules")
    check.add_argument("file", nargs="?", help="a watchlist file (default: settings)")
    check.set_defaults(handler=_check)
