"""SMS encoding: which alphabet a text needs, how many parts it takes, transliteration.

The GSM 03.38 tables below decide between GSM-7 and UCS-2. GSM-7 counts septets:
a basic character is one, an extension character is an escape plus itself, two.
UCS-2 counts UTF-16 code units, so a character outside the Basic Multilingual
Plane, such as an emoji, is two. A single SMS holds 160 septets or 70 units; a
concatenated one loses room to its header and holds 153 or 67 per part.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The GSM 03.38 basic character set, without the escape character (0x1B) itself.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# The extension table: each is sent as the escape character plus itself.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_PART_LIMITS = {"GSM-7": 160, "UCS-2": 70}
CONCATENATED_PART_LIMITS = {"GSM-7": 153, "UCS-2": 67}


class SmsEncoding(enum.StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class SmsCount:
    """The size of one SMS text as a phone network sees it."""

    characters: int
    """Unicode code points, as a person would count them."""

    encoding: SmsEncoding
    units: int
    """Septets for GSM-7, UTF-16 code units for UCS-2."""

    parts: int
    """Parts the text is split into; 0 for an empty text."""

    part_limit: int
    """Units one part holds at this length: 160 or 70 alone, 153 or 67 concatenated."""

    @property
    def remaining(self) -> int:
        """Units left in the last part before another part is needed."""
        if self.parts == 0:
            return self.part_limit
        if self.parts == 1:
            return self.part_limit - self.units
        return self.parts * self.part_limit - self.units


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def unit_sizes(text: str, encoding: SmsEncoding) -> list[int]:
    """The size in units of each character of ``text`` in ``encoding``."""
    if encoding is SmsEncoding.GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def count_parts(sizes: list[int], limit: int) -> int:
    """Split characters of these sizes into parts of ``limit`` units.

    A character is never split between two parts, because phones cannot join an
    escape sequence or a surrogate pair that spans parts, so a part may end one
    unit short of the limit.
    """
    parts = 1
    used = 0
    for size in sizes:
        if used + size > limit:
            parts += 1
            used = 0
        used += size
    return parts


def count_sms(text: str) -> SmsCount:
    """Count ``text``: its encoding, its size in units and its number of parts."""
    encoding = SmsEncoding.GSM7 if is_gsm7(text) else SmsEncoding.UCS2
    sizes = unit_sizes(text, encoding)
    units = sum(sizes)
    single_limit = SINGLE_PART_LIMITS[encoding.value]
    if units == 0:
        return SmsCount(0, encoding, 0, 0, single_limit)
    if units <= single_limit:
        return SmsCount(len(text), encoding, units, 1, single_limit)
    limit = CONCATENATED_PART_LIMITS[encoding.value]
    return SmsCount(len(text), encoding, units, count_parts(sizes, limit), limit)


# Croatian letters and typographic punctuation with GSM-7 equivalents.
_TRANSLITERATION = {
    "č": "c",
    "ć": "c",
    "đ": "dj",
    "š": "s",
    "ž": "z",
    "Č": "C",
    "Ć": "C",
    "Š": "S",
    "Ž": "Z",
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2026": "...",
    "\u00a0": " ",  # no-break space
}


def transliterate(text: str) -> str:
    """Replace Croatian letters and typographic punctuation by GSM-7 characters.

    č and ć become c, đ becomes dj, š s and ž z; a capital Đ becomes Dj, or DJ
    beside another capital ("ĐAKOVO" becomes "DJAKOVO"). Dashes, curly quotes, the
    ellipsis and the no-break space become their ASCII forms. Other characters,
    such as emoji, are kept, so the text may still need UCS-2.
    """
    output: list[str] = []
    for index, char in enumerate(text):
        if char == "Đ":
            output.append("DJ" if _beside_capital(text, index) else "Dj")
        else:
            output.append(_TRANSLITERATION.get(char, char))
    return "".join(output)


def _beside_capital(text: str, index: int) -> bool:
    neighbours = text[index - 1 : index] + text[index + 1 : index + 2]
    return any(char.isupper() for char in neighbours)
