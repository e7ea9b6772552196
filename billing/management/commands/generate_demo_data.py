from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.demo import DemoSize, demo_data_generate
from contracts.models import Customer


class Command(BaseCommand):
    help = "Generate deterministic demo data (same arguments, same data)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=DemoSize.customers, help="number of customers")
        parser.add_argument("--contracts", type=int, default=DemoSize.contracts, help="number of contracts")
        parser.add_argument("--seed", type=int, default=DemoSize.seed, help="random seed")

    def handle(self, *args, customers, contracts, seed, **options):
        if customers < 1 or contracts < 1:
            raise CommandError(_("--customers and --contracts must be at least 1."))
        if Customer.objects.filter(code__startswith="DEMO").exists():
            raise CommandError(_("Demo data already exists; use a fresh database."))
        size = DemoSize(customers=customers, contracts=contracts, seed=seed)
        created = demo_data_generate(size=size, today=timezone.localdate())
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in created.items()))
