"""Subcommands of `logsteer`; see logsteer_tui.cli for the contract."""

from logsteer_tui.commands import (
    config_command,
    contacts_command,
    demo_command,
    messages_command,
    migrate_command,
    segments_command,
    send_command,
)

COMMAND_MODULES = [
    config_command,
    migrate_command,
    send_command,
    segments_command,
    demo_command,
    contacts_command,
    messages_command,
]
