"""The one source of the current time.

Every "now" in DocRelay comes from :func:`now`, always an aware UTC datetime.
Tests move time with :func:`set_clock` instead of patching ``datetime``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

_source: Callable[[], _dt.datetime] | None = None


def now() -> _dt.datetime:
    """Return the current time as an aware UTC datetime."""
    if _source is not None:
        return _source()
    return _dt.datetime.now(_dt.UTC)


def set_clock(source: Callable[[], _dt.datetime] | None) -> None:
    """Replace the time source; ``None`` restores the system clock."""
    global _source
    _source = source


class FrozenClock:
    """A manual clock for tests: ``clock = FrozenClock(start); set_clock(clock)``."""

    def __init__(self, start: _dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.current = start.astimezone(_dt.UTC)

    def __call__(self) -> _dt.datetime:
        return self.current

    def advance(self, **delta: float) -> _dt.datetime:
        self.current += _dt.timedelta(**delta)
        return self.current


def ensure_utc(value: _dt.datetime) -> _dt.datetime:
    """Return ``value`` as aware UTC; naive values (as SQLite returns them) are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)
