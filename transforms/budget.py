"""A time budget per stage: a document that holds a stage too long becomes a ``timeout``.

No transform should be slow on any input (``tests/unit/test_regex_linear.py``), but the
next pathological input is not known yet, and one document must never hold the
pipeline and its commit for minutes. ``time_limit(seconds, stage)`` stops the block it
guards once it has used that much CPU time and raises ``StageTimeoutError``, a
poison-input error the chain turns into a dead letter naming the stage.

CPU time, not wall time: the stages compute and never wait, and on a busy machine a
large ordinary page can take several times its CPU time in wall time (a 4.8 MB page:
1.4 s of CPU, 6.8 s of wall time on this shared machine), so a wall-clock budget would
reject good documents exactly when the machine is loaded.

How the work is stopped, since a thread cannot stop another in CPython:

- **In the main thread** (the local runner and ``newsbeam process`` run every stage
  there): ``SIGPROF`` from ``setitimer(ITIMER_PROF)``, the process's CPU clock. Its
  handler raises between two bytecodes, and the regex engine checks for signals while
  it matches, so a runaway regex stops too. Cost: about 5 microseconds per stage.
- **In any other thread** (a runner's SDK harness threads): a watchdog thread reads the
  guarded thread's own CPU clock every ``WATCH_EVERY_S`` and raises the exception in it
  with ``PyThreadState_SetAsyncExc``. That is seen only between bytecodes: a long call
  into C (one regex match, one lxml parse) finishes first.

Neither can cut a long call into C code that never returns to Python (lxml parsing),
so such inputs are bounded at their cause (``transforms/html.py`` caps attributes).
The interrupt is a ``BaseException``, so a stage's own ``except Exception`` cannot
swallow it.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

from transforms.document import PoisonInputError

REASON = "timeout"


class StageTimeoutError(PoisonInputError):
    """A stage ran past its budget on one document."""

    def __init__(self, stage: str, seconds: float) -> None:
        super().__init__(
            REASON,
            f"the {stage} stage ran past its time budget of {seconds:g} s of CPU on this document "
            "and was stopped; the input is pathological for it (raise stage_timeout_s only "
            "if ordinary documents hit this).",
        )
        self.stage = stage


class _Expired(BaseException):  # an interrupt, like KeyboardInterrupt
    """Raised into the guarded code when its time is up; never escapes ``time_limit``."""


_CAN_ALARM = hasattr(signal, "setitimer")  # not on Windows
WATCH_EVERY_S = 0.05
_MAIN_THREAD = threading.main_thread().ident


class _AlarmState:
    """The SIGPROF path: one guarded block at a time, in the main thread."""

    active = False


def _raise_expired(_signum: int, _frame: FrameType | None) -> None:
    if _AlarmState.active:
        raise _Expired


class _Watchdog(threading.Thread):
    """The fallback for other threads: raises ``_Expired`` into a thread past its budget."""

    def __init__(self) -> None:
        super().__init__(name="newsbeam-stage-budget", daemon=True)
        self.lock = threading.Condition()
        self._guards: set[_Guard] = set()

    def watch(self, guard: _Guard) -> None:
        with self.lock:
            self._guards.add(guard)
            self.lock.notify()

    def forget(self, guard: _Guard) -> None:
        self._guards.discard(guard)  # under self.lock

    def run(self) -> None:
        while True:
            with self.lock:
                while not self._guards:
                    self.lock.wait()
                for guard in list(self._guards):
                    if guard.active and guard.cpu_used() >= guard.seconds:
                        guard.fired = True
                        self._guards.discard(guard)
                        _async_raise(guard.thread_id, _Expired)
                self.lock.wait(WATCH_EVERY_S)


def _async_raise(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


_CURRENT = threading.local()  # the watchdog path's guard of this thread, if any
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
    """The watchdog path's record of one guarded block, on its thread's CPU clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.thread_id = threading.get_ident()
        self._clock = time.pthread_getcpuclockid(self.thread_id)
        self._started = time.clock_gettime(self._clock)
        self.active = True
        self.fired = False

    def cpu_used(self) -> float:
        try:
            return time.clock_gettime(self._clock) - self._started
        except OSError:  # the thread has ended
            return 0.0

    def credit(self, seconds: float) -> None:
        self._started += seconds


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
            self._previous_handler = signal.signal(signal.SIGPROF, _raise_expired)
            _AlarmState.active = True
            self._previous_timer = signal.setitimer(signal.ITIMER_PROF, self.seconds)
            if self._previous_timer[0] > 0:
                self._armed_at = time.process_time()
        else:
            self._guard = _Guard(self.seconds)
            _CURRENT.guard = self._guard
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
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, self._previous_handler)
            delay, interval = self._previous_timer
            if delay > 0:  # someone else's timer (a profiler) keeps its remaining time
                left = delay - (time.process_time() - self._armed_at)
                signal.setitimer(signal.ITIMER_PROF, max(left, 1e-6), interval)

    def _stop_guard(self) -> bool:
        guard = self._guard
        assert guard is not None
        watchdog = _watchdog()
        with watchdog.lock:
            guard.active = False
            fired = guard.fired
            watchdog.forget(guard)
        _CURRENT.guard = None
        if fired:
            _async_raise(guard.thread_id, None)  # withdraw it if it was not delivered yet
        return fired


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Stop the running budget's clock for a cost that belongs to the process, not to the
    document in hand: loading a model on first use (lingua reads every language model, 5 s
    of CPU, on its first short text). Without a running budget it does nothing."""
    if _AlarmState.active and threading.get_ident() == _MAIN_THREAD:
        left, interval = signal.setitimer(signal.ITIMER_PROF, 0)
        try:
            yield
        finally:
            if _AlarmState.active:
                signal.setitimer(signal.ITIMER_PROF, max(left, 1e-6), interval)
        return
    guard = getattr(_CURRENT, "guard", None)
    started = time.thread_time()
    try:
        yield
    finally:
        if guard is not None:
            guard.credit(time.thread_time() - started)
