"""Seeds -> Kafka -> Beam pipeline -> Elasticsearch, on the real local stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaProducer

from connectors.elasticsearch import client
from connectors.kafka import committed_offsets, end_offsets, ensure_topics
from pipelines import ingest
from pipelines.jobs import publish_files
from pipelines.settings import Settings

pytestmark = pytest.mark.integration

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _run(settings: Settings) -> None:
    ingest.run(settings, until_idle=True, idle_seconds=2.0)


def _articles(settings: Settings) -> list[dict]:
    es = client(settings)
    try:
        es.indices.refresh(index=settings.articles_alias)
        hits = es.search(index=settings.articles_alias, size=100)["hits"]["hits"]
        return [hit["_source"] for hit in hits]
    finally:
        es.close()


def test_seeds_are_indexed_once_and_linked_and_a_rerun_adds_nothing(
    test_settings: Settings,
) -> None:
    assert publish_files([SEEDS], test_settings) == 0
    _run(test_settings)
    docs = _articles(test_settings)
    assert sorted(Path(d["origin"]).name for d in docs) == sorted(p.name for p in SEEDS.iterdir())
    assert {d["language"] for d in docs} == {"da", "nl", "en"}
    for doc in docs:
        canonicals = {e["canonical"] for e in doc["entities"]}
        assert "Khalifa Haftar" in canonicals, doc["origin"]

    es = client(test_settings)
    try:
        found = es.search(
            index=test_settings.articles_alias,
            query={"term": {"entities.canonical": "Khalifa Haftar"}},
        )["hits"]["total"]["value"]
    finally:
        es.close()
    assert found == 5

    # Offsets were committed after indexing: the group is at the end of the topic.
    ends = end_offsets(test_settings.kafka_bootstrap, test_settings.raw_topic)
    assert (
        committed_offsets(
            test_settings.kafka_bootstrap, test_settings.raw_topic, test_settings.consumer_group
        )
        == ends
    )

    # The same seeds again, read by a fresh consumer group from the start: still five.
    assert publish_files([SEEDS], test_settings) == 0
    _run(test_settings.replace(consumer_group=test_settings.consumer_group + "-again"))
    assert len(_articles(test_settings)) == 5


def test_a_bad_record_is_dead_lettered_and_the_rest_flows(test_settings: Settings) -> None:
    ensure_topics(test_settings.kafka_bootstrap, [test_settings.raw_topic])
    producer = KafkaProducer(bootstrap_servers=test_settings.kafka_bootstrap)
    producer.send(test_settings.raw_topic, key=b"junk", value=b"\x00not json at all")
    producer.flush()
    producer.close()
    assert publish_files([SEEDS / "003_06b97083d1090c06.txt"], test_settings) == 0
    _run(test_settings)
    docs = _articles(test_settings)
    assert [Path(d["origin"]).name for d in docs] == ["003_06b97083d1090c06.txt"]

    es = client(test_settings)
    try:
        es.indices.refresh(index=test_settings.dlq_alias)
        letters = es.search(index=test_settings.dlq_alias)["hits"]["hits"]
    finally:
        es.close()
    assert [(h["_source"]["stage"], h["_source"]["reason"]) for h in letters] == [
        ("decode", "bad_record")
    ]


@pytest.mark.slow
def test_a_streaming_run_commits_and_dead_letters_while_it_runs(
    test_settings: Settings, tmp_path: Path
) -> None:
    """Without --until-idle the run never ends: commits and dead letters must not wait for it."""
    import time

    from tests.integration.test_reliability import kill_hard, start_pipeline

    ensure_topics(test_settings.kafka_bootstrap, [test_settings.raw_topic])
    process = start_pipeline(test_settings, tmp_path / "run.log")
    try:
        assert publish_files([SEEDS], test_settings) == 0
        producer = KafkaProducer(bootstrap_servers=test_settings.kafka_bootstrap)
        producer.send(test_settings.raw_topic, key=b"junk", value=b"not json")
        producer.flush()
        producer.close()
        ends = end_offsets(test_settings.kafka_bootstrap, test_settings.raw_topic)
        deadline = time.monotonic() + 120
        committed: dict[int, int | None] = {}
        while time.monotonic() < deadline and process.poll() is None:
            committed = committed_offsets(
                test_settings.kafka_bootstrap,
                test_settings.raw_topic,
                test_settings.consumer_group,
            )
            if committed == ends:
                break
            time.sleep(1)
        assert process.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
        assert committed == ends
        assert len(_articles(test_settings)) == 5
        es = client(test_settings)
        try:
            es.indices.refresh(index=test_settings.dlq_alias)
            letters = es.count(index=test_settings.dlq_alias)["count"]
        finally:
            es.close()
        assert letters == 1
    finally:
        kill_hard(process)
