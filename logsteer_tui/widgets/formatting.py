"""How the screens show times and flags."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

DATE_FORMAT = "%Y-%m-%d"
TIME_FORMAT = "%Y-%m-%d %H:%M"


def local_date(moment: datetime | None, zone: ZoneInfo) -> str:
    """The date of an aware UTC ``moment`` in ``zone``, or "" when there is none."""
    return moment.astimezone(zone).strftime(DATE_FORMAT) if moment else ""


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """The date and minute of an aware UTC ``moment`` in ``zone``."""
    return moment.astimezone(zone).strftime(TIME_FORMAT) if moment else ""
