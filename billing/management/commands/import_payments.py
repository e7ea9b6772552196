from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.payments.service import FORMATS, payments_import
from contracts.cli import SmartKeyCommand, staff_member
from contracts.csvimport import ImportRejected
from contracts.management.commands.import_csv import _read, max_bytes


class Command(SmartKeyCommand):
    help = (
        "Import deposits (R17) from a Zengin bank file (振込入金通知 or 入出金取引明細) or a CSV file, "
        "and match them to invoices. The whole file is checked first; nothing is written if any "
        "record is wrong. A deposit imported before is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="path of the bank file or CSV file")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="auto",
            help="auto (default): Zengin when the first record is a Zengin header, CSV otherwise",
        )
        parser.add_argument("--dry-run", action="store_true", help="check and match without writing anything")
        parser.add_argument("--user", help="username of the accountant importing it (recorded)")

    def handle(self, *args, file, format, dry_run, user, **options):
        importer = staff_member(user) if user else None
        try:
            result = payments_import(
                data=_read(file, max_bytes()), file_format=format, dry_run=dry_run, user=importer
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
        message = str(result)
        if dry_run:
            message = _("Dry run, nothing written. %(message)s") % {"message": message}
        self.stdout.write(message)
