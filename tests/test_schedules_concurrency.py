"""Two schedulers with their own engines on one database send each message once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from logsteer_tui.config import Settings, load_settings
from logsteer_tui.db.engine import create_engine, session_factory
from logsteer_tui.db.models import Contact, Delivery, DeliveryStatus, Message
from logsteer_tui.db.types import utc_now
from logsteer_tui.paths import AppPaths
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.events import EventHub
from logsteer_tui.services.schedules import ScheduleRequest, SchedulerService
from logsteer_tui.services.segments import SegmentService
from logsteer_tui.services.sms import DevProvider, SmsService
from logsteer_tui.services.sms.providers import OutgoingSms, ProviderReply

RECIPIENTS = 300


async def prepare(settings: Settings, paths: AppPaths) -> int:
    runtime = Runtime.create(settings, paths)
    await runtime.start(background=False)
    try:
        async with runtime.sessions() as session, session.begin():
            await session.execute(
                insert(Contact),
                [
                    {
                        "first_name": f"Ana{index}",
                        "mobile_1": f"+38591{index:07d}",
                        "sort_name": f"ana{index}",
                    }
                    for index in range(RECIPIENTS)
                ],
            )
        segments = SegmentService.from_settings(runtime.sessions, settings)
        await segments.save("Everyone", {"match": "and", "conditions": []})
        plan = await runtime.schedules.plan(
            ScheduleRequest(at="+1m", body="Hi {{ first_name }}", segment="Everyone")
        )
        (schedule_id,) = await runtime.schedules.create([plan])
        return schedule_id
    finally:
        await runtime.stop()


class SlowDevProvider(DevProvider):
    """The development provider with a network-like pause, so the runs overlap."""

    async def send(self, sms: OutgoingSms) -> ProviderReply:
        await asyncio.sleep(0.01)
        return await super().send(sms)


def scheduler(settings: Settings, outbox: Path) -> tuple[SchedulerService, object]:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    hub = EventHub()
    sms = SmsService(sessions, hub, settings, SlowDevProvider(outbox))
    segments = SegmentService.from_settings(sessions, settings)
    service = SchedulerService(sessions, hub, settings, sms, segments, concurrency=4)
    service.engine.batch_size = 10
    return service, engine


async def run_twice(settings: Settings, paths: AppPaths) -> None:
    schedule_id = await prepare(settings, paths)
    outbox = paths.dev_outbox_file
    first, first_engine = scheduler(settings, outbox)
    second, second_engine = scheduler(settings, outbox)
    await first.start()
    await second.start()
    try:
        later = utc_now() + timedelta(minutes=2)
        fired = await asyncio.gather(
            first.fire(schedule_id, now=later), second.fire(schedule_id, now=later)
        )
        assert sorted(len(runs) for runs in fired) in ([1, 1], [0, 1])
        # The one that lost the fire joins the run at its next poll.
        await asyncio.gather(first.poll(), second.poll())
        tasks = [*first.running_tasks().values(), *second.running_tasks().values()]
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    finally:
        await first.stop()
        await second.stop()
        await first_engine.dispose()  # type: ignore[attr-defined]
        await second_engine.dispose()  # type: ignore[attr-defined]

    lines = outbox.read_text(encoding="utf-8").splitlines()
    recorded = Counter(json.loads(line)["to"] for line in lines)
    assert len(recorded) == RECIPIENTS
    assert set(recorded.values()) == {1}

    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    async with sessions() as session:
        messages = await session.scalar(select(func.count()).select_from(Message))
        statuses = dict(
            (
                await session.execute(
                    select(Delivery.status, func.count()).group_by(Delivery.status)
                )
            ).all()
        )
        claimers = set(
            (await session.scalars(select(Delivery.claimed_by).distinct())).all()
        )
    await engine.dispose()
    assert messages == RECIPIENTS
    assert statuses == {DeliveryStatus.SENT: RECIPIENTS}
    # Both took part, so the claims really competed.
    assert claimers == {first.worker_id, second.worker_id}


async def test_two_schedulers_on_sqlite(paths: AppPaths, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    settings = load_settings(
        paths.config_file, database_url=url, sending={"sms_per_second": 10_000}
    )
    await run_twice(settings, paths)


@pytest.mark.postgres
async def test_two_schedulers_on_postgres(postgres_url: str, paths: AppPaths) -> None:
    settings = load_settings(
        paths.config_file,
        database_url=postgres_url,
        sending={"sms_per_second": 10_000},
    )
    await run_twice(settings, paths)
