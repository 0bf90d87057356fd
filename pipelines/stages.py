"""The Beam layer over the pure transforms: one verb-named PTransform per stage.

Elements are ``(ack, Document | DeadLetter)`` pairs, where ``ack`` is what the
sink acknowledges once the element is safely written (a Kafka position, or None).
A stage applies its transform to documents and passes dead letters on untouched;
a document it rejects continues as its ``DeadLetter``. Failures ride in the same
stream rather than on a second output that would need a ``Flatten`` later: on the
local runner a Flatten splits the fused stage and the commit after it would never
run while streaming (see ``pipelines/sinks.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from transforms.chain import STAGES, Stage, apply_stage, build_stages, warm_up
from transforms.document import DeadLetter, Document


class _ApplyStage(beam.DoFn):  # type: ignore[misc]
    def __init__(self, stage: Stage, limit_s: float | None, chain: tuple[Stage, ...]) -> None:
        self._stage = stage
        self._limit_s = limit_s
        self._chain = chain  # to warm this stage's models up before any document is timed

    def setup(self) -> None:
        """Models and tables load here, when the worker starts, not on its first document
        nor inside its time budget (docs/transforms.md, "Cold start")."""
        warm_up(self._chain)

    def process(self, element: tuple[Any, Document | DeadLetter]) -> Iterator[Any]:
        ack, doc = element
        if isinstance(doc, DeadLetter):
            yield element
            return
        yield ack, apply_stage(self._stage, doc, self._limit_s)


class _Stage(beam.PTransform):  # type: ignore[misc]
    """One transform stage; a document it rejects continues as its dead letter."""

    stage_name: str

    def __init__(
        self,
        stage: Stage | None = None,
        limit_s: float | None = None,
        chain: tuple[Stage, ...] = STAGES,
    ) -> None:
        super().__init__()
        self.stage = stage or _DEFAULT[self.stage_name]
        self.limit_s = limit_s
        self.chain = chain

    def expand(self, docs: Any) -> Any:
        return docs | beam.ParDo(_ApplyStage(self.stage, self.limit_s, self.chain))


_DEFAULT = {stage.name: stage for stage in STAGES}


class ExtractText(_Stage):
    """Body text: trafilatura for HTML, normalised lines for plain text."""

    stage_name = "extract"


class ExtractMetadata(_Stage):
    """Title, outlet, authors, published date; their lines leave the body."""

    stage_name = "metadata"


class StripBoilerplate(_Stage):
    """Appeals, footers, captions and prompts out of the body, kept by kind."""

    stage_name = "boilerplate"


class DetectLanguage(_Stage):
    """Language code and confidence of the body."""

    stage_name = "language"


class TagEntities(_Stage):
    """People, organisations and places, linked across spellings and languages."""

    stage_name = "entities"


class FingerprintText(_Stage):
    """Exact and near-duplicate fingerprints of the body."""

    stage_name = "fingerprint"


_BY_STAGE_NAME: dict[str, type[_Stage]] = {
    t.stage_name: t
    for t in (
        ExtractText,
        ExtractMetadata,
        StripBoilerplate,
        DetectLanguage,
        TagEntities,
        FingerprintText,
    )
}


class EnrichDocuments(beam.PTransform):  # type: ignore[misc]
    """Every stage in order over ``(ack, Document | DeadLetter)``; with ``stage_timeout_s``,
    a stage that runs longer on one document makes it a ``timeout`` dead letter."""

    def __init__(self, knowledge_base_file: str = "", stage_timeout_s: float | None = None) -> None:
        super().__init__()
        self._stages = build_stages(knowledge_base_file)
        self._limit_s = stage_timeout_s

    def expand(self, docs: Any) -> Any:
        for stage in self._stages:
            transform_type = _BY_STAGE_NAME[stage.name]
            docs = docs | transform_type.__name__ >> transform_type(
                stage, self._limit_s, self._stages
            )
        return docs
