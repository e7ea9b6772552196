"""R19: the month's issued documents as one zip (``export_documents``): each PDF as it was
stored at issue (its bytes checked against their SHA-256 on the way out) and a manifest,
``manifest.csv``, one row per file: the number, kind, customer, date, amount, SHA-256 and
the file's name in the zip. Voided invoices are in it too: they were issued, and their
copies are kept like every other."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable
from typing import BinaryIO

from django.db.models import Q

from billing.exports.csvfile import EncodingReport, encoded_csv
from billing.formatting import date_cell, neutralise, yen_cell
from billing.models import StoredDocument
from contracts import periods

from .store import store_month

MANIFEST = "manifest.csv"
MANIFEST_HEADER = (
    "number",
    "kind",
    "status",
    "customer_code",
    "counterparty",
    "issue_date",
    "amount",
    "sha256",
    "file",
)


def month_archive_documents(month: dt.date):
    """Every kept document of billing month ``month``: its issued and voided invoices and
    the credit notes against them, by number."""
    month = periods.month_start(month)
    return StoredDocument.objects.filter(
        Q(invoice__billing_month=month) | Q(credit_note__invoice__billing_month=month)
    ).order_by("number")


def member_name(document: StoredDocument) -> str:
    folder = "invoices" if document.kind == StoredDocument.Kind.INVOICE else "credit_notes"
    return f"{folder}/{document.number}.pdf"


def write_archive(documents: Iterable[StoredDocument], out: BinaryIO) -> int:
    """Write ``documents`` and their manifest as a zip to ``out``; returns how many. The
    documents are read a chunk at a time (their bytes never all in memory at once)."""
    rows = []
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for document in documents.select_related("invoice").iterator(chunk_size=100):
            name = member_name(document)
            archive.writestr(name, document.read())  # read() checks the hash
            status = document.invoice.status if document.invoice_id else "credit_note"
            rows.append(
                [
                    document.number,
                    document.kind,
                    status,
                    neutralise(document.customer_code),
                    neutralise(document.counterparty),
                    date_cell(document.issue_date),
                    yen_cell(document.amount.amount),
                    document.sha256,
                    name,
                ]
            )
            count += 1
        archive.writestr(
            MANIFEST, b"".join(encoded_csv(rows, MANIFEST_HEADER, "utf-8-sig", EncodingReport()))
        )
    return count


def month_archive(month: dt.date, out: BinaryIO) -> int:
    """The month's documents, any not kept yet stored first."""
    store_month(periods.month_start(month))
    return write_archive(month_archive_documents(month), out)
