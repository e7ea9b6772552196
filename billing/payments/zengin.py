"""Zengin (全銀協) bank files (R17): 振込入金通知 (種別コード 01) and 入出金取引明細 (種別コード
03, credits only), as the banks publish the layouts (e.g. 阿波銀行「振込入金通知(全銀協制定
フォーマット)」, きらぼし銀行「入出金明細(全銀)明細ファイル・フォーマット(全銀協規定形式)」).

A file is 200-byte records, with or without CR LF after each: a header (データ区分 1),
data records (2), a trailer (8) per account, and one end record (9); CP932 (JIS X 0201:
half-width katakana, upper-case letters, digits). Dates are 和暦 YYMMDD (令和, or 平成 in
old files). The whole file is checked before anything is read into deposits; every
problem names the record (its line) and the field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.csvimport import Problems

RECORD_LENGTH = 200

#: (name, start, length, type) — start is the 1-based byte position as the layouts number
#: them; N: digits (right-aligned, zero-filled), C: characters (left-aligned, space-filled),
#: D: 和暦 date YYMMDD, X: dummy (not read)
Field = tuple[str, int, int, str]

# --- 振込入金通知 (種別コード 01) -------------------------------------------------------------
TRANSFER_HEADER: tuple[Field, ...] = (
    ("データ区分", 1, 1, "N"),
    ("種別コード", 2, 2, "N"),
    ("コード区分", 4, 1, "N"),
    ("作成日", 5, 6, "D"),
    ("勘定日(自)", 11, 6, "D"),
    ("勘定日(至)", 17, 6, "D"),
    ("銀行コード", 23, 4, "N"),
    ("銀行名", 27, 15, "C"),
    ("支店コード", 42, 3, "N"),
    ("支店名", 45, 15, "C"),
    ("預金種目", 60, 1, "N"),
    ("口座番号", 61, 7, "N"),
    ("口座名", 68, 40, "C"),
    ("ダミー", 108, 93, "X"),
)
TRANSFER_DATA: tuple[Field, ...] = (
    ("データ区分", 1, 1, "N"),
    ("照会番号", 2, 6, "N"),
    ("勘定日", 8, 6, "D"),
    ("起算日", 14, 6, "X"),
    ("金額", 20, 10, "N"),
    ("うち他店券金額", 30, 10, "N"),
    ("振込依頼人コード", 40, 10, "C"),
    ("振込依頼人名", 50, 48, "C"),
    ("仕向銀行名", 98, 15, "C"),
    ("仕向店名", 113, 15, "C"),
    ("取消区分", 128, 1, "C"),
    ("EDI情報", 129, 20, "C"),
    ("ダミー", 149, 52, "X"),
)
TRANSFER_TRAILER: tuple[Field, ...] = (
    ("データ区分", 1, 1, "N"),
    ("振込合計件数", 2, 6, "N"),
    ("振込合計金額", 8, 12, "N"),
    ("取消合計件数", 20, 6, "N"),
    ("取消合計金額", 26, 12, "N"),
    ("ダミー", 38, 163, "X"),
)

# --- 入出金取引明細 (種別コード 03) -----------------------------------------------------------
STATEMENT_HEADER: tuple[Field, ...] = (
    ("データ区分", 1, 1, "N"),
    ("種別コード", 2, 2, "N"),
    ("コード区分", 4, 1, "N"),
    ("作成日", 5, 6, "D"),
    ("勘定日(自)", 11, 6, "D"),
    ("勘定日(至)", 17, 6, "D"),
    ("銀行コード", 23, 4, "N"),
    ("銀行名", 27, 15, "C"),
    ("支店コード", 42, 3, "N"),
    ("支店名", 45, 15, "C"),
    ("ダミー1", 60, 3, "X"),
    ("預金種目", 63, 1, "N"),
    ("口座番号", 64, 7, "N"),
    ("口座名", 71, 40, "C"),
    ("貸越区分", 111, 1, "C"),
    ("通帳・証書区分", 112, 1, "C"),
    ("取引前残高", 113, 14, "N"),
    ("ダミー", 127, 74, "X"),
)
STATEMENT_DATA: tuple[Field, ...] = (
    ("データ区分", 1, 1, "N"),
    ("照会番号", 2, 8, "N"),
    ("勘定日", 10, 6, "D"),
    ("預入・払出日", 16, 6, "X"),
    ("入払区分", 22, 1, "N"),
    ("取引区分", 23, 2, "N"),
    ("取引金額", 25, 12, "N"),
    ("うち他店券金額", 37, 12, "N"),
    ("交換呈示日", 49, 6, "X"),
    ("不渡返還日", 55, 6, "X"),
    ("手形・小切手区分", 61, 1, "X"),
    ("手形・小切手番号", 62, 7, "X"),
    ("僚店番号", 69, 3, "X"),
    ("振込依頼人コード", 72, 10, "C"),
    ("振込依頼人名", 82, 48, "C"),
    ("仕向銀行名", 130, 15, "C"),
    ("仕向店名", 145, 15, "C"),
    ("摘要内容", 160, 20, "C"),
    ("EDI情報", 180, 20, "C"),
    ("ダミー", 200, 1, "X"),
)
STATEMENT_TRAILER: tuple[Field, ...] = (
    ("データ区分", 1, 1, "N"),
    ("入金件数", 2, 6, "N"),
    ("入金額合計", 8, 13, "N"),
    ("出金件数", 21, 6, "N"),
    ("出金額合計", 27, 13, "N"),
    ("貸越区分", 40, 1, "C"),
    ("取引後残高", 41, 14, "N"),
    ("データレコード件数", 55, 7, "N"),
    ("ダミー", 62, 139, "X"),
)
END: tuple[Field, ...] = (
    ("データ区分", 1, 1, "N"),
    ("ダミー", 2, 199, "X"),
)

TRANSFER_NOTICE, STATEMENT = "01", "03"
LAYOUTS = {
    TRANSFER_NOTICE: {"1": TRANSFER_HEADER, "2": TRANSFER_DATA, "8": TRANSFER_TRAILER},
    STATEMENT: {"1": STATEMENT_HEADER, "2": STATEMENT_DATA, "8": STATEMENT_TRAILER},
}
#: 入払区分 of a credit (入金) in 入出金取引明細; debits (2, 出金) are not deposits
CREDIT = 1
#: 取消区分 of a cancelled notification in 振込入金通知
CANCELLED = "1"

# 和暦: the first day of each era the files may use
REIWA_START = dt.date(2019, 5, 1)
HEISEI_START = dt.date(1989, 1, 8)


def era_date(text: str, *, today: dt.date | None = None) -> dt.date:
    """和暦 YYMMDD: 令和 (01 = 2019, from 2019-05-01) unless that reading is not a 令和 day
    or lies more than a year ahead of ``today``, then 平成 (01 = 1989, up to 2019-04-30).
    So 310430 is 2019-04-30 (平成31) and 010501 is 2019-05-01 (令和元年)."""
    if len(text) != 6 or not text.isdigit():
        raise ValueError(_("%(value)r is not a date YYMMDD (和暦)") % {"value": text})
    today = today or timezone.localdate()
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
    for offset, first, last in (
        (2018, REIWA_START, today.replace(year=today.year + 1)),
        (1988, HEISEI_START, REIWA_START - dt.timedelta(days=1)),
    ):
        try:
            date = dt.date(offset + year, month, day)
        except ValueError:
            continue
        if first <= date <= last:
            return date
    raise ValueError(_("%(value)r is no day of 令和 or 平成 (和暦 YYMMDD)") % {"value": text})


@dataclass(frozen=True)
class BankDeposit:
    """One credit of a bank file, as the import needs it."""

    line: int
    source_id: str
    received_on: dt.date
    amount: Decimal
    payer_name: str
    reference: str
    bank_name: str


def _records(data: bytes, problems: Problems) -> list[tuple[int, bytes]]:
    """(line, 200 bytes) of each record, with or without CR LF; an end-of-file mark (0x1A)
    after the last record is ignored."""
    data = data.rstrip(b"\x1a")
    if b"\n" in data or b"\r" in data:
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
    else:
        lines = [data[i : i + RECORD_LENGTH] for i in range(0, len(data), RECORD_LENGTH)]
    records = []
    for number, record in enumerate(lines, start=1):
        if len(record) != RECORD_LENGTH:
            problems.add(
                number,
                None,
                _("the record is %(length)d bytes long; a Zengin record is %(expected)d")
                % {"length": len(record), "expected": RECORD_LENGTH},
            )
            continue
        records.append((number, record))
    return records


def _not_cp932(data: bytes) -> int | None:
    """The line of the first character that shows the file is UTF-8 (a bank file is
    CP932), or None."""
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    for number, line in enumerate(data.replace(b"\r\n", b"\n").split(b"\n"), start=1):
        if not line.isascii():
            return number
    return 1


def read_fields(
    layout: tuple[Field, ...], record: bytes, line: int, problems: Problems, today
) -> dict | None:
    """The record's fields by the layout, or None with its problems added."""
    values, ok = {}, True
    for name, start, length, kind in layout:
        raw = record[start - 1 : start - 1 + length]
        if kind == "X":
            continue
        try:
            text = raw.decode("cp932")
        except UnicodeDecodeError:
            problems.add(line, name, _("bytes that are not Shift_JIS (CP932)"))
            ok = False
            continue
        if kind == "N":
            if not text.isdigit() or not text.isascii():
                problems.add(line, name, _("%(value)r is not a number") % {"value": text})
                ok = False
                continue
            values[name] = int(text)
        elif kind == "D":
            try:
                values[name] = era_date(text, today=today)
            except ValueError as error:
                problems.add(line, name, str(error))
                ok = False
        else:
            values[name] = text.rstrip(" ").rstrip("\u3000")
    return values if ok else None


def parse(data: bytes, problems: Problems, *, today: dt.date | None = None) -> list[BankDeposit]:
    """The credits of a Zengin file. Problems are added to ``problems`` (then the result
    is not to be used): record lengths, record types and their order, field contents, and
    each trailer's counts and totals against its records."""
    utf8_line = _not_cp932(data)
    if utf8_line is not None:
        problems.add(
            utf8_line,
            None,
            _("the file is UTF-8; a Zengin bank file is Shift_JIS (CP932): download it from the bank again"),
        )
        return []
    deposits: list[BankDeposit] = []
    records = _records(data, problems)
    if not records and not problems:
        problems.add(1, None, _("the file is empty"))
        return []
    header = None  # the current account's header fields, between its header and trailer
    kind = None
    group: list[dict] = []
    ended = False
    for line, record in records:
        record_type = chr(record[0])
        if ended:
            problems.add(line, "データ区分", _("a record after the end record (9)"))
            continue
        if record_type not in ("1", "2", "8", "9"):
            problems.add(
                line,
                "データ区分",
                _("unknown record type %(value)r (1 header, 2 data, 8 trailer, 9 end)")
                % {"value": record[:1].decode("latin-1")},
            )
            continue
        if record_type == "1":
            if header is not None:
                problems.add(line, "データ区分", _("a header before the trailer (8) of the previous account"))
            code = record[1:3].decode("latin-1")
            if code not in LAYOUTS:
                problems.add(
                    line,
                    "種別コード",
                    _("%(value)r is not 01 (振込入金通知) or 03 (入出金取引明細)") % {"value": code},
                )
                header, kind = None, None
                continue
            kind = code
            header = read_fields(LAYOUTS[kind]["1"], record, line, problems, today) or {}
            header["line"] = line
            group = []
        elif record_type == "2":
            if header is None:
                problems.add(line, "データ区分", _("a data record (2) outside a header (1) and trailer (8)"))
                continue
            fields = read_fields(LAYOUTS[kind]["2"], record, line, problems, today)
            if fields is None:
                header["unreadable"] = True  # its trailer cannot be checked against it
            else:
                fields["line"] = line
                group.append(fields)
        elif record_type == "8":
            if header is None:
                problems.add(line, "データ区分", _("a trailer (8) without its header (1)"))
                continue
            trailer = read_fields(LAYOUTS[kind]["8"], record, line, problems, today)
            if trailer is not None and not header.get("unreadable"):
                _check_trailer(kind, trailer, group, line, problems)
                deposits += _deposits(kind, header, group)
            header = None
        else:
            if header is not None:
                problems.add(line, "データ区分", _("the end record (9) before the trailer (8)"))
            ended = True
    if records and not ended:
        problems.add(records[-1][0], "データ区分", _("the file has no end record (9): is it complete?"))
    return deposits


def _check_trailer(kind: str, trailer: dict, group: list[dict], line: int, problems: Problems) -> None:
    def agree(name: str, expected: int, found: int) -> None:
        if expected != found:
            problems.add(
                line,
                name,
                _("the trailer says %(expected)s, the records add up to %(found)s")
                % {"expected": f"{expected:,}", "found": f"{found:,}"},
            )

    if kind == TRANSFER_NOTICE:
        live = [f for f in group if f["取消区分"] != CANCELLED]
        cancelled = [f for f in group if f["取消区分"] == CANCELLED]
        agree("振込合計件数", trailer["振込合計件数"], len(live))
        agree("振込合計金額", trailer["振込合計金額"], sum(f["金額"] for f in live))
        agree("取消合計件数", trailer["取消合計件数"], len(cancelled))
        agree("取消合計金額", trailer["取消合計金額"], sum(f["金額"] for f in cancelled))
    else:
        credits = [f for f in group if f["入払区分"] == CREDIT]
        debits = [f for f in group if f["入払区分"] != CREDIT]
        agree("入金件数", trailer["入金件数"], len(credits))
        agree("入金額合計", trailer["入金額合計"], sum(f["取引金額"] for f in credits))
        agree("出金件数", trailer["出金件数"], len(debits))
        agree("出金額合計", trailer["出金額合計"], sum(f["取引金額"] for f in debits))
        agree("データレコード件数", trailer["データレコード件数"], len(group))


def _deposits(kind: str, header: dict, group: list[dict]) -> list[BankDeposit]:
    if not {"銀行コード", "支店コード", "預金種目", "口座番号"} <= header.keys():
        return []  # the header's own problems are reported
    account = (
        f"{header['銀行コード']:04d}-{header['支店コード']:03d}-{header['預金種目']}{header['口座番号']:07d}"
    )
    deposits = []
    for fields in group:
        if kind == TRANSFER_NOTICE:
            if fields["取消区分"] == CANCELLED:
                continue  # a cancelled notification is no money received
            amount, number = fields["金額"], f"{fields['照会番号']:06d}"
        else:
            if fields["入払区分"] != CREDIT:
                continue  # a debit (出金) is no deposit
            amount, number = fields["取引金額"], f"{fields['照会番号']:08d}"
        if amount <= 0:
            continue
        deposits.append(
            BankDeposit(
                line=fields["line"],
                source_id=f"zengin:{account}:{number}:{fields['勘定日']:%Y%m%d}",
                received_on=fields["勘定日"],
                amount=Decimal(amount),
                payer_name=fields["振込依頼人名"],
                reference=fields["EDI情報"],
                bank_name=" ".join(filter(None, (fields["仕向銀行名"], fields["仕向店名"]))),
            )
        )
    return deposits


def is_zengin(data: bytes) -> bool:
    """Whether a file looks like a Zengin file (its first record a header of kind 01 or
    03) rather than CSV."""
    return len(data) >= 4 and data[:1] == b"1" and data[1:3] in (b"01", b"03") and data[3:4] in (b"0", b"1")
