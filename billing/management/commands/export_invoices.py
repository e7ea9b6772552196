import os
import tempfile
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.exports.csvfile import ENCODINGS, EncodingReport
from billing.exports.invoices import LAYOUTS, export
from contracts.cli import SmartKeyCommand, month_argument


class Command(SmartKeyCommand):
    help = "Write the month's invoices as CSV (UTF-8 with BOM by default, CRLF line ends)."

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

    def handle(self, *args, month, output, layout, encoding, **options):
        month_date = month_argument(month)
        report = EncodingReport()
        self._write(export(month_date, layout=layout, encoding=encoding, report=report), output, encoding)
        self._report(report)

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
        """Write to a temporary file beside the target and rename it at the end, so that
        a failure never leaves half a file."""
        directory = output.resolve().parent
        if not directory.is_dir():
            raise CommandError(_("%(dir)s is not a directory.") % {"dir": directory})
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{output.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
            os.replace(temporary, output)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
