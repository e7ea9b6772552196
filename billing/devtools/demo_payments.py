"""A demo bank file (R17): a 振込入金通知 (Zengin 01) paying the open issued invoices, as a
bank would send it, so that a demo month can be paid from a file and reconciled in the
admin. Deterministic: the same books and day give the same bytes.

Of the open invoices, oldest due first: most are paid in full naming their number in the
EDI情報 (matched by R17-1); every fifth is paid 440 yen short by its customer's registered
payer name, the bank fee the payer deducted (R17-3, within the tolerance); every seventh is
paid half (partly matched); and one transfer from a payer nobody registered, with no
reference, waits for a person (unmatched)."""

from __future__ import annotations

import datetime as dt

from billing.models import Invoice, PayerName
from billing.payments import zengin

#: who the demo file says sent the last, unmatched transfer
UNKNOWN_PAYER = "ﾔﾏﾀﾞ ﾀﾛｳ"


def _era(day: dt.date) -> str:
    """和暦 YYMMDD: 令和 from 2019-05-01, 平成 before."""
    year = day.year - (2018 if day >= zengin.REIWA_START else 1988)
    return f"{year:02d}{day:%m%d}"


def write_record(layout: tuple[zengin.Field, ...], values: dict) -> bytes:
    """One 200-byte record of ``layout`` from ``values`` by field name (N right-aligned and
    zero-filled, C and D as given, left-aligned and space-filled; a field not given is
    zeros or spaces)."""
    data = bytearray(b" " * zengin.RECORD_LENGTH)
    for name, start, length, kind in layout:
        value = values.get(name)
        if kind == "N":
            cell = str(value or 0).rjust(length, "0").encode("ascii")
        elif kind == "D":
            cell = _era(value).encode("ascii") if value else b"0" * length
        else:
            cell = str(value or "").encode("cp932").ljust(length, b" ")
        if len(cell) != length:
            raise ValueError(f"{name}: {value!r} does not fit in {length} bytes")
        data[start - 1 : start - 1 + length] = cell
    return bytes(data)


def demo_zengin_file(*, received_on: dt.date, limit: int | None = None) -> bytes:
    """The 振込入金通知 of ``received_on`` paying the open invoices (at most ``limit``), CR LF
    after each record. Customers paid by name get a payer name registered if they have none."""
    open_items = Invoice.objects.open_items().select_related("customer")
    invoices = list(open_items[:limit] if limit else open_items)
    names = dict(PayerName.objects.values_list("customer_id", "payer_name").order_by("customer_id", "id"))
    transfers = []
    for n, invoice in enumerate(invoices, start=1):
        balance = int(invoice.balance)
        compact = invoice.number.replace("-", "")
        if n % 5 == 0 and balance > 440:
            payer = names.get(invoice.customer_id)
            if payer is None:
                payer = f"ｶ){invoice.customer.code.upper()}"[:48]
                PayerName.objects.create(customer=invoice.customer, payer_name=payer)
                names[invoice.customer_id] = payer
            transfers.append((balance - 440, payer, ""))
        elif n % 7 == 0 and balance > 1:
            transfers.append((balance // 2, f"ｶ){invoice.customer.code.upper()}"[:48], compact))
        else:
            transfers.append((balance, f"ｶ){invoice.customer.code.upper()}"[:48], compact))
    transfers.append((12_345, UNKNOWN_PAYER, ""))
    return transfer_notice(received_on=received_on, transfers=transfers)


def transfer_notice(*, received_on: dt.date, transfers: list[tuple[int, str, str]]) -> bytes:
    """A 振込入金通知 of ``received_on`` holding ``transfers`` (amount, payer name, EDI情報),
    numbered from 1, its trailer counting them, CR LF after each record."""
    layout = zengin.LAYOUTS[zengin.TRANSFER_NOTICE]
    records = [
        write_record(
            layout["1"],
            {
                "データ区分": 1,
                "種別コード": "01",
                "コード区分": 0,
                "作成日": received_on,
                "勘定日(自)": received_on,
                "勘定日(至)": received_on,
                "銀行コード": "0001",
                "銀行名": "ﾐｽﾞﾎ",
                "支店コード": "123",
                "支店名": "ｲｲﾀﾞﾊﾞｼ",
                "預金種目": 1,
                "口座番号": "1234567",
                "口座名": "ｶ)ｲﾝﾀｰﾈﾂﾄｲﾆｼｱﾃｲﾌﾞ",
            },
        )
    ]
    for number, (amount, payer, edi) in enumerate(transfers, start=1):
        records.append(
            write_record(
                layout["2"],
                {
                    "データ区分": 2,
                    "照会番号": number,
                    "勘定日": received_on,
                    "金額": amount,
                    "振込依頼人名": payer,
                    "仕向銀行名": "ﾐﾂｲｽﾐﾄﾓ",
                    "仕向店名": "ﾎﾝﾃﾝ",
                    "EDI情報": edi,
                },
            )
        )
    records.append(
        write_record(
            layout["8"],
            {"データ区分": 8, "振込合計件数": len(transfers), "振込合計金額": sum(t[0] for t in transfers)},
        )
    )
    records.append(write_record(zengin.END, {"データ区分": 9}))
    return b"".join(record + b"\r\n" for record in records)
