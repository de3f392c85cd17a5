import pytest

from logsteer_tui.errors import ValidationError
from logsteer_tui.services.text import fold
from logsteer_tui.services.validation import (
    format_phone,
    normalize_email,
    normalize_phone,
)


@pytest.mark.parametrize(
    "written",
    [
        "091 000 0001",
        "00385 91 000 0001",
        "+385 (0)91 000 0001",
        "091/000-0001",
        "+385910000001",
    ],
)
def test_phone_forms_normalise_to_e164(written: str) -> None:
    assert normalize_phone("mobile_1", written, "HR") == "+385910000001"


def test_phone_other_country_keeps_its_code() -> None:
    assert normalize_phone("mobile_1", "+386 41 123 456", "HR") == "+38641123456"


def test_phone_empty_is_none() -> None:
    assert normalize_phone("mobile_1", "  ", "HR") is None


@pytest.mark.parametrize("written", ["12", "not a number", "091 000"])
def test_phone_invalid_names_field_and_value(written: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_phone("mobile_1", written, "HR")
    assert "mobile_1" in str(caught.value)
    assert repr(written) in str(caught.value)


def test_phone_formatted_for_display() -> None:
    assert format_phone("+385910000001") == "+385 91 000 0001"


def test_email_lowercased() -> None:
    assert (
        normalize_email("email", " Ana.Horvat@Example.COM ") == "ana.horvat@example.com"
    )


def test_email_invalid_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_email("email", "ana@@example")
    assert "email" in str(caught.value)


def test_fold_ignores_case_and_diacritics() -> None:
    assert fold("Čačić Đurđa") == "cacic durda"
    assert fold("ČIĆ") == fold("čić") == "cic"
