"""The per-stage time budget (CPU seconds) stops runaway work and leaves no timer behind."""

from __future__ import annotations

import re
import signal
import threading
import time

import pytest

from transforms.budget import StageTimeoutError, time_limit
from transforms.chain import STAGES, Stage, enrich, warm_up
from transforms.document import DeadLetter, Document, document_id

LIMIT_S = 0.3


def _loop_forever(doc: Document) -> Document:
    while True:
        pass


def _doc(text: str) -> Document:
    return Document(id=document_id(content=text), origin="test", content=text)


def test_a_python_loop_in_the_main_thread_is_stopped_with_the_stage_named() -> None:
    started = time.monotonic()
    with pytest.raises(StageTimeoutError) as caught, time_limit(LIMIT_S, "metadata"):
        _loop_forever(_doc("x"))
    assert LIMIT_S <= time.monotonic() - started < LIMIT_S + 20  # CPU budget; a busy machine
    assert caught.value.reason == "timeout"
    assert "metadata stage" in caught.value.message


def test_a_catastrophic_regex_is_stopped_while_it_matches() -> None:
    """The regex engine checks for signals: one match call is not beyond reach."""
    started = time.monotonic()
    with pytest.raises(StageTimeoutError), time_limit(LIMIT_S, "boilerplate"):
        re.match(r"(a|aa)+$", "a" * 200 + "b")  # exponential: would run for ages
    assert time.monotonic() - started < LIMIT_S + 20


def test_a_stage_that_catches_every_exception_cannot_swallow_its_timeout() -> None:
    def stubborn(doc: Document) -> Document:
        while True:
            try:
                sum(range(1000))
            except Exception:  # noqa: BLE001 - what a careless stage might do
                continue

    with pytest.raises(StageTimeoutError), time_limit(LIMIT_S, "entities"):
        stubborn(_doc("x"))


def test_a_loop_in_another_thread_is_stopped_by_the_watchdog() -> None:
    outcome: list[BaseException | None] = []

    def worker() -> None:
        try:
            with time_limit(LIMIT_S, "language"):
                _loop_forever(_doc("x"))
            outcome.append(None)
        except StageTimeoutError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(LIMIT_S + 20)
    assert not thread.is_alive()
    assert isinstance(outcome[0], StageTimeoutError)


def test_fast_work_is_untouched_and_no_alarm_goes_off_afterwards() -> None:
    for _ in range(200):
        with time_limit(LIMIT_S, "fingerprint"):
            sum(range(100))
    spin_until = time.process_time() + LIMIT_S * 2
    while time.process_time() < spin_until:  # a stray timer or async exception would raise here
        pass
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) in (signal.SIG_DFL, signal.SIG_IGN, None)


def test_a_cpu_timer_set_by_someone_else_keeps_its_handler_and_remaining_time() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGPROF, lambda signum, frame: fired.append(signum))
    signal.setitimer(signal.ITIMER_PROF, 0.8)
    try:
        with time_limit(LIMIT_S, "extract"):
            pass
        remaining, _ = signal.getitimer(signal.ITIMER_PROF)
        assert 0.3 < remaining <= 0.9  # the CPU timer counts in clock ticks
        spin_until = time.process_time() + 1.5
        while time.process_time() < spin_until and not fired:
            pass
        assert fired == [signal.SIGPROF]
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def test_no_limit_means_no_timer() -> None:
    with time_limit(None, "extract"):
        assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_enrich_dead_letters_the_looping_document_and_runs_the_next() -> None:
    """The chain with a stage that never ends on one input: a ``timeout`` dead letter that
    names the stage and keeps the raw document for replay; the next document is enriched."""
    text_stage = next(s for s in STAGES if s.name == "metadata")

    def metadata_or_loop(doc: Document) -> Document:
        if "LOOP" in doc.text:
            _loop_forever(doc)
        return text_stage.apply(doc)

    stages = tuple(
        Stage("metadata", metadata_or_loop) if s.name == "metadata" else s for s in STAGES
    )
    bad = _doc("LOOP here. Khalifa Haftar met officials in Tripoli on Monday.")
    good = _doc("Khalifa Haftar met officials in Tripoli on Monday, the ministry said.")
    warm_up(stages)  # as the pipeline does: lingua's first call reads its models for seconds
    letter = enrich(bad, stages, LIMIT_S)
    assert isinstance(letter, DeadLetter)
    assert (letter.stage, letter.reason) == ("metadata", "timeout")
    assert letter.document is not None
    assert letter.document["content"] == bad.content
    enriched = enrich(good, stages, LIMIT_S)
    assert isinstance(enriched, Document)
    assert enriched.language == "en"


def _burn(seconds: float) -> None:
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_a_paused_stretch_does_not_count_and_the_rest_still_does() -> None:
    """Loading a model on first use is the process's cost, not the document's."""
    from transforms.budget import paused

    with time_limit(LIMIT_S, "language"):
        with paused():
            _burn(LIMIT_S * 2)
        _burn(LIMIT_S / 3)

    def pause_then_overrun() -> None:
        with paused():
            _burn(LIMIT_S / 3)
        _burn(LIMIT_S * 10)

    with pytest.raises(StageTimeoutError), time_limit(LIMIT_S, "language"):
        pause_then_overrun()


def test_the_first_short_text_loads_lingua_off_the_budget() -> None:
    """lingua reads every language model on its first short text (seconds of CPU): that
    must not make the document a timeout."""
    from transforms.language import LanguageDetector

    detector = LanguageDetector()  # its own, so the models are not loaded yet in this test
    with time_limit(1.0, "language"):
        code, _ = detector.detect("Khalifa Haftar mødtes med embedsmænd i Tripoli mandag.")
    assert code == "da"
