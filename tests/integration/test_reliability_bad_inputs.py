"""Over a thousand generated bad inputs go through with zero crashes: each one is
dead-lettered with a reason (or, for the kinds the transforms accept as text, indexed
once), and the good documents published around them are all indexed exactly once."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from connectors.kafka import DocumentProducer
from pipelines.jobs import publish_files
from pipelines.settings import Settings
from tests.data.bad_inputs.generate import html_bombs, write_corpus
from tests.integration.test_reliability import (
    assert_exactly_once,
    indexed_ids,
    make_documents,
    publish,
    run_until_idle,
    topic_values,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Decodable inputs a stage may accept as text. None since extract rejects text of fewer
# than three words (a 1 MB line of one "word", a page of nothing but '&').
ACCEPTED_AS_TEXT: frozenset[str] = frozenset()


def test_a_thousand_bad_inputs_crash_nothing_and_good_documents_still_flow(
    test_settings: Settings,
    tmp_path: Path,
) -> None:
    files = write_corpus(tmp_path / "corpus", per_kind=120)
    bombs = html_bombs(per_kind=12)
    good = make_documents(150, seed=21)
    assert len(files) + len(bombs) >= 1000

    publish(test_settings, good[:50])
    with (tmp_path / "publish.out").open("w") as out:
        publish_files(sorted(files), test_settings, out=out)
    publish(test_settings, good[50:100])
    with DocumentProducer(
        test_settings.kafka_bootstrap, test_settings.raw_topic, test_settings.dlq_topic
    ) as producer:
        for _kind, doc in bombs.values():
            producer.publish(doc)
    publish(test_settings, good[100:])

    run_until_idle(test_settings, tmp_path / "pipeline.log", timeout_s=600)

    letters = [json.loads(v) for v in topic_values(test_settings, test_settings.dlq_topic)]
    by_origin = {letter["origin"]: letter for letter in letters}
    indexed = set(indexed_ids(test_settings))
    outcome: Counter[tuple[str, str]] = Counter()
    for path, kind in files.items():
        letter = by_origin.get(str(path))
        if letter is not None:
            assert letter["reason"], letter
            assert letter["message"], letter
            outcome[(kind, f"{letter['stage']}/{letter['reason']}")] += 1
        else:
            assert kind in ACCEPTED_AS_TEXT, f"{path.name} ({kind}) neither dead-lettered"
            outcome[(kind, "indexed")] += 1
    for doc_id, (kind, doc) in bombs.items():
        letter = by_origin.get(doc.origin)
        if letter is not None:
            assert letter["document_id"] == doc_id
            assert letter["document"]["content"] == doc.content  # kept whole, for replay
            outcome[(kind, f"{letter['stage']}/{letter['reason']}")] += 1
        else:
            assert kind in ACCEPTED_AS_TEXT, f"{kind} {doc_id} neither dead-lettered nor known"
            assert doc_id in indexed
            outcome[(kind, "indexed")] += 1
    for (kind, result), count in sorted(outcome.items()):
        print(f"{count:5d}  {kind:<20} {result}")

    assert not [letter for letter in letters if letter["reason"] == "stage_error"], (
        "a stage raised an unexpected exception (a bug, not poison input)"
    )
    rejected = sum(n for (_k, result), n in outcome.items() if result != "indexed")
    assert rejected >= 1000
    accepted_bad = {
        doc.id for kind, doc in bombs.values() if kind in ACCEPTED_AS_TEXT and doc.id in indexed
    }
    accepted_files = indexed - {d.id for d in good} - accepted_bad
    # Good documents: every one indexed, exactly once; nothing else but the accepted kinds.
    assert_exactly_once(
        test_settings,
        good,
        also=accepted_bad | accepted_files,
    )
    assert len(accepted_files) <= sum(1 for k in files.values() if k in ACCEPTED_AS_TEXT)
