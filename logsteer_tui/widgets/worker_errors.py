"""Reporting the errors of failed workers started by screens and widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from logsteer_tui.app import LogsteerApp


def report_worker_error(node: DOMNode, event: Worker.StateChanged) -> None:
    """Hand the error of a failed worker of ``node`` to the App to show.

    Worker.StateChanged does not bubble (Textual 8), so the App's own handler
    receives the events of the App's workers only. Every screen, dialog and widget
    that starts workers calls this from its ``on_worker_state_changed``.
    """
    if event.state is WorkerState.ERROR:
        app = cast("LogsteerApp", node.app)
        app.show_error(event.worker.error, event.worker.name or event.worker.group)
