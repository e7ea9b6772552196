"""What was handed to the accounting software: every journal entry exported with
``export_journal --since-last`` is recorded once per format and kind, so that importing
every such file once never books an entry twice."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JournalExport(models.Model):
    """One ``--since-last`` file: its format, kind, month and when it was written."""

    format = models.CharField(_("format"), max_length=10)
    kind = models.CharField(_("kind"), max_length=10)
    month = models.DateField(_("month"))
    exported_at = models.DateTimeField(_("exported at"), auto_now_add=True)
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("exported by"),
    )
    entries = models.PositiveIntegerField(_("entries"), default=0)
    #: the file as it was handed out, to download again if it was lost on the way
    content = models.BinaryField(_("file"), default=b"")

    class Meta:
        verbose_name = _("journal export")
        verbose_name_plural = _("journal exports")
        ordering = ["-exported_at"]

    def __str__(self) -> str:
        return f"{self.format} {self.kind} {self.month:%Y-%m} {self.exported_at:%Y-%m-%d %H:%M}"


class JournalEntryExport(models.Model):
    """An entry (an invoice, the void of an invoice, a credit note, a deposit) in the
    ``--since-last`` file that first carried it, for one format and kind."""

    export = models.ForeignKey(
        JournalExport,
        on_delete=models.PROTECT,
        related_name="entry_records",
        verbose_name=_("journal export"),
    )
    format = models.CharField(_("format"), max_length=10)
    kind = models.CharField(_("kind"), max_length=10)
    entry = models.CharField(_("entry"), max_length=20)
    document_id = models.BigIntegerField(_("document"))

    class Meta:
        verbose_name = _("exported journal entry")
        verbose_name_plural = _("exported journal entries")
        constraints = [
            models.UniqueConstraint(
                fields=["format", "kind", "entry", "document_id"], name="journal_entry_exported_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.format} {self.kind} {self.entry} {self.document_id}"


class IssuedName(models.Model):
    """A (customer name, customer code) pair some issued document carries: an invoice
    that has a number, or a credit note. The journal's sub-accounts (``exports.journal``)
    are made from every such pair, so that a customer's is the same in every file; they
    were read off every document ever issued, 2,870 rows for 329 pairs in the benchmark,
    growing with history (issue 16). Kept by the database itself, by triggers on the two
    tables (billing 0021), whatever writes them; never deleted, as a name once in a file
    stays part of the books."""

    customer_name = models.CharField(_("customer name"), max_length=200)
    customer_code = models.CharField(_("customer code"), max_length=32)

    class Meta:
        verbose_name = _("issued customer name")
        verbose_name_plural = _("issued customer names")
        constraints = [
            models.UniqueConstraint(fields=["customer_name", "customer_code"], name="issued_name_once"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_name} {self.customer_code}"
