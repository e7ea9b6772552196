from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.models import Invoice
from billing.runs import credit_note_issue
from contracts.cli import SmartKeyCommand, staff_member


class Command(SmartKeyCommand):
    help = (
        "Issue a credit note (適格返還請求書, R16) against an issued invoice: an amount in yen, tax "
        "excluded, up to what the invoice and its earlier credit notes leave. Prints its number."
    )

    def add_arguments(self, parser):
        parser.add_argument("invoice_number", help="the issued invoice credited, e.g. SK-202611-0003")
        parser.add_argument("--amount", required=True, help="the amount returned, whole yen, tax excluded")
        parser.add_argument("--reason", required=True, help="why, as the credit note shows it")
        parser.add_argument("--user", help="username of the accountant issuing it (recorded)")

    def handle(self, *args, invoice_number, amount, reason, user, **options):
        by = staff_member(user) if user else None
        try:
            yen = Decimal(amount)
        except InvalidOperation:
            raise CommandError(_("%(value)r is not an amount in yen.") % {"value": amount}) from None
        invoice = Invoice.objects.filter(number=invoice_number).first()
        if invoice is None:
            raise CommandError(_("No invoice %(number)s.") % {"number": invoice_number})
        try:
            credit_note = credit_note_issue(invoice=invoice, amount=yen, reason=reason, by=by)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(credit_note.number)
