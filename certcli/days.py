"""Calendar days in China Standard Time (SPEC §2): the one place an instant becomes a day.

Both the domain rules (:mod:`certcli.rules`) and the message catalog
(:mod:`certcli.i18n`) need these; they live here, on the standard library alone,
because rules imports errors, which imports i18n, so i18n cannot import rules.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def cst_day(instant: datetime) -> date:
    """The calendar day in China Standard Time of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: certcli only handles aware instants")
    return instant.astimezone(CST).date()


def valid_through(valid_until: datetime) -> date:
    """The last calendar day (CST) on which an annotation valid until ``valid_until``
    (exclusive) is usable, inclusive: what a person reads as "有效期至 …" (R2).
    The start of D+N gives D+N-1; an end inside a day gives that day."""
    return cst_day(valid_until - timedelta(microseconds=1))
