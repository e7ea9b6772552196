"""The usage kinds checked and merged in SQL over a staging table (issue 16, item 2): each
whole-file check (the same key twice, unknown contracts, a deregistration before the
registration, overlaps within the file and with stored periods), its first problems in
file order and the others counted, the merge, and the memory of a large file, measured in
a process of its own. On both databases, as the suite runs."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import AccountRegistration, AuthCount, OneTimeCharge
from tests.contracts.factories import ContractFactory

from .. import processes
from .factories import AccountRegistrationFactory

pytestmark = pytest.mark.django_db

D = dt.date
ACCOUNTS = "contract_code,account_id,registered_on,deregistered_on\n"
SHOWN = "…ほかに少なくとも{more}件の問題があります（表示したのは最初の100件です）"


def already(account: str, since: str) -> str:
    return f"登録ID {account} は {since} にすでに登録されています（登録期間は重複できません）"


@pytest.fixture
def contracts(db):
    dates = {"applied_on": D(2026, 3, 20), "accepted_on": D(2026, 3, 25), "billing_start_on": D(2026, 4, 1)}
    return (
        ContractFactory(code="E1", item="enterprise", in_service=True, **dates),
        ContractFactory(code="S1", item="service_provider", in_service=True, **dates),
    )


def write(tmp_path, kind, text):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(kind, text, tmp_path, *args):
    out = io.StringIO()
    call_command("import_csv", kind, write(tmp_path, kind, text), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_failing(kind, text, tmp_path):
    err = io.StringIO()
    with pytest.raises(CommandError, match="何も取り込んでいません") as raised:
        call_command("import_csv", kind, write(tmp_path, kind, text), stdout=io.StringIO(), stderr=err)
    return err.getvalue().splitlines(), str(raised.value)


def day(n: int) -> str:
    return (D(2026, 1, 1) + dt.timedelta(days=n)).isoformat()


@pytest.mark.usefixtures("contracts")
class TestChecksInSql:
    def test_unknown_contracts_beyond_the_first_100_are_counted(self, tmp_path):
        rows = "".join(f"S9,{day(n)},1\n" for n in range(150))
        lines, refusal = run_failing("auth_counts", "contract_code,date,success_count\n" + rows, tmp_path)
        assert lines[:100] == [
            f"line {n}, column contract_code: 契約 'S9' は登録されていません" for n in range(2, 102)
        ]
        assert lines[100:] == [SHOWN.format(more=50)]
        assert "問題が150件" in refusal

    def test_the_first_100_of_all_checks_in_file_order(self, tmp_path):
        """Bad cells (found while streaming), unknown codes and duplicates (SQL, after the
        whole file) alternate line by line: the report is in file order all the same."""
        rows = []
        for n in range(80):
            rows.append(f"S1,{day(n)},x\n")  # bad cell: line 2 + 3n
            rows.append(f"S9,{day(n)},1\n")  # unknown contract: line 3 + 3n
            rows.append(f"S1,{day(n // 2)},1\n")  # line 4 + 3n: odd n, the day of the row before
        lines, refusal = run_failing(
            "auth_counts", "contract_code,date,success_count\n" + "".join(rows), tmp_path
        )
        expected = []
        for n in range(80):
            expected.append(f"line {2 + 3 * n}, column success_count: '{'x'}' は整数ではありません")
            expected.append(f"line {3 + 3 * n}, column contract_code: 契約 'S9' は登録されていません")
            if n % 2:
                expected.append(
                    f"line {4 + 3 * n}, column date: {4 + 3 * (n - 1)}行目と重複しています（contract_code, date が同じ）"
                )
        assert lines[:100] == expected[:100]
        # 80 bad cells, 80 unknown contracts, 40 duplicates
        assert lines[100:] == [SHOWN.format(more=80 + 80 + 40 - 100)]
        assert "問題が200件" in refusal

    def test_duplicates_are_found_whatever_the_date_format_and_name_the_first_line(self, tmp_path):
        text = (
            "contract_code,description,amount,due_on\n"
            "E1,作業,500,2026-10-05\n"
            "E1,作業,500,2026-10-06\n"
            "E1,作業,600,2026/10/05\n"
            "E1,作業,700,2026/10/5\n"
        )
        lines, _refusal = run_failing("one_time_charges", text, tmp_path)
        assert lines == [
            "line 4, column description: 2行目と重複しています（contract_code, due_on, description が同じ）",
            "line 5, column description: 2行目と重複しています（contract_code, due_on, description が同じ）",
        ]
        assert not OneTimeCharge.objects.exists()

    def test_rows_of_unknown_contracts_are_left_out_of_the_overlap_check(self, tmp_path):
        text = ACCOUNTS + "E9,a1,2026-04-01,\nE9,a1,2026-05-01,\nE1,a1,2026-05-01,\n"
        lines, _refusal = run_failing("accounts", text, tmp_path)
        assert lines == [
            "line 2, column contract_code: 契約 'E9' は登録されていません",
            "line 3, column contract_code: 契約 'E9' は登録されていません",
        ]

    def test_of_two_earlier_periods_reaching_as_far_the_first_is_named(self, tmp_path):
        text = (
            ACCOUNTS + "E1,a1,2026-04-01,2026-06-30\n"
            "E1,a1,2026-05-01,2026-06-30\n"  # within line 2's period
            "E1,a1,2026-06-15,\n"  # lines 2 and 3 both reach 2026-06-30: line 2 is named
            "E1,a1,2026-07-01,\n"  # after both, but within line 4's open period
        )
        lines, _refusal = run_failing("accounts", text, tmp_path)
        assert lines == [
            f"line 3, column registered_on: {already('a1', '2026年4月1日〜2026年6月30日')}",
            f"line 4, column registered_on: {already('a1', '2026年4月1日〜2026年6月30日')}",
            f"line 5, column registered_on: {already('a1', '2026年6月15日〜')}",
        ]

    def test_a_stored_period_counts_unless_a_good_row_replaces_it(self, tmp_path, contracts):
        AccountRegistrationFactory(contract=contracts[0], account_id="a1", registered_on=D(2026, 4, 1))
        AccountRegistrationFactory(contract=contracts[0], account_id="a2", registered_on=D(2026, 4, 1))
        text = (
            ACCOUNTS + "E1,a1,2026-04-01,2026-03-31\n"  # refused: the stored open period stays
            "E1,a1,2026-05-01,\n"
            "E1,a2,2026-04-01,2026-04-30\n"  # ends the stored period: room for the next
            "E1,a2,2026-05-01,\n"
        )
        lines, _refusal = run_failing("accounts", text, tmp_path)
        assert lines == [
            "line 2, column deregistered_on: 登録日 2026年4月1日 より前です",
            f"line 3, column registered_on: {already('a1', '2026年4月1日〜')}",
        ]
        assert "新規 2件、更新 1件、変更なし 0件" in run(
            "accounts", ACCOUNTS + "".join(text.splitlines(True)[3:]) + "E1,a3,2026-04-01,\n", tmp_path
        )
        assert sorted(
            AccountRegistration.objects.values_list("account_id", "registered_on", "deregistered_on")
        ) == [
            ("a1", D(2026, 4, 1), None),
            ("a2", D(2026, 4, 1), D(2026, 4, 30)),
            ("a2", D(2026, 5, 1), None),
            ("a3", D(2026, 4, 1), None),
        ]

    def test_a_stored_period_after_the_files_reaching_it_is_reported_on_the_files_line(
        self, tmp_path, contracts
    ):
        AccountRegistrationFactory(
            contract=contracts[0],
            account_id="a1",
            registered_on=D(2026, 6, 1),
            deregistered_on=D(2026, 6, 30),
        )
        text = ACCOUNTS + "E1,a2,2026-04-01,\nE1,a1,2026-04-01,2026-06-01\n"
        lines, _refusal = run_failing("accounts", text, tmp_path)
        assert lines == [f"line 3, column registered_on: {already('a1', '2026年4月1日〜2026年6月1日')}"]

    def test_an_account_is_one_of_its_contract(self, tmp_path, contracts):
        """The same registered ID on another contract is another account: no overlap."""
        AccountRegistrationFactory(contract=contracts[0], account_id="a1", registered_on=D(2026, 4, 1))
        assert "新規 1件" in run("accounts", ACCOUNTS + "S1,a1,2026-04-01,\n", tmp_path)


@pytest.mark.usefixtures("contracts")
class TestMerge:
    def test_counts_and_values_of_a_reimport_with_changes(self, tmp_path):
        first = "contract_code,date,success_count\nS1,2026-10-01,10\nS1,2026-10-02,20\nS1,2026-10-03,30\n"
        assert "auth_counts: 3行: 新規 3件、更新 0件、変更なし 0件" in run("auth_counts", first, tmp_path)
        again = "contract_code,date,success_count\nS1,2026-10-03,30\nS1,2026/10/02,25\nS1,2026-10-04,0\n"
        assert "auth_counts: 3行: 新規 1件、更新 1件、変更なし 1件" in run("auth_counts", again, tmp_path)
        assert sorted(AuthCount.objects.values_list("date", "success_count")) == [
            (D(2026, 10, 1), 10),
            (D(2026, 10, 2), 25),
            (D(2026, 10, 3), 30),
            (D(2026, 10, 4), 0),
        ]

    def test_a_dry_run_reports_the_same_counts_and_writes_nothing(self, tmp_path):
        run("accounts", ACCOUNTS + "E1,a1,2026-04-01,\n", tmp_path)
        text = ACCOUNTS + "E1,a1,2026-04-01,2026-09-30\nE1,a1,2026-10-01,\nE1,a2,2026-04-01,\n"
        assert "確認のみ（書き込みなし）。accounts: 3行: 新規 2件、更新 1件、変更なし 0件" in run(
            "accounts", text, tmp_path, "--dry-run"
        )
        assert list(AccountRegistration.objects.values_list("account_id", "deregistered_on")) == [
            ("a1", None)
        ]

    def test_two_imports_in_one_transaction_each_have_their_own_staging_table(self, tmp_path):
        """The admin's preview and confirmation, or a test, run imports inside an enclosing
        transaction: the temporary tables of the first are gone before the second."""
        from contracts.csvimport import run_import

        first = run_import("auth_counts", b"contract_code,date,success_count\nS1,2026-10-01,1\n")
        second = run_import("auth_counts", b"contract_code,date,success_count\nS1,2026-10-01,2\n")
        assert (first.counts.created, second.counts.updated) == (1, 1)

    def test_values_written_as_copy_text_are_stored_as_read(self, tmp_path):
        """PostgreSQL's staging table is filled with the cells' COPY text (no value built
        only to be formatted again): a backslash is escaped, a count's leading zeros and a
        slashed date come out as their values; SQLite's with the values themselves."""
        run(
            "auth_counts",
            "contract_code,date,success_count\nS1,2026/10/1,007\nS1, 2026-10-02 , 0 \n",
            tmp_path,
        )
        assert sorted(AuthCount.objects.values_list("date", "success_count")) == [
            (D(2026, 10, 1), 7),
            (D(2026, 10, 2), 0),
        ]
        run(
            "one_time_charges",
            "contract_code,description,amount,due_on\nS1,C:\\設定\\t \\N,01000,2026-10-01\n",
            tmp_path,
        )
        assert list(OneTimeCharge.objects.values_list("description", "amount")) == [("C:\\設定\\t \\N", 1000)]


#: files with every kind of row: good ones, blank ones, too few cells, cells no column reads
COPY_TEXT_FILES = {
    "accounts (a column left out)": (
        "accounts",
        "contract_code,account_id,registered_on\n"
        "E1,a\\1,2026/4/1\n,,\n  ,  ,  \nE1,a2\nE1,,2026-04-01\nE 1,a3,2026-02-30\nE1, a4 ,2026-04-01\n",
    ),
    "accounts (an optional column)": (
        "accounts",
        "registered_on,deregistered_on,account_id,contract_code\n"
        "2026-04-01,,a1,E1\n2026-04-01, ,a2,E1\n2026-04-01,2026-05-1,a3,E1\n2026-04-01,x,a4,E1\n,,,\n",
    ),
    "auth_counts": (
        "auth_counts",
        "contract_code,date,success_count\nS1,2026-10-01,0\nS1,2026-10-02,007\nS1,2026-10-03,-1\n"
        "S1,2026-10-04,１２\nS1,2026-10-05,\nS1,2026-10-06,99999999999999999999\n,,\n"
        "S1,2026-10-07,5,\nS1,2026-10-08, 8 \n",
    ),
    "one_time_charges": (
        "one_time_charges",
        "contract_code,description,amount,due_on\nS1,C:\\temp,01000,2026-10-01\nS1,,1000,2026-10-01\n"
        'S1,a,1.5,2026-10-01\nS1,"a\x01",1,2026-10-01\nS1,"x, y",1,2026-10-01\n',
    ),
}


@pytest.mark.parametrize("kind_name, text", COPY_TEXT_FILES.values(), ids=COPY_TEXT_FILES)
def test_the_copy_text_holds_the_rows_and_problems_of_the_reading(kind_name, text):
    """``iter_copy_text`` (PostgreSQL's staging) checks cells its own faster way: it gives
    exactly the rows ``iter_rows`` reads, as COPY text, and exactly its problems."""
    from contracts.csvimport import REGISTRY, Problems, iter_rows
    from contracts.csvimport.cells import copy_value
    from contracts.csvimport.reading import iter_copy_text

    kind = REGISTRY[kind_name]
    read, copied = Problems(), Problems()
    rows = list(iter_rows(kind, text, read))
    expected = "".join(
        "\t".join([str(line), *(copy_value(values[c.name]) for c in kind.columns)]) + "\n"
        for line, values in rows
    )
    blocks = list(iter_copy_text(kind, text, copied, rows_per_block=2))
    assert rows and read.items  # the file has both
    assert "".join(block for _rows, block in blocks) == expected
    assert [n for n, _block in blocks] == [2] * (len(rows) // 2) + [1] * (len(rows) % 2)
    assert [str(p) for p in copied.items] == [str(p) for p in read.items]


def test_a_row_the_fast_check_refuses_but_the_parsers_take_is_still_written(monkeypatch):
    """Should a column's COPY text refuse a cell its parser takes, the row is written from
    the parsed values, not lost and not a crash."""
    from contracts.csvimport import REGISTRY, Problems, reading
    from contracts.csvimport.problems import CellError

    def refusing(column):
        def convert(cell):
            raise CellError("")

        return convert

    monkeypatch.setattr(reading, "cell_text", refusing)
    problems = Problems()
    text = "contract_code,date,success_count\nS1,2026/10/1,007\nS1,2026-10-02,x\n"
    blocks = list(reading.iter_copy_text(REGISTRY["auth_counts"], text, problems))
    assert blocks == [(1, "2\tS1\t2026-10-01\t7\n")]
    assert [(p.line, p.column) for p in problems.items] == [(3, "success_count")]


def test_the_copy_text_of_a_file_without_rows_is_its_problem():
    from contracts.csvimport import REGISTRY, Problems
    from contracts.csvimport.reading import iter_copy_text

    problems = Problems()
    text = "contract_code,date,success_count\n,,\n"
    assert list(iter_copy_text(REGISTRY["auth_counts"], text, problems)) == []
    assert [(p.line, p.column, p.message) for p in problems.items] == [
        (2, None, "見出し行だけでデータ行がありません")
    ]


# --- memory -------------------------------------------------------------------------------

#: Django and the project take about 60-80 MB; the old engine held about 840 bytes a row
#: (319 MB at 300,000 rows), the staged one a block of the file and one row.
MEMORY_BOUND = 150 * 1024 * 1024


@pytest.mark.django_db(transaction=True)
def test_a_large_file_is_checked_in_flat_memory(tmp_path):
    """300,000 good rows and, last, one of an unknown contract: every row is read, parsed,
    staged and checked before the file is refused; the old engine held every row to check
    it (319 MB). In a process of its own, as an operator runs it."""
    ContractFactory(code="E1", item="enterprise", in_service=True, billing_start_on=D(2026, 4, 1))
    path = tmp_path / "accounts.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(ACCOUNTS)
        for n in range(300_000):
            handle.write(f"E1,account-{n:07d}@example.jp,2026-{n % 12 + 1:02d}-01,\n")
        handle.write("E9,last@example.jp,2026-04-01,\n")
    result, peak = processes.manage_measured("import_csv", "accounts", str(path), stats=tmp_path / "rss")
    assert result.returncode == 1, result.stderr[-2000:]
    assert (
        result.stderr.splitlines()[0] == "line 300002, column contract_code: 契約 'E9' は登録されていません"
    )
    assert peak < MEMORY_BOUND, f"peak RSS {peak / 2**20:.0f} MB"
    assert not AccountRegistration.objects.exists()


#: the stored history of the memory test below: 250 contracts × 1,600 days, from the day
#: their billing started (2022-01-10) to 2026-05-28
HISTORY_SQL = {
    "postgresql": (
        "INSERT INTO billing_authcount (contract_id, date, success_count) "
        "SELECT c.id, DATE '2022-01-10' + d, d FROM contracts_contract c CROSS JOIN generate_series(0, 1599) d"
    ),
    "sqlite": (
        "WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 1599) "
        "INSERT INTO billing_authcount (contract_id, date, success_count) "
        "SELECT c.id, date('2022-01-10', '+' || n || ' days'), n FROM contracts_contract c, d"
    ),
}


@pytest.mark.django_db(transaction=True)
def test_memory_does_not_grow_with_the_stored_history_of_the_files_contracts(tmp_path):
    """A day of 250 Service Provider contracts imported before and after 400,000 stored days
    of those contracts: the same peak. The engine before staging loaded every stored row of
    the file's contracts to compare them with the file's."""
    from django.db import connection

    for n in range(250):
        ContractFactory(code=f"S{n:03d}", item="service_provider", in_service=True, applied_on=D(2022, 1, 5))

    def day_file(date: str) -> str:
        path = tmp_path / f"auth-{date}.csv"
        rows = "".join(f"S{n:03d},{date},{n}\n" for n in range(250))
        path.write_text("contract_code,date,success_count\n" + rows, encoding="utf-8")
        return str(path)

    before, before_peak = processes.manage_measured(
        "import_csv", "auth_counts", day_file("2026-10-01"), stats=tmp_path / "before"
    )
    assert before.returncode == 0, before.stderr[-2000:]
    with connection.cursor() as cursor:
        cursor.execute(HISTORY_SQL[connection.vendor])
    assert AuthCount.objects.count() == 400_250
    after, after_peak = processes.manage_measured(
        "import_csv", "auth_counts", day_file("2026-10-02"), stats=tmp_path / "after"
    )
    assert after.returncode == 0, after.stderr[-2000:]
    assert "auth_counts: 250行: 新規 250件、更新 0件、変更なし 0件" in after.stdout
    assert AuthCount.objects.filter(date=D(2026, 10, 2)).count() == 250
    # 400,000 rows held as tuples would take 40 MB or more
    assert after_peak - before_peak < 8 * 1024 * 1024, (
        f"peak RSS {before_peak / 2**20:.0f} MB before the history, {after_peak / 2**20:.0f} MB after"
    )
