import pytest

from logsteer_tui.services.sms.encoding import SmsEncoding, count_sms, transliterate

CROATIAN_83 = (
    "Poštovani, Vaša narudžba je spremna za preuzimanje u našoj trgovini. "
    "Hvala, Đurđica"
)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("Hello", SmsEncoding.GSM7, 5, 1),
        ("a" * 160, SmsEncoding.GSM7, 160, 1),
        ("a" * 161, SmsEncoding.GSM7, 161, 2),
        ("a" * 306, SmsEncoding.GSM7, 306, 2),
        ("a" * 307, SmsEncoding.GSM7, 307, 3),
        ("€" * 80, SmsEncoding.GSM7, 160, 1),
        ("€" * 81, SmsEncoding.GSM7, 162, 2),
        ("[]{}~^|\\\f", SmsEncoding.GSM7, 18, 1),
        ("Café für Señor", SmsEncoding.GSM7, 14, 1),
        (CROATIAN_83, SmsEncoding.UCS2, 83, 2),
        ("ž" * 70, SmsEncoding.UCS2, 70, 1),
        ("ž" * 71, SmsEncoding.UCS2, 71, 2),
        ("😀", SmsEncoding.UCS2, 2, 1),
        ("a – b", SmsEncoding.UCS2, 5, 1),
        ("", SmsEncoding.GSM7, 0, 0),
    ],
)
def test_count_table(text: str, encoding: SmsEncoding, units: int, parts: int) -> None:
    count = count_sms(text)
    assert count.encoding is encoding
    assert count.units == units
    assert count.parts == parts


def test_croatian_example_has_83_characters() -> None:
    assert len(CROATIAN_83) == 83


def test_emoji_is_one_character_two_units() -> None:
    count = count_sms("Hi 😀")
    assert count.characters == 4
    assert count.units == 5


def test_extension_character_not_split_between_parts() -> None:
    # 306 septets fit two parts of 153 only if the euro sign's escape and
    # character could sit in different parts; they cannot, so it takes three.
    text = "a" * 152 + "€" + "a" * 152
    assert count_sms(text).units == 306
    assert count_sms(text).parts == 3


def test_surrogate_pair_not_split_between_parts() -> None:
    text = "ž" * 66 + "😀" + "ž" * 66
    assert count_sms(text).units == 134
    assert count_sms(text).parts == 3


def test_remaining_units() -> None:
    assert count_sms("Hello").remaining == 155
    assert count_sms("a" * 161).remaining == 306 - 161


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("čćđšž", "ccdjsz"),
        ("ČĆŠŽ", "CCSZ"),
        ("Đurđica", "Djurdjica"),
        ("ĐAKOVO", "DJAKOVO"),
        ("Ana – “Ivo”…", 'Ana - "Ivo"...'),
        ("Hvala 😀", "Hvala 😀"),
    ],
)
def test_transliterate(text: str, expected: str) -> None:
    assert transliterate(text) == expected


def test_transliterated_croatian_fits_one_gsm_part() -> None:
    count = count_sms(transliterate(CROATIAN_83))
    assert count.encoding is SmsEncoding.GSM7
    assert count.parts == 1
