"""Text folding for search: case and diacritics do not matter."""

from __future__ import annotations

import unicodedata

# Letters that Unicode does not decompose into a base letter and a mark.
_SPECIAL_LETTERS = str.maketrans({"đ": "d", "ł": "l", "ø": "o", "ß": "ss", "æ": "ae"})


def fold(text: str) -> str:
    """Casefold ``text`` and strip its diacritics, so "Čić" and "cic" compare equal.

    SQLite's NOCASE folds ASCII only, so the folded form is stored in a column and
    the search term is folded the same way in Python.
    """
    lowered = text.casefold().translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(char for char in decomposed if not unicodedata.combining(char))
