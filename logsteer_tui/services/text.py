"""Text folding for search: case and diacritics do not matter."""

from __future__ import annotations

import unicodedata

# Letters that Unicode does not decompose into a base letter and a mark.
SPECIAL_LETTERS = {"đ": "d", "ł": "l", "ø": "o", "ß": "ss", "æ": "ae"}
_SPECIAL_TABLE = str.maketrans(SPECIAL_LETTERS)


def fold(text: str) -> str:
    """Casefold ``text`` and strip its diacritics, so "Čić" and "cic" compare equal.

    SQLite's NOCASE folds ASCII only, so the folded form is stored in a column and
    the search term is folded the same way in Python. Other columns are folded
    in SQL by db.folding, which runs this function on SQLite.
    """
    if text.isascii():
        # The same result: ASCII has no marks, and casefold is lower there.
        return text.lower()
    lowered = text.casefold().translate(_SPECIAL_TABLE)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(char for char in decomposed if not unicodedata.combining(char))
