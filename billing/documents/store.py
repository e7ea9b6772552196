"""R19: each issued invoice's and credit note's PDF, rendered once and kept
(``StoredDocument``): ``bill_month --issue`` stores the month's as soon as it is issued, a
credit note and a replacement theirs when they are issued; any document not stored yet
(issued before this existed) is stored the first time it is asked for. Every download,
email and export reads the stored bytes (``pdf_bytes``), never a new rendering."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q

from billing.models import CreditNote, Invoice, InvoiceLine, InvoiceStatus, StoredDocument

from .content import credit_note_document, invoice_document
from .fonts import document_fonts


def _in_database() -> bool:
    return settings.DOCUMENT_STORAGE == "database"


def _render(document) -> bytes:
    from .pdf import render_pdf  # reportlab is imported only when a PDF is made

    return render_pdf(document)


def _invoice_record(invoice: Invoice) -> StoredDocument:
    return StoredDocument.of(
        _render(invoice_document(invoice, as_issued=True)),
        database=_in_database(),
        kind=StoredDocument.Kind.INVOICE,
        invoice=invoice,
        number=invoice.number,
        issue_date=invoice.issue_date,
        amount=invoice.total.amount,
        customer_id=invoice.customer_id,
        customer_code=invoice.customer_code,
        counterparty=invoice.customer_name or invoice.billing_name,
        fonts_embedded=document_fonts().embedded,
    )


def _credit_note_record(note: CreditNote) -> StoredDocument:
    return StoredDocument.of(
        _render(credit_note_document(note)),
        database=_in_database(),
        kind=StoredDocument.Kind.CREDIT_NOTE,
        credit_note=note,
        number=note.number,
        issue_date=note.issue_date,
        amount=note.total.amount,
        customer_id=note.customer_id,
        customer_code=note.customer_code,
        counterparty=note.customer_name or note.billing_name,
        fonts_embedded=document_fonts().embedded,
    )


def _keep(record: StoredDocument) -> StoredDocument:
    """Save ``record``, or, if another process stored the same document meanwhile, return
    that one (the first stored is the document)."""
    try:
        with transaction.atomic():
            record.save()
        return record
    except IntegrityError:
        field = "invoice" if record.invoice_id else "credit_note"
        return StoredDocument.objects.get(**{field: getattr(record, f"{field}_id")})


def stored_invoice(invoice: Invoice) -> StoredDocument:
    """The stored PDF of an issued (or since voided) invoice, stored now if it is not yet."""
    if invoice.number is None:
        raise ValueError("a draft has no stored document")
    found = StoredDocument.objects.filter(invoice=invoice).first()
    return found or _keep(_invoice_record(invoice))


def stored_credit_note(note: CreditNote) -> StoredDocument:
    found = StoredDocument.objects.filter(credit_note=note).first()
    return found or _keep(_credit_note_record(note))


def pdf_bytes(document: Invoice | CreditNote) -> bytes:
    """The bytes handed to the customer (checked against their hash)."""
    stored = stored_invoice(document) if isinstance(document, Invoice) else stored_credit_note(document)
    return stored.read()


def store_month(month, *, progress=None, chunk: int = 200) -> int:
    """Store the PDF of every issued invoice of billing month ``month`` and of every credit
    note against them that has none yet; returns how many were stored. A chunk of
    ``chunk`` documents per transaction, their lines read in one query per chunk."""
    invoices = (
        Invoice.objects.filter(billing_month=month, number__isnull=False, stored_document__isnull=True)
        .filter(Q(status=InvoiceStatus.ISSUED) | Q(status=InvoiceStatus.VOID))
        .select_related("replaces")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=InvoiceLine.objects.select_related("contract").order_by(
                    "contract__code", "position"
                ),
            )
        )
        .order_by("number")
    )
    notes = (
        CreditNote.objects.filter(invoice__billing_month=month, stored_document__isnull=True)
        .select_related("invoice")
        .prefetch_related("lines__contract")
        .order_by("number")
    )
    stored = 0
    total = invoices.count() + notes.count()
    for make, queryset in ((_invoice_record, invoices), (_credit_note_record, notes)):
        for batch in _chunks(queryset, chunk):
            # one INSERT per chunk; a document another process stored meanwhile is kept as it is
            StoredDocument.objects.bulk_create([make(document) for document in batch], ignore_conflicts=True)
            stored += len(batch)
            if progress:
                progress("documents", stored, total)
    return stored


def _chunks(queryset, size: int) -> Iterable[list]:
    ids = list(queryset.values_list("pk", flat=True))
    for start in range(0, len(ids), size):
        yield list(queryset.filter(pk__in=ids[start : start + size]))
