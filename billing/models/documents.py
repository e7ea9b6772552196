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
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import InvalidStorageError, storages
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

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


#: the placeholders a mail template may use, filled for each document sent
MAIL_PLACEHOLDERS = ("宛名", "書類番号", "請求月", "金額", "支払期限", "振込先", "元請求書番号", "発行者")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class MailTemplate(models.Model):
    """The subject and body of the mail a document is sent with, one per kind of document;
    accountants edit them. ``{宛名}``-style placeholders are filled per document."""

    kind = models.CharField(_("kind"), max_length=20, choices=StoredDocument.Kind.choices, unique=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("mail template")
        verbose_name_plural = _("mail templates")
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()

    def clean(self):
        unknown = sorted(
            {name for text in (self.subject, self.body) for name in PLACEHOLDER.findall(text)}
            - set(MAIL_PLACEHOLDERS)
        )
        if unknown:
            raise ValidationError(
                _("Unknown placeholders: %(unknown)s. A template may use %(known)s.")
                % {
                    "unknown": "、".join(f"{{{name}}}" for name in unknown),
                    "known": "、".join(f"{{{name}}}" for name in MAIL_PLACEHOLDERS),
                }
            )

    def render(self, values: dict[str, str]) -> tuple[str, str]:
        """(subject, body) with the placeholders filled; a subject is one line."""

        def fill(text: str) -> str:
            return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

        return " ".join(fill(self.subject).split()), fill(self.body)


class DocumentSend(models.Model):
    """One sending of a stored document by email (R19): to whom, when, the message id, and
    whether the mail server took it (the error if not). Kept, never changed."""

    class Result(models.TextChoices):
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    document = models.ForeignKey(
        StoredDocument, on_delete=models.PROTECT, related_name="sends", verbose_name=_("document")
    )
    to = models.CharField(_("to"), max_length=500, blank=True)
    cc = models.CharField(_("cc"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent at"))
    message_id = models.CharField(_("message id"), max_length=200, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    error = models.TextField(_("error"), blank=True)
    resend = models.BooleanField(_("resent"), default=False)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )

    class Meta:
        verbose_name = _("document sent")
        verbose_name_plural = _("documents sent")
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["document", "result"], name="document_send_result")]

    def __str__(self) -> str:
        return f"{self.document} {self.get_result_display()} {self.sent_at:%Y-%m-%d %H:%M}"
