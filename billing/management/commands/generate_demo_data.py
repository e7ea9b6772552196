import datetime as dt
import sys
import time

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from billing.devtools.demo import DemoSize, demo_data_generate, demo_history_bill, demo_today
from contracts.cli import SmartKeyCommand, date_argument
from contracts.models import Customer
from contracts.periods import japanese_date, japanese_month, month_start
from contracts.progress import terminal_progress


class Command(SmartKeyCommand):
    help = (
        "Generate deterministic demo data (same arguments, same data): customers, contracts of "
        "both items, approved rate cards, accounts with churn, daily authentication counts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--customers",
            type=int,
            default=None,
            help="number of customers (default: two for every three contracts)",
        )
        parser.add_argument("--contracts", type=int, default=DemoSize.contracts, help="number of contracts")
        parser.add_argument(
            "--accounts",
            type=int,
            default=DemoSize.accounts,
            help="number of account registration periods (rows), over the Enterprise contracts",
        )
        parser.add_argument(
            "--auth-days",
            type=int,
            default=DemoSize.auth_days,
            help="number of daily authentication counts (contract-days), over the Service Provider contracts",
        )
        parser.add_argument("--seed", type=int, default=DemoSize.seed, help="random seed")
        parser.add_argument(
            "--issued-months",
            type=int,
            default=12,
            help="months of issued history before the previous month, which is left computed as drafts (0: none)",
        )
        parser.add_argument(
            "--today",
            type=date_argument,
            default=None,
            help="anchor day YYYY-MM-DD (default: today in Japan); usage runs until the day before",
        )

    def handle(self, *args, customers, contracts, accounts, auth_days, seed, today, issued_months, **options):
        if contracts < 1 or (customers is not None and customers < 1):
            raise CommandError(_("--customers and --contracts must be at least 1."))
        if accounts < 0 or auth_days < 0:
            raise CommandError(_("--accounts and --auth-days cannot be negative."))
        if Customer.objects.filter(code__startswith="DEMO").exists():
            raise CommandError(_("Demo data already exists; use a fresh database."))
        size = DemoSize(
            customers=customers, contracts=contracts, accounts=accounts, auth_days=auth_days, seed=seed
        )
        today = today or demo_today()
        started = time.monotonic()
        created = demo_data_generate(size=size, today=today, progress=terminal_progress(sys.stderr))
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in created.items()))
        self.stdout.write(
            _("Usage until %(date)s; the last complete month is %(month)s (%(seconds).1f s).")
            % {
                "date": japanese_date(today - dt.timedelta(days=1)),
                "month": japanese_month(month_start(today) - dt.timedelta(days=1)),
                "seconds": time.monotonic() - started,
            }
        )
        if issued_months > 0:
            history = demo_history_bill(today=today, months=issued_months)
            self.stdout.write(
                _(
                    "Issued %(count)d month(s) up to %(last)s; %(drafts)s computed as drafts with %(exceptions)d exception(s)."
                )
                % {
                    "count": len(history.issued),
                    "last": japanese_month(history.issued[-1]) if history.issued else "-",
                    "drafts": japanese_month(history.drafts),
                    "exceptions": history.exceptions,
                }
            )
            for month, reason in history.refused:
                self.stderr.write(f"{japanese_month(month)}: {reason}")
