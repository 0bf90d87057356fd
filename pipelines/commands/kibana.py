"""``newsbeam kibana setup``: import the saved objects in ``infra/kibana/`` into Kibana.

Uses the saved-objects import API with ``overwrite=true``: every object has a fixed id,
so running it again replaces them instead of adding copies (idempotent).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from connectors.redaction import redact_url, server_answer
from pipelines.settings import Settings

NDJSON = Path(__file__).resolve().parents[2] / "infra" / "kibana" / "newsbeam.ndjson"
DEFAULT_PREFIX = "news"


class KibanaError(RuntimeError):
    """Kibana refused or did not answer; the message says what to do."""


def saved_objects(settings: Settings, path: Path = NDJSON) -> list[dict[str, Any]]:
    """The packaged saved objects, with data views pointed at this installation's aliases
    and the "watched entities" panels at this installation's watchlist."""
    from infra.kibana.build import PACKAGED_WATCHED_QUERY, watched_query
    from transforms.alerts import load_watchlist

    titles = {
        f"{DEFAULT_PREFIX}-articles": settings.articles_alias,
        f"{DEFAULT_PREFIX}-dead-letters": settings.dlq_alias,
        f"{DEFAULT_PREFIX}-alerts": settings.alerts_alias,
    }
    watched = watched_query(load_watchlist(settings.watchlist_file or None).rules)
    objects = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    for item in objects:
        attributes = item["attributes"]
        if item["type"] == "index-pattern":
            attributes["title"] = titles.get(attributes["title"], attributes["title"])
        meta = attributes.get("kibanaSavedObjectMeta") or {}
        if "searchSourceJSON" in meta:
            source = json.loads(meta["searchSourceJSON"])
            query = source.get("query") or {}
            if query.get("query") == PACKAGED_WATCHED_QUERY:
                query["query"] = watched
                meta["searchSourceJSON"] = json.dumps(source)
    return objects


def multipart_body(filename: str, content: bytes) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with one ``file`` part; returns it and its content type."""
    boundary = f"newsbeam-{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + content + tail, f"multipart/form-data; boundary={boundary}"


def import_saved_objects(
    kibana_url: str,
    objects: list[dict[str, Any]],
    *,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """POST the objects to ``/api/saved_objects/_import?overwrite=true``; retry while Kibana
    starts (503) up to ``timeout_s``. Returns Kibana's answer; raises ``KibanaError``."""
    ndjson = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode("utf-8")
    body, content_type = multipart_body("newsbeam.ndjson", ndjson)
    url = kibana_url.rstrip("/") + "/api/saved_objects/_import?overwrite=true"
    headers = {"kbn-xsrf": "newsbeam", "Content-Type": content_type}
    shown = redact_url(kibana_url)
    token = ""
    if username:
        token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    deadline = time.monotonic() + timeout_s
    while True:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.loads(response.read())
            break
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or time.monotonic() > deadline:
                # The body may echo our request, Authorization header included.
                detail = server_answer(exc.read(), [password, token])
                exc.close()
                hint = (
                    "; check NEWSBEAM_ES_USERNAME / NEWSBEAM_ES_PASSWORD (a user allowed to "
                    "manage saved objects)"
                    if exc.code in (401, 403)
                    else ""
                )
                raise KibanaError(
                    f"Kibana at {shown} refused the import (HTTP {exc.code}: {detail}){hint}."
                ) from None
        except OSError as exc:
            if time.monotonic() > deadline:
                raise KibanaError(
                    f"Kibana at {shown} did not answer in {timeout_s:.0f} s "
                    f"({exc.__class__.__name__}); start it (docker compose up kibana) or pass "
                    "--kibana-url."
                ) from exc
        time.sleep(3)
    if not answer.get("success"):
        raise KibanaError(
            f"Kibana imported {answer.get('successCount', 0)} of {len(objects)} objects; "
            f"errors: {json.dumps(answer.get('errors', []))[:1000]}"
        )
    return answer


def _setup(args: argparse.Namespace, settings: Settings) -> int:
    from infra.kibana.build import DASHBOARD_TITLE
    from transforms.alerts import WatchlistError

    kibana_url = args.kibana_url or settings.kibana_url
    try:
        objects = saved_objects(settings)
    except WatchlistError as exc:
        print(f"newsbeam kibana setup: {exc}", file=sys.stderr)
        return 2
    try:
        answer = import_saved_objects(
            kibana_url,
            objects,
            username=settings.es_username,
            password=settings.es_password,
            timeout_s=args.timeout,
        )
    except KibanaError as exc:
        print(f"newsbeam kibana setup: {exc}", file=sys.stderr)
        return 1
    print(
        f"imported {answer.get('successCount', 0)} saved objects into {redact_url(kibana_url)} "
        f"(data views {settings.articles_alias}, {settings.dlq_alias}, {settings.alerts_alias}); "
        f"open Dashboards > '{DASHBOARD_TITLE}'"
    )
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kibana = commands.add_parser(
        "kibana", help="Kibana assets", description="Kibana data views, searches, dashboard."
    )
    kibana_commands = kibana.add_subparsers(dest="kibana_command", required=True)
    setup = kibana_commands.add_parser(
        "setup",
        help="import the data views, saved searches, visualisations and dashboard",
        description="Import infra/kibana/newsbeam.ndjson through Kibana's saved-objects API "
        "(overwrite=true, so it is safe to run again). Waits while Kibana is starting.",
    )
    setup.add_argument(
        "--kibana-url",
        help="Kibana base URL (default: the kibana_url setting, NEWSBEAM_KIBANA_URL)",
    )
    setup.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for Kibana (default 120)"
    )
    setup.set_defaults(handler=_setup)
