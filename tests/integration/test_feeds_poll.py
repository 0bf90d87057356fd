"""Poll the local news site once and read the documents back from the real Kafka topics."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from connectors.feeds import PollState, Source, state_path
from pipelines.commands.feeds import build_poller
from pipelines.settings import Settings
from tests.unit.test_feeds_server import FeedServer
from transforms.document import DeadLetter, Document

pytestmark = pytest.mark.integration


with warnings.catch_warnings():
    # kafka-python 2.3 uses a deprecated importlib.resources call at import time; the
    # project's filterwarnings=error would turn that into a collection error.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaConsumer

    from connectors.kafka import DocumentProducer, ensure_topics


def _read(settings: Settings, topic: str, expected: int) -> list[bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=15_000,
    )
    try:
        values: list[bytes] = []
        for message in consumer:
            values.append(message.value)
            if len(values) >= expected:
                break
        return values
    finally:
        consumer.close()


def test_poll_once_publishes_articles_and_dead_letters(
    test_settings: Settings, tmp_path: Path
) -> None:
    with FeedServer() as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "sources:\n"
            "  - name: local-site\n"
            f"    feeds: [{site.url('/rss2.xml')}, {site.url('/atom.xml')}]\n"
            "    language: en\n    country: GB\n    interval: 10m\n",
            encoding="utf-8",
        )
        settings = test_settings.replace(
            sources_file=str(sources), data_dir=str(tmp_path), allow_private_addresses=True
        )
        ensure_topics(settings.kafka_bootstrap, [settings.raw_topic, settings.dlq_topic])
        with DocumentProducer(
            settings.kafka_bootstrap, settings.raw_topic, settings.dlq_topic
        ) as producer:
            poller = build_poller(settings, producer)
            assert [s.name for s in poller.sources] == ["local-site"]
            assert isinstance(poller.sources[0], Source)
            reports = poller.poll_once()
        assert sorted((r.status, r.published) for r in reports) == [("ok", 3), ("ok", 4)]

    docs = [Document.from_json(v) for v in _read(settings, settings.raw_topic, 7)]
    assert len(docs) == 7
    by_url = {d.url: d for d in docs}
    haftar = by_url[site.url("/world/africa/haftar-forces-pull-back-tripoli")]
    assert "Ain Zara district" in haftar.content
    assert haftar.hints["source"] == "local-site"
    dijk = by_url[site.url("/regio/dijkversterking-lek")]
    assert dijk.authors == ["Pieter van Dam"]
    assert "Lek tussen Culemborg en Vianen" in dijk.content

    [letter] = [DeadLetter.from_json(v) for v in _read(settings, settings.dlq_topic, 1)]
    assert (letter.stage, letter.reason) == ("fetch", "not_html")

    state = PollState.load(state_path(str(tmp_path)))
    assert state.health["local-site"].items_total == 8


def test_feeds_poll_once_over_a_hostile_site_publishes_the_good_and_records_the_bad(
    test_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 18, finding 1: `feeds poll --once` used to exit 1 within seconds on such feeds."""
    from pipelines.cli import main
    from tests.unit.hostile_site import FEED_CASES, HostileSite

    # Cases that need the test resolver (an IDN host, a metadata name) stay in the unit test.
    cases = {
        p: r
        for p, r in FEED_CASES.items()
        if p not in ("/feed/nonascii-links.xml", "/feed/redirect-metadata.xml")
    }
    with FeedServer() as site, HostileSite() as hostile:
        entries = [
            f"  - name: good\n    feeds: [{site.url('/rss2.xml')}, {site.url('/atom.xml')}]\n"
        ]
        entries += [
            f"  - name: hostile-{i:02d}\n    feeds: ['{hostile.url(path)}']\n"
            for i, path in enumerate(cases)
        ]
        sources = tmp_path / "sources.yaml"
        sources.write_text("sources:\n" + "".join(entries), encoding="utf-8")
        settings = test_settings.replace(sources_file=str(sources), data_dir=str(tmp_path))
        environment = {
            "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "RAW_TOPIC": settings.raw_topic,
            "DLQ_TOPIC": settings.dlq_topic,
            "SOURCES_FILE": str(sources),
            "DATA_DIR": str(tmp_path),
            "FETCH_ALLOW": "127.0.0.1/32",
            "FETCH_TIMEOUT_S": "1",
        }
        for key, value in environment.items():
            monkeypatch.setenv(f"NEWSBEAM_{key}", value)
        monkeypatch.chdir(tmp_path)
        assert main(["feeds", "poll", "--once"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err

    state = PollState.load(state_path(str(tmp_path)))
    assert state.health["good"].items_total == 8
    for i, (path, reason) in enumerate(cases.items()):
        health = state.health[f"hostile-{i:02d}"]
        if reason == "ok":
            assert health.consecutive_errors == 0, (path, health.last_error)
        else:
            assert (health.last_error or "").startswith(f"{reason}: "), (path, health.last_error)
            assert reason in out

    good_urls = {site.url(p) for p in ("/rss2.xml", "/atom.xml")}
    published = sum(h.items_total for h in state.health.values())
    docs = [Document.from_json(v) for v in _read(settings, settings.raw_topic, published)]
    good = [d for d in docs if d.hints.get("feed") in good_urls]
    assert len(good) == 7
    assert {d.hints["source"] for d in docs} >= {"good", "hostile-00"}
    surrogates = [d for d in docs if d.title and d.title.startswith("Broken")]
    assert surrogates, "the JSON Feed with lone surrogates reached Kafka"
