"""Scheduled runs on SQLite: consent at send time, skips, failures, missed runs."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from logsteer_tui.config import Settings, load_settings
from logsteer_tui.db.models import (
    Address,
    ConsentEvent,
    ConsentSource,
    Contact,
    Delivery,
    DeliveryStatus,
    Message,
    MessageStatus,
    MessageStatusEvent,
    MessageType,
    Order,
    ScheduleRun,
    ScheduleRunStatus,
    ScheduleStatus,
)
from logsteer_tui.db.types import utc_now
from logsteer_tui.errors import ConfigError
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.schedules import (
    RunEngine,
    ScheduleError,
    ScheduleRequest,
    SchedulerService,
    ScheduleTimeError,
)
from logsteer_tui.services.schedules.checks import CachingRenderer, judge_contact
from logsteer_tui.services.segments import SegmentService
from logsteer_tui.services.sms.providers import (
    OPTED_OUT_CODE,
    OutgoingSms,
    ProviderError,
    ProviderReply,
)
from logsteer_tui.services.templates import TemplateError, TemplateRenderer
from logsteer_tui.services.webhooks import IncomingSms

EVERYONE = {"match": "and", "conditions": []}


@pytest.fixture
def settings(paths: AppPaths) -> Settings:
    """Settings with no practical rate limit, so runs finish at once."""
    return load_settings(paths.config_file, sending={"sms_per_second": 10_000})


@pytest.fixture
async def app(runtime: Runtime) -> AsyncIterator[Runtime]:
    """The runtime with the inbound writer running, for STOP replies."""
    await runtime.inbound.start()
    yield runtime
    await runtime.inbound.stop()


async def add_contacts(runtime: Runtime, count: int, **fields: object) -> list[int]:
    ids = []
    for index in range(count):
        values = {
            "first_name": f"Ana{index}",
            "last_name": "Horvat",
            "mobile_1": f"+38591{len(ids) + index + 1000000:07d}",
            **fields,
        }
        ids.append((await runtime.contacts.create(values)).id)
    return ids


async def save_everyone(runtime: Runtime, name: str = "Everyone") -> None:
    segments = SegmentService.from_settings(runtime.sessions, runtime.settings)
    await segments.save(name, EVERYONE)


async def create(
    service: SchedulerService, body: str = "Hi {{ first_name }}", **fields: object
) -> int:
    request = ScheduleRequest(at="+1m", body=body, segment="Everyone", **fields)  # type: ignore[arg-type]
    plan = await service.plan(request)
    (schedule_id,) = await service.create([plan])
    return schedule_id


async def fire_and_wait(service: SchedulerService, schedule_id: int) -> list[int]:
    runs = await service.fire(schedule_id, now=utc_now() + timedelta(minutes=2))
    await asyncio.gather(*service.running_tasks().values())
    return runs


async def deliveries(runtime: Runtime, run_id: int) -> list[Delivery]:
    async with runtime.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(Delivery)
                    .where(Delivery.run_id == run_id)
                    .order_by(Delivery.id)
                )
            ).all()
        )


async def run_row(runtime: Runtime, run_id: int) -> ScheduleRun:
    async with runtime.sessions() as session:
        run = await session.get(ScheduleRun, run_id)
        assert run is not None
        return run


def outbox_recipients(runtime: Runtime) -> Counter[str]:
    outbox = runtime.paths.dev_outbox_file
    if not outbox.exists():
        return Counter()
    lines = outbox.read_text(encoding="utf-8").splitlines()
    return Counter(json.loads(line)["to"] for line in lines)


async def test_run_sends_each_contact_once(app: Runtime) -> None:
    ids = await add_contacts(app, 5)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    run = await run_row(app, run_id)
    assert run.status is ScheduleRunStatus.FINISHED
    assert (run.total, run.sent, run.skipped, run.failed) == (5, 5, 0, 0)
    rows = await deliveries(app, run_id)
    assert [row.contact_id for row in rows] == ids
    assert {row.status for row in rows} == {DeliveryStatus.SENT}
    assert set(outbox_recipients(app).values()) == {1}
    async with app.sessions() as session:
        statuses = (await session.scalars(select(Message.status))).all()
        contact = await session.get(Contact, ids[0])
        history = (await session.scalars(select(MessageStatusEvent.status))).all()
    assert set(statuses) == {MessageStatus.SENT}
    assert Counter(history) == {MessageStatus.PENDING: 5, MessageStatus.SENT: 5}
    assert contact is not None
    assert contact.last_sms_sent_body == "Hi Ana0"
    assert contact.last_sms_sent_at is not None
    assert contact.last_message_at == contact.last_sms_sent_at


async def test_stop_reply_before_send_is_skipped(app: Runtime) -> None:
    ana, ivo = await add_contacts(app, 2)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    ivo_mobile = (await app.sms.load_contact(ivo)).mobile_1
    assert ivo_mobile is not None
    await app.inbound.receive(
        IncomingSms("twilio", "SMstop1", ivo_mobile, "+1", "STOP")
    )
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    by_contact = {row.contact_id: row for row in await deliveries(app, run_id)}
    assert by_contact[ana].status is DeliveryStatus.SENT
    assert by_contact[ivo].status is DeliveryStatus.SKIPPED
    assert by_contact[ivo].error_code == "do_not_send_sms"
    assert "Do not send SMS" in by_contact[ivo].reason
    assert ivo_mobile not in outbox_recipients(app)


async def test_contact_without_mobile_is_skipped(app: Runtime) -> None:
    (with_mobile,) = await add_contacts(app, 1)
    no_mobile = (await app.contacts.create({"first_name": "Ivo"})).id
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    by_contact = {row.contact_id: row for row in await deliveries(app, run_id)}
    assert by_contact[with_mobile].status is DeliveryStatus.SENT
    assert by_contact[no_mobile].status is DeliveryStatus.SKIPPED
    assert by_contact[no_mobile].error_code == "no_mobile_1"
    assert "Mobile 1" in by_contact[no_mobile].reason


async def test_template_error_fails_that_contact_only(app: Runtime) -> None:
    (with_company,) = await add_contacts(app, 1, company="Logsteer")
    (without_company,) = await add_contacts(app, 1)
    await save_everyone(app)
    schedule_id = await create(app.schedules, body="Hello {{ company }}")
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    by_contact = {row.contact_id: row for row in await deliveries(app, run_id)}
    assert by_contact[with_company].status is DeliveryStatus.SENT
    assert by_contact[without_company].status is DeliveryStatus.FAILED
    assert by_contact[without_company].error_code == "template"
    assert "company" in by_contact[without_company].reason
    run = await run_row(app, run_id)
    assert (run.sent, run.failed) == (1, 1)


async def test_preview_counts_skips_parts_and_sample(app: Runtime) -> None:
    await add_contacts(app, 3, company="Logsteer")
    await add_contacts(app, 1, do_not_send_sms=True, company="Logsteer")
    await app.contacts.create({"first_name": "Ivo", "company": "Logsteer"})
    await add_contacts(app, 1)
    await save_everyone(app)
    plan = await app.schedules.plan(
        ScheduleRequest(
            at="+1h", body="Hi {{ first_name }} from {{ company }}", segment="Everyone"
        )
    )
    preview = await app.schedules.preview(plan)
    assert preview.contacts == 6
    assert preview.sendable == 3
    assert preview.skipped == {"Do not send SMS": 1, "no Mobile 1": 1}
    assert preview.failed == {"template error": 1}
    assert preview.parts == 3
    assert preview.sample == "Hi Ana0 from Logsteer"
    assert any("company" in example for example in preview.examples)
    assert any("Skipped, Do not send SMS: 1" in line for line in preview.lines())


async def test_past_time_rejected(app: Runtime) -> None:
    await save_everyone(app)
    with pytest.raises(ScheduleTimeError) as caught:
        await app.schedules.plan(
            ScheduleRequest(at="2020-01-01 09:00", body="Hi", segment="Everyone")
        )
    assert "'2020-01-01 09:00'" in caught.value.message


async def test_missed_run_beyond_grace_then_send_now(app: Runtime) -> None:
    await add_contacts(app, 2)
    await save_everyone(app)
    schedule_id = await create(app.schedules, grace=timedelta(minutes=5))
    runs = await app.schedules.fire(schedule_id, now=utc_now() + timedelta(hours=1))
    assert runs == []
    history = await app.schedules.history(schedule_id)
    assert [run.status for run in history] == [ScheduleRunStatus.MISSED]
    assert "send-now" in history[0].note
    assert (await app.schedules.get(schedule_id)).status is ScheduleStatus.MISSED
    progress = await app.schedules.send_now(history[0].id, wait=True)
    assert progress.status is ScheduleRunStatus.FINISHED
    assert progress.sent == 2


async def test_late_run_within_grace_sends(app: Runtime) -> None:
    await add_contacts(app, 1)
    await save_everyone(app)
    schedule_id = await create(app.schedules, grace=timedelta(hours=2))
    runs = await app.schedules.fire(schedule_id, now=utc_now() + timedelta(hours=1))
    await asyncio.gather(*app.schedules.running_tasks().values())
    assert len(runs) == 1
    assert (await run_row(app, runs[0])).sent == 1


async def test_configured_grace_is_default(paths: AppPaths) -> None:
    paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    paths.config_file.write_text("[schedules]\ngrace_minutes = 5\n", encoding="utf-8")
    settings = load_settings(paths.config_file, sending={"sms_per_second": 10_000})
    assert settings.schedules.grace_minutes == 5
    runtime = Runtime.create(settings, paths)
    await runtime.start(background=False)
    try:
        await add_contacts(runtime, 1)
        await save_everyone(runtime)
        default_id = await create(runtime.schedules)
        own_id = await create(runtime.schedules, grace=timedelta(hours=2))
        assert (await runtime.schedules.get(default_id)).grace_seconds == 300
        assert (await runtime.schedules.get(own_id)).grace_seconds == 7200
        late = utc_now() + timedelta(minutes=20)
        assert await runtime.schedules.fire(default_id, now=late) == []
        assert len(await runtime.schedules.fire(own_id, now=late)) == 1
        await asyncio.gather(*runtime.schedules.running_tasks().values())
        (missed,) = await runtime.schedules.history(default_id)
        assert missed.status is ScheduleRunStatus.MISSED
        assert "grace window of 5 minutes" in missed.note
    finally:
        await runtime.stop()


def test_negative_grace_setting_rejected(paths: AppPaths) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(paths.config_file, schedules={"grace_minutes": -1})
    assert "schedules.grace_minutes" in caught.value.message


async def test_recurring_schedule_moves_to_next_time(app: Runtime) -> None:
    await add_contacts(app, 1)
    await save_everyone(app)
    schedule_id = await create(app.schedules, every="daily")
    first = (await app.schedules.get(schedule_id)).next_run_at
    assert first is not None
    await fire_and_wait(app.schedules, schedule_id)
    schedule = await app.schedules.get(schedule_id)
    assert schedule.status is ScheduleStatus.ACTIVE
    assert schedule.next_run_at == first + timedelta(days=1)


async def test_pause_resume_and_cancel(app: Runtime) -> None:
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    await app.schedules.pause(schedule_id)
    assert (
        await app.schedules.fire(schedule_id, now=utc_now() + timedelta(minutes=2))
        == []
    )
    with pytest.raises(ScheduleError):
        await app.schedules.pause(schedule_id)
    await app.schedules.resume(schedule_id)
    assert (await app.schedules.get(schedule_id)).status is ScheduleStatus.ACTIVE
    await app.schedules.cancel(schedule_id)
    schedule = await app.schedules.get(schedule_id)
    assert schedule.status is ScheduleStatus.CANCELLED
    assert schedule.next_run_at is None


class GatedProvider:
    """The development provider, holding every send after the first ``open``."""

    def __init__(self, inner: Any, open_count: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.sender = inner.sender
        self.open_count = open_count
        self.calls = 0
        self.reached = asyncio.Event()
        self.gate = asyncio.Event()

    def configuration_problem(self) -> str | None:
        return None

    def longest_send_seconds(self) -> float:
        return 5.0

    async def send(self, sms: OutgoingSms) -> ProviderReply:
        self.calls += 1
        if self.calls > self.open_count:
            self.reached.set()
            await self.gate.wait()
        return await self.inner.send(sms)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self.inner.aclose()


async def start_gated_run(app: Runtime) -> tuple[int, int, GatedProvider]:
    """Fire a run for everyone in batches of 5 and wait until five went out.

    The sixth send and the ones after it wait at the gate until it opens.
    """
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    app.schedules.engine.batch_size = 5
    gated = GatedProvider(app.sms.provider, open_count=5)
    app.sms.provider = gated
    (run_id,) = await app.schedules.fire(
        schedule_id, now=utc_now() + timedelta(minutes=2)
    )
    await asyncio.wait_for(gated.reached.wait(), 10)
    return schedule_id, run_id, gated


async def test_cancel_while_running_skips_the_rest(app: Runtime) -> None:
    await add_contacts(app, 30)
    schedule_id, run_id, gated = await start_gated_run(app)
    await app.schedules.cancel(schedule_id)
    gated.gate.set()
    await asyncio.gather(*app.schedules.running_tasks().values())
    rows = await deliveries(app, run_id)
    statuses = Counter(row.status for row in rows)
    assert 5 <= statuses[DeliveryStatus.SENT] <= 15
    assert statuses[DeliveryStatus.SKIPPED] + statuses[DeliveryStatus.SENT] == 30
    skipped = [row for row in rows if row.status is DeliveryStatus.SKIPPED]
    assert {row.error_code for row in skipped} == {"cancelled"}
    assert {row.message_id for row in skipped} == {None}
    run = await run_row(app, run_id)
    assert run.status is ScheduleRunStatus.CANCELLED
    assert (run.sent, run.skipped) == (statuses[DeliveryStatus.SENT], len(skipped))


async def test_edit_before_start_only(app: Runtime) -> None:
    await add_contacts(app, 1)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    await app.schedules.edit(schedule_id, body="Changed {{ first_name }}", at="+3h")
    schedule = await app.schedules.get(schedule_id)
    assert schedule.body == "Changed {{ first_name }}"
    assert schedule.next_run_at is not None
    assert schedule.next_run_at > utc_now() + timedelta(hours=2)
    await app.schedules.fire(schedule_id, now=utc_now() + timedelta(hours=4))
    await asyncio.gather(*app.schedules.running_tasks().values())
    with pytest.raises(ScheduleError) as caught:
        await app.schedules.edit(schedule_id, body="Too late")
    assert "cannot be edited" in caught.value.message


async def test_edit_type_and_paused_reason(app: Runtime) -> None:
    await add_contacts(app, 1)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    await app.schedules.edit(schedule_id, message_type=MessageType.TRANSACTIONAL)
    schedule = await app.schedules.editable(schedule_id)
    assert schedule.message_type is MessageType.TRANSACTIONAL
    assert schedule.body == "Hi {{ first_name }}"
    await app.schedules.pause(schedule_id)
    with pytest.raises(ScheduleError) as caught:
        await app.schedules.editable(schedule_id)
    assert "is paused" in caught.value.message
    assert "Resume it first" in caught.value.message


async def test_marked_contacts_only(app: Runtime) -> None:
    ids = await add_contacts(app, 4)
    plan = await app.schedules.plan(
        ScheduleRequest(at="+1m", body="Hi", contact_ids=(ids[1], ids[3]))
    )
    (schedule_id,) = await app.schedules.create([plan])
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    assert [row.contact_id for row in await deliveries(app, run_id)] == [ids[1], ids[3]]


async def test_template_by_name(app: Runtime) -> None:
    await add_contacts(app, 1)
    await save_everyone(app)
    await app.schedules.save_template("welcome", "Welcome {{ first_name }}")
    plan = await app.schedules.plan(
        ScheduleRequest(at="+1m", template="welcome", segment="Everyone")
    )
    assert plan.body == "Welcome {{ first_name }}"


async def test_recover_requeues_unsent_and_settles_sent(app: Runtime) -> None:
    await add_contacts(app, 6)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    service = app.schedules
    runs = await service.fire(schedule_id, now=utc_now() + timedelta(minutes=2))
    # Stop the run task before it sends, then fake a crash after the claim.
    for task in service.running_tasks().values():
        task.cancel()
    await asyncio.gather(*service.running_tasks().values(), return_exceptions=True)
    (run_id,) = runs
    segments = SegmentService.from_settings(app.sessions, app.settings)
    dead = RunEngine(app.sessions, app.hub, app.sms, segments, "dead", rate=None)
    await dead.populate(run_id)
    schedule = await service.get(schedule_id)
    prepared, claimed = await dead._claim(run_id, schedule)
    assert claimed == 6
    # The provider got the first three before the process died.
    for item in prepared[:3]:
        await app.sms.provider.send(item.sms)
    recovered = await service.engine.recover(timedelta(seconds=0))
    assert recovered == [run_id]
    statuses = Counter(row.status for row in await deliveries(app, run_id))
    assert statuses == {DeliveryStatus.SENT: 3, DeliveryStatus.PENDING: 3}
    await service.send_now(run_id, wait=True)
    assert set(outbox_recipients(app).values()) == {1}
    assert len(outbox_recipients(app)) == 6
    async with app.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
    assert count == 9


async def test_startup_sweep_keeps_recovered_sent(app: Runtime) -> None:
    await add_contacts(app, 4)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    service = app.schedules
    (run_id,) = await service.fire(schedule_id, now=utc_now() + timedelta(minutes=2))
    for task in service.running_tasks().values():
        task.cancel()
    await asyncio.gather(*service.running_tasks().values(), return_exceptions=True)
    segments = SegmentService.from_settings(app.sessions, app.settings)
    dead = RunEngine(app.sessions, app.hub, app.sms, segments, "dead", rate=None)
    await dead.populate(run_id)
    prepared, claimed = await dead._claim(run_id, await service.get(schedule_id))
    assert claimed == 4
    for item in prepared[:2]:
        await app.sms.provider.send(item.sms)

    # The process died an hour ago, so the start-up sweep finds old pending SMS.
    async with app.sessions() as session, session.begin():
        await session.execute(
            update(Message).values(created_at=utc_now() - timedelta(hours=1))
        )

    # Start-up order: the outbox sweep runs before the scheduler's recovery.
    assert await app.sms.recover_interrupted() == 0
    await service.engine.recover(timedelta(seconds=0))

    sent_ids = {item.sms.message_id for item in prepared[:2]}
    async with app.sessions() as session:
        messages = list((await session.scalars(select(Message))).all())
    by_id = {message.id: message.status for message in messages}
    assert {by_id[message_id] for message_id in sent_ids} == {MessageStatus.SENT}
    rows = {row.contact_id: row for row in await deliveries(app, run_id)}
    sent_rows = [row for row in rows.values() if row.status is DeliveryStatus.SENT]
    assert {row.message_id for row in sent_rows} == sent_ids
    assert len(rows) == 4


class SilentProvider(GatedProvider):
    """A provider with no record of what it received, unlike the development one."""


async def test_recover_marks_unknown_sends_interrupted(app: Runtime) -> None:
    await add_contacts(app, 2)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    app.sms.provider = SilentProvider(app.sms.provider, open_count=100)
    service = app.schedules
    (run_id,) = await service.fire(schedule_id, now=utc_now() + timedelta(minutes=2))
    for task in service.running_tasks().values():
        task.cancel()
    await asyncio.gather(*service.running_tasks().values(), return_exceptions=True)
    segments = SegmentService.from_settings(app.sessions, app.settings)
    dead = RunEngine(app.sessions, app.hub, app.sms, segments, "dead", rate=None)
    await dead.populate(run_id)
    _, claimed = await dead._claim(run_id, await service.get(schedule_id))
    assert claimed == 2
    await service.engine.recover(timedelta(seconds=0))
    rows = await deliveries(app, run_id)
    assert {row.status for row in rows} == {DeliveryStatus.INTERRUPTED}
    assert all("may or may not have arrived" in row.reason for row in rows)
    progress = await service.send_now(run_id, wait=True)
    assert progress.status is ScheduleRunStatus.FINISHED
    assert (progress.sent, progress.failed) == (2, 0)


class OptedOutProvider(GatedProvider):
    """A provider that rejects every SMS because the recipient replied STOP."""

    async def send(self, sms: OutgoingSms) -> ProviderReply:
        raise ProviderError(OPTED_OUT_CODE, "The recipient has opted out")


async def test_carrier_opt_out_in_run_sets_flag(app: Runtime) -> None:
    (contact_id,) = await add_contacts(app, 1)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    app.sms.provider = OptedOutProvider(app.sms.provider, open_count=100)
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    (row,) = await deliveries(app, run_id)
    assert row.status is DeliveryStatus.FAILED
    assert row.error_code == OPTED_OUT_CODE
    async with app.sessions() as session:
        contact = await session.get(Contact, contact_id)
        events = list(
            (
                await session.scalars(
                    select(ConsentEvent).where(ConsentEvent.contact_id == contact_id)
                )
            ).all()
        )
    assert contact is not None
    assert contact.do_not_send_sms
    assert [event.source for event in events] == [ConsentSource.PROVIDER_ERROR]
    assert OPTED_OUT_CODE in events[0].reason
    assert events[0].message_id == row.message_id


def test_caching_renderer_matches_renderer() -> None:
    plain = TemplateRenderer()
    cached = CachingRenderer()
    template = "Hi {{ first_name }}{% if company %} from {{ company }}{% endif %}"
    for fields in (
        {"first_name": "Ana", "company": "Logsteer"},
        {"first_name": "Ivo", "company": None},
    ):
        assert cached.render(template, fields) == plain.render(template, fields)
    with pytest.raises(TemplateError) as caught:
        cached.render("Hi {{ first_name }}", {"first_name": None})
    assert "first_name is empty" in caught.value.message
    assert cached.render("Hi {{ first_name }}", {"first_name": "Ema"}) == "Hi Ema"


def test_unknown_field_lists_every_field(app: Runtime) -> None:
    contact = Contact(id=1, first_name="Ana", mobile_1="+385910000001")
    contact.addresses = []
    contact.orders = []
    verdict = judge_contact(app.sms, contact, "Hi {{ nmae }}", None, CachingRenderer())
    assert verdict.status is DeliveryStatus.FAILED
    assert "Unknown field nmae" in verdict.reason
    assert "last_order_date" in verdict.reason


async def test_many_marked_contacts_in_chunks(app: Runtime) -> None:
    async with app.sessions() as session, session.begin():
        await session.execute(
            insert(Contact),
            [
                {"first_name": f"Ana{index}", "mobile_1": f"+38592{index:07d}"}
                for index in range(1200)
            ],
        )
        ids = list((await session.scalars(select(Contact.id))).all())
    deleted = ids[600]
    await app.contacts.delete(deleted)
    plan = await app.schedules.plan(
        ScheduleRequest(at="+1m", body="Hi", contact_ids=tuple(ids))
    )
    preview = await app.schedules.preview(plan)
    assert preview.contacts == 1199
    (schedule_id,) = await app.schedules.create([plan])
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    run = await run_row(app, run_id)
    assert (run.total, run.sent) == (1199, 1199)


async def test_pause_while_running_then_resume(app: Runtime) -> None:
    await add_contacts(app, 20)
    schedule_id, run_id, gated = await start_gated_run(app)
    await app.schedules.pause(schedule_id)
    gated.gate.set()
    await asyncio.gather(*app.schedules.running_tasks().values())
    paused = await run_row(app, run_id)
    assert paused.status is ScheduleRunStatus.PAUSED
    # Five went through, and at most the eight senders had one each at the gate.
    assert gated.calls <= 5 + 8
    assert paused.sent == gated.calls
    # Claims not yet handed to the provider went back, with no message left.
    rows = await deliveries(app, run_id)
    assert DeliveryStatus.SENDING not in {row.status for row in rows}
    async with app.sessions() as session:
        pending = await session.scalar(
            select(func.count()).where(Message.status == MessageStatus.PENDING)
        )
    assert pending == 0
    await app.schedules.resume(schedule_id)
    await asyncio.gather(*app.schedules.running_tasks().values())
    resumed = await run_row(app, run_id)
    assert resumed.status is ScheduleRunStatus.FINISHED
    assert resumed.sent == 20
    assert set(outbox_recipients(app).values()) == {1}
    assert (await app.schedules.get(schedule_id)).status is ScheduleStatus.FINISHED


async def test_run_renders_address_and_order_fields(app: Runtime) -> None:
    (contact_id,) = await add_contacts(app, 1)
    async with app.sessions() as session, session.begin():
        session.add(Address(contact_id=contact_id, city="Split", country="HR"))
        session.add(
            Order(
                contact_id=contact_id,
                number="A-7",
                total_cents=1250,
                currency="EUR",
                ordered_at=utc_now(),
            )
        )
    await save_everyone(app)
    body = "{{ first_name }} in {{ city }}: order {{ last_order_number }}"
    schedule_id = await create(app.schedules, body=body)
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    (delivery,) = await deliveries(app, run_id)
    assert delivery.status is DeliveryStatus.SENT
    async with app.sessions() as session:
        message = await session.get(Message, delivery.message_id)
    assert message is not None
    assert message.body == "Ana0 in Split: order A-7"


async def test_late_heartbeat_gives_claims_back(app: Runtime) -> None:
    await add_contacts(app, 6)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    engine = app.schedules.engine
    # The last heartbeat is older than half the lease: others may soon take
    # this worker for dead, so it must not hand anything to the provider.
    engine.beat(time.monotonic() - app.schedules.lease.total_seconds())
    (run_id,) = await fire_and_wait(app.schedules, schedule_id)
    assert not outbox_recipients(app)
    rows = await deliveries(app, run_id)
    assert {row.status for row in rows} == {DeliveryStatus.PENDING}
    assert {row.message_id for row in rows} == {None}
    async with app.sessions() as session:
        left = await session.scalar(select(func.count()).select_from(Message))
    assert left == 0
    assert (await run_row(app, run_id)).status is ScheduleRunStatus.RUNNING

    engine.beat(time.monotonic())
    await app.schedules.send_now(run_id, wait=True)
    assert set(outbox_recipients(app).values()) == {1}
    assert len(outbox_recipients(app)) == 6


@pytest.mark.parametrize("path", ["sqlite", "sqlalchemy"])
async def test_claim_settled_by_another_process_is_not_sent(
    app: Runtime, path: str
) -> None:
    await add_contacts(app, 6)
    await save_everyone(app)
    schedule_id = await create(app.schedules)
    service = app.schedules
    engine = service.engine
    segments = SegmentService.from_settings(app.sessions, app.settings)
    other = RunEngine(app.sessions, app.hub, app.sms, segments, "other", rate=None)
    # The step after the claim: writing the messages on the SQLite path, or
    # loading the contacts on the path PostgreSQL takes.
    target: Any = engine._batches
    step = "store"
    if path == "sqlalchemy":
        engine._batches = other._batches = None
        target, step = engine, "_load_contacts"
    assert target is not None
    original = getattr(target, step)
    stalled = False

    async def stall_then_go_on(*args: Any) -> Any:
        # This worker stalls after its claim; the other process takes it for
        # dead meanwhile and queues the claimed deliveries again.
        nonlocal stalled
        if not stalled:
            stalled = True
            assert await other.recover(timedelta(seconds=0))
        return await original(*args)

    setattr(target, step, stall_then_go_on)
    (run_id,) = await fire_and_wait(service, schedule_id)
    assert stalled
    assert set(outbox_recipients(app).values()) == {1}
    assert len(outbox_recipients(app)) == 6
    rows = await deliveries(app, run_id)
    assert {row.status for row in rows} == {DeliveryStatus.SENT}
