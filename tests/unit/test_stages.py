"""The Beam layer over the transforms, on Beam's TestPipeline (no services)."""

from pathlib import Path

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from connectors.files import read_articles
from pipelines.stages import EnrichDocuments
from transforms.chain import enrich
from transforms.document import DeadLetter, Document

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _seed_docs() -> list[Document]:
    docs = [d for d in read_articles([SEEDS], 1_000_000) if isinstance(d, Document)]
    assert len(docs) == 5
    return docs


def test_enrich_documents_matches_the_offline_chain_and_dead_letters_poison() -> None:
    docs = _seed_docs()
    poison = Document(id="poison", origin="mem://empty", content=" \n ")
    expected = {}
    for doc in docs:
        result = enrich(doc)
        assert isinstance(result, Document)
        expected[doc.id] = (result.language, result.title, result.text)

    with BeamTestPipeline(runner="FnApiRunner") as p:
        results = (
            p | beam.Create([(i, d) for i, d in enumerate([*docs, poison])]) | EnrichDocuments()
        )
        enriched = results | "Documents" >> beam.Filter(lambda el: isinstance(el[1], Document))
        dead = results | "DeadLetters" >> beam.Filter(lambda el: isinstance(el[1], DeadLetter))
        assert_that(
            enriched
            | "Summarise" >> beam.MapTuple(lambda _ack, d: (d.id, (d.language, d.title, d.text))),
            equal_to(list(expected.items())),
            label="EnrichedLikeOffline",
        )
        assert_that(
            dead
            | "Reasons" >> beam.MapTuple(lambda ack, letter: (ack, letter.stage, letter.reason)),
            equal_to([(5, "extract", "empty")]),
            label="PoisonDeadLettered",
        )


def test_a_worker_warms_a_stage_up_in_setup() -> None:
    from pipelines.stages import _ApplyStage
    from transforms.chain import STAGES, Stage

    calls: list[str] = []
    stage = Stage("language", lambda doc: doc, lambda: calls.append("warm"))
    _ApplyStage(stage, None, (stage,)).setup()
    assert calls == ["warm"]
    plain = Stage("plain", lambda doc: doc)
    _ApplyStage(plain, None, (plain,)).setup()  # no warm-up: nothing to do
    assert {s.name for s in STAGES if s.warm_up is not None} == {"language"}
