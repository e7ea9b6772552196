from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.documents.mail import NotADocument, send_month
from contracts.cli import SmartKeyCommand, month_argument, staff_member


class Command(SmartKeyCommand):
    help = (
        "Email the month's issued invoices and credit notes to their customers, the kept PDF attached "
        "(R19); a document sent before is skipped unless --resend names it."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="the billing month, YYYY-MM")
        parser.add_argument("--dry-run", action="store_true", help="list what would be sent; send nothing")
        parser.add_argument("--resend", metavar="NUMBER", help="send this document again (and only it)")
        parser.add_argument("--user", help="the staff member sending (recorded with each send)")

    def handle(self, *args, month, dry_run, resend, user, **options):
        month_date = month_argument(month)
        by = staff_member(user)
        try:
            summary, planned, skipped = send_month(month_date, by=by, resend=resend, dry_run=dry_run)
        except NotADocument as error:
            raise CommandError(str(error)) from None
        if dry_run:
            for item in planned:
                line = _("%(number)s → to: %(to)s cc: %(cc)s") % {
                    "number": item.document.number,
                    "to": ", ".join(item.to) or "—",
                    "cc": ", ".join(item.cc) or "—",
                }
                self.stdout.write(line + (f"  ({item.problem})" if item.problem else ""))
            self.stdout.write(
                _("Would send %(count)d; %(skipped)d sent before (skipped).")
                % {"count": len(planned), "skipped": len(skipped)}
            )
            return
        for item, problem in summary.failed:
            self.stderr.write(f"{item.document.number}: {problem}")
        self.stdout.write(
            _("Sent: %(sent)d, skipped (sent before): %(skipped)d, failed: %(failed)d")
            % {"sent": len(summary.sent), "skipped": len(summary.skipped), "failed": len(summary.failed)}
        )
        if summary.failed:
            raise CommandError(
                _(
                    "%(count)d document(s) could not be sent; each failure is recorded. Correct it and run again."
                )
                % {"count": len(summary.failed)}
            )
