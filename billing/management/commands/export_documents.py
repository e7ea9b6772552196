from pathlib import Path

from django.utils.translation import gettext as _

from billing.documents.archive import month_archive
from contracts.cli import SmartKeyCommand, month_argument, output_file


class Command(SmartKeyCommand):
    help = (
        "Write the month's issued documents (invoices, voided ones included, and credit notes) as a zip: "
        "each PDF as stored at issue, and manifest.csv with number, customer, date, amount and SHA-256 (R19)."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="the billing month, YYYY-MM")
        parser.add_argument("--output", type=Path, required=True, help="the zip file to write")

    def handle(self, *args, month, output, **options):
        month_date = month_argument(month)
        with output_file(output) as handle:
            count = month_archive(month_date, handle)
        self.stdout.write(
            _("%(count)d document(s) written to %(file)s (with manifest.csv).")
            % {"count": count, "file": output}
        )
