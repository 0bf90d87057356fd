"""The link-precision benchmark reads CoNLL dev files and classifies links (no timing)."""

from __future__ import annotations

import gzip
from pathlib import Path

from benchmarks.link_precision import documents, measure

CONLL = (
    "-DOCSTART-\tO\n\n"
    "Kad\tO\nje\tO\nHaftar\tB-PER\nnapao\tO\nTripoli\tB-LOC\n.\tO\n\n"
    "Razgovori\tO\ns\tO\nHaftarom\tB-PER\nu\tO\nLibiji\tB-LOC\n.\tO\n\n"
)


def test_documents_keep_gold_spans_on_the_tokens(tmp_path: Path) -> None:
    path = tmp_path / "x.dev.conll.gz"
    path.write_bytes(gzip.compress(CONLL.encode()))
    ((text, spans),) = list(documents(path))
    assert [text[a:b] for a, b in spans] == ["Haftar", "Tripoli", "Haftarom", "Libiji"]


def test_measure_counts_links_on_names(tmp_path: Path) -> None:
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "x.dev.conll.gz").write_bytes(gzip.compress(CONLL.encode()))
    result = measure("hr", tmp_path)
    assert result["by_match"]["exact"]["on_a_name"] == 1.0  # "Kad" is not linked to Chad
    assert result["by_match"]["case ending"]["linked"] >= 1  # Haftarom: -om removed
