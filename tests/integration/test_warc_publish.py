"""A WARC archive -> `newsbeam publish` -> Kafka -> pipeline -> Elasticsearch, on the real stack."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from connectors.elasticsearch import client
from pipelines import ingest
from pipelines.deadletters import read_letters
from pipelines.jobs import publish_files
from pipelines.settings import Settings
from tests.warc_pages import PAGES, golden_pages, write_warc

pytestmark = pytest.mark.integration


def test_a_crawl_is_published_indexed_and_its_bad_parts_dead_lettered(
    test_settings: Settings, tmp_path: Path
) -> None:
    pages = [
        *golden_pages(),
        ("https://v.example/1", (PAGES / "collapse/en-video-page.html").read_bytes()),
    ]
    archive = write_warc(tmp_path / "crawl.warc.gz", pages)
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(
        write_warc(tmp_path / "two.warc.gz", pages[:2], extras=False).read_bytes()[:-50]
    )

    out, err = io.StringIO(), io.StringIO()
    status = publish_files([archive, cut], test_settings, out=out, err=err)
    assert status == 1  # the truncated archive's rest is a dead letter
    # 7 pages from the crawl and the one whole page before the cut in the other archive.
    assert f"published 8 documents to {test_settings.raw_topic}; 1 rejected" in out.getvalue()
    assert "truncated_archive" in out.getvalue()
    assert "revisit 1" in err.getvalue()

    ingest.run(test_settings, until_idle=True, idle_seconds=2.0)
    es = client(test_settings)
    try:
        es.indices.refresh(index=test_settings.articles_alias)
        hits = es.search(index=test_settings.articles_alias, size=50)["hits"]["hits"]
        es.indices.refresh(index=test_settings.dlq_alias)
        letters = es.search(index=test_settings.dlq_alias, size=50)["hits"]["hits"]
    finally:
        es.close()
    docs = [hit["_source"] for hit in hits]
    # Six golden pages; the page in the cut archive is one of them (same canonical id).
    assert len(docs) == 6
    assert {d["extraction"]["method"] for d in docs} == {"precision"}
    assert {d["@timestamp"][:19] for d in docs} == {"2024-03-12T09:30:00"}
    assert "https://meridian.example/world/africa/haftar-forces-pull-back-tripoli" in {
        d["url"] for d in docs
    }
    # The pipeline's rejects are indexed; the reader's went to the dead-letter topic.
    assert [(h["_source"]["stage"], h["_source"]["reason"]) for h in letters] == [
        ("extract", "no_article")
    ]
    topic = {(s.letter.stage, s.letter.reason) for s in read_letters(test_settings)}
    assert ("read", "truncated_archive") in topic
