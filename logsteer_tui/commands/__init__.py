"""Subcommands of `logsteer`; see logsteer_tui.cli for the contract."""

from logsteer_tui.commands import (
    config_command,
    contacts_command,
    demo_command,
    import_command,
    messages_command,
    migrate_command,
    schedule_command,
    segments_command,
    send_command,
    serve_command,
)

COMMAND_MODULES = [
    config_command,
    migrate_command,
    send_command,
    segments_command,
    demo_command,
    import_command,
    contacts_command,
    messages_command,
    schedule_command,
    serve_command,
]
