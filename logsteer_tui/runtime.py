"""Builds the services once and starts and stops the long-lived ones.

The TUI and the headless commands share this, so tests drive the same objects
the user does.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from logsteer_tui.config import Settings
from logsteer_tui.db.engine import create_engine, session_factory, sqlite_url
from logsteer_tui.db.migrate import upgrade
from logsteer_tui.paths import AppPaths
from logsteer_tui.services.contacts import ContactService
from logsteer_tui.services.events import EventHub
from logsteer_tui.services.inbound import InboundService
from logsteer_tui.services.listener import WebhookListener
from logsteer_tui.services.messages import MessageService
from logsteer_tui.services.schedules import SchedulerService
from logsteer_tui.services.segments import SegmentService
from logsteer_tui.services.sms import SmsService, build_provider

log = logging.getLogger(__name__)


class LongLivedService(Protocol):
    """A service with a background part, such as the webhook listener."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def freeze_startup_heap() -> None:
    """Keep the objects that exist after start-up out of later collections.

    A full garbage collection walks every object of Textual, SQLAlchemy and the
    loaded modules: 100 to 150 ms on the browser benchmark, and 45 to 75 ms in
    the middle of a scheduled run. Only the first call of a process freezes,
    so test runs, which start many runtimes, keep none of them alive.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()


def database_url(settings: Settings, paths: AppPaths) -> str:
    return settings.database_url or sqlite_url(paths.database_file)


@dataclass
class Runtime:
    settings: Settings
    paths: AppPaths
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    hub: EventHub
    contacts: ContactService
    messages: MessageService
    sms: SmsService
    inbound: InboundService
    listener: WebhookListener
    schedules: SchedulerService
    background: list[LongLivedService] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings, paths: AppPaths) -> Runtime:
        url = database_url(settings, paths)
        # The app's own files live in the data folder, which is made on first use.
        # A path the user typed must point into a folder that exists.
        own_file = not settings.database_url or str(paths.data_dir) in url
        engine = create_engine(url, create_folder=own_file)
        sessions = session_factory(engine)
        hub = EventHub()
        inbound = InboundService(
            sessions,
            settings.general.default_region,
            settings.consent,
            hub,
            engine=engine,
        )
        listener = WebhookListener(settings, inbound, hub)
        sms = SmsService(sessions, hub, settings, build_provider(settings, paths))
        segments = SegmentService.from_settings(sessions, settings)
        schedules = SchedulerService(sessions, hub, settings, sms, segments)
        return cls(
            settings=settings,
            paths=paths,
            engine=engine,
            sessions=sessions,
            hub=hub,
            contacts=ContactService(sessions, settings.general.default_region, hub),
            messages=MessageService(sessions),
            sms=sms,
            inbound=inbound,
            listener=listener,
            schedules=schedules,
            background=[listener, schedules],
        )

    async def migrate(self) -> None:
        before, after = await upgrade(self.engine)
        if before != after:
            log.info("Migrated the database from %s to %s", before, after)

    async def start(self, background: bool = True) -> None:
        """Migrate the database, mark SMS cut off by a crash, start the rest."""
        await self.migrate()
        await self.sms.recover_interrupted()
        if not background:
            return
        for service in self.background:
            await service.start()

    async def stop(self) -> None:
        for service in reversed(self.background):
            try:
                await service.stop()
            except Exception:
                log.exception("Stopping %r failed", service)
        await self.sms.close()
        await self.engine.dispose()
