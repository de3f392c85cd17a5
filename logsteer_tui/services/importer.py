"""Importing contacts from a CRM's CSV export.

Header names are matched case-insensitively and without diacritics against the
aliases in COLUMN_ALIASES; every other column goes into the contact's attributes.
Rows are numbered as a spreadsheet shows them, the header being row 1. A row whose
email or Mobile 1 is already stored, or seen earlier in the file, updates that
contact. Its non-empty cells replace the contact's values and its empty cells keep
them. An import sets a Do not send flag but never clears one, so an opt-out wins.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import Table, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from logsteer_tui.db.models import (
    Address,
    Base,
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    Contact,
    ContactSource,
    Note,
)
from logsteer_tui.db.types import utc_now
from logsteer_tui.errors import LogsteerError, ValidationError, shown_value
from logsteer_tui.services.contacts import (
    EDITABLE_FIELDS,
    ContactValidationError,
    clean_fields,
    derived_columns,
)
from logsteer_tui.services.text import fold

log = logging.getLogger(__name__)

BATCH_ROWS = 500

ADDRESS_FIELDS = ("street", "city", "postal_code", "country")
ADDRESS_LIMITS = {"street": 200, "city": 100, "postal_code": 20}
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("first name", "firstname", "given name", "ime"),
    "last_name": ("last name", "lastname", "surname", "family name", "prezime"),
    "full_name": ("name", "full name", "ime i prezime"),
    "email": ("email", "e mail", "email address", "e mail adresa"),
    "mobile_1": ("mobile", "mobile 1", "mobile1", "gsm", "mobitel", "mobitel 1"),
    "phone_1": ("phone", "phone 1", "phone1", "telefon", "telefon 1"),
    "mobile_2": ("mobile 2", "mobile2", "gsm 2", "mobitel 2"),
    "phone_2": ("phone 2", "phone2", "telefon 2"),
    "company": ("company", "organization", "organisation", "tvrtka", "firma"),
    "city": ("city", "town", "grad", "mjesto"),
    "street": ("street", "address", "street address", "ulica", "adresa"),
    "postal_code": ("postal code", "zip", "zip code", "postcode", "postanski broj"),
    "country": ("country", "drzava"),
    "note": ("note", "notes", "napomena", "biljeska"),
    "do_not_send_sms": ("do not send sms", "no sms"),
    "do_not_send_email": ("do not send email", "do not send e mail", "no email"),
}
CROATIAN_BOOLEANS = {"da": "true", "ne": "false"}
IDENTIFYING_FIELDS = ("first_name", "last_name", "email", "mobile_1")
IDENTIFYING_COLUMNS = (*IDENTIFYING_FIELDS, "full_name")
COUNTRY_NAMES = {
    "croatia": "HR",
    "hrvatska": "HR",
    "republika hrvatska": "HR",
    "slovenia": "SI",
    "slovenija": "SI",
    "bosnia and herzegovina": "BA",
    "bosna i hercegovina": "BA",
    "serbia": "RS",
    "srbija": "RS",
    "austria": "AT",
    "austrija": "AT",
    "germany": "DE",
    "njemacka": "DE",
    "italy": "IT",
    "italija": "IT",
    "hungary": "HU",
    "madarska": "HU",
}


class ImportFileError(LogsteerError):
    title = "Cannot import the file"


@dataclass(frozen=True)
class RowError:
    """A cell, or a whole row when ``column`` is empty, that was not imported."""

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        place = f"row {self.row}"
        if self.column:
            place += f", column {self.column!r}"
        if not self.column and not self.value:
            return f"{place}: {self.reason}"
        return f"{place}: {shown_value(self.value)} is invalid: {self.reason}"


@dataclass
class ImportResult:
    """The counts of one import, with every problem of every failed row."""

    created: int = 0
    updated: int = 0
    failed_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class ParsedRow:
    """One valid row, cleaned, before it is matched against stored contacts."""

    number: int
    contact: dict[str, Any]
    address: dict[str, str] | None
    note: str | None
    attributes: dict[str, str]


def normalize_header(name: str) -> str:
    """Fold a header for matching: "E-Mail", "e_mail" and "E mail" all match."""
    text = fold(name.replace("\ufeff", ""))
    for separator in "_-./":
        text = text.replace(separator, " ")
    return " ".join(text.split())


ALIAS_FIELDS = {
    alias: target for target, aliases in COLUMN_ALIASES.items() for alias in aliases
}


def map_columns(headers: Sequence[str]) -> dict[int, str]:
    """Map column positions to their fields. The first column of a field wins."""
    mapping: dict[int, str] = {}
    for position, header in enumerate(headers):
        target = ALIAS_FIELDS.get(normalize_header(header))
        if target is not None and target not in mapping.values():
            mapping[position] = target
    return mapping


def read_text(path: Path) -> str:
    """Read ``path`` as UTF-8, with or without a byte order mark."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportFileError(
            f"Cannot read {path}: {error.strerror}. Check the path and that the "
            "file is readable."
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"{path} is not UTF-8: byte 0x{data[error.start]:02x} at offset "
            f"{error.start} is invalid. Save the file as UTF-8 (in Excel: "
            "Save As, CSV UTF-8) and import it again."
        ) from None


def split_separator_line(text: str) -> tuple[str | None, str]:
    """Split off the "sep=;" line that Excel may write before the header.

    Returns the delimiter it names, or None, and the text after it.
    """
    first, _, rest = text.partition("\n")
    line = first.strip()
    if line.lower().startswith("sep=") and len(line) == 5:
        return line[4], rest
    return None, text


def sniff_delimiter(text: str) -> str:
    """Pick the comma, semicolon or tab that the header line uses most."""
    header = text.split("\n", 1)[0]
    counts = {delimiter: header.count(delimiter) for delimiter in ",;\t"}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def clean_country(value: str) -> str:
    text = value.strip()
    code = COUNTRY_NAMES.get(normalize_header(text), text.upper())
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            "country", value, "expected an ISO 3166 two-letter code such as HR"
        )
    return code


def clean_address(values: dict[str, str]) -> dict[str, str]:
    """Validate the address cells of a row or raise ContactValidationError."""
    clean: dict[str, str] = {}
    errors: list[ValidationError] = []
    for name, value in values.items():
        text = value.strip()
        if name == "country":
            try:
                clean[name] = clean_country(text)
            except ValidationError as error:
                errors.append(error)
        elif len(text) > ADDRESS_LIMITS[name]:
            reason = f"longer than {ADDRESS_LIMITS[name]} characters"
            errors.append(ValidationError(name, value, reason))
        else:
            clean[name] = text
    if errors:
        raise ContactValidationError(errors)
    return clean


class RowParser:
    """Turns CSV rows into ParsedRow objects or RowError lists."""

    def __init__(self, headers: Sequence[str], region: str) -> None:
        self.headers = [header.replace("\ufeff", "").strip() for header in headers]
        self.columns = map_columns(self.headers)
        self.region = region
        self.column_of = {target: position for position, target in self.columns.items()}

    def parse(self, number: int, cells: Sequence[str]) -> ParsedRow | list[RowError]:
        if len(cells) > len(self.headers):
            extra = ", ".join(cells[len(self.headers) :])
            reason = (
                f"the row has {len(cells)} values but the header has "
                f"{len(self.headers)} columns. Quote values that contain the delimiter"
            )
            return [RowError(number, "", extra, reason)]

        values: dict[str, str] = {}
        attributes: dict[str, str] = {}
        for position, cell in enumerate(cells):
            target = self.columns.get(position)
            if target is not None:
                values[target] = cell
            elif cell.strip() and self.headers[position]:
                attributes[self.headers[position]] = cell.strip()

        errors: list[RowError] = []
        contact: dict[str, Any] = {}
        address: dict[str, str] = {}
        try:
            contact = self._clean_contact(values)
        except ContactValidationError as error:
            errors.extend(self._row_errors(number, error, values))
        try:
            address = clean_address(
                {name: values[name] for name in ADDRESS_FIELDS if values.get(name)}
            )
        except ContactValidationError as error:
            errors.extend(self._row_errors(number, error, values))
        if errors:
            return errors

        if not any(contact.get(name) for name in IDENTIFYING_FIELDS):
            reason = "the row has no first name, last name, email or Mobile 1"
            return [RowError(number, "", "", reason)]
        note = (values.get("note") or "").strip() or None
        return ParsedRow(number, contact, address or None, note, attributes)

    def _clean_contact(self, values: dict[str, str]) -> dict[str, Any]:
        fields = {name: values[name] for name in EDITABLE_FIELDS if name in values}
        full_name = values.get("full_name", "").split()
        if full_name and not (fields.get("first_name") or fields.get("last_name")):
            # "Ana Marija Horvat" gives first name "Ana Marija" and last name "Horvat".
            fields["first_name"] = " ".join(full_name[:-1]) or full_name[0]
            fields["last_name"] = full_name[-1] if len(full_name) > 1 else ""
        for flag in ("do_not_send_sms", "do_not_send_email"):
            if flag not in fields:
                continue
            text = fields[flag].strip().lower()
            if not text:
                # An empty flag cell gives no value, so it must not count as "false".
                del fields[flag]
            else:
                fields[flag] = CROATIAN_BOOLEANS.get(text, fields[flag])
        clean = clean_fields(fields, self.region)
        return {name: value for name, value in clean.items() if value not in (None, "")}

    def _position_of(self, field: str) -> int:
        """Return the column of ``field``, or of the full name it was split from."""
        position = self.column_of.get(field)
        return self.column_of["full_name"] if position is None else position

    def _row_errors(
        self, number: int, error: ContactValidationError, values: dict[str, str]
    ) -> list[RowError]:
        return [
            RowError(
                number,
                self.headers[self._position_of(item.field)],
                values[item.field]
                if item.field in values
                else values.get("full_name", ""),
                item.reason,
            )
            for item in error.errors
        ]


def read_rows(
    path: Path, region: str
) -> tuple[RowParser, Iterator[tuple[int, list[str]]], int]:
    """Open ``path`` and return its parser, its numbered rows and its line count.

    Raises ImportFileError when the file cannot be read or decoded, or has no
    column for a name, an email or a mobile.
    """
    delimiter, text = split_separator_line(read_text(path))
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter or sniff_delimiter(text)
    )
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportFileError(
            f"{path} is empty. Export the contacts with a header row, such as "
            "first name;last name;email;mobile 1."
        ) from None
    except csv.Error as error:
        raise ImportFileError(f"{path} is not valid CSV: {error}.") from None
    parser = RowParser(headers, region)
    if not set(parser.columns.values()) & set(IDENTIFYING_COLUMNS):
        raise ImportFileError(
            f"{path} has no column for a name, email or mobile in "
            f"its header ({', '.join(parser.headers)}). Name the columns, for "
            "example, first name, last name, email and mobile 1. "
            "`logsteer import contacts --help` lists every header name it reads."
        )

    def numbered() -> Iterator[tuple[int, list[str]]]:
        number = 1
        try:
            for cells in reader:
                number += 1
                if any(cell.strip() for cell in cells):
                    yield number, cells
        except csv.Error as error:
            raise ImportFileError(
                f"{path} is not valid CSV near line {reader.line_num}: {error}."
            ) from None

    return parser, numbered(), text.count("\n")


def table_of(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def new_contact_row(row: ParsedRow, now: datetime) -> dict[str, Any]:
    """Build the contact table row for a new contact, with every column set."""
    values = {name: row.contact.get(name) for name in EDITABLE_FIELDS}
    for name in ("first_name", "last_name", "company"):
        values[name] = values[name] or ""
    for name in ("do_not_send_sms", "do_not_send_email"):
        values[name] = bool(values[name])
    return {
        **values,
        **derived_columns(values),
        "attributes": row.attributes,
        "source": ContactSource.IMPORT,
        "created_at": now,
        "updated_at": now,
    }


def address_key(address: dict[str, str]) -> tuple[str, ...]:
    return tuple(address.get(name, "") for name in ADDRESS_FIELDS)


def note_row(contact_id: int, body: str, now: datetime) -> dict[str, Any]:
    return {"contact_id": contact_id, "body": body, "created_at": now}


class ContactImporter:
    """Writes parsed rows, creating new contacts and updating matched ones."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], source_name: str
    ) -> None:
        self._sessions = sessions
        self._source_name = source_name
        self._by_email: dict[str, int] = {}
        self._by_mobile: dict[str, int] = {}

    async def write(self, rows: Sequence[ParsedRow]) -> tuple[int, int]:
        """Write one batch in one transaction and return (created, updated) rows."""
        async with self._sessions() as session, session.begin():
            await self._load_matches(session, rows)
            new_rows: list[ParsedRow] = []
            updates: dict[int, list[ParsedRow]] = {}
            for row in rows:
                contact_id = self._match(row)
                if contact_id is None:
                    new_rows.append(row)
                    # A negative placeholder until the insert returns the id.
                    self._remember(row, -len(new_rows), replace=True)
                else:
                    updates.setdefault(contact_id, []).append(row)
                    self._remember(row, contact_id, replace=False)
            created_ids = await self._create(session, new_rows)
            for placeholder, contact_id in enumerate(created_ids, start=1):
                rows_for_new = updates.pop(-placeholder, [])
                if rows_for_new:
                    updates[contact_id] = rows_for_new
            self._replace_placeholders(created_ids)
            await self._update(session, updates)
        return len(created_ids), sum(len(matched) for matched in updates.values())

    async def _load_matches(
        self, session: AsyncSession, rows: Sequence[ParsedRow]
    ) -> None:
        emails = {row.contact["email"] for row in rows if row.contact.get("email")}
        mobiles = {
            row.contact["mobile_1"] for row in rows if row.contact.get("mobile_1")
        }
        emails -= self._by_email.keys()
        mobiles -= self._by_mobile.keys()
        if not emails and not mobiles:
            return
        query = (
            select(Contact.id, Contact.email, Contact.mobile_1)
            .where(or_(Contact.email.in_(emails), Contact.mobile_1.in_(mobiles)))
            .order_by(Contact.id)
        )
        for contact_id, email, mobile in await session.execute(query):
            if email is not None and email in emails:
                self._by_email.setdefault(email, contact_id)
            if mobile is not None and mobile in mobiles:
                self._by_mobile.setdefault(mobile, contact_id)

    def _match(self, row: ParsedRow) -> int | None:
        """Return the id of the contact with the row's email, else its Mobile 1."""
        email = row.contact.get("email")
        if email and email in self._by_email:
            return self._by_email[email]
        mobile = row.contact.get("mobile_1")
        if mobile and mobile in self._by_mobile:
            return self._by_mobile[mobile]
        return None

    def _remember(self, row: ParsedRow, contact_id: int, replace: bool) -> None:
        for key, known in (
            (row.contact.get("email"), self._by_email),
            (row.contact.get("mobile_1"), self._by_mobile),
        ):
            if key and (replace or key not in known):
                known[key] = contact_id

    def _replace_placeholders(self, created_ids: Sequence[int]) -> None:
        for known in (self._by_email, self._by_mobile):
            for key, contact_id in known.items():
                if contact_id < 0:
                    known[key] = created_ids[-contact_id - 1]

    async def _create(
        self, session: AsyncSession, rows: Sequence[ParsedRow]
    ) -> list[int]:
        """Insert contacts for ``rows`` and return their ids in row order."""
        if not rows:
            return []
        now = utc_now()
        contact_rows = [new_contact_row(row, now) for row in rows]
        # RETURNING in parameter order is slow for large executemany calls in
        # SQLAlchemy 2.1, but a batch of BATCH_ROWS returns its ids quickly.
        table = table_of(Contact)
        result = await session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            contact_rows,
        )
        ids = [int(contact_id) for contact_id in result.scalars()]

        addresses, notes, consent = [], [], []
        for contact_id, row in zip(ids, rows, strict=True):
            if row.address:
                addresses.append(self._address_row(contact_id, row.address, now))
            if row.note:
                notes.append(note_row(contact_id, row.note, now))
            for channel, flag in (
                (Channel.SMS, "do_not_send_sms"),
                (Channel.EMAIL, "do_not_send_email"),
            ):
                if row.contact.get(flag):
                    consent.append(self._opt_out_row(contact_id, channel, row, now))
        await self._insert_children(session, addresses, notes, consent)
        return ids

    async def _update(
        self, session: AsyncSession, updates: dict[int, list[ParsedRow]]
    ) -> None:
        """Apply the matched rows to their contacts, in file order."""
        if not updates:
            return
        query = (
            select(Contact)
            .where(Contact.id.in_(updates))
            .execution_options(populate_existing=True)
        )
        contacts = {contact.id: contact for contact in await session.scalars(query)}
        existing_addresses = await self._existing(session, Address, updates)
        existing_notes = await self._existing(session, Note, updates)
        now = utc_now()
        addresses, notes, consent = [], [], []
        for contact_id, rows in updates.items():
            contact = contacts[contact_id]
            for row in rows:
                consent.extend(self._apply(contact, row, now))
                # An address or note already stored is not added a second time.
                known_addresses = existing_addresses.setdefault(contact_id, set())
                if row.address and address_key(row.address) not in known_addresses:
                    addresses.append(self._address_row(contact_id, row.address, now))
                    known_addresses.add(address_key(row.address))
                known_notes = existing_notes.setdefault(contact_id, set())
                if row.note and row.note not in known_notes:
                    notes.append(note_row(contact_id, row.note, now))
                    known_notes.add(row.note)
            current = {name: getattr(contact, name) for name in EDITABLE_FIELDS}
            for name, value in derived_columns(current).items():
                setattr(contact, name, value)
            contact.updated_at = now
        await session.flush()
        await self._insert_children(session, addresses, notes, consent)

    def _apply(
        self, contact: Contact, row: ParsedRow, now: datetime
    ) -> list[dict[str, Any]]:
        """Copy the row's non-empty values onto ``contact``; return consent events."""
        consent = []
        for name, value in row.contact.items():
            if name in ("do_not_send_sms", "do_not_send_email"):
                if value and not getattr(contact, name):
                    setattr(contact, name, True)
                    channel = (
                        Channel.SMS if name == "do_not_send_sms" else Channel.EMAIL
                    )
                    consent.append(self._opt_out_row(contact.id, channel, row, now))
            else:
                setattr(contact, name, value)
        if row.attributes:
            contact.attributes = {**(contact.attributes or {}), **row.attributes}
        return consent

    async def _existing(
        self, session: AsyncSession, model: type[Address] | type[Note], ids: Any
    ) -> dict[int, set[Any]]:
        found: dict[int, set[Any]] = {}
        if model is Address:
            query = select(
                Address.contact_id,
                Address.street,
                Address.city,
                Address.postal_code,
                Address.country,
            ).where(Address.contact_id.in_(ids))
            for contact_id, *parts in await session.execute(query):
                found.setdefault(contact_id, set()).add(tuple(parts))
        else:
            notes = select(Note.contact_id, Note.body).where(Note.contact_id.in_(ids))
            for contact_id, body in await session.execute(notes):
                found.setdefault(contact_id, set()).add(body)
        return found

    def _address_row(
        self, contact_id: int, address: dict[str, str], now: datetime
    ) -> dict[str, Any]:
        return {
            "contact_id": contact_id,
            "label": "",
            "street": address.get("street", ""),
            "city": address.get("city", ""),
            "postal_code": address.get("postal_code", ""),
            "country": address.get("country", ""),
            "created_at": now,
        }

    def _opt_out_row(
        self, contact_id: int, channel: Channel, row: ParsedRow, now: datetime
    ) -> dict[str, Any]:
        return {
            "contact_id": contact_id,
            "channel": channel,
            "action": ConsentAction.OPT_OUT,
            "source": ConsentSource.IMPORT,
            "reason": f"imported from {self._source_name}, row {row.number}",
            "message_id": None,
            "created_at": now,
        }

    async def _insert_children(
        self,
        session: AsyncSession,
        addresses: list[dict[str, Any]],
        notes: list[dict[str, Any]],
        consent: list[dict[str, Any]],
    ) -> None:
        for model, rows in (
            (Address, addresses),
            (Note, notes),
            (ConsentEvent, consent),
        ):
            if rows:
                await session.execute(insert(table_of(model)), rows)


async def import_contacts(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    region: str,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import the contacts of the CSV file at ``path``.

    Valid rows are written in batches of BATCH_ROWS, each in its own transaction;
    invalid rows are reported in the result and skipped. ``on_progress`` is called
    with the lines read so far and the file's line count after each batch.
    Raises ImportFileError when the file cannot be imported at all.
    """
    started = time.perf_counter()
    parser, rows, line_count = read_rows(path, region)
    importer = ContactImporter(sessions, path.name)
    result = ImportResult()
    batch: list[ParsedRow] = []

    async def flush(line: int) -> None:
        created, updated = await importer.write(batch)
        result.created += created
        result.updated += updated
        batch.clear()
        if on_progress is not None:
            on_progress(line, line_count)

    number = 1
    for number, cells in rows:
        parsed = parser.parse(number, cells)
        if isinstance(parsed, list):
            result.failed_rows += 1
            result.errors.extend(parsed)
            continue
        batch.append(parsed)
        if len(batch) >= BATCH_ROWS:
            await flush(number)
    if batch:
        await flush(number)
    result.seconds = time.perf_counter() - started
    log.info(
        "Imported %s: %d created, %d updated, %d failed in %.1f s",
        path,
        result.created,
        result.updated,
        result.failed_rows,
        result.seconds,
    )
    return result
