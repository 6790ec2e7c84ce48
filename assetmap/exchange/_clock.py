"""The exchange's clock: the one place its times and dates come from (tests may set it)."""

from __future__ import annotations

import datetime as dt

__all__ = ["FIXED", "now", "today"]

#: When set (tests), the time every exchange move is stamped with, instead of the clock's.
FIXED: dt.datetime | None = None


def _now() -> dt.datetime:
    return FIXED if FIXED is not None else dt.datetime.now(dt.UTC)


def now() -> str:
    """Return the time now, UTC, ISO 8601 to the second (``2026-12-05T09:12:00+00:00``)."""
    return _now().astimezone(dt.UTC).isoformat(timespec="seconds")


def today() -> dt.date:
    """Return today's date (UTC)."""
    return _now().astimezone(dt.UTC).date()
