"""R19: the issued documents as they were handed to the customer, kept byte for byte.

Each issued invoice and credit note has one ``StoredDocument``: its PDF, rendered once
(``billing.documents.store``), with its SHA-256, and the search keys the Electronic
Bookkeeping Act asks for (電子帳簿保存法: date of the transaction, amount, counterparty).
Every later download, email and export returns these bytes, checked against the hash.
The bytes live in the database (``DOCUMENT_STORAGE=database``, the default) or in
Django's storage (``storage``: the ``documents`` storage if configured, else the
default). Nothing changes or deletes a stored document: the model, its queryset, the
admin, and on PostgreSQL a trigger (billing 0013)."""

from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import InvalidStorageError, storages
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contracts.models import Customer

from .credit_notes import CreditNote
from .fields import YenField
from .invoices import Invoice


class DocumentTampered(Exception):
    """A stored document's bytes no longer match their hash."""


class StoredDocumentImmutable(ValidationError):
    @classmethod
    def changed(cls) -> StoredDocumentImmutable:
        return cls(_("R19: an issued document is kept as it was issued; it is never changed or deleted."))


class StoredDocumentQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise StoredDocumentImmutable.changed()

    update.queryset_only = True

    def delete(self):
        raise StoredDocumentImmutable.changed()

    delete.queryset_only = True


def document_storage():
    try:
        return storages["documents"]
    except InvalidStorageError:
        return storages["default"]


class StoredDocument(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    invoice = models.OneToOneField(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stored_document",
        verbose_name=_("invoice"),
    )
    credit_note = models.OneToOneField(
        CreditNote,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stored_document",
        verbose_name=_("credit note"),
    )
    # the search keys (電子帳簿保存法): the document's number and date, its amount, the counterparty
    number = models.CharField(_("document number"), max_length=20, unique=True)
    issue_date = models.DateField(_("date"), db_index=True)
    amount = YenField(_("amount (tax included)"))
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="stored_documents", verbose_name=_("customer")
    )
    customer_code = models.CharField(_("customer code"), max_length=32, db_index=True)
    counterparty = models.CharField(_("counterparty"), max_length=200, db_index=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    #: the PDF, when kept in the database
    content = models.BinaryField(_("PDF"), default=b"")
    #: the PDF's name in the storage, when kept there
    path = models.CharField(_("file"), max_length=200, blank=True)
    stored_at = models.DateTimeField(_("stored at"), auto_now_add=True)
    fonts_embedded = models.BooleanField(_("fonts embedded"), default=True)

    objects = StoredDocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        ordering = ["-issue_date", "-number"]
        indexes = [models.Index(fields=["amount"], name="stored_document_amount")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="invoice", invoice__isnull=False, credit_note__isnull=True)
                | Q(kind="credit_note", invoice__isnull=True, credit_note__isnull=False),
                name="stored_document_one_document",
                violation_error_message=_("R19: a stored document is one invoice or one credit note."),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise StoredDocumentImmutable.changed()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise StoredDocumentImmutable.changed()

    @classmethod
    def of(cls, data: bytes, *, database: bool, **fields) -> StoredDocument:
        """A new stored document holding ``data`` (not saved)."""
        digest = hashlib.sha256(data).hexdigest()
        document = cls(sha256=digest, size=len(data), **fields)
        if database:
            document.content = data
        else:
            name = f"documents/{fields['issue_date']:%Y/%m}/{fields['number']}-{digest[:12]}.pdf"
            document.path = document_storage().save(name, ContentFile(data))
        return document

    def read(self) -> bytes:
        """The stored bytes, checked against their hash."""
        if self.path:
            with document_storage().open(self.path, "rb") as handle:
                data = handle.read()
        else:
            data = bytes(self.content)
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise DocumentTampered(f"{self.number}: the stored bytes do not match their SHA-256")
        return data
