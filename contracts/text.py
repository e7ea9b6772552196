"""What counts as acceptable text in the back office, for every path that stores it:
admin forms and the shell (``contracts.models.VisibleTextModel``), CSV imports
(``contracts.csvimport.cells.parse_text``) and the settings (``config/settings/environment.py``) share
this one rule. Pure functions: importable before the settings exist.

Refused, by Unicode category: controls (C0, DEL, C1), format characters (zero-width
spaces, BOMs, bidirectional overrides) and line and paragraph separators. Invisible on
an invoice and on a terminal, they make equal-looking names differ and can rewrite what
a terminal shows (ESC sequences). Multi-line fields (``TextField``) may hold line breaks
and tabs; nothing else.

Text that a spreadsheet would read as a formula (``@cosme株式会社``, ``+Style株式会社``)
is ordinary text here: it is neutralised where a spreadsheet reads it (the CSV and xlsx
exports), never refused and never altered inside accounting journals.
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext_lazy as _

INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
#: what a multi-line field may hold besides visible text
LINE_BREAKS = frozenset("\n\r\t")


def invisible_character(value: str, *, multiline: bool = False) -> str | None:
    """The first refused character of ``value``, or None. ``isprintable()`` first: fast,
    and true for almost every cell of a large file."""
    if value.isprintable():
        return None
    for char in value:
        if multiline and char in LINE_BREAKS:
            continue
        if unicodedata.category(char) in INVISIBLE_CATEGORIES:
            return char
    return None


def describe(char: str) -> str:
    """U+001B ESCAPE: a refused character named so that a person can find it."""
    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".strip()


def refusal_message(char: str) -> str:
    return _("contains an invisible control character (%(char)s); remove it") % {"char": describe(char)}
