import argparse
import json
import re
import sys

from django.conf import settings
from django.core.management.base import CommandError

from billing.devtools import benchmark
from contracts.cli import SmartKeyCommand


class Command(SmartKeyCommand):
    help = (
        "Measure bill_month, import_csv accounts, export_invoices, the admin changelists and "
        "import_payments at "
        "one or more sizes, against the database's own lower bound (raw SQL, COPY). PostgreSQL "
        "only; each size runs in a scratch database that is created and dropped, so your data "
        "is never touched."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--size",
            nargs="+",
            choices=list(benchmark.SIZES),
            default=["small"],
            help="sizes to run, in order: "
            + "; ".join(f"{s.name}: {s.describe()}" for s in benchmark.SIZES.values()),
        )
        parser.add_argument("--contracts", type=int, help="override the size's number of contracts")
        parser.add_argument("--accounts", type=int, help="override the size's account registration periods")
        parser.add_argument("--auth-days", type=int, help="override the size's authentication-day rows")
        parser.add_argument("--import-rows", type=int, help="override the rows of the import_csv file")
        parser.add_argument("--listing-rows", type=int, help="override the rows of each changelist")
        parser.add_argument(
            "--export-lines", type=int, help="override the invoice lines of the second export"
        )
        parser.add_argument(
            "--payment-customers",
            type=int,
            help="override the customers of the payments books (ten issued months each, one transfer each)",
        )
        parser.add_argument("--repeat", type=int, default=3, help="runs of each timing; medians are shown")
        parser.add_argument(
            "--database",
            help="name of the scratch database (default: the configured name + '_benchmark'); "
            "it is created, and dropped at the end",
        )
        parser.add_argument("--keep", action="store_true", help="keep the scratch database for inspection")
        parser.add_argument("--worker", help=argparse.SUPPRESS)
        parser.add_argument("--worker-arguments", default="{}", help=argparse.SUPPRESS)

    def handle(self, *args, size, repeat, database, keep, worker, worker_arguments, **options):
        if worker:
            result = benchmark.worker(worker, json.loads(worker_arguments))
            self.stdout.write(benchmark.RESULT_PREFIX + json.dumps(result))
            return
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("postgresql"):
            raise CommandError("benchmark_billing measures PostgreSQL: set DATABASE_URL=postgres://…")
        if repeat < 1:
            raise CommandError("--repeat must be at least 1.")
        overrides = {
            name: options[name]
            for name in (
                "contracts",
                "accounts",
                "auth_days",
                "import_rows",
                "listing_rows",
                "export_lines",
                "payment_customers",
            )
        }
        if any(v is not None and v < 1 for v in overrides.values()):
            raise CommandError("sizes must be at least 1.")
        sizes = [benchmark.custom_size(benchmark.SIZES[name], **overrides) for name in size]
        database = database or f"{db['NAME']}_benchmark"
        if not re.fullmatch(r"[A-Za-z0-9_]{1,63}", database) or database == db["NAME"]:
            raise CommandError(f"{database!r} cannot be the scratch database: use letters, digits and _.")
        progress = self._progress()
        runner = benchmark.Benchmark(
            database=database,
            repeat=repeat,
            keep=keep,
            # over the progress line: a terminal control sequence, as a style (not escaped)
            write=(
                (lambda line: self.stdout.write(line, style_func=lambda text: "\r\033[K" + text))
                if progress
                else self.stdout.write
            ),
            progress=progress or (lambda message: None),
        )
        try:
            runner.run(sizes)
        except RuntimeError as error:
            raise CommandError(str(error)) from error

    def _progress(self):
        """Progress on a terminal; nothing when the output is a file or a pipe."""
        out = getattr(self.stdout, "_out", sys.stdout)
        if not (hasattr(out, "isatty") and out.isatty()):
            return None

        def show(message):
            out.write(f"\r… {message}\033[K")
            out.flush()

        return show
