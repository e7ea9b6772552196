"""A corpus of malformed CSV files for ``import_csv``, generated at test time.

``corpus()`` returns the same files on every run (no clock, a seeded ``random.Random``).
Each file is a valid *base* file of one kind (rows that would create and update data
on top of ``SEED``) with one thing broken, so that a refusal can only come from that
thing, and a half-write would show: the good rows around it would change the database.
``test_bad_input.py`` checks that every base file is accepted as it is.

Every file is genuinely invalid for every kind: an accepted file is a bug in the
engine or in the corpus, never a matter of taste.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

KINDS = (
    "customers",
    "iijid_contracts",
    "contracts",
    "item_changes",
    "terminations",
    "rate_cards",
    "accounts",
    "auth_counts",
    "one_time_charges",
)

#: What the database holds before each file is tried (valid; imported in this order,
#: after creating the staff member ``shonin`` who approves rate cards).
SEED = {
    "customers": """customer_code,name,billing_name,email,postal_code,address,payment_terms_days
C1,株式会社アルファ,株式会社アルファ 経理部 御中,keiri@alpha.example.jp,102-0071,東京都千代田区富士見2-10-2,
C2,ベータ商事株式会社,ベータ商事株式会社 御中,,530-0001,大阪府大阪市北区梅田1-1-1,30
C3,ガンマ工業株式会社,ガンマ工業株式会社 御中,,,,
""",
    "iijid_contracts": """customer_code,iijid_contract_code,start_on,end_on
C1,ID-1,2020-01-01,
C2,ID-2,2020-01-01,
C3,ID-3,2020-01-01,
""",
    "contracts": """contract_code,customer_code,item,applied_on,accepted_on,conditions_confirmed_on,billing_start_on
E1,C1,enterprise,2026-09-20,2026-09-25,2026-10-05,2026-10-11
S1,C1,service_provider,2025-12-01,2025-12-10,2025-12-20,2026-01-01
E2,C2,enterprise,2025-12-01,2025-12-10,2025-12-20,2026-01-01
X3,C3,enterprise,2026-08-01,2026-08-02,2026-08-10,2026-09-01
""",
    "item_changes": """contract_code,item,effective_month,requested_on,accepted_on
E2,service_provider,2026-10,2026-09-05,2026-09-10
""",
    "terminations": """contract_code,notice_received_on,requested_on,on_prescribed_form
S1,2026-09-15,,yes
""",
    "rate_cards": """contract_code,valid_from,valid_until,base_fee,account_unit_price,auth_pricing,auth_tiers,approved_by,approved_on,notified_on
E1,2026-10,,30000,300,,,shonin,2026-10-01,2026-10-02
S1,2026-01,2026-12,50000,,graduated,100000:0.50;1000000:0.30;:0.10,shonin,2025-12-15,2025-12-16
E2,2026-01,2026-09,10000,200,,,shonin,2025-12-15,2025-12-16
E2,2026-10,,12000,,volume,100000:0.50;1000000:0.30;:0.10,shonin,2026-09-11,2026-09-12
X3,2026-09,2026-12,5000,100,,,,,
""",
    "accounts": """contract_code,account_id,registered_on,deregistered_on
E1,A1,2026-09-01,
E1,A2,2026-10-20,2026-10-29
E2,B1,2026-01-01,
""",
    "auth_counts": """contract_code,date,success_count
S1,2026-10-01,10000
S1,2026-10-02,10000
S1,2026-10-03,10000
E2,2026-10-31,250000
""",
    "one_time_charges": """contract_code,description,amount,due_on
E2,設定変更作業,5000,2026-10-05
""",
}

#: Valid files that change ``SEED``: every kind creates rows and updates one.
BASE: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "customers": (
        ("customer_code", "name", "billing_name", "email", "postal_code", "address", "payment_terms_days"),
        (
            (
                "C2",
                "ベータ商事株式会社",
                "ベータ商事株式会社 総務部 御中",
                "soumu@beta.example.jp",
                "530-0001",
                "大阪府大阪市北区梅田1-1-1",
                "30",
            ),
            ("C4", "デルタ株式会社", "デルタ株式会社 御中", "", "100-0001", "東京都千代田区千代田1-1", "60"),
            ("C5", "イプシロン合同会社", "イプシロン合同会社 御中", "", "", "", ""),
        ),
    ),
    "iijid_contracts": (
        ("customer_code", "iijid_contract_code", "start_on", "end_on"),
        (
            ("C3", "ID-3B", "2021-04-01", ""),
            ("C2", "ID-2", "2020-01-01", "2030-12-31"),
            ("C1", "ID-1B", "2019-01-01", "2019-12-31"),
        ),
    ),
    "contracts": (
        (
            "contract_code",
            "customer_code",
            "item",
            "applied_on",
            "accepted_on",
            "conditions_confirmed_on",
            "billing_start_on",
            "terms_version",
        ),
        (
            ("E5", "C3", "enterprise", "2026-10-01", "2026-10-02", "", "", "2018-01-01"),
            ("S5", "C2", "service_provider", "2026-11-01", "", "", "", ""),
            ("X3", "C3", "enterprise", "2026-08-01", "2026-08-03", "2026-08-10", "2026-09-01", ""),
        ),
    ),
    "item_changes": (
        ("contract_code", "item", "effective_month", "requested_on", "accepted_on"),
        (
            ("E2", "service_provider", "2026-10", "2026-09-06", "2026-09-10"),
            ("E1", "service_provider", "2026-12", "2026-11-01", "2026-11-02"),
            ("X3", "service_provider", "2027-01", "2026-12-01", "2026-12-02"),
        ),
    ),
    "terminations": (
        ("contract_code", "notice_received_on", "requested_on", "on_prescribed_form"),
        (
            ("S1", "2026-09-15", "2026-10-20", "yes"),
            ("X3", "2026-11-01", "", "no"),
            ("E1", "2026-11-10", "2027-03-31", "yes"),
        ),
    ),
    "rate_cards": (
        (
            "contract_code",
            "valid_from",
            "valid_until",
            "base_fee",
            "account_unit_price",
            "auth_pricing",
            "auth_tiers",
            "approved_by",
            "approved_on",
            "notified_on",
        ),
        (
            ("X3", "2026-09", "2026-12", "6000", "120", "", "", "", "", ""),
            # new cards: entered by the importer; their approval is another person's act
            ("X3", "2027-01", "", "5500", "110.5", "", "", "", "", "2026-12-02"),
            (
                "S1",
                "2027-01",
                "",
                "50000",
                "",
                "graduated",
                "100000:0.50;1000000:0.30;:0.10",
                "",
                "",
                "2026-12-11",
            ),
        ),
    ),
    "accounts": (
        ("contract_code", "account_id", "registered_on", "deregistered_on"),
        (
            ("E1", "A9", "2026-11-01", ""),
            ("E1", "A1", "2026-09-01", "2026-12-31"),
            ("E2", "B2", "2026-02-01", "2026-03-31"),
        ),
    ),
    "auth_counts": (
        ("contract_code", "date", "success_count"),
        (
            ("S1", "2026-10-02", "12345"),
            ("S1", "2026-10-06", "9000"),
            ("E2", "2026-11-01", "1000"),
        ),
    ),
    "one_time_charges": (
        ("contract_code", "description", "amount", "due_on"),
        (
            ("E2", "設定変更作業", "5500", "2026-10-05"),
            ("E1", "出張設定作業", "20000", "2026-11-15"),
            ("E1", "追加作業", "0", "2026-12-01"),
        ),
    ),
}

CODE_COLUMNS = {
    "customers": ("customer_code",),
    "iijid_contracts": ("customer_code", "iijid_contract_code"),
    "contracts": ("contract_code", "customer_code"),
    "item_changes": ("contract_code",),
    "terminations": ("contract_code",),
    "rate_cards": ("contract_code",),
    "accounts": ("contract_code",),
    "auth_counts": ("contract_code",),
    "one_time_charges": ("contract_code",),
}
TEXT_COLUMNS = (
    ("customers", "name"),
    ("customers", "billing_name"),
    ("one_time_charges", "description"),
    ("accounts", "account_id"),
    ("customers", "address"),
    ("customers", "postal_code"),
    ("customers", "email"),
    ("rate_cards", "approved_by"),
)
DATE_COLUMNS = (
    ("iijid_contracts", "start_on"),
    ("contracts", "applied_on"),
    ("item_changes", "requested_on"),
    ("terminations", "notice_received_on"),
    ("rate_cards", "approved_on"),
    ("accounts", "registered_on"),
    ("auth_counts", "date"),
    ("one_time_charges", "due_on"),
    ("iijid_contracts", "end_on"),
    ("contracts", "accepted_on"),
    ("contracts", "conditions_confirmed_on"),
    ("contracts", "billing_start_on"),
    ("item_changes", "accepted_on"),
    ("terminations", "requested_on"),
    ("rate_cards", "notified_on"),
    ("accounts", "deregistered_on"),
)
MONTH_COLUMNS = (
    ("item_changes", "effective_month"),
    ("rate_cards", "valid_from"),
    ("rate_cards", "valid_until"),
)
AMOUNT_COLUMNS = (
    ("one_time_charges", "amount"),
    ("rate_cards", "base_fee"),
    ("rate_cards", "account_unit_price"),
)
COUNT_COLUMNS = (("auth_counts", "success_count"), ("customers", "payment_terms_days"))

# --- bad values ------------------------------------------------------------------------

BAD_DATES = (
    "2026-02-30",
    "2026/02/31",  # 31 February
    "2027-02-29",  # not a leap year
    "2100-02-29",  # not a leap year, and outside the range
    "2026-04-31",
    "2026-13-01",  # month 13
    "2026-00-10",  # month 0
    "2026-01-00",  # day 0
    "2026-01-32",
    "0001-01-01",
    "9999-12-31",
    "0000-01-01",  # year 0 does not exist at all
    "0000-02-30",
    "1999-12-31",  # before the service existed
    "2026-1-1x",
    "２０２６-０１-０１",  # full-width digits
    "２０２６/１/１",
    "٢٠٢٦-٠١-٠١",  # Arabic-Indic digits
    "2026-01-01T00:00",
    "2026-01-01 10:00",
    "01/04/2026",
    "2026年1月1日",
    "20260101",
    "26-01-01",
    "2026.01.01",
    "2026-01/01",
    "-2026-01-01",
    "2026-02-3O",  # letter O
    "today",
    "2026-001-01",
)
BAD_MONTHS = (
    "2026-13",
    "2026-00",
    "0000-01",
    "9999-12",
    "1999-12",
    "2026-1x",
    "２０２６-１０",
    "2026-10-01",
    "10/2026",
    "202610",
    "2026",
    "2026-010",
)
#: invalid for every amount column (yen with 0 decimals, unit prices with 4)
BAD_AMOUNTS = (
    "1" + "0" * 30,  # 10**30
    "99999999999",  # above the largest amount
    "1e309",
    "1E3",
    "Infinity",
    "-Infinity",
    "NaN",
    "inf",
    "-1",
    "-0.5",
    "1,000",
    "¥1000",
    "￥1000",
    "1000円",
    "１０００",  # full-width digits
    "٣٠٠٠",  # Arabic-Indic digits
    "1.2.3",
    "1 000",
    "0x10",
    "1_000",
    "+1000",
    ".5",
    "5.",
    "1.234567",  # more decimals than any column takes
    "(1000)",
    "1000-",
    "--5",
    "$5",
    "-1\n2",  # a quoted newline after a minus sign
    "9" * 5000,
)
#: invalid for every count column
BAD_COUNTS = (
    "1.0",
    "10.5",
    "1e3",
    "-1",
    "-0",
    "１２",
    "1,000",
    "Infinity",
    "NaN",
    "9" * 5000,  # beyond what int() converts at once
    "0" * 4999 + "1" * 200,
    "+5",
    "-1\n2",
)
BAD_TIERS = (
    "100000:0.50",  # the last tier must be open
    ":0.10;:0.20",
    "abc",
    "100000:0.50;:-0.10",
    "1_000:0.50;:0.10",
    "１００:0.50;:0.10",
    "+100:0.50;:0.10",
    " 100 :0.50;:0.10x",
    "0:0.50;:0.10",
    "1000:0.50;100:0.30;:0.10",  # limits must increase
    "100:0.50:1:2;:0.10",
    "100:0.123456;:0.10",
    "10000000000000:0.50;:0.10",  # above the largest count
    "100:0.50;;:0.10",
    "100:0.50;:0.10;",
    "100:0.5:1.5;:0.10",  # a flat fee is whole yen
    "9" * 5000 + ":0.50;:0.10",
    "100:1e3;:0.10",
)
BAD_CODES = (
    "C 1",
    "C1;C2",
    "Ｃ１",  # full-width
    "_C1",
    "C1/2",
    "x" * 33,
    "C1\u200b",  # zero-width space
    "é1",
    "C1\\",
    "C1'",
    "=E1",
    "-E1",
    "@E1",
    'C"1',
)
FORMULAS = (
    "=SUM(A1:A9)",
    "+81 3 1234 5678",
    "-2+3",
    "@SUM(1)",
    "\t=1+2",
    "\r=1+2",
    " =1",
    '=HYPERLINK("http://evil.example/","click")',
    "=cmd|' /C calc'!A0",
    "-",
    "+",
    "@",
    "=1+1",
    "\t\t@x",
    "\r\n-1",
    "＝SUM(A1)\tx",  # a full-width '=' is no formula, but the tab is a control character
)
CONTROLS = (
    "a\x01b",
    "\x1b[31mred",
    "a\x7fb",  # DEL
    "a\x85b",  # NEL, a C1 control
    "a\x9bb",
    "a\u2028b",  # line separator
    "a\u2029b",  # paragraph separator
    "abc\u202efdp.exe",  # right-to-left override
    "a\u200bb",  # zero-width space
    "a\ufeffb",  # a BOM in the middle of a cell
    "a\x08b",
    "first\nsecond",
    "a\tb",
    "a\x0cb",
    "a\rb",
    "a\u2066b\u2069",  # bidi isolates
)
UNKNOWN_CODES = (
    ("iijid_contracts", "customer_code", "C9"),
    ("contracts", "customer_code", "c1"),
    ("item_changes", "contract_code", "NOPE"),
    ("terminations", "contract_code", "e1"),
    ("rate_cards", "contract_code", "X4"),
    ("accounts", "contract_code", "E9"),
    ("auth_counts", "contract_code", "S9"),
    ("one_time_charges", "contract_code", "E-2"),
    ("rate_cards", "approved_by", "nobody"),
    ("rate_cards", "approved_by", "SHONIN"),
    ("rate_cards", "approved_by", "shonin2"),
    ("contracts", "customer_code", "C33"),
)
BAD_CHOICES = (
    ("contracts", "item", "Enterprise"),
    ("contracts", "item", "personal"),
    ("contracts", "item", "エンタープライズ"),
    ("contracts", "terms_version", "2020-01-01"),
    ("contracts", "terms_version", "2018-1-1"),
    ("item_changes", "item", "service-provider"),
    ("item_changes", "item", "SERVICE_PROVIDER"),
    ("terminations", "on_prescribed_form", "true"),
    ("terminations", "on_prescribed_form", "1"),
    ("terminations", "on_prescribed_form", "はい"),
    ("terminations", "on_prescribed_form", "ye s"),
    ("rate_cards", "auth_pricing", "tiered"),
    ("rate_cards", "auth_pricing", "Volume"),
)
#: rows every cell of which parses, but which break a rule of the regulation or of the
#: stored data: (kind, row index or None to append, {column: value}, column reported)
RULE_BREAKS = (
    ("iijid_contracts", 0, {"end_on": "2021-03-31"}, "iijid_contract_code"),  # ends before it starts
    ("contracts", 0, {"accepted_on": "2026-09-30"}, "contract_code"),  # accepted before applied
    ("contracts", 0, {"billing_start_on": "2026-10-05"}, "billing_start_on"),  # Art. 5(3)
    # Art. 3: C1's IIJ ID Service contract starts in 2020
    (
        "contracts",
        1,
        {"accepted_on": "2019-06-01", "customer_code": "C1", "applied_on": "2019-01-01"},
        "accepted_on",
    ),
    ("item_changes", 1, {"item": "enterprise"}, "item"),  # already Enterprise
    ("item_changes", 1, {"effective_month": "2026-11"}, "effective_month"),  # accepted in November
    ("item_changes", 2, {"accepted_on": "2026-11-30"}, "accepted_on"),  # before requested
    ("terminations", 2, {"notice_received_on": "2026-09-01"}, "notice_received_on"),  # before acceptance
    ("rate_cards", 1, {"valid_from": "2026-11"}, "valid_from"),  # overlaps X3's stored card
    ("rate_cards", 1, {"approved_on": "2026-12-01"}, "approved_on"),  # a date without an approver
    ("rate_cards", 1, {"approved_by": "nyuryoku"}, "approved_by"),  # approving the card one enters
    ("rate_cards", 1, {"approved_by": "shonin"}, "approved_by"),  # someone else's approval
    ("rate_cards", None, {"contract_code": "E1", "valid_from": "2026-10", "base_fee": "31000"}, None),
    ("rate_cards", 2, {"auth_tiers": ""}, "auth_tiers"),  # pricing without a table
    ("rate_cards", 2, {"auth_pricing": "per_unit"}, "auth_tiers"),  # per unit: one tier
    ("rate_cards", 1, {"valid_until": "2026-12"}, None),  # ends before it starts
    ("rate_cards", 0, {"account_unit_price": ""}, "account_unit_price"),  # Enterprise needs a price
    ("accounts", 2, {"deregistered_on": "2026-01-31"}, "deregistered_on"),  # before registered
    ("accounts", 0, {"account_id": "A1", "registered_on": "2026-10-01"}, None),  # overlaps stored A1
    ("customers", 1, {"email": "not-an-email"}, "email"),
    ("customers", 1, {"payment_terms_days": "366"}, "payment_terms_days"),
    ("auth_counts", 1, {"success_count": "1000000000001"}, "success_count"),  # above the largest count
)


# --- building files --------------------------------------------------------------------


@dataclass(frozen=True)
class BadFile:
    """``data`` is refused by every kind; for ``kind`` (the one it is shaped like) a
    problem is reported on ``line`` (and ``column``) when they are given."""

    id: str
    kind: str
    data: bytes
    line: int | None = None
    column: str | None = None
    options: tuple[str, ...] = ()


def rows_of(kind: str) -> list[list[str]]:
    return [list(row) for row in BASE[kind][1]]


def header_of(kind: str) -> list[str]:
    return list(BASE[kind][0])


def to_text(header: list[str], rows: list[list[str]], newline: str = "\n") -> str:
    """CSV as Excel writes it. (``csv.writer`` leaves a CR unquoted when the line end is
    LF; a spreadsheet quotes it, and so do we.)"""

    def cell(value: str) -> str:
        if any(ch in value for ch in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(",".join(cell(value) for value in row) + newline for row in [header, *rows])


def base_text(kind: str, newline: str = "\n") -> str:
    return to_text(header_of(kind), rows_of(kind), newline)


def with_cells(kind: str, row: int | None, values: dict[str, str]) -> tuple[str, int]:
    """The base file with ``values`` in row ``row`` (None: a copy of the first row,
    appended); returns the text and the file line of that row."""
    header, rows = header_of(kind), rows_of(kind)
    if row is None:
        rows.append(list(rows[0]))
        row = len(rows) - 1
    for column, value in values.items():
        rows[row][header.index(column)] = value
    return to_text(header, rows), row + 2


def cell_file(id_: str, kind: str, column: str, value: str, row: int = 1) -> BadFile:
    text, line = with_cells(kind, row, {column: value})
    return BadFile(id_, kind, text.encode("utf-8"), line, column)


def _cycle(values, columns) -> Iterator[tuple[str, tuple[str, str]]]:
    for index, value in enumerate(values):
        yield value, columns[index % len(columns)]


def _short(value: str) -> str:
    """A value as a readable piece of a test id: printable ASCII, the rest as ~hex."""
    text = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in "\\/[] " else f"~{ord(ch):x}" for ch in value
    )
    return text if len(text) <= 24 else f"{text[:16]}...{len(value)}"


# --- the corpus, by category ---------------------------------------------------------


def encodings() -> Iterator[BadFile]:
    for kind in KINDS:
        text = base_text(kind)
        for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            yield BadFile(f"encoding/{codec}/{kind}", kind, text.encode(codec), 1)
        yield BadFile(f"encoding/utf-16-bom-be/{kind}", kind, b"\xfe\xff" + text.encode("utf-16-be"), 1)

    # Latin-1 bytes that are neither UTF-8 nor CP932 (é before a comma or a line end)
    for kind, column, value in (
        ("customers", "name", "Société Générale"),
        ("customers", "address", "Straße 1, München"),
        ("one_time_charges", "description", "Café"),
        ("accounts", "account_id", "josé"),
        ("rate_cards", "approved_by", "rené"),
    ):
        text, line = with_cells(kind, 1, {column: value})
        yield BadFile(
            f"encoding/latin-1/{kind}-{column}", kind, text.encode("latin-1", errors="replace"), line
        )
    yield BadFile(
        "encoding/latin-1/whole-file",
        "customers",
        base_text("customers").replace("ベータ商事", "Société Bêta").encode("latin-1", errors="replace"),
        2,
    )
    # Latin-1 bytes in a code: whatever CP932 makes of them is not a code
    text, line = with_cells("auth_counts", 1, {"contract_code": "Ä1"})
    yield BadFile("encoding/latin-1/code", "auth_counts", text.encode("latin-1"), line, "contract_code")

    # half UTF-8, half CP932 (an Excel file a script appended to, or the other way round)
    for kind in ("customers", "one_time_charges"):
        lines = base_text(kind).splitlines(keepends=True)
        utf8_first = "".join(lines[:2]).encode("utf-8") + "".join(lines[2:]).encode("cp932")
        cp932_first = "".join(lines[:2]).encode("cp932") + "".join(lines[2:]).encode("utf-8")
        yield BadFile(f"encoding/utf-8-then-cp932/{kind}", kind, utf8_first, 3)
        yield BadFile(f"encoding/cp932-then-utf-8/{kind}", kind, cp932_first, None)
    # a UTF-8 BOM on a CP932 file
    yield BadFile(
        "encoding/utf-8-bom-on-cp932",
        "customers",
        b"\xef\xbb\xbf" + base_text("customers").encode("cp932"),
        None,
    )
    # forced encodings that do not match
    yield BadFile(
        "encoding/forced-utf-8-on-cp932",
        "one_time_charges",
        base_text("one_time_charges").encode("cp932"),
        2,
        options=("--encoding", "utf-8"),
    )
    yield BadFile(
        "encoding/forced-cp932-on-utf-8",
        "customers",
        base_text("customers").encode("utf-8"),
        None,
        options=("--encoding", "cp932"),
    )

    # invalid byte sequences
    def raw(kind, column, marker_bytes, row=1):
        text, line = with_cells(kind, row, {column: "@@MARK@@"})
        return text.encode("utf-8").replace(b"@@MARK@@", marker_bytes), line

    for name, kind, column, value in (
        ("lone-continuation", "accounts", "account_id", b"abc\x80def"),  # CP932 reads 0x80 as U+0080
        ("lone-continuation-2", "one_time_charges", "description", b"\x80"),
        ("lead-without-trail", "one_time_charges", "description", b"\x81"),
        ("lead-then-space", "customers", "billing_name", b"\x88 "),
        ("ff-fe", "accounts", "account_id", b"A\xff\xfeB"),
        ("overlong-slash", "auth_counts", "contract_code", b"S\xc0\xaf1"),
        ("surrogate", "item_changes", "requested_on", b"2026-\xed\xa0\x80-01"),
        ("truncated-sequence", "customers", "address", b"\xe6\xa0"),
        ("five-byte", "iijid_contracts", "iijid_contract_code", b"ID\xf8\x88\x80\x80\x80"),
        ("cp932-private-use", "terminations", "contract_code", b"S\xf0\x401"),
        ("c1-in-date", "auth_counts", "date", b"2026-10-0\x85"),
    ):
        data, line = raw(kind, column, value)
        yield BadFile(f"encoding/bytes/{name}", kind, data, line)
    data = base_text("customers").encode("utf-8")
    yield BadFile(
        "encoding/bytes/utf-8-cut-mid-character", "customers", data[: data.rindex(b"\xe4") + 1], None
    )

    # a BOM in the middle: two files joined with cat, the second with its BOM and header
    for kind in KINDS:
        data = base_text(kind).encode("utf-8-sig")
        yield BadFile(f"bom-in-the-middle/concatenated/{kind}", kind, data + data, 5)
    yield BadFile(
        "bom-in-the-middle/two-boms",
        "accounts",
        b"\xef\xbb\xbf" + base_text("accounts").encode("utf-8-sig"),
        1,
    )
    text, line = with_cells("contracts", 2, {"contract_code": "\ufeffX3"})
    yield BadFile("bom-in-the-middle/before-a-code", "contracts", text.encode("utf-8"), line, "contract_code")


def binary() -> Iterator[BadFile]:
    rng = random.Random(20261126)
    headers = {
        "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89",
        "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 16 + b"customers.csv",
        "xlsx": b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"
        + b"[Content_Types].xml"
        + bytes(range(40)),
        "xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40,
        "deflate": zlib.compress(base_text("customers").encode("utf-8")),
        "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01",
        "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8,
        "all-ff": b"\xff" * 64,
        "all-nul": b"\x00" * 64,
        "one-nul": b"\x00",
    }
    for index, (name, data) in enumerate(headers.items()):
        yield BadFile(f"binary/{name}", KINDS[index % len(KINDS)], data, None)
    for index, size in enumerate((1, 16, 100, 1000, 10_000, 100_000)):
        yield BadFile(f"binary/random-{size}", KINDS[index % len(KINDS)], rng.randbytes(size), None)
    # random bytes after a valid header
    for index, kind in enumerate(("customers", "rate_cards", "auth_counts")):
        data = ",".join(header_of(kind)).encode() + b"\n" + rng.randbytes(200 + index)
        yield BadFile(f"binary/random-after-header/{kind}", kind, data, None)
    # NUL bytes in an otherwise valid file
    for kind in KINDS:
        text, line = with_cells(kind, 1, {header_of(kind)[0]: "@@MARK@@"})
        data = text.encode("utf-8").replace(b"@@MARK@@", b"X\x00Y")
        yield BadFile(f"binary/nul-in-a-cell/{kind}", kind, data, line)
    yield BadFile("binary/nul-at-the-end", "accounts", base_text("accounts").encode() + b"\x00", 5)
    yield BadFile("binary/nul-in-the-header", "auth_counts", b"contract_code\x00,date,success_count\n", 1)


def empty_and_blank() -> Iterator[BadFile]:
    for index, (name, data) in enumerate(
        (
            ("zero-bytes", b""),
            ("one-newline", b"\n"),
            ("crlf-only", b"\r\n\r\n\r\n"),
            ("cr-only", b"\r\r"),
            ("spaces", b"    "),
            ("whitespace-lines", b"  \t \n \n\t\n   "),
            ("full-width-space", "\u3000\n".encode()),
            ("bom-only", b"\xef\xbb\xbf"),
            ("bom-and-newline", b"\xef\xbb\xbf\r\n"),
            ("commas-only", b",,,\n,,,\n"),
            ("empty-quotes", b'""\n""\n'),
            ("utf-16-bom-only", b"\xff\xfe"),
        )
    ):
        yield BadFile(f"empty/{name}", KINDS[index % len(KINDS)], data, 1)
    for kind in KINDS:
        yield BadFile(f"header-only/{kind}", kind, (",".join(header_of(kind)) + "\n").encode(), 2)
        yield BadFile(
            f"header-only/blank-lines-after/{kind}",
            kind,
            (
                ",".join(header_of(kind)) + "\r\n" + "," * (len(header_of(kind)) - 1) + "\r\n\r\n  \r\n"
            ).encode(),
            None,
        )
    yield BadFile("header-only/no-newline", "customers", ",".join(header_of("customers")).encode(), 2)
    yield BadFile(
        "header-only/with-bom", "accounts", ("\ufeff" + ",".join(header_of("accounts"))).encode(), 2
    )


def header_problems() -> Iterator[BadFile]:
    for kind in KINDS:
        header, rows = header_of(kind), rows_of(kind)
        required = [name for name in header if not _optional(kind, name)]
        for name in required:
            index = header.index(name)
            text = to_text(
                [h for h in header if h != name], [[c for i, c in enumerate(r) if i != index] for r in rows]
            )
            yield BadFile(f"header/missing/{kind}-{name}", kind, text.encode(), 1, name)
        yield BadFile(
            f"header/unknown-column/{kind}",
            kind,
            to_text([*header, "remarks"], [[*r, "x"] for r in rows]).encode(),
            1,
            "remarks",
        )
        yield BadFile(
            f"header/duplicated-column/{kind}",
            kind,
            to_text([*header, header[0]], [[*r, r[0]] for r in rows]).encode(),
            1,
            header[0],
        )
        yield BadFile(
            f"header/capitalised/{kind}",
            kind,
            to_text([header[0].capitalize(), *header[1:]], rows).encode(),
            1,
        )
    odd_names = (
        ("colon", "customer_code:x"),
        ("newline", "customer\ncode"),
        ("control", "customer_code\x07"),
        ("very-long", "c" * 10_000),
        ("japanese", "顧客コード"),
        ("spaced", "customer code"),
        ("bidi", "\u202ecustomer_code"),
        ("zero-width", "customer_code\u200b"),
        ("empty", ""),
        ("colon-space", "note: see below"),
    )
    for name, column in odd_names:
        header, rows = header_of("customers"), rows_of("customers")
        header[0] = column
        yield BadFile(f"header/odd-name/{name}", "customers", to_text(header, rows).encode(), 1)
    yield BadFile(
        "header/trailing-comma", "auth_counts", b"contract_code,date,success_count,\nS1,2026-10-06,1,\n", 1
    )
    yield BadFile(
        "header/semicolons", "auth_counts", b"contract_code;date;success_count\nS1;2026-10-06;1\n", 1
    )
    yield BadFile("header/tabs", "accounts", base_text("accounts").replace(",", "\t").encode(), 1)
    yield BadFile("header/quoted-as-one", "accounts", b'"contract_code,account_id,registered_on"\n', 1)
    yield BadFile("header/unterminated-quote", "customers", b'"customer_code,name,billing_name\nC1,a,b\n', 1)
    yield BadFile(
        "header/data-row-first",
        "one_time_charges",
        b"E2,x,1,2026-10-05\ncontract_code,description,amount,due_on\n",
        1,
    )


def _optional(kind: str, column: str) -> bool:
    from contracts.csvimport import REGISTRY

    return any(c.name == column and not c.required for c in REGISTRY[kind].columns)


def row_structure() -> Iterator[BadFile]:
    for kind in KINDS:
        header, rows = header_of(kind), rows_of(kind)
        text = to_text(header, rows)
        lines = text.splitlines(keepends=True)
        too_many = [*lines[:2], lines[2].rstrip("\n") + ",extra\n", *lines[3:]]
        yield BadFile(f"rows/too-many-cells/{kind}", kind, "".join(too_many).encode(), 3)
        too_few = [*lines[:2], lines[2].rsplit(",", 1)[0] + "\n", *lines[3:]]
        yield BadFile(f"rows/too-few-cells/{kind}", kind, "".join(too_few).encode(), 3)
        unterminated = text + '"' + rows[0][0] + ",unterminated\n"
        yield BadFile(f"rows/unterminated-quote/{kind}", kind, unterminated.encode(), 5)
        quote_inside = [*lines[:3], f'"{rows[2][0]}"x' + lines[3][len(rows[2][0]) :]]
        yield BadFile(f"rows/text-after-closing-quote/{kind}", kind, "".join(quote_inside).encode(), 4)
        one_cell = [*lines, rows[0][0] + "\n"]
        yield BadFile(f"rows/single-cell/{kind}", kind, "".join(one_cell).encode(), 5)
    yield BadFile(
        "rows/quote-inside-unquoted-code",
        "terminations",
        with_cells("terminations", 1, {"contract_code": 'X"3'})[0].encode(),
        3,
    )
    yield BadFile(
        "rows/unterminated-quote-mid-file",
        "auth_counts",
        b'contract_code,date,success_count\nS1,2026-10-06,"9000\nE2,2026-11-01,1000\n',
        2,
    )
    yield BadFile(
        "rows/only-a-quote",
        "accounts",
        b'contract_code,account_id,registered_on\n"\n',
        2,
    )


def line_ends() -> Iterator[BadFile]:
    """The right line number whatever the line ends: LF, CRLF, CR only, or mixed."""
    for index, kind in enumerate(KINDS):
        header, rows = header_of(kind), rows_of(kind)
        column = header[-1] if kind != "customers" else "billing_name"
        rows[2][header.index(column)] = "x\x1by" if column in ("billing_name", "description") else "x@y"
        for name, newline in (("cr", "\r"), ("crlf", "\r\n")):
            yield BadFile(
                f"line-ends/{name}/{kind}", kind, to_text(header, rows, newline).encode(), 4, column
            )
        ends = ("\r\n", "\n", "\r", "\n\r")  # "\n\r": an LF then a CR, i.e. a blank line
        out = []
        for number, row in enumerate([header, *rows]):
            out.append(",".join(row) + ends[(number + index) % len(ends)])
        expected = 4 + sum(1 for n in range(3) if ends[(n + index) % len(ends)] == "\n\r")
        yield BadFile(f"line-ends/mixed/{kind}", kind, "".join(out).encode(), expected, column)
    # an undecodable byte on line 3 of a file with CR line ends
    text = base_text("customers", "\r").replace("デルタ", "@@MARK@@")
    data = text.encode("utf-8").replace(b"@@MARK@@", b"\xe9,")
    yield BadFile("line-ends/cr-with-bad-byte", "customers", data, 3)
    # a quoted line break inside a code
    text, line = with_cells("item_changes", 1, {"contract_code": "E1\r\nE2"})
    yield BadFile("line-ends/break-inside-a-code", "item_changes", text.encode(), line, "contract_code")


def dates_and_months() -> Iterator[BadFile]:
    for value, (kind, column) in _cycle(BAD_DATES, DATE_COLUMNS):
        yield cell_file(f"dates/{_short(value)}/{kind}-{column}", kind, column, value)
    # the same values again in the other date columns, so every column sees several
    for value, (kind, column) in _cycle(BAD_DATES[::3], DATE_COLUMNS[::-1]):
        yield cell_file(f"dates/{_short(value)}/{kind}-{column}-2", kind, column, value, row=0)
    for value, (kind, column) in _cycle(BAD_MONTHS, MONTH_COLUMNS):
        row = 1 if column == "valid_until" else 2
        yield cell_file(f"months/{_short(value)}/{kind}-{column}", kind, column, value, row)


def numbers() -> Iterator[BadFile]:
    for value, (kind, column) in _cycle(BAD_AMOUNTS, AMOUNT_COLUMNS):
        yield cell_file(f"amounts/{_short(value)}/{kind}-{column}", kind, column, value)
    for value, (kind, column) in _cycle(BAD_COUNTS, COUNT_COLUMNS):
        yield cell_file(f"counts/{_short(value)}/{kind}-{column}", kind, column, value)
    for value in BAD_TIERS:
        yield cell_file(f"tiers/{_short(value)}", "rate_cards", "auth_tiers", value, row=2)
    # decimals beyond what a column keeps
    yield cell_file("amounts/decimals/base-fee", "rate_cards", "base_fee", "30000.5")
    yield cell_file("amounts/decimals/amount", "one_time_charges", "amount", "100.00")
    yield cell_file("amounts/decimals/unit-price", "rate_cards", "account_unit_price", "0.12345")
    yield cell_file("amounts/decimals/tier-price", "rate_cards", "auth_tiers", "100:0.12345;:0.1", row=2)


def codes_and_choices() -> Iterator[BadFile]:
    columns = [(kind, column) for kind in KINDS for column in CODE_COLUMNS[kind]]
    for value, (kind, column) in _cycle(BAD_CODES, columns):
        yield cell_file(f"codes/{_short(value)}/{kind}-{column}", kind, column, value)
    for kind, column, value in UNKNOWN_CODES:
        yield cell_file(f"unknown/{kind}-{column}-{value}", kind, column, value)
    for kind, column, value in BAD_CHOICES:
        yield cell_file(f"choices/{kind}-{column}-{_short(value)}", kind, column, value)


def text_cells() -> Iterator[BadFile]:
    # Formula-like text in a text column is text (@cosme株式会社): accepted, and
    # neutralised by the exports (test_bad_input.py). Elsewhere it is no number or date.
    yield cell_file("formula/tab-inside/customers-name", "customers", "name", "＝SUM(A1)\tx")
    for kind, column in (
        ("auth_counts", "success_count"),
        ("one_time_charges", "amount"),
        ("contracts", "applied_on"),
    ):
        yield cell_file(f"formula/=1+1/{kind}-{column}", kind, column, "=1+1")
    for value, (kind, column) in _cycle(CONTROLS, TEXT_COLUMNS):
        yield cell_file(f"control/{_short(value)}/{kind}-{column}", kind, column, value)
    for kind, column, value in (
        ("customers", "name", "あ" * 201),
        ("customers", "billing_name", "御中" * 5000),
        ("customers", "address", "x" * 301),
        ("customers", "postal_code", "1" * 11),
        ("customers", "email", "a" * 490 + "@example.jp"),  # 501 characters: more than 500
        ("one_time_charges", "description", "作業" * 101),
        ("accounts", "account_id", "a" * 129),
        ("rate_cards", "approved_by", "u" * 151),
        ("contracts", "contract_code", "E" * 33),
        ("auth_counts", "success_count", "1" * 20_000),
    ):
        yield cell_file(f"long/{kind}-{column}-{len(value)}", kind, column, value)
    # beyond the CSV reader's field limit: the row is reported, without a column
    text, line = with_cells("customers", 1, {"name": "x" * 200_000})
    yield BadFile("long/beyond-the-field-limit", "customers", text.encode(), line)
    text = base_text("accounts") + "E1," + "A" * 1_000_000 + ",2026-11-01,\n"
    yield BadFile("long/one-megabyte-line", "accounts", text.encode(), 5)


def duplicates() -> Iterator[BadFile]:
    for kind in KINDS:
        text = base_text(kind) + to_text(header_of(kind), [rows_of(kind)[1]]).split("\n", 1)[1]
        yield BadFile(f"duplicate-key/{kind}", kind, text.encode(), 5)
    for kind, row, values in (
        ("customers", None, {"customer_code": " C2 "}),
        ("auth_counts", 0, {"date": "2026/10/06", "contract_code": "S1"}),
        ("item_changes", 0, {"contract_code": "X3", "effective_month": "2027/1"}),
        ("accounts", 0, {"registered_on": "2026/2/1", "contract_code": "E2", "account_id": "B2"}),
        (
            "one_time_charges",
            0,
            {"contract_code": "E1", "due_on": "2026/11/15", "description": "出張設定作業"},
        ),
        ("rate_cards", 0, {"contract_code": "S1", "valid_from": "2027/01"}),
    ):
        text, _line = with_cells(kind, row, values)
        yield BadFile(f"duplicate-key/reformatted/{kind}", kind, text.encode(), None)


def rules() -> Iterator[BadFile]:
    for index, (kind, row, values, column) in enumerate(RULE_BREAKS):
        text, line = with_cells(kind, row, values)
        yield BadFile(f"rules/{index:02d}-{kind}-{'-'.join(values)}", kind, text.encode(), line, column)


def limits() -> Iterator[BadFile]:
    """Beyond what any file of any kind holds: each is a handful of problems, not one per
    column or per row (item 7 of issue 10)."""
    header, rows = header_of("customers"), rows_of("customers")
    wide = [*header, *(f"remark{n}" for n in range(50 - len(header) + 1))]
    yield BadFile(
        "limits/header-wider-than-accepted",
        "customers",
        to_text(wide, [r + ["x"] * (len(wide) - len(r)) for r in rows]).encode(),
        1,
    )
    yield BadFile(
        "limits/header-longer-than-a-line",
        "accounts",
        (",".join(header_of("accounts")) + ",x" * 70_000 + "\n").encode(),
        1,
    )
    long = "E1," + "A" * 140_000 + ",2026-11-01,\n"
    yield BadFile(
        "limits/lines-longer-than-a-line", "accounts", (base_text("accounts") + long * 3).encode(), 5
    )
    for kind, column, value in (("accounts", "registered_on", "2026-02-30"), ("customers", "name", "")):
        header, rows = header_of(kind), rows_of(kind)
        bad = list(rows[0])
        bad[header.index(column)] = value
        many = [*rows, *([bad] * 150)]
        yield BadFile(
            f"limits/more-problems-than-shown/{kind}",
            kind,
            to_text(header, many).encode(),
            len(rows) + 2,
            column,
        )


def corpus() -> list[BadFile]:
    files = [
        *encodings(),
        *binary(),
        *empty_and_blank(),
        *header_problems(),
        *row_structure(),
        *line_ends(),
        *dates_and_months(),
        *numbers(),
        *codes_and_choices(),
        *text_cells(),
        *duplicates(),
        *rules(),
        *limits(),
    ]
    ids = [f.id for f in files]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    return files
