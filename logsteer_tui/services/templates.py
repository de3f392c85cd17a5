"""Personalisation: Jinja2 templates rendered in a sandbox from a contact's fields.

The renderer serves every channel. Plain text (SMS, subjects) is rendered without
autoescaping and HTML with it. Undefined names are errors (StrictUndefined), and a
field that the contact leaves empty is an error too when it is printed, so no text
ever goes out with "None" or a gap where a name should be. Such a field is still
false in ``{% if %}`` and gives way to ``| default("...")``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, tzinfo
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import StrictUndefined, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from logsteer_tui.db.models import Address, Contact, Order
from logsteer_tui.errors import LogsteerError
from logsteer_tui.services.validation import format_phone

FIELD_LABELS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "First and last name",
    "email": "Email",
    "mobile_1": "Mobile 1",
    "phone_1": "Phone 1",
    "mobile_2": "Mobile 2",
    "phone_2": "Phone 2",
    "company": "Company",
    "street": "Street (first address)",
    "city": "City (first address)",
    "postal_code": "Postal code (first address)",
    "country": "Country code (first address)",
    "last_order_number": "Number of the newest order",
    "last_order_status": "Status of the newest order",
    "last_order_total": "Total of the newest order, with currency",
    "last_order_date": "Date of the newest order",
}
"""The fields every contact offers to a template, with a label for the composer."""

# Results of ``*`` and ``**`` larger than this are rejected, so a template cannot
# exhaust memory with ``{{ "x" * 10**9 }}``.
MAX_OPERATION_SIZE = 100_000

# Rendering stops once the output passes this many characters.
# NOTE: loops that print nothing are not bounded, so a template such as two
# nested range(100000) loops can still keep the renderer busy for a long time.
MAX_OUTPUT_CHARACTERS = 100_000

_RESERVED_NAMES = frozenset({"true", "false", "none", *keyword.kwlist})


class TemplateError(LogsteerError):
    """A template that cannot be rendered for a contact; the message names why."""

    title = "Template error"


ADDRESS_FIELDS = frozenset({"street", "city", "postal_code", "country"})
"""The fields read from the contact's first address."""
ORDER_FIELDS = frozenset(
    {"last_order_number", "last_order_status", "last_order_total", "last_order_date"}
)
"""The fields read from the contact's newest order."""

_FieldValue = Callable[[Contact, Address | None, Order | None, tzinfo], object]
_FIELD_VALUES: dict[str, _FieldValue] = {
    "first_name": lambda contact, _address, _order, _zone: contact.first_name,
    "last_name": lambda contact, _address, _order, _zone: contact.last_name,
    "full_name": lambda contact, _address, _order, _zone: contact.full_name,
    "email": lambda contact, _address, _order, _zone: contact.email,
    "mobile_1": lambda contact, _address, _order, _zone: format_phone(contact.mobile_1),
    "phone_1": lambda contact, _address, _order, _zone: format_phone(contact.phone_1),
    "mobile_2": lambda contact, _address, _order, _zone: format_phone(contact.mobile_2),
    "phone_2": lambda contact, _address, _order, _zone: format_phone(contact.phone_2),
    "company": lambda contact, _address, _order, _zone: contact.company,
    "street": lambda _contact, address, _order, _zone: address and address.street,
    "city": lambda _contact, address, _order, _zone: address and address.city,
    "postal_code": lambda _contact, address, _order, _zone: (
        address and address.postal_code
    ),
    "country": lambda _contact, address, _order, _zone: address and address.country,
    "last_order_number": lambda _contact, _address, order, _zone: (
        order and order.number
    ),
    "last_order_status": lambda _contact, _address, order, _zone: (
        order and order.status
    ),
    "last_order_total": lambda _contact, _address, order, _zone: (
        _order_total(order) if order else None
    ),
    "last_order_date": lambda _contact, _address, order, zone: (
        order.ordered_at.astimezone(zone).date().isoformat() if order else None
    ),
}


def contact_fields(
    contact: Contact, zone: tzinfo = UTC, only: Collection[str] | None = None
) -> dict[str, str | None]:
    """Build the values a template may use for ``contact``; None marks an empty one.

    With ``only``, just those of the fixed fields are built, because formatting
    phone numbers is most of the cost. The addresses and orders must then be
    loaded only when ``only`` names an address or order field, and always
    without ``only``. Extra attributes from an import follow the fixed fields under the
    name that attribute_field_name gives them. An attribute whose name clashes
    with a fixed field is left out.
    """
    names = (
        list(_FIELD_VALUES) if only is None else [n for n in _FIELD_VALUES if n in only]
    )
    address = (
        (contact.addresses[0] if contact.addresses else None)
        if ADDRESS_FIELDS.intersection(names)
        else None
    )
    order = _newest_order(contact.orders) if ORDER_FIELDS.intersection(names) else None
    values: dict[str, object] = {
        name: _FIELD_VALUES[name](contact, address, order, zone) for name in names
    }
    for key, value in (contact.attributes or {}).items():
        name = attribute_field_name(str(key))
        if name and name not in _FIELD_VALUES:
            values[name] = value
    return {name: _text_or_none(value) for name, value in values.items()}


def attribute_field_name(key: str) -> str | None:
    """Return the template name of an extra attribute, or None if it has none.

    The name is lower case, with each run of other characters than letters and
    digits replaced by "_", so "Loyalty tier" becomes ``loyalty_tier``.
    """
    name = re.sub(r"\W+", "_", key.strip()).strip("_").lower()
    if not name.isidentifier() or name in _RESERVED_NAMES:
        return None
    return name


def _newest_order(orders: list[Order]) -> Order | None:
    return max(orders, key=lambda order: (order.ordered_at, order.id), default=None)


def _order_total(order: Order) -> str:
    return f"{order.total_cents / 100:.2f} {order.currency}"


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def unknown_field_names(
    template: str, attribute_names: Collection[str] = ()
) -> frozenset[str]:
    """Return the fields ``template`` reads that no contact offers.

    A contact offers the FIELD_LABELS fields and ``attribute_names``, the template
    names of imported attributes. Raises TemplateError when ``template`` does not
    parse.
    """
    used = TemplateRenderer().fields_used(template)
    return used - FIELD_LABELS.keys() - set(attribute_names)


def unknown_fields_error(
    unknown: Collection[str], attribute_names: Collection[str] = ()
) -> TemplateError:
    """Build the error for ``unknown`` fields, listing every field to use instead."""
    known = [*FIELD_LABELS, *sorted(set(attribute_names) - FIELD_LABELS.keys())]
    noun = "field" if len(unknown) == 1 else "fields"
    return TemplateError(
        f"Unknown {noun} {', '.join(sorted(unknown))}; use one of {', '.join(known)}."
    )


class EmptyFieldError(jinja2.UndefinedError):
    """Raised when a template prints a field that is empty for the contact."""


class EmptyField(StrictUndefined):
    """A field the contact has but leaves empty.

    Printing it raises UndefinedError with a hint naming the field, like an
    unknown name, but it is false in a test, so ``{% if company %}`` works.
    """

    __slots__ = ()

    def __bool__(self) -> bool:  # type: ignore[override]
        return False


class _Sandbox(SandboxedEnvironment):
    """The sandbox with a size limit on repetition and powers."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError(
                f"the power {right} is larger than templates allow (64)"
            )
        if operator == "*":
            _check_repetition(left, right)
            _check_repetition(right, left)
        return super().call_binop(context, operator, left, right)


def _check_repetition(sequence: Any, count: Any) -> None:
    if isinstance(sequence, str | list | tuple) and isinstance(count, int):
        size = len(sequence) * count
        if size > MAX_OPERATION_SIZE:
            raise SecurityError(
                f"repeating a value {count} times gives {size} items, more than "
                f"templates allow ({MAX_OPERATION_SIZE})"
            )


class TemplateRenderer:
    """Renders templates in the sandbox; ``html`` turns autoescaping on."""

    def __init__(self, html: bool = False) -> None:
        self._environment = _Sandbox(
            undefined=StrictUndefined,
            autoescape=html,
            keep_trailing_newline=True,
        )

    def parse(self, template: str) -> nodes.Template:
        """Parse ``template``; raises TemplateError naming a syntax error's line."""
        try:
            return self._environment.parse(template)
        except jinja2.TemplateSyntaxError as error:
            # Jinja's own message may end with a period or span several lines.
            reason = " ".join((error.message or "invalid syntax").split()).rstrip(".")
            raise TemplateError(
                f"Template syntax error on line {error.lineno}: {reason}. Fix that "
                "line, writing each field as {{ first_name }}."
            ) from None

    def fields_used(self, template: str) -> frozenset[str]:
        """Return the field names ``template`` reads; raises TemplateError."""
        return self._names(self.parse(template))

    def _names(self, tree: nodes.Template) -> frozenset[str]:
        found = meta.find_undeclared_variables(tree)
        return frozenset(found - set(self._environment.globals))

    def render(self, template: str, fields: Mapping[str, str | None]) -> str:
        """Render ``template`` with ``fields``; a None value is an empty field.

        Raises TemplateError when the template does not parse, names a field that
        does not exist (in any branch), prints an empty field, reaches for Python
        internals or fails while rendering.
        """
        tree = self.parse(template)
        unknown = self._names(tree) - set(fields)
        if unknown:
            names = ", ".join(sorted(unknown))
            known = ", ".join(fields)
            raise TemplateError(
                f"Unknown field {names} in the template. Use one of: {known}."
            )
        context = {
            name: value if value is not None else _empty_field(name)
            for name, value in fields.items()
        }
        compiled = self._environment.from_string(tree)
        try:
            return _bounded_output(compiled, context)
        except SecurityError as error:
            reason = str(error).rstrip(".")
            raise TemplateError(
                f"{_line_of(error)}The template may not do this: {reason}. "
                "Use only fields, filters and plain text."
            ) from None
        except EmptyFieldError as error:
            raise TemplateError(f"{_line_of(error)}{error}.") from None
        except jinja2.UndefinedError as error:
            raise TemplateError(
                f"{_line_of(error)}{error}. Check the field names in the template."
            ) from None
        except (
            jinja2.TemplateError,
            ArithmeticError,
            LookupError,
            TypeError,
            ValueError,
        ) as error:
            raise TemplateError(
                f"{_line_of(error)}The template failed: {error}. Fix the template."
            ) from None


def _bounded_output(compiled: jinja2.Template, context: dict[str, Any]) -> str:
    chunks: list[str] = []
    size = 0
    for chunk in compiled.generate(context):
        size += len(chunk)
        if size > MAX_OUTPUT_CHARACTERS:
            raise SecurityError(
                f"the output is longer than templates allow "
                f"({MAX_OUTPUT_CHARACTERS} characters)"
            )
        chunks.append(chunk)
    return "".join(chunks)


def _empty_field(name: str) -> EmptyField:
    return EmptyField(
        hint=(
            f"The field {name} is empty for this contact, so the text would have a "
            f"gap. Fill it in on the contact, or write "
            f'{{{{ {name} | default("...") }}}} or {{% if {name} %}} in the template'
        ),
        name=name,
        exc=EmptyFieldError,
    )


def _line_of(error: BaseException) -> str:
    """ "Line N: " for the template line where ``error`` was raised, if known."""
    line = None
    trace: TracebackType | None = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return f"Line {line}: " if line is not None else ""
