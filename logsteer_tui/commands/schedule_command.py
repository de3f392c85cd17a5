"""`logsteer schedule`: plan, list, pause, resume, cancel and send scheduled SMS.

Schedules made here are stored in the database. A running `logsteer serve` or
TUI picks them up within its poll interval and sends them at their time.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from logsteer_tui.db.models import Channel, DeliveryStatus, MessageType
from logsteer_tui.errors import LogsteerError
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.schedules import (
    ScheduleError,
    ScheduleRequest,
    SchedulerService,
    ScheduleSummary,
)
from logsteer_tui.services.schedules import deliveries as delivery_rows
from logsteer_tui.services.serialize import iso


class NotConfirmedError(LogsteerError):
    title = "Not confirmed"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schedule", help="plan SMS to a segment at a set time, and manage them"
    )
    commands = parser.add_subparsers(
        dest="schedule_command", metavar="SUBCOMMAND", required=True
    )
    _register_create(commands)

    listing = commands.add_parser(
        "list", help="list schedules: status, next run, sent, skipped and failed"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)

    history = commands.add_parser("history", help="list the runs of a schedule")
    history.add_argument("id", type=int, metavar="ID")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(handler=run_history)

    deliveries = commands.add_parser(
        "deliveries", help="list the contacts of a run with their status and reason"
    )
    deliveries.add_argument("run", type=int, metavar="RUN")
    deliveries.add_argument(
        "--status",
        choices=[status.value for status in DeliveryStatus],
        action="append",
        help="show only this status; repeat for several",
    )
    deliveries.add_argument("--json", action="store_true", help="print JSON")
    deliveries.set_defaults(handler=run_deliveries)

    for name, help_text, handler in (
        (
            "cancel",
            "cancel a schedule; contacts not yet sent to are skipped",
            run_cancel,
        ),
        ("pause", "stop a schedule firing, and its running run", run_pause),
        ("resume", "let a paused schedule fire again and continue its run", run_resume),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("id", type=int, metavar="ID")
        command.set_defaults(handler=handler)

    send_now = commands.add_parser(
        "send-now",
        help="send a missed run now, or resend the interrupted contacts of a run",
        description="Send run RUN in this process and wait until it is done. "
        "Interrupted contacts (the sender stopped before the provider answered) may "
        "already have the SMS: check the provider's log before confirming.",
    )
    send_now.add_argument("run", type=int, metavar="RUN")
    send_now.add_argument("--yes", action="store_true", help="do not ask")
    send_now.set_defaults(handler=run_send_now)

    edit = commands.add_parser("edit", help="change a schedule that has not run yet")
    edit.add_argument("id", type=int, metavar="ID")
    edit.add_argument("--body", metavar="TEXT", help="the new text (a template)")
    edit.add_argument("--at", metavar="TIME", help="the new send time")
    edit.add_argument("--every", metavar="RULE", help="the new recurrence")
    edit.add_argument(
        "--segment", metavar="NAME", help="send to this segment from now on"
    )
    edit.add_argument(
        "--type",
        choices=[member.value for member in MessageType],
        help="the new message type",
    )
    edit.add_argument(
        "--transliterate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="replace č ć đ š ž by c c dj s z, or stop doing so",
    )
    edit.set_defaults(handler=run_edit)

    save_template = commands.add_parser(
        "template-save", help="save a message template for --template"
    )
    save_template.add_argument("name", metavar="NAME")
    save_template.add_argument("--body", required=True, metavar="TEXT")
    save_template.set_defaults(handler=run_template_save)

    templates = commands.add_parser("templates", help="list saved templates")
    templates.set_defaults(handler=run_templates)


def _register_create(commands: Any) -> None:
    create = commands.add_parser(
        "create",
        help="plan an SMS to a segment; prints the preview and asks first",
        description="Plan a message to everyone the segment matches at send time. "
        'TIME is read in [general] timezone: "+2h", "tomorrow 09:00", "mon 08:30" '
        'or "2026-12-24 09:00". RULE repeats it: "daily", "weekly mon,thu" or '
        '"cron 0 9 * * 1-5".',
    )
    create.add_argument("--segment", required=True, metavar="NAME")
    text = create.add_mutually_exclusive_group(required=True)
    text.add_argument("--body", metavar="TEXT", help="the text, a Jinja2 template")
    text.add_argument("--template", metavar="NAME", help="a saved template")
    create.add_argument("--at", required=True, metavar="TIME", help="the send time")
    create.add_argument(
        "--channel", choices=[Channel.SMS.value], default=Channel.SMS.value
    )
    create.add_argument(
        "--type",
        choices=[member.value for member in MessageType],
        default=MessageType.PROMOTIONAL.value,
        help="message type (default: promotional)",
    )
    create.add_argument("--every", default="", metavar="RULE", help="repeat the send")
    create.add_argument(
        "--grace",
        type=int,
        default=None,
        metavar="MINUTES",
        help="how late a run missed while nothing ran may still start, in minutes "
        "(default: [schedules] grace_minutes)",
    )
    create.add_argument(
        "--transliterate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="replace č ć đ š ž by c c dj s z (default: [sms] transliterate)",
    )
    create.add_argument("--name", default="", help="a name for the list")
    create.add_argument("--yes", action="store_true", help="save without asking")
    create.set_defaults(handler=run_create)


def confirm(question: str, yes: bool) -> None:
    """Ask ``question`` on the terminal; raise NotConfirmedError unless it gets y."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise NotConfirmedError(
            "Nothing was done: standard input is not a terminal, so nobody can "
            "confirm. Pass --yes to go ahead without asking."
        )
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise NotConfirmedError("Not confirmed; nothing was changed.")


async def run_create(args: argparse.Namespace, runtime: Runtime) -> int:
    if not args.segment.strip():
        raise ScheduleError(
            "--segment is empty. Pick a segment to send to with --segment NAME "
            "(`logsteer segments list` lists them).",
            "Schedule not saved",
        )
    service = runtime.schedules
    request = ScheduleRequest(
        at=args.at,
        body=args.body,
        template=args.template,
        segment=args.segment,
        channel=Channel(args.channel),
        message_type=MessageType(args.type),
        every=args.every,
        transliterate=args.transliterate,
        grace=timedelta(minutes=args.grace) if args.grace is not None else None,
        name=args.name,
    )
    plan = await service.plan(request)
    preview = await service.preview(plan)
    zone = ZoneInfo(plan.timezone)
    first = plan.first_run.astimezone(zone)
    target = plan.segment_name or f"{len(request.contact_ids or ())} contacts"
    print(f"Segment {target!r}, first send {first:%Y-%m-%d %H:%M %Z}")
    if plan.recurrence is not None:
        print(f"Repeats: {plan.recurrence.rule}")
    for line in preview.lines():
        print(line)
    confirm("Save this schedule?", args.yes)
    (schedule_id,) = await service.create([plan])
    print(f"Saved schedule {schedule_id}.")
    return 0


def summary_data(summary: ScheduleSummary) -> dict[str, Any]:
    running = summary.running
    return {
        "id": summary.id,
        "name": summary.name,
        "status": summary.shown_status,
        "type": summary.message_type.value,
        "segment": summary.segment_name,
        "contacts": summary.contact_count,
        "rule": summary.rule,
        "next_run_at": iso(summary.next_run_at),
        "runs": summary.runs,
        "sent": summary.sent,
        "skipped": summary.skipped,
        "failed": summary.failed,
        "running_run": (
            {
                "id": running.run_id,
                "total": running.total,
                "pending": running.pending,
            }
            if running is not None
            else None
        ),
    }


async def run_list(args: argparse.Namespace, runtime: Runtime) -> int:
    summaries = await runtime.schedules.summaries()
    if args.json:
        data = [summary_data(summary) for summary in summaries]
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    if not summaries:
        print("No schedules yet; plan one with `logsteer schedule create`.")
        return 0
    zone = runtime.schedules.zone
    print(
        f"{'ID':>5}  {'STATUS':<10} {'NEXT RUN':<17} {'SENT':>7} {'SKIPPED':>7} "
        f"{'FAILED':>7}  NAME"
    )
    for summary in summaries:
        next_run = (
            f"{summary.next_run_at.astimezone(zone):%Y-%m-%d %H:%M}"
            if summary.next_run_at
            else "-"
        )
        print(
            f"{summary.id:>5}  {summary.shown_status:<10} {next_run:<17} "
            f"{summary.sent:>7} {summary.skipped:>7} {summary.failed:>7}  "
            f"{summary.name}"
        )
    return 0


async def run_history(args: argparse.Namespace, runtime: Runtime) -> int:
    runs = await runtime.schedules.history(args.id)
    data = [
        {
            "id": run.id,
            "planned_at": iso(run.planned_at),
            "status": run.status.value,
            "total": run.total,
            "sent": run.sent,
            "skipped": run.skipped,
            "failed": run.failed,
            "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at),
            "note": run.note,
        }
        for run in runs
    ]
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    if not runs:
        print(f"Schedule {args.id} has not run yet.")
    zone = runtime.schedules.zone
    for run in runs:
        # The same local time as `schedule list` and the Schedules screen.
        planned = f"{run.planned_at.astimezone(zone):%Y-%m-%d %H:%M}"
        print(
            f"Run {run.id}  {planned}  {run.status.value}: {run.sent} sent, "
            f"{run.skipped} skipped, {run.failed} failed of {run.total}"
        )
        if run.note:
            print(f"  {run.note}")
    return 0


async def run_deliveries(args: argparse.Namespace, runtime: Runtime) -> int:
    statuses = [DeliveryStatus(value) for value in args.status or []]
    rows = await runtime.schedules.deliveries(args.run, statuses, limit=100_000)
    data = [
        {
            "contact_id": row.contact_id,
            "status": row.status.value,
            "error_code": row.error_code,
            "reason": row.reason,
            "message_id": row.message_id,
        }
        for row in rows
    ]
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    named = await delivery_rows.run_deliveries(
        runtime.sessions, args.run, statuses or list(DeliveryStatus), limit=100_000
    )
    if not named:
        words = " or ".join(status.value for status in statuses)
        print(f"Run {args.run} has no {words + ' ' if words else ''}deliveries.")
        return 0
    print(f"{'Contact':>8}  {'Name':<22} {'Mobile 1':<16} {'Status':<11} Reason")
    for row in named:
        contact = str(row.contact_id) if row.contact_id is not None else "deleted"
        print(
            f"{contact:>8}  {row.name[:22]:<22} {row.mobile_1 or '-':<16} "
            f"{row.status.value:<11} {row.reason}".rstrip()
        )
    return 0


async def _act(service: SchedulerService, action: str, schedule_id: int) -> int:
    await getattr(service, action)(schedule_id)
    past = {"cancel": "Cancelled", "pause": "Paused", "resume": "Resumed"}[action]
    print(f"{past} schedule {schedule_id}.")
    return 0


async def run_cancel(args: argparse.Namespace, runtime: Runtime) -> int:
    return await _act(runtime.schedules, "cancel", args.id)


async def run_pause(args: argparse.Namespace, runtime: Runtime) -> int:
    return await _act(runtime.schedules, "pause", args.id)


async def run_resume(args: argparse.Namespace, runtime: Runtime) -> int:
    return await _act(runtime.schedules, "resume", args.id)


async def run_send_now(args: argparse.Namespace, runtime: Runtime) -> int:
    interrupted = await runtime.schedules.deliveries(
        args.run, [DeliveryStatus.INTERRUPTED], limit=100_000
    )
    if interrupted:
        print(
            f"{len(interrupted)} contacts of run {args.run} were interrupted while "
            "being sent and may already have the SMS. Check the provider's log."
        )
    confirm(f"Send run {args.run} now?", args.yes)
    progress = await runtime.schedules.send_now(args.run, wait=True)
    print(
        f"Run {progress.run_id} {progress.status.value}: {progress.sent} sent, "
        f"{progress.skipped} skipped, {progress.failed} failed of {progress.total}."
    )
    return 0


async def run_edit(args: argparse.Namespace, runtime: Runtime) -> int:
    changes = (args.body, args.at, args.every, args.segment, args.type)
    if all(value is None for value in changes) and args.transliterate is None:
        raise ScheduleError(
            f"Nothing to change in schedule {args.id}: give --body, --at, --every, "
            "--segment, --type or --[no-]transliterate.",
            "Schedule not edited",
        )
    await runtime.schedules.edit(
        args.id,
        body=args.body,
        at=args.at,
        every=args.every,
        message_type=MessageType(args.type) if args.type else None,
        segment=args.segment,
        transliterate=args.transliterate,
    )
    print(f"Edited schedule {args.id}.")
    return 0


async def run_template_save(args: argparse.Namespace, runtime: Runtime) -> int:
    template = await runtime.schedules.save_template(args.name, args.body)
    print(f"Saved template {template.name!r}.")
    return 0


async def run_templates(args: argparse.Namespace, runtime: Runtime) -> int:
    templates = await runtime.schedules.list_templates()
    if not templates:
        print("No templates yet; save one with `logsteer schedule template-save`.")
    for template in templates:
        print(f"{template.name}: {template.body}")
    return 0
