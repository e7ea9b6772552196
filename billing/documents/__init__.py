"""The invoice as a document (適格請求書, R12): ``content`` builds what it says from the
invoice's own snapshot, the HTML page (templates/billing/invoice_document.html) and
``pdf`` render that same content. The admin serves both (billing/admin/invoices.py)."""

from .content import InvoiceDocument, document_filename, invoice_document

__all__ = ["InvoiceDocument", "document_filename", "invoice_document"]
