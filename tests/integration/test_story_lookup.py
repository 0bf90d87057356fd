"""The story lookup on a real node: when more articles match than it returns, the copies stay."""

from __future__ import annotations

import random

import pytest

from connectors.elasticsearch import article_source, client, ensure_indices
from pipelines.alerting import find_story_candidates
from pipelines.settings import Settings
from transforms.document import Document, Fingerprint
from transforms.entities import load_knowledge_base
from transforms.stories import assign_stories

pytestmark = pytest.mark.integration


def _article(doc_id: str, content_hash: str, bits: int, at: str) -> Document:
    return Document(
        id=doc_id,
        origin=doc_id,
        content="",
        text="text",
        language="en",
        received_at=at,
        story_id=f"story-{doc_id}",
        fingerprint=Fingerprint(content_hash, f"{bits:016x}"),
    )


def _one_band_only(rng: random.Random, bits: int) -> int:
    """A stranger's SimHash: the first byte of ``bits``, every other byte different (and
    different from the byte of ``bits``' complement, the other probe)."""
    out = bits & 0xFF
    for shift in range(8, 64, 8):
        mine = (bits >> shift) & 0xFF
        out |= rng.choice([b for b in range(256) if b not in (mine, 0xFF - mine)]) << shift
    return out


def test_the_lookup_keeps_copies_when_strangers_sharing_one_band_outnumber_its_size(
    test_settings: Settings,
) -> None:
    rng = random.Random(3)
    probe_bits = rng.getrandbits(64)
    near = probe_bits ^ (1 << 3) ^ (1 << 13) ^ (1 << 23) ^ (1 << 33)  # 4 bits, 4 bands kept
    # Forty newer strangers sharing the probe's first band, indexed first: a lookup by band
    # matches them all, and on equal scores the index would hand them out first.
    articles = [
        _article(f"s{i}", f"h-s{i}", _one_band_only(rng, probe_bits), f"2026-02-{i % 28 + 1:02d}")
        for i in range(40)
    ]
    articles += [
        _article("other-copy", "h-oc", ~probe_bits & (2**64 - 1) ^ 1, "2026-01-01T00:00:00Z"),
        _article("near", "h-near", near, "2026-01-01T00:00:00Z"),
        _article("exact", "h-probe", rng.getrandbits(64), "2026-01-02T00:00:00Z"),
    ]
    ensure_indices(test_settings)
    es = client(test_settings)
    alias = test_settings.articles_alias
    try:
        operations: list[dict[str, object]] = []
        for doc in articles:
            operations += [
                {"index": {"_index": alias, "_id": doc.id}},
                article_source(doc, load_knowledge_base()),
            ]
        assert not es.bulk(operations=operations, refresh=True)["errors"]
        probe = _article("probe", "h-probe", probe_bits, "2026-03-01T00:00:00Z")
        probe.story_id = None
        # A second document in the same lookup, whose only copy matches nothing of the first.
        other = _article("other", "h-other", ~probe_bits & (2**64 - 1), "2026-03-01T00:00:00Z")
        other.story_id = None

        found = find_story_candidates(es, alias, [probe, other], per_document=5)
        everything = find_story_candidates(es, alias, [probe], per_document=100)
    finally:
        es.close()
    assert len(everything) == 42  # the lookup does match every stranger ...
    ids = [c.document_id for c in found]
    assert ids[:2] == ["exact", "near"]  # ... but the exact and the near copy come first
    assert len(ids) == 6
    assert all(i.startswith("s") for i in ids[2:5])
    assert ids[5] == "other-copy"  # and a document's limit is its own
    placed, placed_other = assign_stories([probe, other], found)
    assert placed.story_id == "story-exact"  # the same text beats a copy 4 bits away
    assert placed_other.story_id == "story-other-copy"
