from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.exports.csvfile import EncodingReport
from billing.exports.journal import FORMATS, export_journal
from billing.models import BillingRun, RunStatus
from contracts.cli import month_argument
from contracts.periods import format_month

from .export_invoices import Command as ExportInvoicesCommand


class Command(ExportInvoicesCommand):
    help = (
        "Write the month's issued invoices as a sales journal for accounting software "
        "(yayoi: 弥生インポート形式, Shift_JIS, no header row)."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="the billing month, YYYY-MM (it must be issued)")
        parser.add_argument(
            "--format",
            dest="fmt",
            choices=FORMATS,
            default="yayoi",
            help="yayoi (default): 弥生会計's import format (弥生インポート形式, 25 columns)",
        )
        parser.add_argument("--output", type=Path, help="file to write (default: standard output)")

    def handle(self, *args, month, fmt, output, **options):
        month_date = month_argument(month)
        if not BillingRun.objects.filter(month=month_date, status=RunStatus.ISSUED).exists():
            raise CommandError(
                _(
                    "%(month)s is not issued: the journal holds issued invoices only. Issue the month first (bill_month %(month)s --issue)."
                )
                % {"month": format_month(month_date)}
            )
        report = EncodingReport()
        self._write(export_journal(month_date, fmt, report=report), output, "cp932")
        self._report(report)
