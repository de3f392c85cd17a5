"""The dialogs of the segment screens: a segment's name and one condition."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Footer, Input, Label, Select
from textual.worker import Worker

from logsteer_tui.errors import ValidationError, shown_value
from logsteer_tui.services.segments import (
    FIELDS,
    OPERATOR_INFO,
    Condition,
    FieldKind,
    FieldSpec,
    Operator,
    ValueShape,
    ValueType,
    operator_label,
    parse_condition,
    value_from_text,
    value_to_text,
)
from logsteer_tui.services.segments.operators import MAX_TEXT_LENGTH, PAIR_SEPARATOR
from logsteer_tui.services.segments.service import MAX_NAME_LENGTH, check_name
from logsteer_tui.services.segments.values import SUGGESTED_FIELDS, stored_values
from logsteer_tui.widgets.worker_errors import report_worker_error

# The stored values that the value hint names; the suggester offers them all.
MAX_HINTED_VALUES = 6


class NameScreen(ModalScreen[str | None]):
    """Asks for a segment name; dismisses with it, or None on escape.

    A name that cannot be used keeps the dialog open with the typed text and the
    reason below it. ``taken_names`` lists the names of other segments.

    | Key | Action |
    | --- | --- |
    | enter | Use the name |
    | escape | Cancel |
    """

    TITLE = "Segment name"
    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="segment_name.cancel",
            tooltip="Keep it as it is",
        ),
    ]

    def __init__(
        self, question: str, value: str = "", taken_names: Collection[str] = ()
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.taken_names = frozenset(taken_names)

    def compose(self) -> ComposeResult:
        with Vertical(id="segment-name-dialog", classes="segment-dialog"):
            yield Label(self.question)
            yield Input(
                self.value,
                id="segment-name-input",
                placeholder=f"Name, at most {MAX_NAME_LENGTH} characters",
                max_length=MAX_NAME_LENGTH,
            )
            yield Label("", id="segment-name-error", classes="segment-error")
            yield Label("enter saves, esc cancels", classes="segment-hint")
        yield Footer()

    @on(Input.Submitted, "#segment-name-input")
    def _submitted(self, event: Input.Submitted) -> None:
        error = self.query_one("#segment-name-error", Label)
        if not event.value.strip():
            error.update("The name is empty; type a name, or press esc to cancel.")
            return
        try:
            name = check_name(event.value)
        except ValidationError as invalid:
            error.update(
                f"{shown_value(event.value)} is invalid: {invalid.reason}; type "
                "another name, or press esc to cancel."
            )
            return
        if name in self.taken_names:
            error.update(
                f"A segment named {shown_value(name)} exists already; type another "
                "name, or press esc to cancel."
            )
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)


# Placeholders of the currency input, with the meaning of an empty one.
CURRENCY_PLACEHOLDERS = {
    FieldKind.RELATED: "Currency, such as EUR; empty for orders in any currency",
    FieldKind.SUM: "Currency, such as EUR; empty sums each currency apart",
}

# Examples of a single value as typed in the dialog, by value type.
VALUE_EXAMPLES = {
    ValueType.TEXT: "text, such as Zagreb; case and accents are ignored",
    ValueType.CHOICE: "one value, picked from the list",
    ValueType.NUMBER: "a number, such as 10",
    ValueType.MONEY: "an amount, such as 12.50",
    ValueType.COUNT: "a whole number, such as 3",
    ValueType.DATE: "a date written as YYYY-MM-DD, such as 2026-12-31",
    ValueType.FLAG: "yes or no, picked from the list",
}

# Examples of a range, written low..high, by value type.
RANGE_EXAMPLES = {
    ValueType.MONEY: "10..20.50",
    ValueType.DATE: "2026-01-01..2026-01-31",
}

FLAG_OPTIONS = [("yes", "true"), ("no", "false")]


def field_options() -> list[tuple[str, str]]:
    return [(f"{spec.label} ({spec.category})", name) for name, spec in FIELDS.items()]


def takes_choice(spec: FieldSpec) -> bool:
    """Tell whether the value of ``spec`` is picked from a list, not typed."""
    return spec.value_type in (ValueType.CHOICE, ValueType.FLAG)


def range_example(value_type: ValueType) -> str:
    return RANGE_EXAMPLES.get(value_type, "10..20")


def value_hint(spec: FieldSpec, shape: ValueShape) -> str:
    """Describe the value to type for ``spec`` and an operator of ``shape``."""
    if shape is ValueShape.NONE:
        return "no value needed"
    if shape is ValueShape.DAYS:
        return "a whole number of days, such as 30"
    if shape is ValueShape.PAIR:
        example = range_example(spec.value_type)
        return f"a range written low..high, such as {example}"
    return VALUE_EXAMPLES[spec.value_type]


class ConditionScreen(ModalScreen[Condition | None]):
    """Picks a field, an operator and a value; dismisses with a checked Condition.

    Fields with a known set of values, and flags, take the value from a list.
    With ``sessions``, free-text fields such as the order status suggest the
    values stored in the database while the user types.

    | Key | Action |
    | --- | --- |
    | tab | Next of field, operator, value and, on order money, currency |
    | enter | In the value or the currency: add the condition |
    | ctrl+s | Add the condition |
    | escape | Cancel |
    """

    TITLE = "Condition"
    BINDINGS = [
        Binding(
            "ctrl+s",
            "accept",
            "Add",
            id="segment_condition.accept",
            tooltip="Use this condition",
        ),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="segment_condition.cancel",
            tooltip="Leave the segment as it is",
        ),
    ]

    class ValuesLoaded(Message):
        def __init__(self, field: str, values: Sequence[str]) -> None:
            super().__init__()
            self.field = field
            self.values = values

    def __init__(
        self,
        condition: Condition | None = None,
        sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        super().__init__()
        self.condition = condition
        self.sessions = sessions
        # The stored values of each suggested field, once read.
        self.stored: dict[str, Sequence[str]] = {}

    def compose(self) -> ComposeResult:
        start = self.condition
        verb = "Save" if start else "Add"
        with Vertical(id="segment-condition-dialog", classes="segment-dialog"):
            yield Label("Condition", classes="segment-dialog-title")
            yield Select(
                field_options(),
                prompt="Field",
                id="segment-field",
                value=start.field if start else Select.NULL,
                compact=True,
            )
            yield Select([], prompt="Operator", id="segment-operator", compact=True)
            yield Input(
                value_to_text(start.value) if start else "",
                placeholder="Value",
                id="segment-value",
                compact=True,
                max_length=MAX_TEXT_LENGTH,
            )
            choice: Select[str] = Select(
                [], prompt="Value", id="segment-choice", compact=True
            )
            # Shown in place of the typed value for fields with a list of values.
            choice.display = False
            yield choice
            currency = Input(
                (start.currency or "") if start else "",
                id="segment-currency",
                compact=True,
            )
            # Shown once the chosen field takes a currency.
            currency.display = False
            yield currency
            yield Label("", id="segment-value-hint", classes="segment-hint")
            yield Label("", id="segment-condition-error", classes="segment-error")
            with Horizontal(id="segment-condition-buttons"):
                yield Button(
                    verb, id="segment-condition-accept", variant="primary", compact=True
                )
                yield Button("Cancel", id="segment-condition-cancel", compact=True)
            yield Label(
                f"enter in the value or ctrl+s {verb.lower()}s, esc cancels",
                id="segment-condition-keys",
                classes="segment-hint",
            )
        yield Footer()

    def on_mount(self) -> None:
        if self.condition is not None:
            self._fill_operators(self.condition.field, self.condition.operator)
        self.query_one("#segment-field", Select).focus()

    def _fill_operators(self, field: str, selected: Operator | None = None) -> None:
        spec = FIELDS[field]
        currency = self.query_one("#segment-currency", Input)
        currency.display = spec.currency_column is not None
        currency.placeholder = CURRENCY_PLACEHOLDERS.get(spec.kind, "")
        self._fill_choices(spec)
        select = self.query_one("#segment-operator", Select)
        options = [
            (operator_label(spec.value_type, operator), operator.value)
            for operator in spec.operators
        ]
        select.set_options(options)
        select.value = selected.value if selected is not None else options[0][1]
        self._suggest(field)
        self._show_hint()

    def _suggest(self, field: str) -> None:
        value_input = self.query_one("#segment-value", Input)
        values = self.stored.get(field, ())
        value_input.suggester = (
            SuggestFromList(values, case_sensitive=False) if values else None
        )
        if field in SUGGESTED_FIELDS and field not in self.stored and self.sessions:
            self._load_values(field)

    @work(group="segment-condition-values", exit_on_error=False)
    async def _load_values(self, field: str) -> None:
        assert self.sessions is not None
        values = await stored_values(self.sessions, field)
        self.post_message(self.ValuesLoaded(field, values))

    def on_condition_screen_values_loaded(self, message: ValuesLoaded) -> None:
        self.stored[message.field] = message.values
        if self.query_one("#segment-field", Select).value == message.field:
            self._suggest(message.field)
            self._show_hint()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    def _fill_choices(self, spec: FieldSpec) -> None:
        choice = self.query_one("#segment-choice", Select)
        listed = takes_choice(spec)
        choice.display = listed
        self.query_one("#segment-value", Input).display = not listed
        if not listed:
            return
        if spec.value_type is ValueType.FLAG:
            choice.set_options(FLAG_OPTIONS)
        else:
            choice.set_options([(value, value) for value in spec.choices])
        start = self.condition
        if start is not None and start.field == spec.name:
            choice.value = value_to_text(start.value)

    @on(Select.Changed, "#segment-field")
    def _field_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            keep = (
                self.condition
                if self.condition and self.condition.field == event.value
                else None
            )
            self._fill_operators(event.value, keep.operator if keep else None)

    @on(Select.Changed, "#segment-operator")
    def _operator_changed(self) -> None:
        self._show_hint()

    def _show_hint(self) -> None:
        field = self.query_one("#segment-field", Select).value
        operator = self.query_one("#segment-operator", Select).value
        value_input = self.query_one("#segment-value", Input)
        hint = self.query_one("#segment-value-hint", Label)
        if not isinstance(field, str) or not isinstance(operator, str):
            hint.update("")
            return
        shape = OPERATOR_INFO[Operator(operator)].shape
        value_input.disabled = shape is ValueShape.NONE
        values = self.stored.get(field, ())
        if values and shape is ValueShape.SINGLE:
            named = ", ".join(values[:MAX_HINTED_VALUES])
            more = ", …" if len(values) > MAX_HINTED_VALUES else ""
            hint.update(f"Value: text; stored values are {named}{more}")
            return
        hint.update(f"Value: {value_hint(FIELDS[field], shape)}")

    @on(Input.Submitted, "#segment-value, #segment-currency")
    def _value_submitted(self) -> None:
        self.action_accept()

    @on(Button.Pressed, "#segment-condition-accept")
    def _accept_pressed(self) -> None:
        self.action_accept()

    @on(Button.Pressed, "#segment-condition-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def typed_value(self, spec: FieldSpec) -> str:
        """Return the value as typed, or as picked from the list of values."""
        if not takes_choice(spec):
            return self.query_one("#segment-value", Input).value
        picked = self.query_one("#segment-choice", Select).value
        return picked if isinstance(picked, str) else ""

    def action_accept(self) -> None:
        field = self.query_one("#segment-field", Select).value
        operator = self.query_one("#segment-operator", Select).value
        error = self.query_one("#segment-condition-error", Label)
        if not isinstance(field, str) or not isinstance(operator, str):
            error.update("Pick a field and an operator first.")
            return
        spec = FIELDS[field]
        text = self.typed_value(spec)
        problem = self._typed_problem(spec, Operator(operator), text)
        if problem:
            error.update(problem)
            return
        value = value_from_text(spec.value_type, Operator(operator), text)
        data = {"field": field, "operator": operator, "value": value}
        currency = self.query_one("#segment-currency", Input)
        if currency.display and currency.value.strip():
            data["currency"] = currency.value.strip()
        try:
            condition = parse_condition(data)
        except ValidationError as invalid:
            # An error on the whole value shows the text as typed, not as JSON.
            shown = text if invalid.field.endswith(".value") else invalid.value
            error.update(f"{shown_value(shown)} is invalid: {invalid.reason}")
            return
        self.dismiss(condition)

    def _typed_problem(self, spec: FieldSpec, operator: Operator, text: str) -> str:
        """Word what is wrong with the typed text in the dialog's own syntax."""
        shape = OPERATOR_INFO[operator].shape
        if shape is ValueShape.NONE:
            return ""
        hint = value_hint(spec, shape)
        if not text.strip():
            verb = "pick" if takes_choice(spec) else "type"
            return f"The value is missing; {verb} {hint}."
        if shape is ValueShape.PAIR and PAIR_SEPARATOR not in text:
            return (
                f"{shown_value(text)} is invalid: write the range as low..high, "
                f"such as {range_example(spec.value_type)}."
            )
        return ""

    def action_cancel(self) -> None:
        self.dismiss(None)
