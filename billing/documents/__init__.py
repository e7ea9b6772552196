"""The documents handed to customers: the invoice (適格請求書, R12) and the credit note
(適格返還請求書, R16). ``content`` builds what each says from the document's own snapshot;
the HTML page (templates/billing/invoice_document.html) and ``pdf`` render that same
content, one look for both. The admin serves them (billing/admin/invoices.py,
billing/admin/credit_notes.py)."""

from .content import (
    Document,
    InvoiceDocument,
    credit_note_document,
    credit_note_filename,
    document_filename,
    invoice_document,
)

__all__ = [
    "Document",
    "InvoiceDocument",
    "credit_note_document",
    "credit_note_filename",
    "document_filename",
    "invoice_document",
]
