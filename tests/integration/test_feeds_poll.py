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
