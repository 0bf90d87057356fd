"""The knowledge-base scale benchmark runs end to end on small sizes (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.kb_scale import report, run, write_synthetic_kb
from transforms.entities import KnowledgeBase


def test_synthetic_kb_is_seeded_and_sized(tmp_path: Path) -> None:
    first, second = tmp_path / "a.tsv.gz", tmp_path / "b.tsv.gz"
    assert write_synthetic_kb(first, 500) == 500
    write_synthetic_kb(second, 500)
    assert first.read_bytes() != b""
    assert len(KnowledgeBase.load(first)) == len(KnowledgeBase.load(second))


def test_benchmark_reports_every_size_side_by_side() -> None:
    rows = run([300, 600])
    assert [r["aliases"] for r in rows] == [300, 600]
    assert rows[0]["link_cost_ratio"] == 1.0
    assert all(r["linked_mentions"] > 0 and r["ms_per_doc"] > 0 for r in rows)
    assert "ratio to smallest" in report(rows)
