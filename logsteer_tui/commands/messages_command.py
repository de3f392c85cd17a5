"""`logsteer messages list`: the message history, newest first, for scripts."""

from __future__ import annotations

import argparse
from typing import Any

from logsteer_tui.commands.contacts_command import positive_int
from logsteer_tui.commands.output import local_time, print_json, print_table, shorten
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.serialize import message_data

DEFAULT_LIMIT = 200


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("messages", help="list messages")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        help="list messages, newest first",
        description="List SMS and email messages in both directions, newest "
        "first. With --json, prints one JSON array of the objects described in "
        "docs/json.md.",
    )
    listing.add_argument(
        "--contact", type=int, metavar="ID", help="only the messages of this contact"
    )
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"print at most N messages (default: {DEFAULT_LIMIT})",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)


async def run_list(args: argparse.Namespace, runtime: Runtime) -> int:
    if args.contact is not None:
        await runtime.contacts.get(args.contact)  # raises NotFoundError
    messages = await runtime.messages.list(contact_id=args.contact, limit=args.limit)
    if args.json:
        print_json([message_data(message) for message in messages])
        return 0
    zone = runtime.settings.general.zone
    print_table(
        ("ID", "Contact", "Channel", "Dir", "Type", "Status", "Created", "Text"),
        [
            (
                str(message.id),
                str(message.contact_id or ""),
                message.channel.value,
                message.direction.value,
                message.type.value if message.type else "",
                message.status.value,
                local_time(message.created_at, zone),
                shorten(message.subject or message.body, 40),
            )
            for message in messages
        ],
    )
    return 0
