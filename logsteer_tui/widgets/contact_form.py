"""The editable fields of a contact, with each validation message beside its input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Checkbox, Input, Label

from logsteer_tui.db.models import Contact
from logsteer_tui.errors import ValidationError
from logsteer_tui.services.contacts import FLAG_FIELDS, PHONE_FIELDS
from logsteer_tui.services.validation import format_phone

# (field, label) in form order; the field names are the contact's JSON names.
TEXT_INPUTS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("mobile_1", "Mobile 1"),
    ("phone_1", "Phone 1"),
    ("mobile_2", "Mobile 2"),
    ("phone_2", "Phone 2"),
    ("company", "Company"),
)
FLAG_INPUTS = (
    ("do_not_send_sms", "Do not send SMS"),
    ("do_not_send_email", "Do not send email"),
)


def form_value(contact: Contact, field: str) -> Any:
    value = getattr(contact, field)
    if field in PHONE_FIELDS:
        return format_phone(value)
    if field in FLAG_FIELDS:
        return bool(value)
    return value or ""


class ContactForm(Vertical):
    """Inputs for every editable field of a contact.

    ``values()`` returns what the user typed, keyed by JSON field name, for
    ContactService.create or update, which validate it.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="contact-form")
        self._saved: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        for field, label in TEXT_INPUTS:
            with Horizontal(classes="form-row"):
                yield Label(label, classes="form-label")
                yield Input(id=f"field-{field}", compact=True)
            yield Label("", id=f"error-{field}", classes="field-error")
        with Horizontal(classes="form-row form-flags"):
            for field, label in FLAG_INPUTS:
                yield Checkbox(label, id=f"field-{field}", compact=True)
        for field, _label in FLAG_INPUTS:
            yield Label("", id=f"error-{field}", classes="field-error")

    def on_mount(self) -> None:
        self._saved = self.values()

    def load(self, contact: Contact) -> None:
        """Show ``contact``'s stored values and forget earlier errors."""
        for field, _label in TEXT_INPUTS:
            self.query_one(f"#field-{field}", Input).value = form_value(contact, field)
        for field, _label in FLAG_INPUTS:
            self.query_one(f"#field-{field}", Checkbox).value = form_value(
                contact, field
            )
        self._saved = self.values()
        self.show_errors([])

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            field: self.query_one(f"#field-{field}", Input).value
            for field, _label in TEXT_INPUTS
        }
        for field, _label in FLAG_INPUTS:
            values[field] = self.query_one(f"#field-{field}", Checkbox).value
        return values

    def is_modified(self) -> bool:
        return self.values() != self._saved

    def show_errors(self, errors: Sequence[ValidationError]) -> None:
        """Show each error beside its field, clear the others, focus the first."""
        by_field = {error.field: error.message for error in errors}
        for field, _label in (*TEXT_INPUTS, *FLAG_INPUTS):
            label = self.query_one(f"#error-{field}", Label)
            label.update(Content(by_field.get(field, "")))
            label.set_class(field in by_field, "-visible")
        if errors:
            first = next(
                (field for field, _label in TEXT_INPUTS if field in by_field), None
            )
            if first is not None:
                self.query_one(f"#field-{first}", Input).focus()

    def error_text(self, field: str) -> str:
        """Return the message shown beside ``field``, or "" when it is valid."""
        return str(self.query_one(f"#error-{field}", Label).content)
