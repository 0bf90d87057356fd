"""Beam's FnApiRunner, made fit for an unbounded run.

The FnApiRunner was written for batch: it keeps each stage's metrics for the
final result. After every bundle it sets them to ``consolidate(chain(new, old))``
(``fn_runner.run_stages``), and ``consolidate`` is a generator, so nothing is
ever consolidated: each bundle wraps the previous generator in a new one, which
holds that bundle's ``MonitoringInfo`` messages and, through them, the whole
protobuf response they live in. A streaming run, where the Kafka source ends a
bundle at every checkpoint, grew by about 16 KiB per document this way (measured
with memray: the live allocations were upb arenas of ``InstructionResponse``s).

``fn_api_runner()`` makes the consolidation eager: the same metrics, as a list
that replaces the old one. Checked by ``tests/unit/test_local_runner.py``,
which fails if Beam changes the function this relies on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from apache_beam.runners.portability.fn_api_runner import FnApiRunner, fn_runner

_EAGER_MARK = "_newsbeam_eager"


def _make_consolidation_eager() -> None:
    lazy: Callable[..., Iterable[Any]] = fn_runner.consolidate_monitoring_infos
    if getattr(lazy, _EAGER_MARK, False):
        return

    @functools.wraps(lazy)  # keeps Beam's own as ``__wrapped__``
    def eager(metrics: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        return list(lazy(metrics, *args, **kwargs))

    setattr(eager, _EAGER_MARK, True)
    setattr(fn_runner, "consolidate_monitoring_infos", eager)  # noqa: B010


def fn_api_runner() -> FnApiRunner:
    """A FnApiRunner whose memory stays flat however many bundles it runs."""
    _make_consolidation_eager()
    return FnApiRunner()
