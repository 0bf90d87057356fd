"""Property tests (hypothesis): the pure transforms never raise on any text, and every
entity mention's offsets point into the clean text. A failure a stage can foresee is a
``DeadLetter`` from ``enrich``, never an exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.chain import STAGES, enrich
from transforms.document import CONTENT_HTML, CONTENT_TEXT, DeadLetter, Document, document_id

# Text as it comes from the wild: any code point (surrogates excluded: a str from bytes
# never holds one), biased towards the characters parsers trip on.
WILD = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("\x00\r\n\t\u2028\u2029\ufeff\u200b<>&;\"'/ ")),
    ),
    max_size=400,
)
WORDS = st.lists(
    st.sampled_from(
        [
            "Khalifa",
            "Haftar",
            "Hafter",
            "Libya",
            "Tripoli",
            "the",
            "de",
            "la",
            "die",
            "het",
            "og",
            ",",
            ".",
            "\n\n",
            "–",
            "«",
            "»",
            "2024-05-01",
        ]
    ),
    max_size=80,
).map(" ".join)
HTML = st.builds(
    lambda head, body, depth: (
        "<html><head><title>"
        + head
        + "</title></head><body>"
        + "<div>" * depth
        + f"<p>{body}</p>"
        + "</div>" * depth
        + "</body></html>"
    ),
    WILD,
    st.one_of(WILD, WORDS),
    st.integers(0, 60),
)


def _document(content: str, content_type: str) -> Document:
    return Document(
        id=document_id(content=content) if content.strip() else "empty",
        origin="hypothesis",
        content=content,
        content_type=content_type,
    )


def _check(result: Document | DeadLetter) -> None:
    if isinstance(result, DeadLetter):
        assert result.stage in {stage.name for stage in STAGES}
        assert result.reason
        assert result.message
        json.loads(result.to_json())  # a dead letter always serialises
        return
    for mention in result.entities:
        assert 0 <= mention.start < mention.end <= len(result.text)
        assert result.text[mention.start : mention.end] == mention.text
    json.loads(result.to_json())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(WILD, WORDS))
def test_enrich_never_raises_on_any_plain_text(content: str) -> None:
    _check(enrich(_document(content, CONTENT_TEXT)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HTML)
def test_enrich_never_raises_on_any_html(content: str) -> None:
    _check(enrich(_document(content, CONTENT_HTML)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(WORDS.filter(lambda t: t.strip()))
def test_each_stage_alone_raises_only_poison_input(content: str) -> None:
    """Stage by stage: the only exception a stage may raise is PoisonInputError."""
    from transforms.document import PoisonInputError

    doc = _document(content, CONTENT_TEXT)
    for stage in STAGES:
        try:
            doc = stage.apply(doc)
        except PoisonInputError as exc:
            reason = exc.reason
            break
    else:
        reason = None
    if reason is not None:
        assert reason.isidentifier()
        return
    for mention in doc.entities:
        assert doc.text[mention.start : mention.end] == mention.text
