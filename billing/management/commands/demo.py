import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils.translation import gettext as _

from billing.roles import ACCOUNTING, SALES, VIEWER
from contracts.cli import SmartKeyCommand
from contracts.models import Customer

#: the 振込入金通知 the demo prepares (R17)
DEMO_BANK_FILE = Path(settings.BASE_DIR) / "demo-bank-file.txt"

#: the demo's staff: an administrator and one user per role (two in Sales, for approvals)
DEMO_USERS = (
    ("admin", None),
    ("sales1", SALES),
    ("sales2", SALES),
    ("keiri1", ACCOUNTING),
    ("viewer1", VIEWER),
)


class Command(SmartKeyCommand):
    help = (
        "Set up the demo: migrate, generate demo data once, (re)set the demo administrator's "
        "password and print it, then serve the admin on 127.0.0.1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000", help="port to serve on (default 8000)")
        parser.add_argument("--no-serve", action="store_true", help="set up only, do not start the server")

    def handle(self, *args, port, no_serve, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if not Customer.objects.exists():
            call_command("generate_demo_data", stdout=self.stdout)
            # R17: the bank's notice of today's transfers, to import and reconcile in the admin
            call_command("demo_bank_file", str(DEMO_BANK_FILE), stdout=self.stdout)
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        for username, role in DEMO_USERS:
            user, _created = user_model.objects.get_or_create(username=username)
            user.is_staff = True
            user.is_superuser = role is None
            user.set_password(password)
            user.save()
            if role:
                user.groups.set([Group.objects.get(name=role)])
        self.stdout.write("")
        self.stdout.write(_("Admin:    http://127.0.0.1:%(port)s/admin/") % {"port": port})
        self.stdout.write(_("Login:    admin / %(password)s") % {"password": password})
        self.stdout.write(
            _("Roles:    %(users)s (same password)")
            % {"users": ", ".join(f"{name} ({role})" for name, role in DEMO_USERS if role)}
        )
        self.stdout.write(self.where_mail_goes())
        if DEMO_BANK_FILE.exists():
            self.stdout.write(
                _(
                    "Bank:     %(file)s; import it with 入金 → 銀行ファイルの取込, or manage.py import_payments %(file)s"
                )
                % {"file": DEMO_BANK_FILE}
            )
        self.stdout.write("")
        if not no_serve:
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)

    @staticmethod
    def where_mail_goes() -> str:
        """Where the invoices the demo sends end up (send_invoices, the documents page)."""
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            return _(
                "Mail:     invoices sent from the demo are written as files to %(path)s; "
                "set EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.jp:587) to send through a mail server"
            ) % {"path": settings.EMAIL_FILE_PATH}
        return _("Mail:     sent through %(backend)s") % {
            "backend": settings.EMAIL_BACKEND.rsplit(".", 1)[-1]
        }
