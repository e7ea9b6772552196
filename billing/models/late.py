"""R15: what is entered after a month was issued is noted here, per contract and closed
month, so that the next run settles it as adjustment lines and never recomputes all of
history (the run reads the notes, not every past month)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract
from contracts.periods import japanese_month


class LateChange(models.Model):
    """A change that may alter what a closed (issued) month bills for a contract, noted
    until a run that read it is issued (R15)."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="late_changes", verbose_name=_("contract")
    )
    month = models.DateField(
        _("closed month"), help_text=_("First day of the issued month the change affects.")
    )
    noted_at = models.DateTimeField(_("noted at"))
    #: the run that read the note to compute its adjustments: issuing that run settles
    #: it; noting the change again clears it (the run has not seen the new change)
    read_by = models.ForeignKey(
        "billing.BillingRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("read by the run of"),
    )

    class Meta:
        verbose_name = _("late change")
        verbose_name_plural = _("late changes")
        ordering = ["month", "contract"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "month"], name="late_change_once_per_contract_month"),
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="late_change_first_of_month",
                violation_error_message=_("A billing month starts on its first day."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {japanese_month(self.month)}"


class DraftChange(models.Model):
    """A change to what a month's drafts were computed from (usage, one-time charges, rate
    cards, contracts and their item changes and terminations), noted per contract and month
    with when it was made, so that the dashboard and the run's page can say that the drafts
    were computed before it (issue 15, item 9). Noted for the months that have drafts, by
    the same paths as ``LateChange``; a mark older than the drafts' ``computed_at`` is one
    the drafts already read."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="draft_changes", verbose_name=_("contract")
    )
    month = models.DateField(
        _("billing month"), help_text=_("First day of the month whose drafts it changes.")
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("change since the drafts")
        verbose_name_plural = _("changes since the drafts")
        ordering = ["month", "contract"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "month"], name="draft_change_once_per_contract_month"
            ),
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="draft_change_first_of_month",
                violation_error_message=_("A billing month starts on its first day."),
            ),
        ]
        # the run's question: anything of its month changed after it was computed?
        indexes = [models.Index(fields=["month", "changed_at"], name="draft_change_month_at")]

    def __str__(self) -> str:
        return f"{self.contract} {japanese_month(self.month)}"
