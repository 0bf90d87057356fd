"""A time budget per stage: a document that holds a stage too long becomes a ``timeout``.

No transform should be slow on any input (``tests/unit/test_regex_linear.py``), but the
next pathological input is not known yet, and one document must never hold the
pipeline and its commit for minutes. ``time_limit(seconds, stage)`` stops the block it
guards once the seconds have passed and raises ``StageTimeoutError``, a poison-input error
the chain turns into a dead letter naming the stage.

How the work is stopped, since a thread cannot stop another in CPython:

- **In the main thread** (the local runner and ``newsbeam process`` run every stage
  there): a ``SIGALRM`` from ``setitimer``. Its handler raises between two bytecodes,
  and the regex engine checks for signals while it matches, so a runaway regex stops
  too. Cost: four system calls per stage.
- **In any other thread** (a runner's SDK harness threads): a watchdog thread raises
  the exception in the late thread with ``PyThreadState_SetAsyncExc``. That is seen only
  between bytecodes: a long call into C (one regex match, one lxml parse) finishes first.

Neither can cut a long call into C code that never returns to Python (lxml parsing),
so such inputs are bounded at their cause (``transforms/html.py`` caps attributes).
The interrupt is a ``BaseException``, so a stage's own ``except Exception`` cannot
swallow it.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import signal
import threading
import time
from types import FrameType, TracebackType
from typing import Any

from transforms.document import PoisonInputError

REASON = "timeout"


class StageTimeoutError(PoisonInputError):
    """A stage ran past its budget on one document."""

    def __init__(self, stage: str, seconds: float) -> None:
        super().__init__(
            REASON,
            f"the {stage} stage ran past its time budget of {seconds:g} s on this document "
            "and was stopped; the input is pathological for it (raise stage_timeout_s only "
            "if ordinary documents hit this).",
        )
        self.stage = stage


class _Expired(BaseException):  # an interrupt, like KeyboardInterrupt
    """Raised into the guarded code when its time is up; never escapes ``time_limit``."""


_CAN_ALARM = hasattr(signal, "setitimer")  # not on Windows
_MAIN_THREAD = threading.main_thread().ident


class _AlarmState:
    """The SIGALRM path: one guarded block at a time, in the main thread."""

    active = False


def _raise_expired(_signum: int, _frame: FrameType | None) -> None:
    if _AlarmState.active:
        raise _Expired


class _Watchdog(threading.Thread):
    """The fallback for other threads: raises ``_Expired`` into a thread past its deadline."""

    def __init__(self) -> None:
        super().__init__(name="newsbeam-stage-budget", daemon=True)
        self.lock = threading.Condition()
        self._deadlines: list[tuple[float, int, _Guard]] = []
        self._order = itertools.count()

    def watch(self, guard: _Guard) -> None:
        with self.lock:
            heapq.heappush(self._deadlines, (guard.deadline, next(self._order), guard))
            self.lock.notify()

    def run(self) -> None:
        while True:
            with self.lock:
                while not self._deadlines:
                    self.lock.wait()
                deadline, _, guard = self._deadlines[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self.lock.wait(wait)
                    continue
                heapq.heappop(self._deadlines)
                if guard.active:
                    guard.fired = True
                    _async_raise(guard.thread_id, _Expired)


def _async_raise(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


_WATCHDOG: _Watchdog | None = None
_WATCHDOG_LOCK = threading.Lock()


def _watchdog() -> _Watchdog:
    global _WATCHDOG
    with _WATCHDOG_LOCK:
        if _WATCHDOG is None:
            _WATCHDOG = _Watchdog()
            _WATCHDOG.start()
        return _WATCHDOG


class _Guard:
    """The watchdog path's record of one guarded block."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.thread_id = threading.get_ident()
        self.active = True
        self.fired = False


class time_limit:  # noqa: N801 - used as a context manager, like contextlib's
    """``with time_limit(seconds, stage): ...`` raises ``StageTimeoutError`` when the block
    runs longer than ``seconds``; ``seconds`` of ``None`` or 0 sets no limit."""

    __slots__ = ("_armed_at", "_guard", "_previous_handler", "_previous_timer", "seconds", "stage")

    def __init__(self, seconds: float | None, stage: str) -> None:
        self.seconds = seconds or 0.0
        self.stage = stage
        self._guard: _Guard | None = None
        self._previous_handler: Any = None
        self._previous_timer = (0.0, 0.0)
        self._armed_at = 0.0

    def __enter__(self) -> time_limit:
        if self.seconds <= 0:
            return self
        if _CAN_ALARM and not _AlarmState.active and threading.get_ident() == _MAIN_THREAD:
            self._previous_handler = signal.signal(signal.SIGALRM, _raise_expired)
            _AlarmState.active = True
            self._previous_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds)
            if self._previous_timer[0] > 0:
                self._armed_at = time.monotonic()
        else:
            self._guard = _Guard(self.seconds)
            _watchdog().watch(self._guard)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.seconds <= 0:
            return
        expired = exc_type is _Expired
        try:
            if self._guard is None:
                self._disarm()
            else:
                expired = self._stop_guard() or expired
        except _Expired:  # the time ran out just as the block ended
            expired = True
        if expired:
            raise StageTimeoutError(self.stage, self.seconds) from None

    def _disarm(self) -> None:
        try:
            _AlarmState.active = False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous_handler)
            delay, interval = self._previous_timer
            if delay > 0:  # someone else's alarm (a test timeout) keeps its remaining time
                left = delay - (time.monotonic() - self._armed_at)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)

    def _stop_guard(self) -> bool:
        guard = self._guard
        assert guard is not None
        with _watchdog().lock:
            guard.active = False
            fired = guard.fired
        if fired:
            _async_raise(guard.thread_id, None)  # withdraw it if it was not delivered yet
        return fired
