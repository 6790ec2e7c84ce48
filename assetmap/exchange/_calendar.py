"""The first-refusal window's calendar: working days in England and Wales.

Kept apart from :mod:`assetmap.exchange.first_refusal` (which re-exports it) because
the offers list gives a disposal's window too (:mod:`assetmap.exchange.offers`).
"""

from __future__ import annotations

import datetime as dt
import functools

from ..errors import InvalidArgumentError

__all__ = ["FIRST_REFUSAL_WORKING_DAYS", "is_working_day", "window_end", "working_days_left"]

#: How long other public bodies have to express interest before an open sale.
FIRST_REFUSAL_WORKING_DAYS = 40


@functools.cache
def _bank_holidays():
    import holidays

    # England and Wales share their bank holidays; the object adds years as asked
    return holidays.country_holidays("GB", subdiv="ENG")


def is_working_day(day: dt.date) -> bool:
    """Whether ``day`` is a working day: Monday to Friday, not an England and Wales bank holiday."""
    return day.weekday() < 5 and day not in _bank_holidays()


def window_end(declared_on: dt.date) -> dt.date:
    """Return the last day of first refusal: the 40th working day after ``declared_on``.

    The day of declaring is not counted; Saturdays, Sundays and England and Wales bank
    holidays (:mod:`holidays`, ``GB``/``ENG``) are skipped.

    Examples
    --------
    >>> import datetime as dt
    >>> window_end(dt.date(2027, 1, 4))  # 40 working days: no bank holiday between
    datetime.date(2027, 3, 1)
    """
    if not isinstance(declared_on, dt.date):
        raise InvalidArgumentError(f"declared_on={declared_on!r} is not valid; expected a date")
    day = declared_on if not isinstance(declared_on, dt.datetime) else declared_on.date()
    counted = 0
    while counted < FIRST_REFUSAL_WORKING_DAYS:
        day += dt.timedelta(days=1)
        counted += is_working_day(day)
    return day


def working_days_left(end: dt.date, today: dt.date) -> int:
    """Return the working days after ``today`` up to ``end`` (0 once ``end`` is past)."""
    left, day = 0, today
    while day < end:
        day += dt.timedelta(days=1)
        left += is_working_day(day)
    return left
