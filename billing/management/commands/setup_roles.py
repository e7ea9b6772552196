from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from billing.roles import sync_roles


class Command(BaseCommand):
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
