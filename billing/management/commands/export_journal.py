from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.exports.journal import FORMATS, KINDS, JournalRefused, journal_file
from billing.models import BillingRun, RunStatus
from contracts.cli import month_argument, staff_member
from contracts.periods import format_month, japanese_month

from .export_invoices import Command as ExportInvoicesCommand


class Command(ExportInvoicesCommand):
    help = (
        "Write the month's sales journal for accounting software: its invoices, and the voids and "
        "credit notes against them as reversing entries (CP932, CRLF). --since-last: only the "
        "entries no earlier --since-last file of the layout carried."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="the billing month, YYYY-MM (it must be issued)")
        parser.add_argument(
            "--format",
            dest="fmt",
            choices=FORMATS,
            default="yayoi",
            help="yayoi (default): 弥生インポート形式, no header; freee: freee会計 仕訳インポート; "
            "mf: マネーフォワード クラウド会計 仕訳帳",
        )
        parser.add_argument(
            "--kind",
            choices=KINDS,
            default="sales",
            help="sales (default): the sales journal; receipts: the deposits received in the month (R17)",
        )
        parser.add_argument(
            "--since-last",
            action="store_true",
            help="only the entries not exported before in this layout; the file is recorded",
        )
        parser.add_argument("--output", type=Path, help="file to write (default: standard output)")
        parser.add_argument("--user", help="the staff member exporting (recorded with a --since-last file)")

    def handle(self, *args, month, fmt, kind, since_last, output, user, **options):
        month_date = month_argument(month)
        by = staff_member(user)
        if (
            kind == "sales"
            and not BillingRun.objects.filter(month=month_date, status=RunStatus.ISSUED).exists()
        ):
            raise CommandError(
                _(
                    "%(month)s is not issued: the journal holds issued invoices only. Issue the month first (bill_month %(argument)s --issue)."
                )
                % {"month": japanese_month(month_date), "argument": format_month(month_date)}
            )

        def hand_out(file):
            # written before the record of the entries is committed: a file that could not
            # be written whole leaves them to the next export
            # a file in one write; standard output a line at a time (`| head` may stop reading)
            chunks = (file.data,) if output is not None else file.data.splitlines(keepends=True)
            self._write((chunk for chunk in chunks), output, "cp932")
            if since_last and output is None and self.stdout.reader_gone:
                raise CommandError(
                    _(
                        "Standard output was closed before the whole journal was written; nothing was recorded as exported."
                    )
                )

        try:
            result = journal_file(month_date, fmt, kind=kind, since_last=since_last, by=by, hand_out=hand_out)
        except JournalRefused as refused:
            raise CommandError(str(refused)) from None
        if since_last and not result.entries:
            self.stderr.write(
                _("No entries of %(month)s that an earlier --since-last file did not carry.")
                % {"month": japanese_month(month_date)}
            )
