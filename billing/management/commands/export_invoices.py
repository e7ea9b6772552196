import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from billing.exports.csvfile import ENCODINGS, EncodingReport
from billing.exports.invoices import LAYOUTS, export
from contracts.periods import parse_month


class Command(BaseCommand):
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
        try:
            month_date = parse_month(month)
        except ValueError:
            raise CommandError(_("%(value)r is not a month (YYYY-MM).") % {"value": month}) from None
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
            self._write_stdout(chunks, encoding)
        except BrokenPipeError:
            # the reader stopped early (`| head`): not an error of ours, and no traceback
            # (standard output goes to /dev/null, so the interpreter's last flush succeeds)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            chunks.close()

    def _report(self, report: EncodingReport) -> None:
        for row in report.replaced:
            self.stderr.write(_("Not representable in CP932, written as '?': %(row)s") % {"row": row})

    def _write_stdout(self, chunks, encoding: str) -> None:
        stream = getattr(self.stdout, "_out", sys.stdout)
        binary = getattr(stream, "buffer", None)
        for chunk in chunks:
            if binary is not None:
                binary.write(chunk)
            else:
                stream.write(chunk.decode("utf-8-sig" if encoding == "utf-8-sig" else encoding))
        if binary is not None:
            binary.flush()

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
