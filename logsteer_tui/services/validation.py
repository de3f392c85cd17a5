"""Normalising and validating phone numbers and email addresses."""

from __future__ import annotations

import email_validator
import phonenumbers

from logsteer_tui.errors import ValidationError


def normalize_phone(field: str, value: str | None, region: str) -> str | None:
    """Return ``value`` in E.164, or None when it is empty.

    Numbers without a country code are read in ``region``; "00" and "+" prefixes,
    spaces, slashes, dashes and a national "(0)" are accepted.
    Raises ValidationError naming ``field`` and the value when it is not a valid number.
    """
    if value is None or not value.strip():
        return None
    text = value.strip().replace("(0)", "")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            field, value, "not a phone number; write it as +385 91 000 0001"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            field,
            value,
            f"not a valid number for {region} or its country code; check the digits",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value: str | None) -> str:
    """Show an E.164 number in the international format, "+385 91 000 0001"."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


def normalize_email(field: str, value: str | None) -> str | None:
    """Return ``value`` validated and lowercased, or None when it is empty.

    No DNS look-up is made, so this works offline.
    """
    if value is None or not value.strip():
        return None
    try:
        result = email_validator.validate_email(
            value.strip(), check_deliverability=False
        )
    except email_validator.EmailNotValidError as error:
        raise ValidationError(field, value, str(error)) from None
    return result.normalized.lower()
