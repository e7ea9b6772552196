from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.payments.reminders import reminders_send
from contracts.cli import SmartKeyCommand, date_argument


class Command(SmartKeyCommand):
    help = (
        "Email one reminder (督促, R17) per customer with overdue invoices, listing each with its "
        "days overdue; every send recorded; nobody reminded twice of the same invoices and balances."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="the date, YYYY-MM-DD (default: today in Japan)")
        parser.add_argument("--dry-run", action="store_true", help="say who would be reminded, send nothing")

    def handle(self, *args, as_of, dry_run, **options):
        day = date_argument(as_of)
        summary = reminders_send(as_of=day, dry_run=dry_run)
        for item, error in summary.failed:
            self.stderr.write(f"{item.customer.code}: {error}")
        message = str(summary)
        if dry_run:
            message = _("Dry run, nothing written. %(message)s") % {"message": message}
        self.stdout.write(message)
        if summary.failed:
            raise CommandError(_("%(count)d reminder(s) failed; see above.") % {"count": len(summary.failed)})
