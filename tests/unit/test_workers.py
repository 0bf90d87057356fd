"""The worker supervisor of ``newsbeam run --workers N`` (processes, no services needed)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from connectors.kafka import Shard
from pipelines import workers


def _note_shard(shard: Shard, folder: str) -> None:
    Path(folder, f"{shard.index}-of-{shard.count}").touch()


def _second_fails(shard: Shard) -> None:
    if shard.index == 1:
        sys.exit(3)
    time.sleep(120)  # stopped by the supervisor long before this


def test_every_worker_gets_its_own_shard_and_a_clean_end_is_0(tmp_path: Path) -> None:
    assert workers.run(3, _note_shard, str(tmp_path)) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0-of-3", "1-of-3", "2-of-3"]


def test_a_failing_worker_stops_the_others_and_gives_its_exit_code() -> None:
    started = time.monotonic()
    assert workers.run(2, _second_fails) == 3
    assert time.monotonic() - started < 60  # the sleeping worker was terminated


def test_a_shard_owns_every_nth_partition() -> None:
    shards = [Shard(i, 3) for i in range(3)]
    owners = {p: [s.index for s in shards if s.owns(p)] for p in range(7)}
    assert owners == {0: [0], 1: [1], 2: [2], 3: [0], 4: [1], 5: [2], 6: [0]}
