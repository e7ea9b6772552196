from pathlib import Path

from billing.exports.csvfile import ENCODINGS, EncodingReport
from billing.exports.receivables import receivables_csv, receivables_xlsx
from billing.management.commands.export_invoices import Command as ExportCommand
from contracts.cli import date_argument


class Command(ExportCommand):
    help = (
        "Write the open receivables (R17) as of a date as CSV (or, --format xlsx, an Excel workbook), with their aging: one row per "
        "issued invoice with a balance, and each customer's credit (前受金)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="the date, YYYY-MM-DD (default: today in Japan)")
        parser.add_argument("--all", action="store_true", help="every live issued invoice, paid ones too")
        parser.add_argument("--output", type=Path, help="file to write (default: standard output)")
        parser.add_argument(
            "--encoding",
            choices=ENCODINGS,
            default="utf-8-sig",
            help="utf-8-sig (default) or cp932 (Shift_JIS)",
        )
        self.add_format_argument(parser)

    def handle(self, *args, as_of, all, output, encoding, format, **options):
        day = date_argument(as_of)
        if format == "xlsx":
            self._write_workbook(receivables_xlsx(as_of=day, all_=all), output)
            return
        report = EncodingReport()
        self._write(receivables_csv(as_of=day, all_=all, encoding=encoding, report=report), output, encoding)
        self._report(report)
