import sys

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.documents.store import store_month
from billing.runs import BillingRefused, billing_month_compute, billing_month_issue
from contracts.cli import SmartKeyCommand, acting_as, month_argument, staff_member
from contracts.periods import japanese_month
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
        parser.add_argument(
            "--user",
            help="username of the staff member running the month: recorded as who computed "
            "or issued it, on the run, the invoices and their audit trail",
        )

    def handle(self, *args, month, issue, user, **options):
        month_date = month_argument(month)
        by = staff_member(user)
        try:
            with acting_as(by):
                if issue:
                    summary = billing_month_issue(month=month_date, by=by)
                else:
                    summary = billing_month_compute(
                        month=month_date, by=by, progress=terminal_progress(sys.stderr)
                    )
        except BillingRefused as refused:
            raise CommandError(str(refused)) from None

        label = japanese_month(month_date)
        if issue:
            self.stdout.write(_("%(month)s issued.") % {"month": label})
            # R19: the PDFs as issued, rendered once and kept (after the issue committed: a
            # failure here leaves them to be stored when first asked for)
            stored = store_month(month_date, progress=terminal_progress(sys.stderr))
            self.stdout.write(_("Documents kept (PDF, SHA-256): %(count)d") % {"count": stored})
        else:
            self.stdout.write(_("%(month)s computed as drafts.") % {"month": label})
        self.stdout.write(
            _("Invoices: %(count)d, total billed (tax included): %(total)s yen")
            % {"count": summary.invoices, "total": f"{summary.total:,.0f}"}
        )
        if summary.credit_notes:
            self.stdout.write(
                _(
                    "Credit notes for months that net to a credit: %(count)d, total returned (tax included): %(total)s yen"
                )
                % {"count": summary.credit_notes, "total": f"{summary.credited:,.0f}"}
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
