"""One corpus, several runners and worker counts: the same articles, stories and alerts.

The raw topic has four partitions (documents keyed by id), so with two workers
(``newsbeam run --workers 2``: two processes, two partitions each) the partitions are
read at the same time, and alert de-duplication (``op_type=create`` on rule+story in
Elasticsearch) is exercised by concurrent writers. Every run reads the same topic
with its own consumer group into its own indices.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connectors.elasticsearch import client
from connectors.kafka import (
    DocumentProducer,
    committed_offsets,
    end_offsets,
    ensure_partitions,
    ensure_topics,
)
from infra.flink import obtain_prism
from infra.kafka_broker import PrepareError
from pipelines import runners
from pipelines.cli import build_parser
from pipelines.jobs import publish_files
from pipelines.settings import Settings
from transforms.document import Document, document_id

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
PARTITIONS = 4


def corpus(folder: Path) -> Path:
    """The seeds plus a syndicated, lightly edited copy of seed 003 (same story)."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed in sorted(SEEDS.iterdir()):
        (folder / seed.name).write_bytes(seed.read_bytes())
    text = next(SEEDS.glob("003_*.txt")).read_text(encoding="utf-8")
    edited = text.replace("last night", "late last night", 1)
    (folder / "mirror_003.txt").write_text(edited, encoding="utf-8")
    return folder


def publish_corpus(settings: Settings, folder: Path) -> int:
    ensure_topics(
        settings.kafka_bootstrap, [settings.raw_topic, settings.dlq_topic], partitions=PARTITIONS
    )
    assert publish_files([folder], settings) == 0
    return len(list(folder.iterdir()))


def run_as(settings: Settings, tag: str, choice: runners.RunnerChoice) -> Settings:
    """Run the pipeline over ``settings.raw_topic`` into indices and a group of its own."""
    own = settings.replace(
        index_prefix=f"{settings.index_prefix}-{tag}",
        consumer_group=f"{settings.consumer_group}-{tag}",
        alerts_topic=f"{settings.alerts_topic}.{tag}",
    )
    if choice.name == "direct" and choice.workers > 1:  # the path of `newsbeam run --workers N`
        args = build_parser().parse_args(
            ["run", "--until-idle", "--idle-seconds=2", "--metrics-port=0",
             f"--workers={choice.workers}", "--log-format=text"]
        )  # fmt: skip
        assert args.handler(args, own) == 0
    else:
        runners.run(own, choice, until_idle=True, idle_seconds=2.0)
    return own


def outcome(settings: Settings) -> dict[str, Any]:
    """What a run left in Elasticsearch, in terms that do not depend on processing order."""
    es = client(settings)
    try:
        es.indices.refresh(index=[settings.articles_alias, settings.alerts_alias])
        articles = es.search(index=settings.articles_alias, size=1000)["hits"]["hits"]
        alerts = es.search(index=settings.alerts_alias, size=1000)["hits"]["hits"]
    finally:
        es.close()
    committed = committed_offsets(
        settings.kafka_bootstrap, settings.raw_topic, settings.consumer_group
    )
    ends = end_offsets(settings.kafka_bootstrap, settings.raw_topic)
    origin = {hit["_id"]: Path(hit["_source"]["origin"]).name for hit in articles}
    members: dict[str, set[str]] = {}
    for hit in articles:
        members.setdefault(hit["_source"]["story"]["id"], set()).add(origin[hit["_id"]])
    return {
        "ids": Counter(hit["_id"] for hit in articles),
        "languages": {origin[h["_id"]]: h["_source"]["language"] for h in articles},
        "stories": {frozenset(files) for files in members.values()},
        "alerts": Counter(
            (a["_source"]["rule"], frozenset(members.get(a["_source"]["story_id"], ())))
            for a in alerts
        ),
        # An empty partition has nothing to commit: None there means "at the end" too.
        "offsets_at_end": all((committed.get(p) or 0) == end for p, end in ends.items()),
    }


def assert_same(reference: dict[str, Any], other: dict[str, Any], published: int) -> None:
    assert sum(other["ids"].values()) == published  # nothing lost, nothing doubled
    assert other["ids"] == reference["ids"]
    assert other["languages"] == reference["languages"]
    assert other["stories"] == reference["stories"]
    assert other["alerts"] == reference["alerts"]
    assert all(count == 1 for count in other["alerts"].values())
    assert other["offsets_at_end"]


def reference_run(test_settings: Settings, tmp_path: Path) -> tuple[dict[str, Any], int]:
    """The corpus published to a 4-partition topic and run once on the FnApiRunner."""
    published = publish_corpus(test_settings, corpus(tmp_path / "corpus"))
    done = run_as(test_settings, "direct1", runners.RunnerChoice("direct", workers=1))
    result = outcome(done)
    # The copy joined its original: 6 files, 5 stories, one alert per story.
    assert sum(result["ids"].values()) == published == 6
    assert {"mirror_003.txt", "003_06b97083d1090c06.txt"} in result["stories"]
    assert len(result["stories"]) == 5
    assert len(result["alerts"]) == 5
    assert result["offsets_at_end"]
    return result, published


@pytest.fixture
def reference(test_settings: Settings, tmp_path: Path) -> tuple[dict[str, Any], int]:
    return reference_run(test_settings, tmp_path)


def test_two_worker_processes_give_the_same_articles_stories_and_alerts(
    test_settings: Settings, reference: tuple[dict[str, Any], int]
) -> None:
    expected, published = reference
    done = run_as(test_settings, "direct2", runners.RunnerChoice("direct", workers=2))
    assert_same(expected, outcome(done), published)


def test_prism_gives_the_same_articles_stories_and_alerts(
    test_settings: Settings, tmp_path: Path
) -> None:
    try:
        binary, _ = obtain_prism(test_settings)  # built once with go, then cached
    except PrepareError as exc:
        pytest.skip(f"no Prism binary: {exc}")
    expected, published = reference_run(test_settings, tmp_path)
    done = run_as(test_settings, "prism", runners.RunnerChoice("prism", prism_location=str(binary)))
    assert_same(expected, outcome(done), published)


def test_two_workers_keep_reading_after_their_first_batch(test_settings: Settings) -> None:
    """Each worker's partition holds many batches; every document is indexed once."""
    settings = test_settings.replace(bulk_size=10)
    ensure_topics(settings.kafka_bootstrap, [settings.raw_topic, settings.dlq_topic])
    # `newsbeam run --workers 2` grows a 1-partition topic so each worker owns one.
    assert ensure_partitions(settings.kafka_bootstrap, settings.raw_topic, 2) == 2
    words = ["river", "harbour", "council", "budget", "school", "storm", "railway", "museum"]
    with DocumentProducer(
        settings.kafka_bootstrap, settings.raw_topic, settings.dlq_topic
    ) as producer:
        for n in range(120):
            picked = " ".join(words[(n * k + n // 8) % len(words)] for k in range(1, 8))
            content = f"Local news {n}\n\nThe {picked} report number {n} was published today.\n"
            producer.publish(
                Document(id=document_id(content=content), origin=f"gen/{n}.txt", content=content)
            )
    ends = end_offsets(settings.kafka_bootstrap, settings.raw_topic)
    assert min(ends.values()) > 3 * settings.bulk_size  # several batches in each partition
    done = run_as(settings, "direct2", runners.RunnerChoice("direct", workers=2))
    result = outcome(done)
    assert sum(result["ids"].values()) == 120
    assert set(result["ids"].values()) == {1}
    assert result["offsets_at_end"]
