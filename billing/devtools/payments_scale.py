"""Books of open invoices at scale, for matching a bank file against them (R17): the scale
test and ``benchmark_billing`` both build them here.

``customers`` customers, each with a registered payer name and ``months`` issued invoices,
one a month from ``first_month``: subtotal 10,000 + 1,000 × m yen and 10% tax, so the
invoice of the m-th month (m from 0) totals 11,000 + 1,100 × m yen, the oldest due first.
The invoices are inserted as drafts and issued by the product's own ``billing_month_issue``
(numbers, due dates, the issue recorded), one month at a time.

``bank_transfers`` is the file that pays them, one transfer per customer, the customer's
place in code order (0-based) modulo 5 saying which rule of R17 should match it:

0. the oldest invoice's number in the EDI情報, its total paid (invoice number);
1. by payer name, the total of the third oldest invoice (one invoice);
2. by payer name, the two oldest invoices' totals together (oldest invoices);
3. by payer name, the oldest invoice's total less a 660-yen transfer fee (within the
   tolerance);
4. from a payer nobody registered, no reference (unmatched)."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from django.db import connection
from django.db.models.expressions import DatabaseDefault

from billing.models import BillingRun, Invoice, PayerName
from billing.payments.names import normalize_payer_name
from billing.runs import billing_month_issue
from contracts import periods
from contracts.models import Customer

CODE_PREFIX = "PAYSCALE"
FEE = 660


def payer_name(n: int) -> str:
    return f"ｶ)ﾊﾟｲｽｹｰﾙ{n:06d}"


def invoice_total(month_index: int) -> int:
    return 11_000 + 1_100 * month_index


def open_books(*, customers: int, months: int, first_month: dt.date) -> list[float]:
    """The customers, their payer names and their issued invoices (see the module); the
    seconds ``billing_month_issue`` took for each month."""
    add_customers(range(customers))
    issued = []
    month = periods.month_start(first_month)
    for m in range(months):
        run = BillingRun.objects.create(month=month)
        subtotal = Decimal(10_000 + 1_000 * m)
        insert_drafts(
            Invoice(
                run=run, billing_month=month, subtotal=subtotal, tax=subtotal / 10, total=subtotal * 11 / 10
            )
        )
        started = time.perf_counter()
        billing_month_issue(month=month, today=periods.next_month(month) + dt.timedelta(days=4))
        issued.append(time.perf_counter() - started)
        month = periods.next_month(month)
    return issued


def add_customers(numbers) -> list[Customer]:
    """Customers of the books numbered ``numbers``, each with its payer name."""
    made = Customer.objects.bulk_create(
        (
            Customer(
                code=f"{CODE_PREFIX}{n:06d}",
                name=f"株式会社スケール{n}",
                billing_name=f"株式会社スケール{n} 御中",
                email=f"billing{n}@scale.example.jp",
            )
            for n in numbers
        ),
        batch_size=5000,
    )
    PayerName.objects.bulk_create(
        (
            PayerName(customer=c, payer_name=payer_name(n), normalized=normalize_payer_name(payer_name(n)))
            for n, c in zip(numbers, made, strict=True)
        ),
        batch_size=5000,
    )
    return made


def insert_drafts(template: Invoice) -> None:
    """A draft like ``template`` for every customer of the books, in one INSERT … SELECT
    (``bulk_create`` spends 20 s of Python on 100,000 invoices; the database 2 s)."""
    per_customer = {"customer_id": "c.id", "customer_code": "c.code", "billing_name": "c.billing_name"}
    fields = [f for f in Invoice._meta.concrete_fields if not f.primary_key]
    columns, values, params = [], [], []
    for f in fields:
        if f.attname in per_customer:
            value = per_customer[f.attname]
        else:
            value = f.pre_save(template, add=True)  # the field's own default, auto_now included
            if isinstance(value, DatabaseDefault):
                continue  # the database's default
            params.append(f.get_db_prep_save(value, connection))
            value = "%s"
        columns.append(connection.ops.quote_name(f.column))
        values.append(value)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Invoice._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM {Customer._meta.db_table} c WHERE c.code LIKE %s ORDER BY c.code",
            [*params, f"{CODE_PREFIX}%"],
        )


def bank_transfers(*, customers: int, first_month: dt.date) -> list[tuple[int, Decimal, str, str]]:
    """(number, amount, payer name, EDI情報) of the transfer paying each customer (see the
    module)."""
    oldest = {
        customer_code: number
        for customer_code, number in Invoice.objects.filter(
            billing_month=periods.month_start(first_month), customer_code__startswith=CODE_PREFIX
        ).values_list("customer_code", "number")
    }
    transfers = []
    for n in range(customers):
        rule = n % 5
        name, edi = payer_name(n), ""
        if rule == 0:
            amount, edi = invoice_total(0), oldest[f"{CODE_PREFIX}{n:06d}"].replace("-", "")
        elif rule == 1:
            amount = invoice_total(2)
        elif rule == 2:
            amount = invoice_total(0) + invoice_total(1)
        elif rule == 3:
            amount = invoice_total(0) - FEE
        else:
            amount, name = 5_000 + n, f"ﾌﾒｲ{n:06d}"
        transfers.append((n + 1, Decimal(amount), name, edi))
    return transfers
