from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.devtools.demo_payments import demo_zengin_file
from contracts.cli import SmartKeyCommand, date_argument


class Command(SmartKeyCommand):
    help = (
        "Demo: write the 振込入金通知 (Zengin) a bank would send paying today's open invoices — most "
        "by number, some short by the bank fee, some half, one from an unknown payer — to import "
        "with import_payments and reconcile in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("output", type=Path, help="the file to write")
        parser.add_argument("--received-on", help="勘定日, YYYY-MM-DD (default: today in Japan)")

    def handle(self, *args, output, received_on, **options):
        day = date_argument(received_on)
        with transaction.atomic():  # the payer names it registers, with the file or not at all
            data = demo_zengin_file(received_on=day)
            try:
                output.write_bytes(data)
            except OSError as error:
                raise CommandError(f"{output}: {error.strerror}") from error
        self.stdout.write(
            _("%(file)s: %(count)d transfers") % {"file": output, "count": data.count(b"\r\n") - 3}
        )
