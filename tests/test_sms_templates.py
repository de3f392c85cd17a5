from datetime import UTC, datetime

import pytest

from logsteer_tui.db.models import Address, Contact, Order
from logsteer_tui.services.templates import (
    FIELD_LABELS,
    TemplateError,
    TemplateRenderer,
    attribute_field_name,
    contact_fields,
)


def make_contact(**values: object) -> Contact:
    defaults: dict[str, object] = {
        "id": 7,
        "first_name": "Ana",
        "last_name": "Horvat",
        "email": "ana@example.com",
        "mobile_1": "+385910000001",
        "company": "",
        "attributes": {"Loyalty tier": "gold", "first_name": "clash", "empty": ""},
    }
    defaults.update(values)
    contact = Contact(**defaults)
    contact.addresses = [
        Address(street="Ilica 1", city="Zagreb", postal_code="10000", country="HR")
    ]
    contact.orders = [
        Order(
            id=1,
            number="A-1",
            total_cents=1000,
            currency="EUR",
            ordered_at=datetime(2026, 1, 5, tzinfo=UTC),
        ),
        Order(
            id=2,
            number="A-2",
            total_cents=4990,
            currency="EUR",
            ordered_at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC),
        ),
    ]
    return contact


def render(template: str, **values: object) -> str:
    return TemplateRenderer().render(template, contact_fields(make_contact(**values)))


def test_fields_of_contact() -> None:
    fields = contact_fields(make_contact())
    assert fields["full_name"] == "Ana Horvat"
    assert fields["mobile_1"] == "+385 91 000 0001"
    assert fields["street"] == "Ilica 1"
    assert fields["city"] == "Zagreb"
    assert fields["last_order_number"] == "A-2"
    assert fields["last_order_total"] == "49.90 EUR"
    assert fields["last_order_date"] == "2026-03-09"
    assert fields["company"] is None
    assert fields["phone_1"] is None


def test_only_the_fields_asked_for() -> None:
    full = contact_fields(make_contact())
    for name in FIELD_LABELS:
        assert contact_fields(make_contact(), only={name})[name] == full[name]
    partial = contact_fields(make_contact(), only={"first_name", "loyalty_tier"})
    assert partial == {
        "first_name": "Ana",
        "loyalty_tier": "gold",
        "empty": None,
    }


def test_fields_used() -> None:
    renderer = TemplateRenderer()
    used = renderer.fields_used(
        "{% for x in range(2) %}{{ x }}{% endfor %}{{ first_name }}{{ city }}"
    )
    assert used == {"first_name", "city"}
    with pytest.raises(TemplateError):
        renderer.fields_used("{{ first_name ")


def test_attributes_become_fields() -> None:
    fields = contact_fields(make_contact())
    assert fields["loyalty_tier"] == "gold"
    assert fields["first_name"] == "Ana"
    assert fields["empty"] is None


def test_attribute_names() -> None:
    assert attribute_field_name("Loyalty tier") == "loyalty_tier"
    assert attribute_field_name("class") is None
    assert attribute_field_name("1st") is None
    assert attribute_field_name("!!!") is None


def test_render_fields() -> None:
    text = render("Hi {{ first_name }}, order {{ last_order_number }} ({{ city }})")
    assert text == "Hi Ana, order A-2 (Zagreb)"


def test_render_attribute() -> None:
    assert render("Tier {{ loyalty_tier }}") == "Tier gold"


def test_unknown_field_names_it() -> None:
    with pytest.raises(TemplateError, match="Unknown field frist_name"):
        render("Hi {{ frist_name }}")


def test_unknown_field_in_untaken_branch() -> None:
    with pytest.raises(TemplateError, match="Unknown field nickname"):
        render("{% if false %}{{ nickname }}{% endif %}Hi")


def test_empty_field_is_error_not_gap() -> None:
    with pytest.raises(TemplateError, match="field company is empty") as caught:
        render("Hi {{ company }}")
    assert "Line 1" in caught.value.message


def test_none_field_is_error_not_none() -> None:
    with pytest.raises(TemplateError, match="field phone_1 is empty"):
        render("Call {{ phone_1 }}")


def test_empty_first_name_is_error() -> None:
    with pytest.raises(TemplateError, match="field first_name is empty"):
        render("Dear {{ first_name }}", first_name="")


def test_empty_field_in_condition_and_default() -> None:
    assert render("{% if company %}{{ company }}{% else %}you{% endif %}") == "you"
    assert render("Hi {{ company | default('friend') }}") == "Hi friend"


def test_syntax_error_names_line() -> None:
    with pytest.raises(TemplateError, match="syntax error on line 2"):
        render("Hi\n{{ first_name }\n")


def test_unclosed_block_is_error() -> None:
    with pytest.raises(TemplateError, match="syntax error"):
        render("{% if first_name %}Hi")


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ cycler.__init__ }}",
        "{{ first_name.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ joiner.__init__.__globals__ }}",
    ],
)
def test_python_internals_rejected(template: str) -> None:
    with pytest.raises(TemplateError, match="may not do this"):
        render(template)


def test_format_cannot_reach_internals() -> None:
    with pytest.raises(TemplateError, match="may not do this"):
        render("{{ '{0.__class__}'.format(first_name) }}")


def test_huge_repetition_rejected() -> None:
    with pytest.raises(TemplateError, match="more than templates allow"):
        render("{{ 'x' * 1000000 }}")


def test_huge_output_rejected() -> None:
    with pytest.raises(TemplateError, match="output is longer"):
        render("{% for i in range(30000) %}{{ first_name }}-{% endfor %}")


def test_runtime_error_names_line() -> None:
    with pytest.raises(TemplateError, match="Line 2: The template failed"):
        render("Hi\n{{ 1 / 0 }}")


def test_attribute_of_field_is_error() -> None:
    with pytest.raises(TemplateError, match="no attribute 'nope'"):
        render("{{ first_name.nope }}")


def test_html_autoescapes() -> None:
    fields = {"first_name": "<b>Ana & Ivo</b>"}
    assert TemplateRenderer(html=True).render("{{ first_name }}", fields) == (
        "&lt;b&gt;Ana &amp; Ivo&lt;/b&gt;"
    )


def test_text_does_not_escape() -> None:
    fields = {"first_name": "Ana & Ivo"}
    assert TemplateRenderer().render("{{ first_name }}", fields) == "Ana & Ivo"
