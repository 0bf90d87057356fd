"""Span-level precision, recall and F1 per type: exact (same span and type) and partial.

Partial: a predicted span counts as right when it overlaps a gold span of the same type
that no other prediction has claimed (and vice versa for recall) — the MUC-style
"type" credit without the boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from transforms.ner.corpus import TYPES

Span = tuple[int, int, str]


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp else 0.0

    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp else 0.0


@dataclass
class SpanScores:
    """Exact and partial counts per type; ``add`` one sentence or document at a time."""

    exact: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in TYPES})
    partial: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in TYPES})

    def add(self, gold: Iterable[Span], predicted: Iterable[Span]) -> None:
        gold_set = {s for s in gold if s[2] in TYPES}
        pred_set = {s for s in predicted if s[2] in TYPES}
        for kind in TYPES:
            g = {s for s in gold_set if s[2] == kind}
            p = {s for s in pred_set if s[2] == kind}
            hits = len(g & p)
            self.exact[kind].tp += hits
            self.exact[kind].fp += len(p) - hits
            self.exact[kind].fn += len(g) - hits
            matched_gold = {x for x in g if any(x[0] < y[1] and y[0] < x[1] for y in p)}
            matched_pred = {y for y in p if any(x[0] < y[1] and y[0] < x[1] for x in g)}
            self.partial[kind].tp += len(matched_pred)
            self.partial[kind].fp += len(p) - len(matched_pred)
            self.partial[kind].fn += len(g) - len(matched_gold)

    def merge(self, other: SpanScores) -> None:
        for mine, theirs in ((self.exact, other.exact), (self.partial, other.partial)):
            for kind in TYPES:
                mine[kind].tp += theirs[kind].tp
                mine[kind].fp += theirs[kind].fp
                mine[kind].fn += theirs[kind].fn

    @staticmethod
    def _total(table: dict[str, Counts]) -> Counts:
        return Counts(
            sum(c.tp for c in table.values()),
            sum(c.fp for c in table.values()),
            sum(c.fn for c in table.values()),
        )

    def f1(self, *, partial: bool = False) -> float:
        return self._total(self.partial if partial else self.exact).f1()

    def summary(self) -> dict[str, float]:
        """Micro F1 exact/partial and exact F1 per type, rounded for reports."""
        out = {
            "f1": round(self.f1(), 4),
            "f1_partial": round(self.f1(partial=True), 4),
            "precision": round(self._total(self.exact).precision(), 4),
            "recall": round(self._total(self.exact).recall(), 4),
        }
        for kind in TYPES:
            out[f"f1_{kind}"] = round(self.exact[kind].f1(), 4)
            out[f"f1_{kind}_partial"] = round(self.partial[kind].f1(), 4)
            out[f"gold_{kind}"] = self.exact[kind].tp + self.exact[kind].fn
        return out
