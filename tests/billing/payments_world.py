"""The books the payment tests match against, built through the product's own run and
issue (no invoice written by hand). Amounts (tax 10%, truncated once per invoice):

- C1 ブラボー工業, payer name ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ: September 10,000 + 1,000 = 11,000
  (SK-202609-0001, due 2026-10-30: 10-31 is a Saturday); October 20,000 + 2,000 = 22,000
  (SK-202610-0001, due 2026-11-30)
- C2 千代田商事, payer name ﾁﾖﾀﾞｼﾖｳｼﾞ(ｶ: October 100,000 + 10,000 = 110,000 (SK-202610-0002)
- C3, no payer name: October 50,000 + 5,000 = 55,000 (SK-202610-0003)
"""

import datetime as dt
from decimal import Decimal

from billing.models import Invoice, OneTimeCharge, PayerName
from billing.runs import billing_month_compute, billing_month_issue
from tests.contracts.factories import ContractFactory, CustomerFactory

D = dt.date


def build_books():
    charges = {
        "C1": [(D(2026, 9, 15), 10_000), (D(2026, 10, 15), 20_000)],
        "C2": [(D(2026, 10, 15), 100_000)],
        "C3": [(D(2026, 10, 15), 50_000)],
    }
    customers = {}
    for code, items in charges.items():
        customer = CustomerFactory(
            code=code, name={"C1": "ブラボー工業株式会社", "C2": "千代田商事株式会社"}.get(code, "三番商店")
        )
        customers[code] = customer
        contract = ContractFactory(
            customer=customer, accepted=True, code=f"K-{code}", applied_on=D(2026, 8, 1)
        )
        for due_on, amount in items:
            OneTimeCharge.objects.create(
                contract=contract, description="作業", amount=Decimal(amount), due_on=due_on
            )
    PayerName.objects.create(customer=customers["C1"], payer_name="ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ")
    PayerName.objects.create(customer=customers["C2"], payer_name="ﾁﾖﾀﾞｼﾖｳｼﾞ(ｶ")
    billing_month_compute(month=D(2026, 9, 1))
    billing_month_issue(month=D(2026, 9, 1), today=D(2026, 10, 5))
    billing_month_compute(month=D(2026, 10, 1))
    billing_month_issue(month=D(2026, 10, 1), today=D(2026, 11, 5))
    return customers


def invoice(number):
    return Invoice.objects.with_balance(as_of=D(2026, 12, 31)).get(number=number)
