"""Progress of a long read (a WARC archive, a big folder): a line now and then, and a summary.

``process`` and ``publish`` share it. A line goes to the given stream (stderr) every
``every_s`` seconds, so a run shorter than that prints none and the ``process``
contract (stderr holds only rejects) is kept for small inputs; the summary is printed
when the run was long, or when something was skipped (WARC records that are not HTML
pages), so nothing is dropped without a count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from connectors.files import ReadTally

PROGRESS_EVERY_S = 10.0


class Progress:
    """Counts documents passed on and rejected beside the reader's ``ReadTally``."""

    def __init__(
        self,
        out: TextIO,
        tally: ReadTally,
        verb: str,
        every_s: float = PROGRESS_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.tally = tally
        self.verb = verb  # "published", "processed"
        self.every_s = every_s
        self.accepted = 0
        self.rejected = 0
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self.lines = 0

    def accept(self) -> None:
        self.accepted += 1
        self._maybe_report()

    def reject(self) -> None:
        self.rejected += 1
        self._maybe_report()

    def _maybe_report(self) -> None:
        now = self._clock()
        if now - self._last >= self.every_s:
            self._last = now
            self.lines += 1
            print(f"newsbeam: progress: {self.describe(now)}", file=self.out, flush=True)

    def describe(self, now: float | None = None) -> str:
        elapsed = max(1e-9, (now if now is not None else self._clock()) - self._started)
        skipped = sum(self.tally.skipped.values())
        why = ", ".join(f"{reason} {count}" for reason, count in self.tally.skipped.most_common())
        return (
            f"{self.tally.records} records read, {self.accepted} documents {self.verb}, "
            f"{self.rejected} rejected, {skipped} skipped" + (f" ({why})" if why else "")
            + f"; {self.tally.records / elapsed:.1f} records/s over {elapsed:.1f} s"
        )  # fmt: skip

    def summary(self, always: bool = False) -> None:
        """The final counts, when the run was long, skipped something, or ``always``."""
        if always or self.lines or self.tally.skipped:
            print(f"newsbeam: done: {self.describe()}", file=self.out, flush=True)
