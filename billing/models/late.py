"""R15: what is entered after a month was issued is noted here, per contract and closed
month, so that the next run settles it as adjustment lines and never recomputes all of
history (the run reads the notes, not every past month)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract


class LateChange(models.Model):
    """A change that may alter what a closed (issued) month bills for a contract.
    ``noted_at`` is the last time such a change was noted: a run that computed its
    adjustments after it has settled it, once that run's month is issued."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="late_changes", verbose_name=_("contract")
    )
    month = models.DateField(
        _("closed month"), help_text=_("First day of the issued month the change affects.")
    )
    noted_at = models.DateTimeField(_("noted at"))

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
        return f"{self.contract} {self.month:%Y-%m}"
