"""Formatting of the times that screens show."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

DATE_FORMAT = "%Y-%m-%d"
TIME_FORMAT = "%Y-%m-%d %H:%M"


def local_date(moment: datetime | None, zone: ZoneInfo) -> str:
    """Format the date of an aware ``moment`` in ``zone``, or "" for None."""
    return moment.astimezone(zone).strftime(DATE_FORMAT) if moment else ""


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """Format the date and minute of an aware ``moment`` in ``zone``."""
    return moment.astimezone(zone).strftime(TIME_FORMAT) if moment else ""
