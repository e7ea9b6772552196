"""The CSV import engine behind ``manage.py import_csv``, the one way every kind is imported.

The engine decodes a file (``decoding``), checks the header and parses every cell with its
column's parser (``reading``, ``cells``), rejects duplicate keys, lets the kind check the
rows against the database and the model rules, and only then writes, in one transaction
(``engine``). Any problem anywhere means nothing is written; every problem is reported as
``line N, column NAME: message`` (``problems``). ``bulk`` holds the COPY helpers that the
usage kinds and the monthly run write with.

A kind (``ImportKind`` subclass) declares its columns and key and implements ``check`` and
``write``; ``register`` makes it available to the command. The contracts kinds are in
``contracts/imports.py``, the billing kinds in ``billing/imports/``.
"""

from .bulk import (
    bulk_insert,
    bulk_insert_history,
    bulk_insert_returning_ids,
    bulk_update_values,
    insert_history_of,
)
from .cells import (
    EARLIEST_DATE,
    LATEST_DATE,
    Column,
    described,
    parse_choice,
    parse_code,
    parse_date,
    parse_decimal,
    parse_email_list,
    parse_month,
    parse_text,
    parse_whole,
    parse_yes_no,
)
from .decoding import ENCODINGS, decode, detect_encoding, file_lines, text_lines
from .engine import (
    REGISTRY,
    BulkImportKind,
    Counts,
    ImportKind,
    ImportResult,
    ModelImportKind,
    connection_lost,
    register,
    rows_written,
    run_import,
)
from .problems import MAX_REPORTED_PROBLEMS, CellError, ImportRejected, Problem, Problems
from .reading import MAX_HEADER_COLUMNS, MAX_LINE_LENGTH, Row, csv_message, iter_rows, read_rows
from .staging import StagedImportKind

__all__ = [
    "EARLIEST_DATE",
    "ENCODINGS",
    "LATEST_DATE",
    "MAX_HEADER_COLUMNS",
    "MAX_LINE_LENGTH",
    "MAX_REPORTED_PROBLEMS",
    "REGISTRY",
    "BulkImportKind",
    "CellError",
    "Column",
    "Counts",
    "ImportKind",
    "ImportRejected",
    "ImportResult",
    "ModelImportKind",
    "Problem",
    "Problems",
    "Row",
    "StagedImportKind",
    "bulk_insert",
    "bulk_insert_history",
    "bulk_insert_returning_ids",
    "bulk_update_values",
    "connection_lost",
    "csv_message",
    "decode",
    "described",
    "detect_encoding",
    "file_lines",
    "insert_history_of",
    "iter_rows",
    "parse_choice",
    "parse_code",
    "parse_date",
    "parse_decimal",
    "parse_email_list",
    "parse_month",
    "parse_text",
    "parse_whole",
    "parse_yes_no",
    "read_rows",
    "register",
    "rows_written",
    "run_import",
    "text_lines",
]
