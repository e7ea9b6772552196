"""The sales journal for Japanese accounting software (弥生会計, freee会計, マネーフォワード
クラウド会計): ``entries`` (what is booked, whatever the program), ``layouts`` (each
program's import layout, with its source), ``files`` (encoding, ``--since-last``)."""

from .entries import Entry, EntryType, month_entries, receipt_entries
from .files import FORMATS, KINDS, JournalFile, JournalRefused, filename, journal_file
from .layouts import COLUMNS, FREEE_COLUMNS, MF_COLUMNS, YAYOI_COLUMNS

__all__ = [
    "COLUMNS",
    "FORMATS",
    "FREEE_COLUMNS",
    "KINDS",
    "MF_COLUMNS",
    "YAYOI_COLUMNS",
    "Entry",
    "EntryType",
    "JournalFile",
    "JournalRefused",
    "filename",
    "journal_file",
    "month_entries",
    "receipt_entries",
]
