"""The local runner keeps a stage's metrics bounded however many bundles it runs."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.runners.worker import statesampler
from apache_beam.transforms.core import RestrictionProvider

from pipelines.local_runner import SAMPLING_PERIOD_MS, fn_api_runner

FEW, MANY = 40, 200
LIVE_INFOS: list[int] = []


class _Positions(RestrictionProvider):  # type: ignore[misc]
    def initial_restriction(self, element: int) -> OffsetRange:
        return OffsetRange(0, element)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: int, restriction: OffsetRange) -> int:
        return int(restriction.size())


_POSITIONS = beam.DoFn.RestrictionParam(_Positions())


class _OnePerBundle(beam.DoFn):  # type: ignore[misc]
    """Claims one position, then checkpoints: one bundle per position, like the Kafka source."""

    def process(
        self,
        element: int,
        tracker: OffsetRestrictionTracker = _POSITIONS,
    ) -> Iterator[int]:
        position = tracker.current_restriction().start
        if tracker.try_claim(position):
            if position == element - 1:  # the last bundle: how many metric messages are alive?
                gc.collect()
                LIVE_INFOS.append(
                    sum(type(o).__name__ == "MonitoringInfo" for o in gc.get_objects())
                )
            yield position
            tracker.defer_remainder()


def _live_metric_messages_after(bundles: int, runner: FnApiRunner) -> int:
    LIVE_INFOS.clear()
    with beam.Pipeline(runner=runner) as p:
        _ = p | beam.Create([bundles]) | beam.ParDo(_OnePerBundle())
    (count,) = LIVE_INFOS
    return count


def test_metrics_stay_bounded_over_many_bundles() -> None:
    few = _live_metric_messages_after(FEW, fn_api_runner())
    many = _live_metric_messages_after(MANY, fn_api_runner())
    assert many - few < 10  # measured: the same count after 40 and 200 bundles


def test_the_fix_is_still_needed() -> None:
    """Beam's own lazy consolidation keeps one more message per bundle: the bug fixed here.

    When a Beam release fixes it this test fails, and pipelines/local_runner.py can go.
    """
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    eager = fn_runner.consolidate_monitoring_infos
    try:
        fn_runner.consolidate_monitoring_infos = eager.__wrapped__
        few = _live_metric_messages_after(FEW, FnApiRunner())
        many = _live_metric_messages_after(MANY, FnApiRunner())
    finally:
        fn_runner.consolidate_monitoring_infos = eager
    assert many - few > 0.9 * (MANY - FEW)


PERIODS: list[int] = []


class _SamplingPeriod(beam.DoFn):  # type: ignore[misc]
    def process(self, element: int) -> Iterator[int]:
        PERIODS.append(statesampler.get_current_tracker().sampling_period_ms)
        yield element


def test_bundles_are_sampled_at_the_short_period() -> None:
    """A bundle ends by joining its state sampler, which sleeps one period between samples."""
    PERIODS.clear()
    with beam.Pipeline(runner=fn_api_runner()) as p:
        _ = p | beam.Create([1, 2, 3]) | beam.ParDo(_SamplingPeriod())
    assert set(PERIODS) == {SAMPLING_PERIOD_MS}  # (empty if no bundle ran)
    assert SAMPLING_PERIOD_MS < statesampler.DEFAULT_SAMPLING_PERIOD_MS
