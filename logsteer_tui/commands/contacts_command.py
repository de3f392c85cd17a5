"""`logsteer contacts list | show | edit`: contacts for scripts and quick fixes."""

from __future__ import annotations

import argparse
from typing import Any

from logsteer_tui.commands.output import (
    JsonArrayPrinter,
    local_time,
    print_json,
    print_table,
    shorten,
)
from logsteer_tui.commands.segments_command import (
    contact_with_last_sms,
    segment_contact_chunks,
)
from logsteer_tui.db.models import Contact
from logsteer_tui.errors import LogsteerError
from logsteer_tui.runtime import Runtime
from logsteer_tui.services.contacts import EDITABLE_FIELDS
from logsteer_tui.services.serialize import contact_detail, contact_summary
from logsteer_tui.services.validation import format_phone


class SetOptionError(LogsteerError):
    title = "Invalid --set option"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("contacts", help="list, show and edit contacts")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list",
        help="list contacts by name",
        description="List contacts sorted by last and first name. With --json, "
        "prints one JSON array of the objects described in docs/json.md.",
    )
    listing.add_argument(
        "--search",
        default="",
        metavar="TEXT",
        help="only contacts whose name, email or phone numbers contain every word "
        "of TEXT, ignoring case and diacritics",
    )
    listing.add_argument(
        "--segment",
        metavar="NAME",
        help="only the contacts of the saved segment NAME, in its results order; "
        "with --json, each object also has the last sent and received SMS",
    )
    listing.add_argument(
        "--limit", type=positive_int, metavar="N", help="print at most N contacts"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)

    show = actions.add_parser(
        "show",
        help="show one contact with its addresses, notes and orders",
    )
    show.add_argument("id", type=int, metavar="ID", help="the contact's id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=run_show)

    edit = actions.add_parser(
        "edit",
        help="change fields of one contact",
        description="Change fields of one contact, validated as in the contact "
        "form. Every change is applied, or none when any is invalid. A change of "
        "a Do not send flag is recorded as a consent event.",
    )
    edit.add_argument("id", type=int, metavar="ID", help="the contact's id")
    edit.add_argument(
        "--set",
        dest="changes",
        action="append",
        required=True,
        metavar="FIELD=VALUE",
        help=f"set FIELD, one of {', '.join(EDITABLE_FIELDS)}. An empty VALUE "
        "clears it, and flags take true or false (repeatable)",
    )
    edit.add_argument("--json", action="store_true", help="print the contact as JSON")
    edit.set_defaults(handler=run_edit)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {text}")
    return value


def parse_changes(options: list[str]) -> dict[str, str]:
    """Split each FIELD=VALUE option. A later option for a field wins."""
    changes: dict[str, str] = {}
    for option in options:
        field, separator, value = option.partition("=")
        if not separator or not field.strip():
            raise SetOptionError(
                f"--set {option!r} is not FIELD=VALUE. Write, for example, "
                "--set do_not_send_sms=true"
            )
        changes[field.strip()] = value
    return changes


async def run_list(args: argparse.Namespace, runtime: Runtime) -> int:
    # Contacts are read in chunks, so listing 100,000 of them needs little memory.
    chunks = runtime.contacts.stream_all(search=args.search, limit=args.limit)
    summary = contact_summary
    if args.segment is not None:
        chunks = await segment_contact_chunks(
            runtime, args.segment, args.search, args.limit
        )
        summary = contact_with_last_sms
    if args.json:
        with JsonArrayPrinter() as printer:
            async for chunk in chunks:
                printer.print_items(summary(contact) for contact in chunk)
        return 0
    zone = runtime.settings.general.zone
    rows: list[tuple[str, ...]] = []
    async for chunk in chunks:
        rows.extend(
            (
                str(contact.id),
                shorten(contact.full_name, 30),
                format_phone(contact.mobile_1),
                contact.email or "",
                "yes" if contact.do_not_send_sms else "",
                "yes" if contact.do_not_send_email else "",
                local_time(contact.last_message_at, zone),
            )
            for contact in chunk
        )
    print_table(
        ("ID", "Name", "Mobile 1", "Email", "No SMS", "No email", "Last message"),
        rows,
    )
    return 0


async def run_show(args: argparse.Namespace, runtime: Runtime) -> int:
    contact = await runtime.contacts.get(args.id)
    if args.json:
        print_json(contact_detail(contact))
    else:
        print_contact(contact, runtime)
    return 0


async def run_edit(args: argparse.Namespace, runtime: Runtime) -> int:
    changes = parse_changes(args.changes)
    contact = await runtime.contacts.update(args.id, changes)
    if args.json:
        print_json(contact_detail(contact))
    else:
        print(f"Updated contact {contact.id}: {', '.join(changes)}.")
    return 0


def print_contact(contact: Contact, runtime: Runtime) -> None:
    zone = runtime.settings.general.zone
    fields = [
        ("ID", str(contact.id)),
        ("Name", contact.full_name),
        ("Company", contact.company),
        ("Email", contact.email or ""),
        ("Mobile 1", format_phone(contact.mobile_1)),
        ("Phone 1", format_phone(contact.phone_1)),
        ("Mobile 2", format_phone(contact.mobile_2)),
        ("Phone 2", format_phone(contact.phone_2)),
        ("Do not send SMS", "yes" if contact.do_not_send_sms else "no"),
        ("Do not send email", "yes" if contact.do_not_send_email else "no"),
        ("Source", contact.source.value),
        ("Created", local_time(contact.created_at, zone)),
        ("Updated", local_time(contact.updated_at, zone)),
        ("Last message", local_time(contact.last_message_at, zone)),
    ]
    fields.extend((key, str(value)) for key, value in contact.attributes.items())
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        print(f"{label.ljust(width)}  {value}".rstrip())
    if contact.addresses:
        print("\nAddresses")
        for address in contact.addresses:
            place = " ".join(
                part for part in (address.postal_code, address.city) if part
            )
            parts = (address.label, address.street, place, address.country)
            print("  " + ", ".join(part for part in parts if part))
    if contact.notes:
        print("\nNotes")
        for note in contact.notes:
            print(f"  {local_time(note.created_at, zone)}  {note.body}")
    if contact.orders:
        print("\nOrders")
        print_table(
            ("  Number", "Status", "Total", "Date"),
            [
                (
                    "  " + order.number,
                    order.status,
                    f"{order.total_cents / 100:.2f} {order.currency}",
                    local_time(order.ordered_at, zone),
                )
                for order in contact.orders
            ],
        )
