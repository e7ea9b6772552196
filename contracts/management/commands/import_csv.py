import sys
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from contracts.cli import SmartKeyCommand, staff_member
from contracts.csvimport import ENCODINGS, REGISTRY, ImportRejected, run_import
from contracts.progress import terminal_progress


class Command(SmartKeyCommand):
    help = (
        "Import one CSV file. The whole file is checked first; if any row is wrong the "
        "problems are printed (the first 100, then how many more) and nothing is imported. "
        "Importing the same file twice changes nothing the second time."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(REGISTRY), help="what the file holds")
        parser.add_argument("file", type=Path, help="path of the CSV file (header row required)")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and report what would change, without writing anything",
        )
        parser.add_argument(
            "--user",
            help="username of the staff member running the import: recorded as the author of "
            "new rate cards, who then cannot also be their approver (four-eyes rule)",
        )
        parser.add_argument(
            "--encoding",
            choices=ENCODINGS,
            default="auto",
            help="auto (default) reads UTF-8 with or without BOM, and CP932 (Shift_JIS)",
        )

    def handle(self, *args, kind, file, dry_run, encoding, user, **options):
        importer = staff_member(user)
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from error
        try:
            result = run_import(
                kind,
                data,
                encoding=encoding,
                dry_run=dry_run,
                user=importer,
                progress=terminal_progress(sys.stderr),
            )
        except ImportRejected as rejected:
            for problem in rejected.problems:
                self.stderr.write(str(problem))
            if rejected.more:
                self.stderr.write(rejected.more_message())
            raise CommandError(
                _("%(file)s: %(count)d problem(s); nothing was imported.")
                % {"file": file, "count": rejected.count}
            ) from None
        message = _("%(kind)s: %(rows)d rows: %(counts)s") % {
            "kind": kind,
            "rows": result.rows,
            "counts": result.counts,
        }
        if dry_run:
            message = _("Dry run, nothing written. %(message)s") % {"message": message}
        self.stdout.write(message)
