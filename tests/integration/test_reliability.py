"""Nothing lost, nothing doubled: `kill -9` mid-stream, and dead letters replayed after a fix.

These use the shared stack (they only kill the pipeline, never a service), each with its
own topics, indices and consumer group. The pipeline runs as `newsbeam run` in a
subprocess configured through NEWSBEAM_* variables, the way an operator runs it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Set
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from connectors.elasticsearch import client
from connectors.kafka import DocumentProducer, committed_offsets, end_offsets, ensure_topics
from pipelines.settings import Settings
from transforms.document import Document, document_id

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NEWSBEAM = str(Path(sys.executable).with_name("newsbeam"))

WORDS = [
    "council",
    "harbour",
    "minister",
    "budget",
    "river",
    "election",
    "farmers",
    "museum",
    "railway",
    "storm",
    "court",
    "hospital",
    "school",
    "bridge",
    "festival",
    "treaty",
    "market",
    "energy",
    "water",
    "village",
    "coast",
    "border",
    "union",
    "police",
    "market",
    "port",
    "airline",
    "factory",
    "strike",
    "vote",
    "reform",
    "summit",
    "drought",
    "wildfire",
    "bank",
    "tax",
    "housing",
    "climate",
    "orchestra",
    "library",
    "stadium",
    "highway",
    "ferry",
    "mine",
    "vineyard",
]


def news_text(rng: random.Random, number: int, haftar: bool = False) -> str:
    """A small plain-text article, unique by its number and its random words."""
    title = f"Report {number}: " + " ".join(rng.choice(WORDS) for _ in range(6)).capitalize()
    paragraphs = []
    for _ in range(3):
        sentence = " ".join(rng.choice(WORDS) for _ in range(18))
        paragraphs.append(f"The {sentence} were discussed on day {number}.")
    if haftar:
        paragraphs.insert(
            1, f"General Khalifa Haftar said on day {number} that talks in Libya go on."
        )
    return title + "\n\n" + "\n\n".join(paragraphs) + "\n"


def make_documents(count: int, seed: int, haftar_every: int = 0) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for number in range(count):
        text = news_text(rng, number, haftar=bool(haftar_every) and number % haftar_every == 0)
        docs.append(
            Document(
                id=document_id(content=text),
                origin=f"generated/{seed}/{number:05d}.txt",
                content=text,
                hints={"source": "reliability-test"},
            )
        )
    return docs


def publish(settings: Settings, docs: list[Document]) -> None:
    ensure_topics(settings.kafka_bootstrap, [settings.raw_topic, settings.dlq_topic])
    with DocumentProducer(
        settings.kafka_bootstrap, settings.raw_topic, settings.dlq_topic
    ) as producer:
        for doc in docs:
            producer.publish(doc)


def pipeline_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBEAM_")}
    for name in (
        "kafka_bootstrap",
        "es_url",
        "raw_topic",
        "dlq_topic",
        "alerts_topic",
        "consumer_group",
        "index_prefix",
        "data_dir",
        "bulk_size",
    ):
        env[f"NEWSBEAM_{name.upper()}"] = str(getattr(settings, name))
    return env


def start_pipeline(
    settings: Settings, log: Path, *flags: str, metrics_port: int = 0
) -> subprocess.Popen[bytes]:
    """`newsbeam run` in its own session (so a kill reaches only it), logging to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [NEWSBEAM, "run", "--metrics-port", str(metrics_port), *flags],
            env=pipeline_env(settings),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def run_until_idle(settings: Settings, log: Path, timeout_s: float = 400.0) -> None:
    process = start_pipeline(settings, log, "--until-idle", "--idle-seconds", "5")
    try:
        code = process.wait(timeout=timeout_s)
    finally:
        kill_hard(process)
    assert code == 0, log.read_text()[-3000:]


def indexed_count(settings: Settings) -> int:
    es = client(settings)
    try:
        if not es.indices.exists_alias(name=settings.articles_alias):
            return 0
        es.indices.refresh(index=settings.articles_alias)
        return int(es.count(index=settings.articles_alias)["count"])
    finally:
        es.close()


def indexed_ids(settings: Settings, alias: str | None = None) -> list[str]:
    """Every ``_id`` behind the alias, with repeats if an id were in two indices."""
    from elasticsearch import helpers

    es = client(settings)
    try:
        alias = alias or settings.articles_alias
        es.indices.refresh(index=alias)
        return [hit["_id"] for hit in helpers.scan(es, index=alias, source=False, size=1000)]
    finally:
        es.close()


def topic_values(settings: Settings, topic: str) -> list[bytes]:
    ends = end_offsets(settings.kafka_bootstrap, topic)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in ends]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        values: list[bytes] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp.partition] for tp in tps):
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for records in consumer.poll(timeout_ms=500).values():
                values += [r.value for r in records if r.offset < ends[r.partition]]
        return values
    finally:
        consumer.close()


def assert_exactly_once(
    settings: Settings, docs: list[Document], also: Set[str] = frozenset()
) -> None:
    """Every document indexed once, nothing else (but ``also``), offsets at the end."""
    ids = indexed_ids(settings)
    doubled = {i: n for i, n in Counter(ids).items() if n > 1}
    assert not doubled, f"{len(doubled)} ids indexed more than once"
    wanted = {d.id for d in docs} | set(also)
    assert set(ids) == wanted, (
        f"missing {len(wanted - set(ids))}, unexpected {len(set(ids) - wanted)}"
    )
    ends = end_offsets(settings.kafka_bootstrap, settings.raw_topic)
    committed = committed_offsets(
        settings.kafka_bootstrap, settings.raw_topic, settings.consumer_group
    )
    assert committed == ends, (committed, ends)


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for log in tmp_path.glob("*.log"):  # shown by pytest only when the test failed
        print(f"--- {log.name} (tail)\n{log.read_text(errors='replace')[-2000:]}")


def test_kill_9_while_indexing_5000_documents_loses_and_doubles_nothing(
    test_settings: Settings, logs: Path
) -> None:
    settings = test_settings.replace(bulk_size=200)
    docs = make_documents(5000, seed=9, haftar_every=100)  # 50 articles raise an alert each
    publish(settings, docs)

    pipeline = start_pipeline(settings, logs / "first.log")
    try:
        deadline = time.monotonic() + 300
        while (seen := indexed_count(settings)) < 1000:
            assert pipeline.poll() is None, (logs / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, f"only {seen} indexed in 300 s"
            time.sleep(0.5)
    finally:
        kill_hard(pipeline)
    at_kill = indexed_count(settings)
    committed = committed_offsets(
        settings.kafka_bootstrap, settings.raw_topic, settings.consumer_group
    )
    print(f"killed with {at_kill} indexed, committed offsets {committed}")
    assert at_kill < len(docs), "the kill came too late to prove anything"

    run_until_idle(settings, logs / "second.log")

    assert_exactly_once(settings, docs)
    assert indexed_count(settings) == len(docs)
    assert topic_values(settings, settings.dlq_topic) == []

    # Alerts: one per (rule, story) in the index, and none queued twice on the alerts topic.
    alert_ids = indexed_ids(settings, settings.alerts_alias)
    stories = haftar_stories(settings)
    assert len(stories) >= 20  # 50 articles; similar generated ones may share a story
    assert len(alert_ids) == len(set(alert_ids)) == len(stories)
    queued = [json.loads(v)["id"] for v in topic_values(settings, settings.alerts_topic)]
    repeats = {i: n for i, n in Counter(queued).items() if n > 1}
    print(f"alerts: {len(alert_ids)} stored, {len(queued)} queued, repeats {repeats}")
    assert set(queued) == set(alert_ids)
    assert not repeats


def test_dead_letters_are_listed_by_reason_and_a_replay_after_the_fix_indexes_once(
    test_settings: Settings, logs: Path
) -> None:
    """A write block on the index (what an operator or a full disk sets) refuses items with
    403: they are dead-lettered, not retried forever. Lift the block, replay: indexed once."""
    settings = test_settings
    docs = make_documents(60, seed=11)
    first, second = docs[:30], docs[30:]
    publish(settings, first)
    run_until_idle(settings, logs / "first.log")
    assert_exactly_once(settings, first)

    es = client(settings)
    try:
        es.indices.put_settings(
            index=settings.articles_alias, settings={"index.blocks.write": True}
        )
        publish(settings, second)
        run_until_idle(settings, logs / "blocked.log")
    finally:
        es.indices.put_settings(
            index=settings.articles_alias, settings={"index.blocks.write": None}
        )
        es.close()
    assert len(indexed_ids(settings)) == 30

    env = pipeline_env(settings)

    def dlq(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [NEWSBEAM, "dlq", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=check,
        )

    listed = dlq("list", "--stage", "index", "--json")
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {letter["document_id"] for letter in letters} == {d.id for d in second}
    assert {letter["reason"] for letter in letters} == {"cluster_block_exception"}
    assert all(letter["replayable"] and not letter["indexed_now"] for letter in letters)

    shown = dlq("show", letters[0]["ref"])
    assert json.loads(shown.stdout)["message"]  # the sentence Elasticsearch gave

    replayed = dlq("replay", "--reason", "cluster_block_exception", check=False)
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 30 dead letters" in replayed.stdout
    run_until_idle(settings, logs / "replayed.log")
    assert_exactly_once(settings, docs)

    # Replaying the same letters again changes nothing: same ids, upserted.
    dlq("replay", "--stage", "index")
    run_until_idle(settings, logs / "again.log")
    assert_exactly_once(settings, docs)
    after = dlq("list", "--stage", "index", "--json")
    assert all(json.loads(line)["indexed_now"] for line in after.stdout.splitlines())


def haftar_stories(settings: Settings) -> set[str]:
    """The stories of the indexed articles that name Khalifa Haftar: one alert each."""
    from elasticsearch import helpers

    es = client(settings)
    try:
        return {
            hit["_source"]["story"]["id"]
            for hit in helpers.scan(
                es,
                index=settings.articles_alias,
                query={"query": {"term": {"entities.canonical": "Khalifa Haftar"}}},
                source_includes=["story.id"],
            )
        }
    finally:
        es.close()


def metrics_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())
