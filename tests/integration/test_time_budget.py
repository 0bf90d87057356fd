"""A document that holds a stage forever becomes a ``timeout`` dead letter in the real
pipeline, and the other documents of its bundle are indexed and committed."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.elasticsearch import client
from connectors.kafka import committed_offsets, end_offsets
from pipelines import ingest, stages
from pipelines.jobs import publish_files
from pipelines.settings import Settings
from transforms import chain
from transforms.document import Document

pytestmark = pytest.mark.integration

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
MARK = "NEVER-ENDING"


def _metadata_or_loop(doc: Document) -> Document:
    """The metadata stage, except that it never returns on a document with the mark."""
    while MARK in doc.text:
        pass
    return chain.extract_metadata(doc)


def _stages_with_a_loop(knowledge_base_file: str = "") -> tuple[chain.Stage, ...]:
    return tuple(
        chain.Stage("metadata", _metadata_or_loop) if stage.name == "metadata" else stage
        for stage in chain.build_stages(knowledge_base_file)
    )


def test_a_never_ending_stage_is_a_timeout_dead_letter_and_the_bundle_is_indexed(
    test_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stages, "build_stages", _stages_with_a_loop)
    seeds = sorted(SEEDS.iterdir())[:3]
    stuck = tmp_path / "stuck.txt"
    stuck.write_text(
        f"Khalifa Haftar met officials in Tripoli on Monday. {MARK}\n\nThe talks went on.\n",
        encoding="utf-8",
    )
    # One batch, one bundle: the stuck document sits between the good ones.
    assert publish_files([seeds[0], stuck, *seeds[1:]], test_settings) == 0
    settings = test_settings.replace(stage_timeout_s=1.0)
    ingest.run(settings, until_idle=True, idle_seconds=2.0)

    es = client(settings)
    try:
        es.indices.refresh(index=[settings.articles_alias, settings.dlq_alias])
        articles = es.search(index=settings.articles_alias, size=20)["hits"]["hits"]
        letters = es.search(index=settings.dlq_alias, size=20)["hits"]["hits"]
    finally:
        es.close()
    assert sorted(Path(a["_source"]["origin"]).name for a in articles) == [p.name for p in seeds]
    assert [(h["_source"]["stage"], h["_source"]["reason"]) for h in letters] == [
        ("metadata", "timeout")
    ]
    (letter,) = letters
    assert Path(letter["_source"]["origin"]).name == "stuck.txt"
    assert "metadata stage ran past its time budget of 1 s of CPU" in letter["_source"]["message"]
    ends = end_offsets(settings.kafka_bootstrap, settings.raw_topic)
    assert (
        committed_offsets(settings.kafka_bootstrap, settings.raw_topic, settings.consumer_group)
        == ends
    )
