"""Alerts on the real stack: once per story, in every language, delivered through an outage."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connectors.elasticsearch import client
from pipelines import ingest
from pipelines.alerting import backfill, deliver_alerts
from pipelines.jobs import publish_files
from pipelines.settings import Settings

pytestmark = pytest.mark.integration

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
RULE = "haftar"

GERMAN = """Libyen: Haftars Truppen rücken auf Tripolis vor

Der libysche General Chalifa Haftar hat seinen Einheiten befohlen, auf die Hauptstadt Tripolis
vorzurücken. Haftars Truppen hätten bereits mehrere Orte südlich der Stadt eingenommen, teilte
ein Sprecher seiner selbsternannten Libyschen Nationalen Armee mit. Die international anerkannte
Regierung von Fajis al-Sarradsch versetzte ihre Verbände in Alarmbereitschaft. UN-Generalsekretär
António Guterres, der sich zu Gesprächen in Libyen aufhielt, zeigte sich tief besorgt und rief
alle Seiten zur Zurückhaltung auf.
"""

TURKISH = """Bu hafta İstanbul'da hava durumu

Meteoroloji, bu hafta boyunca İstanbul'da yağmurlu ve serin bir hava beklendiğini açıkladı.
Hafta sonunda sıcaklıkların artması bekleniyor. Geçen hafta da şehirde sağanak yağışlar
etkili olmuştu. Vatandaşların hafta içinde şemsiyelerini yanlarında bulundurmaları öneriliyor.
"""


class _Receiver:
    """A webhook receiver on 127.0.0.1 that records every JSON body; can go down and up."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    server.start()
    yield server
    server.stop()


def _watchlist(tmp_path: Path, receiver: _Receiver) -> Path:
    path = tmp_path / "watchlist.yaml"
    path.write_text(
        f"""rules:
  - name: {RULE}
    entity: Khalifa Haftar
    sinks:
      - webhook: http://127.0.0.1:{receiver.port}/hook
        format: slack
""",
        encoding="utf-8",
    )
    return path


def _alerts(settings: Settings) -> list[dict[str, Any]]:
    es = client(settings)
    try:
        es.indices.refresh(index=settings.alerts_alias)
        hits = es.search(index=settings.alerts_alias, size=100)["hits"]["hits"]
        return [hit["_source"] for hit in hits]
    finally:
        es.close()


def _story_of(settings: Settings, origin_suffix: str) -> str:
    es = client(settings)
    try:
        es.indices.refresh(index=settings.articles_alias)
        hits = es.search(index=settings.articles_alias, size=100)["hits"]["hits"]
    finally:
        es.close()
    (story,) = [
        h["_source"]["story"]["id"] for h in hits if h["_source"]["origin"].endswith(origin_suffix)
    ]
    return str(story)


def _run(settings: Settings) -> None:
    ingest.run(settings, until_idle=True, idle_seconds=2)


def _wait_for(condition: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())


def test_once_per_story_in_every_language_across_replays_and_webhook_outage(
    test_settings: Settings, receiver: _Receiver, tmp_path: Path
) -> None:
    settings = test_settings.replace(watchlist_file=str(_watchlist(tmp_path, receiver)))

    # The five seeds: five different articles, one alert each.
    assert publish_files(sorted(SEEDS.glob("*.txt")), settings) == 0
    _run(settings)
    alerts = _alerts(settings)
    assert len(alerts) == 5
    assert {a["rule"] for a in alerts} == {RULE}
    assert {a["entity"] for a in alerts} == {"Khalifa Haftar"}
    assert len({a["story_id"] for a in alerts}) == 5
    assert all(a["queued"] for a in alerts)
    by_origin = {Path(a["origin"]).name[:3]: a for a in alerts}
    assert "Hafter" in by_origin["004"]["variants"]
    assert "Haftars" in by_origin["002"]["variants"]
    assert all(a["snippet"] and a["ingested_at"] and a["alerted_at"] for a in alerts)

    # A syndicated, lightly edited copy of seed 003 from another origin: same story, no alert.
    seed_003 = next(SEEDS.glob("003_*.txt")).read_text(encoding="utf-8")
    copy = tmp_path / "syndicated" / "mirror_003.txt"
    copy.parent.mkdir()
    copy.write_text(seed_003.replace("last night", "late last night", 1), encoding="utf-8")
    # Another language and spelling: a different article, one alert. Turkish "hafta": none.
    german = tmp_path / "de_haftar.txt"
    german.write_text(GERMAN, encoding="utf-8")
    turkish = tmp_path / "tr_hafta.txt"
    turkish.write_text(TURKISH, encoding="utf-8")

    # The webhook is down while these are raised: they wait, and arrive when it is back.
    port = receiver.port
    receiver.stop()
    assert publish_files([copy, german, turkish], settings) == 0
    _run(settings)
    alerts = _alerts(settings)
    assert len(alerts) == 6
    (new,) = [a for a in alerts if a["origin"].endswith("de_haftar.txt")]
    assert new["language"] == "de"
    assert set(new["variants"]) >= {"Chalifa Haftar", "Haftars"}
    assert _story_of(settings, "mirror_003.txt") == _story_of(settings, "003_06b97083d1090c06.txt")

    stop = threading.Event()
    worker = threading.Thread(
        target=deliver_alerts, args=(settings, stop), kwargs={"retry_budget_s": 120.0}
    )
    worker.start()
    try:
        time.sleep(3)  # the delivery worker retries against the closed port
        assert receiver.bodies == []
        receiver.port = port
        receiver.start()
        assert _wait_for(lambda: len(receiver.bodies) >= 6, 60), receiver.bodies
        time.sleep(1)
        delivered = [body["alert"] for body in receiver.bodies]
        assert len(delivered) == 6
        assert {a["id"] for a in delivered} == {a["id"] for a in alerts}
        assert all("Khalifa Haftar" in body["text"] for body in receiver.bodies)

        # Restart and replay the raw topic from the start with a new consumer group: nothing new.
        _run(settings.replace(consumer_group=settings.consumer_group + "-replay"))
        assert len(_alerts(settings)) == 6
        # Backfilling the rule over the index finds every story already alerted.
        assert backfill(settings, RULE) == (0, 6)
        time.sleep(2)
        assert len(receiver.bodies) == 6
    finally:
        stop.set()
        worker.join(timeout=60)
