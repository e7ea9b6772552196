import sys

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.services import BillingRefused, billing_month_compute, billing_month_issue
from contracts.cli import SmartKeyCommand, month_argument
from contracts.periods import format_month
from contracts.progress import terminal_progress


class Command(SmartKeyCommand):
    help = (
        "Compute (or recompute) the draft invoices of a month; with --issue, issue the "
        "month's drafts (numbers, dates) so that they never change again."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="the billing month, YYYY-MM")
        parser.add_argument(
            "--issue",
            action="store_true",
            help="issue the month's reviewed drafts instead of computing them",
        )

    def handle(self, *args, month, issue, **options):
        month_date = month_argument(month)
        try:
            if issue:
                summary = billing_month_issue(month=month_date)
            else:
                summary = billing_month_compute(month=month_date, progress=terminal_progress(sys.stderr))
        except BillingRefused as refused:
            raise CommandError(str(refused)) from None

        label = format_month(month_date)
        if issue:
            self.stdout.write(_("%(month)s issued.") % {"month": label})
        else:
            self.stdout.write(_("%(month)s computed as drafts.") % {"month": label})
        self.stdout.write(
            _("Invoices: %(count)d, total billed (tax included): %(total)s yen")
            % {"count": summary.invoices, "total": f"{summary.total:,.0f}"}
        )
        if summary.exceptions:
            self.stdout.write(_("Exceptions to act on: %(count)d") % {"count": len(summary.exceptions)})
            for e in summary.exceptions:
                billed = _("billed") if e.billed else _("NOT billed")
                # stored text is shown as it is, but visibly (contracts.cli: escapes)
                self.stdout.write(
                    f"  {e.contract.code if e.contract else '-'} [{e.rule}] ({billed}) {e.message} → {e.action}"
                )
        else:
            self.stdout.write(_("No exceptions."))
