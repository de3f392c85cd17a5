"""Scheduled sending: times, recurrence, the preview, the scheduler and the engine."""

from logsteer_tui.services.schedules.checks import REASON_LABELS
from logsteer_tui.services.schedules.engine import RunEngine, RunProgress
from logsteer_tui.services.schedules.planning import (
    ScheduleError,
    SchedulePlan,
    ScheduleRequest,
)
from logsteer_tui.services.schedules.preview import SchedulePreview
from logsteer_tui.services.schedules.recurrence import (
    Recurrence,
    RecurrenceError,
    parse_rule,
)
from logsteer_tui.services.schedules.service import SchedulerService, ScheduleSummary
from logsteer_tui.services.schedules.timing import ScheduleTimeError, parse_send_time

__all__ = [
    "REASON_LABELS",
    "Recurrence",
    "RecurrenceError",
    "RunEngine",
    "RunProgress",
    "ScheduleError",
    "SchedulePlan",
    "SchedulePreview",
    "ScheduleRequest",
    "ScheduleSummary",
    "ScheduleTimeError",
    "SchedulerService",
    "parse_rule",
    "parse_send_time",
]
