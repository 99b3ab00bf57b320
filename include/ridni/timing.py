"""Stage timing: the pipeline marks its stages, whoever measures them listens (``ridni bench``).

A timer is any object with ``stage(name, group)`` (a context manager) and ``add_rows(stage, n)``.
Without a timer a mark costs one empty loop; nothing is measured and nothing is logged.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Protocol


class Timer(Protocol):
    def stage(self, name: str, group: str | None = None) -> contextlib.AbstractContextManager: ...

    def add_rows(self, stage: str, n: int) -> None: ...


_timers: list[Timer] = []


def start(timer: Timer) -> None:
    """Let ``timer`` see every stage of this process from now on (until :func:`stop`)."""
    if timer not in _timers:
        _timers.append(timer)


def stop(timer: Timer) -> None:
    if timer in _timers:
        _timers.remove(timer)


@contextlib.contextmanager
def listening(timer: Timer) -> Iterator[Timer]:
    start(timer)
    try:
        yield timer
    finally:
        stop(timer)


@contextlib.contextmanager
def stage(name: str, group: str | None = None) -> Iterator[None]:
    """Mark a stage (``name``, or ``name/part`` for a part of one; ``group``: e.g. the source it works on)."""
    with contextlib.ExitStack() as stack:
        for timer in tuple(_timers):
            stack.enter_context(timer.stage(name, group))
        yield


def add_rows(stage_name: str, n: int) -> None:
    """Rows a stage worked on (added up over its calls)."""
    for timer in tuple(_timers):
        timer.add_rows(stage_name, n)


def timed(name: str) -> Callable[[Callable], Callable]:
    """Decorator: every call of the function is the stage ``name``."""
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with stage(name):
                return fn(*args, **kwargs)
        return wrapper
    return decorate
