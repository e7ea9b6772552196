from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.exports.csvfile import ENCODINGS, EncodingReport
from billing.exports.invoices import LAYOUTS, export, export_xlsx
from contracts.cli import SmartKeyCommand, month_argument, output_file


class Command(SmartKeyCommand):
    help = (
        "Write the month's invoices as CSV (UTF-8 with BOM by default, CRLF line ends) or, with "
        "--format xlsx, as an Excel workbook (--output needed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="the billing month, YYYY-MM")
        parser.add_argument("--output", type=Path, help="file to write (default: standard output)")
        parser.add_argument(
            "--layout",
            choices=LAYOUTS,
            default="lines",
            help="lines (default): one row per line; invoices: one per invoice",
        )
        parser.add_argument(
            "--encoding",
            choices=ENCODINGS,
            default="utf-8-sig",
            help="utf-8-sig (default) or cp932 (Shift_JIS)",
        )
        self.add_format_argument(parser)

    def add_format_argument(self, parser):
        parser.add_argument(
            "--format",
            choices=("csv", "xlsx"),
            default="csv",
            help="csv (default) or xlsx (Excel: codes as text, dates as dates, amounts as numbers)",
        )

    def handle(self, *args, month, output, layout, encoding, format, **options):
        month_date = month_argument(month)
        if format == "xlsx":
            self._write_workbook(export_xlsx(month_date, layout=layout), output)
            return
        report = EncodingReport()
        self._write(export(month_date, layout=layout, encoding=encoding, report=report), output, encoding)
        self._report(report)

    def _write_workbook(self, chunks, output: Path | None) -> None:
        if output is None:
            raise CommandError(_("An xlsx workbook is a file: name it with --output FILE.xlsx."))
        self._write_file(output, chunks)

    def _write(self, chunks, output: Path | None, encoding: str) -> None:
        """Write the export's chunks to ``output``, or to standard output when None.
        Shared by the exports that subclass this command (export_journal)."""
        if output is not None:
            self._write_file(output, chunks)
            return
        try:
            for chunk in chunks:
                self.stdout.write_bytes(chunk, encoding)
                if self.stdout.reader_gone:
                    break  # `| head`: the rest would go to /dev/null (contracts.cli)
            self.stdout.flush()
        finally:
            chunks.close()

    def _report(self, report: EncodingReport) -> None:
        for row in report.replaced:
            self.stderr.write(_("Not representable in CP932, written as '?': %(row)s") % {"row": row})

    def _write_file(self, output: Path, chunks) -> None:
        """Write the chunks to ``output``, complete or not at all."""
        with output_file(output) as handle:
            for chunk in chunks:
                handle.write(chunk)
