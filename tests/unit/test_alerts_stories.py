"""Story grouping (pure) and webhook delivery against a real local receiver."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from connectors.webhook import WebhookError, WebhookSender
from transforms.alerts import AlertRule, Sink, raise_alerts
from transforms.chain import enrich
from transforms.document import Document, Fingerprint
from transforms.fingerprint import simhash_distance
from transforms.stories import (
    STORY_MAX_DISTANCE,
    StoryCandidate,
    _Candidates,
    assign_stories,
    lookup_query,
    new_story_id,
    story_bands,
)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _enriched(name: str, text: str) -> Document:
    doc = enrich(Document(id=name, origin=name, content=text))
    assert isinstance(doc, Document)
    return doc


@pytest.fixture(scope="module")
def seed_003() -> str:
    return next(SEEDS.glob("003_*.txt")).read_text(encoding="utf-8")


def test_a_light_edit_joins_the_story_and_another_article_does_not(seed_003: str) -> None:
    original = _enriched("orig", seed_003)
    copy = _enriched("copy", seed_003.replace("last night", "late last night", 1))
    other = _enriched("other", next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8"))
    original = dataclasses.replace(original, story_id=new_story_id(original))
    indexed = [StoryCandidate.of(original)]
    placed_copy, placed_other = assign_stories([copy, other], indexed)
    assert placed_copy.story_id == original.story_id == new_story_id(original)
    assert placed_other.story_id == new_story_id(other)
    assert placed_other.story_id != placed_copy.story_id


def test_copies_in_one_bundle_share_the_first_ones_story(seed_003: str) -> None:
    first = _enriched("a", seed_003)
    second = _enriched("b", seed_003 + "\nSyndicated.")
    second.received_at = "9999"  # arrives later
    assert [d.story_id for d in assign_stories([second, first], [])] == [new_story_id(first)] * 2


def test_exact_copies_that_never_meet_still_share_a_story(seed_003: str) -> None:
    """Two workers each see one copy and nothing indexed: the content hash names the story."""
    one = _enriched("https://a.example/1", seed_003)
    two = _enriched("https://b.example/2", seed_003)
    assert assign_stories([one], [])[0].story_id == assign_stories([two], [])[0].story_id


def test_a_replay_keeps_the_story_it_was_indexed_with(seed_003: str) -> None:
    doc = _enriched("copy", seed_003)
    indexed = StoryCandidate("copy", "story-x", "h", "0" * 16, "en")
    (placed,) = assign_stories([doc], [indexed])
    assert placed.story_id == "story-x"


def test_other_language_is_never_the_same_story(seed_003: str) -> None:
    doc = _enriched("en", seed_003)
    assert doc.fingerprint is not None
    twin = StoryCandidate("nl", "nl", doc.fingerprint.content_hash, doc.fingerprint.simhash, "nl")
    assert assign_stories([doc], [twin])[0].story_id == new_story_id(doc) != "nl"


def test_copies_within_seven_bits_share_a_story_band_and_the_lookup_asks_for_it() -> None:
    base = int("0123456789abcdef", 16)
    for flipped in ([0, 9, 18, 27, 36, 45, 54], [63, 62, 61, 60, 59, 58, 57]):
        copy = base
        for bit in flipped:
            copy ^= 1 << bit
        assert set(story_bands(f"{base:016x}")) & set(story_bands(f"{copy:016x}"))
    assert len(story_bands("0123456789abcdef")) == 8
    doc = _enriched("d", "Khalifa Haftar spoke in Benghazi today.")
    query = lookup_query([doc])
    assert query is not None
    should = query["bool"]["should"]
    assert {"terms": {"id": ["d"]}} in should
    assert doc.fingerprint is not None
    assert {"terms": {"fingerprint.bands": sorted(story_bands(doc.fingerprint.simhash))}} in should


class _Hook(BaseHTTPRequestHandler):
    failures_left = 0
    status = 503
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(type(self).status)
        else:
            type(self).bodies.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    _Hook.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _alert() -> Any:
    doc = _enriched("d", "General Khalifa Haftar ordered a march on Tripoli.")
    (alert,) = raise_alerts([AlertRule(name="h", entity="Khalifa Haftar")], doc)
    return alert


def test_webhook_retries_transient_failures_then_delivers(hook_url: str) -> None:
    _Hook.failures_left, _Hook.status = 2, 503
    sender = WebhookSender(base_backoff_s=0.01, retry_budget_s=5)
    assert sender.deliver(Sink("webhook", hook_url, "slack"), _alert()) == 3
    (body,) = _Hook.bodies
    assert "Khalifa Haftar" in body["text"]
    assert body["alert"]["rule"] == "h"


def test_webhook_refusal_is_permanent_and_budget_is_bounded(hook_url: str) -> None:
    _Hook.failures_left, _Hook.status = 5, 400
    sender = WebhookSender(base_backoff_s=0.01, retry_budget_s=5)
    with pytest.raises(WebhookError) as refused:
        sender.deliver(Sink("webhook", hook_url), _alert())
    assert (refused.value.reason, refused.value.retryable) == ("http_400", False)
    down = WebhookSender(base_backoff_s=0.05, retry_budget_s=0.2, timeout_s=1)
    with pytest.raises(WebhookError, match="gave up") as gave_up:
        down.deliver(Sink("webhook", "http://127.0.0.1:9/none"), _alert())
    assert gave_up.value.reason == "unreachable_budget_spent"


def test_bundle_candidates_are_exactly_the_band_sharing_copies_within_the_distance() -> None:
    """``_Candidates.near`` (numpy) against the definition: a shared band term and
    at most ``STORY_MAX_DISTANCE`` bits, or the same id or content hash."""
    rng = random.Random(7)
    base = rng.getrandbits(64)
    # Around one hash: copies 0-20 bits away (some share a band, some do not), and strangers.
    hashes = [base ^ _flip(rng, rng.randint(0, 20)) for _ in range(300)]
    hashes += [rng.getrandbits(64) for _ in range(300)]
    candidates = [
        StoryCandidate(f"c{i}", f"s{i}", f"h{i % 250}", f"{h:016x}") for i, h in enumerate(hashes)
    ]
    index = _Candidates(candidates)
    found = band_missed = 0
    for probe in range(60):
        bits = base ^ _flip(rng, rng.randint(0, 12))
        doc = Document(
            id=f"c{probe * 7}",
            origin="probe",
            content="",
            fingerprint=Fingerprint(f"h{probe}", f"{bits:016x}"),
        )
        mine = set(story_bands(doc.fingerprint.simhash))
        expected = {
            c.document_id
            for c in candidates
            if c.document_id == doc.id
            or c.content_hash == doc.fingerprint.content_hash
            or (
                mine & set(story_bands(c.simhash or ""))
                and simhash_distance(doc.fingerprint.simhash, c.simhash or "") <= STORY_MAX_DISTANCE
            )
        }
        assert {c.document_id for c in index.near(doc)} == expected
        found += len(expected)
        band_missed += sum(
            not mine & set(story_bands(c.simhash or ""))
            and simhash_distance(doc.fingerprint.simhash, c.simhash or "") <= STORY_MAX_DISTANCE
            for c in candidates
        )
    # The data exercises both filters: copies found, and near hashes without a shared band.
    assert found > 1000
    assert band_missed > 100


def _flip(rng: random.Random, bits: int) -> int:
    mask = 0
    for position in rng.sample(range(64), bits):
        mask |= 1 << position
    return mask
