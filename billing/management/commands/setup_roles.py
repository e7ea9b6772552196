from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.roles import sync_roles
from contracts.cli import SmartKeyCommand


class Command(SmartKeyCommand):
    help = (
        "Create the Sales, Accounting and Viewer groups with exactly their permissions (safe to run twice)."
    )

    def handle(self, *args, **options):
        try:
            result = sync_roles()
        except LookupError as error:
            raise CommandError(str(error)) from None
        for role, count in result.items():
            self.stdout.write(_("%(role)s: %(count)d permissions") % {"role": role, "count": count})
