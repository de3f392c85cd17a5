"""A small async event hub: services publish, the TUI or `serve` subscribes.

Events are frozen dataclasses named in the past tense. Subscribers are plain
callables run in the publisher's task, so they must be quick and must not raise.
The App's subscriber only posts a Textual message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every event."""


@dataclass(frozen=True)
class ContactChanged(Event):
    contact_id: int


@dataclass(frozen=True)
class ContactDeleted(Event):
    contact_id: int


@dataclass(frozen=True)
class MessageStored(Event):
    """A message was written or its status changed."""

    message_id: int
    contact_id: int | None
    direction: str
    status: str


@dataclass(frozen=True)
class SmsReceived(Event):
    """An incoming SMS was stored, for a notification, besides its MessageStored.

    ``contact_id`` is None when the sender matched several contacts
    (``needs_review``) or is no valid phone number. ``consent_change`` is
    "opt_out", "opt_in" or empty.
    """

    message_id: int
    contact_id: int | None
    sender: str
    contact_name: str
    body: str
    needs_review: bool = False
    consent_change: str = ""


@dataclass(frozen=True)
class ListenerStateChanged(Event):
    """The webhook listener started, stopped or failed to start.

    ``error`` is why it is off, or, while it runs, a setting that makes some
    webhooks fail. ``disabled`` marks a listener turned off in the settings.
    """

    running: bool
    address: str
    error: str = ""
    disabled: bool = False


@dataclass(frozen=True)
class ScheduleChanged(Event):
    """A schedule was created, edited, paused, resumed, cancelled or fired."""

    schedule_id: int


@dataclass(frozen=True)
class ScheduleRunProgressed(Event):
    """A run sent a batch or changed status; published once per batch."""

    run_id: int
    schedule_id: int
    status: str
    total: int
    sent: int
    skipped: int
    failed: int


Subscriber = Callable[[Event], None]


class EventHub:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; return a function that removes it again."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a broken subscriber must not stop the publisher
                log.exception("Event subscriber failed on %r", event)
