"""import_csv for the contracts kinds: good files, each kind of bad row, encodings,
dry run and idempotence. Through the command, as operators run it."""

import contextlib
import csv
import datetime as dt
import io
import os
import subprocess
import sys
import threading

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contracts.models import Contract, Customer, IIJIDContract, ItemChange, Termination

from ..processes import MANAGE, command_env
from .factories import ContractFactory, CustomerFactory, ItemChangeFactory

pytestmark = pytest.mark.django_db

D = dt.date

CUSTOMERS = """customer_code,name,billing_name,email,postal_code,address,payment_terms_days
C100,株式会社アルファ,株式会社アルファ 経理部 御中,keiri@alpha.example.jp,102-0071,東京都千代田区富士見2-10-2,
C200,ベータ商事株式会社,ベータ商事株式会社 御中,,530-0001,大阪府大阪市北区梅田1-1-1,45
"""

IIJID = """customer_code,iijid_contract_code,start_on,end_on
C100,ID-100,2020-01-01,
C200,ID-200,2026/04/01,2027/03/31
"""

CONTRACTS = """contract_code,customer_code,item,applied_on,accepted_on,conditions_confirmed_on,billing_start_on,terms_version
SK-100,C100,enterprise,2026-03-20,2026-03-25,2026-03-30,2026-04-01,
SK-200,C200,service_provider,2026-04-01,2026-04-02,,,2018-01-01
SK-300,C100,service_provider,2026-05-01,,,,
"""

ITEM_CHANGES = """contract_code,item,effective_month,requested_on,accepted_on
SK-100,service_provider,2026-06,2026-05-10,2026-05-12
SK-100,enterprise,2026-09,2026-08-01,2026-08-03
"""

TERMINATIONS = """contract_code,notice_received_on,requested_on,on_prescribed_form
SK-100,2026-10-01,2026-12-31,yes
SK-200,2026-04-10,,no
"""


def run(kind, text, tmp_path, *args, encoding="utf-8"):
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_csv", kind, str(path), *args, stdout=out, stderr=err)
    return out.getvalue()


def run_failing(kind, text, tmp_path, *args, encoding="utf-8"):
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    err = io.StringIO()
    with pytest.raises(CommandError, match="何も取り込んでいません"):
        call_command("import_csv", kind, str(path), *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue().splitlines()


def import_all(tmp_path):
    return [
        run("customers", CUSTOMERS, tmp_path),
        run("iijid_contracts", IIJID, tmp_path),
        run("contracts", CONTRACTS, tmp_path),
        run("item_changes", ITEM_CHANGES, tmp_path),
        run("terminations", TERMINATIONS, tmp_path),
    ]


class TestGoodFiles:
    def test_every_kind_imports_and_a_second_run_changes_nothing(self, tmp_path):
        first = import_all(tmp_path)
        assert "新規 2件、更新 0件、変更なし 0件" in first[0]
        assert "新規 3件" in first[2]

        alpha = Customer.objects.get(code="C100")
        assert alpha.billing_name == "株式会社アルファ 経理部 御中"
        assert alpha.payment_terms_days is None
        assert Customer.objects.get(code="C200").payment_terms_days == 45
        assert IIJIDContract.objects.get(code="ID-200").end_on == D(2027, 3, 31)

        sk100 = Contract.objects.with_billing_relations().get(code="SK-100")
        assert sk100.billing_start_on == D(2026, 4, 1)
        assert sk100.missing_conditions() == []
        assert sk100.devices_prepared_confirmed_by == "import_csv"
        assert sk100.terms_version == "2018-01-01"
        assert [sk100.item_for_month(D(2026, m, 1)) for m in (5, 6, 9)] == [
            "enterprise",
            "service_provider",
            "enterprise",
        ]
        assert sk100.termination.effective_on == D(2026, 12, 31)
        assert Termination.objects.get(contract__code="SK-200").effective_on is None
        assert Contract.objects.get(code="SK-300").accepted_on is None

        counts = {m: m.objects.count() for m in (Customer, IIJIDContract, Contract, ItemChange, Termination)}
        second = import_all(tmp_path)
        for output in second:
            assert "新規 0件、更新 0件" in output
        assert {m: m.objects.count() for m in counts} == counts

    def test_a_changed_row_is_updated_and_others_are_unchanged(self, tmp_path):
        run("customers", CUSTOMERS, tmp_path)
        changed = CUSTOMERS.replace("ベータ商事株式会社 御中", "ベータ商事株式会社 総務部 御中")
        output = run("customers", changed, tmp_path)
        assert "新規 0件、更新 1件、変更なし 1件" in output
        assert Customer.objects.get(code="C200").billing_name == "ベータ商事株式会社 総務部 御中"

    def test_dry_run_reports_and_writes_nothing(self, tmp_path):
        output = run("customers", CUSTOMERS, tmp_path, "--dry-run")
        assert "確認のみ" in output and "新規 2件" in output
        assert Customer.objects.count() == 0

    def test_column_order_is_free_and_optional_columns_may_be_absent(self, tmp_path):
        run("customers", "billing_name,name,customer_code\nX 御中,X社,C900\n", tmp_path)
        customer = Customer.objects.get(code="C900")
        assert (customer.name, customer.email, customer.payment_terms_days) == ("X社", "", None)

    def test_blank_lines_and_slash_dates_are_accepted(self, tmp_path):
        CustomerFactory(code="C1", with_iijid=False)
        run(
            "iijid_contracts",
            "customer_code,iijid_contract_code,start_on\nC1,ID-1,2026/2/1\n,,\n\n",
            tmp_path,
        )
        assert IIJIDContract.objects.get(code="ID-1").start_on == D(2026, 2, 1)


class TestEncodings:
    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
    def test_detected_automatically(self, tmp_path, encoding):
        run("customers", CUSTOMERS, tmp_path, encoding=encoding)
        assert Customer.objects.get(code="C100").name == "株式会社アルファ"
        assert Customer.objects.get(code="C200").name == "ベータ商事株式会社"

    def test_bom_is_never_part_of_the_first_column(self, tmp_path):
        run("customers", CUSTOMERS, tmp_path, "--encoding", "utf-8", encoding="utf-8-sig")
        assert Customer.objects.count() == 2

    def test_forced_encoding_that_does_not_match_is_refused(self, tmp_path):
        lines = run_failing("customers", CUSTOMERS, tmp_path, "--encoding", "utf-8", encoding="cp932")
        assert lines[0].startswith("line 2: ")
        assert "UTF-8 または Shift_JIS" in lines[0]
        assert Customer.objects.count() == 0

    def test_neither_utf8_nor_cp932_is_refused(self, tmp_path):
        data = CUSTOMERS.encode("utf-8") + b"C300,\x80\xff\xfe,x,,,\n"
        lines = run_failing("customers", data, tmp_path)
        assert lines[0].startswith("line 4: ")


class TestBadFiles:
    def test_every_problem_is_reported_with_line_and_column_and_nothing_is_written(self, tmp_path):
        text = (
            "customer_code,name,billing_name,email,payment_terms_days\n"
            "C1,正しい行,正しい行 御中,,\n"
            "C2,,宛名,,\n"
            "C3,名前,宛名,not-an-email,\n"
            "C4,名前,宛名,,-5\n"
            "C5,名前,宛名\x07,,\n"
            "C1,重複,重複 御中,,\n"
        )
        lines = run_failing("customers", text, tmp_path)
        assert lines == [
            "line 3, column name: 値が必要です",
            "line 4, column email: not-an-email はメールアドレスではありません。",
            "line 5, column payment_terms_days: -5 は負の数です。回数は0以上で入力してください",
            "line 6, column billing_name: 目に見えない制御文字（U+0007）が含まれています。取り除いてください",
            "line 7, column customer_code: 2行目と重複しています（customer_code が同じ）",
        ]
        assert Customer.objects.count() == 0

    def test_header_problems(self, tmp_path):
        lines = run_failing("customers", "customer_code,name,colour,name\nC1,a,b,c\n", tmp_path)
        assert "line 1, column colour: 不明な列です" in lines[0]
        assert lines[1] == "line 1, column name: 同じ列が2回あります"
        assert lines[2] == "line 1, column billing_name: 必須の列がありません"

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", "line 1: ファイルが空です。見出し行が必要です"),
            ("customer_code,name,billing_name\n", "line 2: 見出し行だけでデータ行がありません"),
            (
                "customer_code,name,billing_name\nC1,a\n",
                "line 2: 値が2個ありますが、見出し行は3列です",
            ),
            ('customer_code,name,billing_name\nC1,"a,b\n', "line 2: この行をCSVとして読めません"),
            (
                "customer_code,name,billing_name\x00\n",
                "line 1: ファイルにNULバイトが含まれています",
            ),
        ],
    )
    def test_structural_problems(self, tmp_path, text, expected):
        lines = run_failing("customers", text, tmp_path)
        assert lines[0].startswith(expected)

    def test_impossible_dates_and_months(self, tmp_path):
        CustomerFactory(code="C1", with_iijid=False)
        lines = run_failing(
            "iijid_contracts",
            "customer_code,iijid_contract_code,start_on,end_on\n"
            "C1,ID-1,2026-02-31,\n"
            "C1,ID-2,2027-02-29,\n"
            "C1,ID-3,2026-13-01,\n"
            "C1,ID-4,01/04/2026,\n"
            "C1,ID-5,1999-12-31,\n"
            "C1,ID-6,2026-05-01,2026-04-30\n"
            "C9,ID-7,2026-05-01,\n",
            tmp_path,
        )
        assert lines == [
            "line 2, column start_on: 2026-02-31 は存在しない日付です（2026年2月は28日まで）",
            "line 3, column start_on: 2027-02-29 は存在しない日付です（2027年2月は28日まで）",
            "line 4, column start_on: 2026-13-01 は存在しない日付です（13月はありません）",
            "line 5, column start_on: '01/04/2026' は日付ではありません（YYYY-MM-DD または YYYY/MM/DD）",
            "line 6, column start_on: 1999-12-31 は 2000年1月1日〜2099年12月31日 の範囲外です",
            "line 7, column iijid_contract_code: 第3条（利用資格）: IIJ IDサービス契約の終了日は開始日より前にできません。",
            "line 8, column customer_code: 顧客 'C9' は登録されていません",
        ]
        assert IIJIDContract.objects.count() == 0

    def test_contract_rules_are_the_models_rules(self, tmp_path):
        CustomerFactory(code="C1", with_iijid=False)
        lines = run_failing(
            "contracts",
            "contract_code,customer_code,item,applied_on,accepted_on,conditions_confirmed_on,billing_start_on\n"
            "SK-1,C1,enterprise,2026-03-20,2026-03-25,,\n"
            "SK-2,C1,personal,2026-03-20,,,\n"
            "SK-3,C1,enterprise,2026-03-20,,,2026-04-01\n",
            tmp_path,
        )
        assert lines[0].startswith("line 2, column accepted_on: 第3条（利用資格）")
        assert lines[1].startswith("line 3, column item: 'personal' は指定できません")
        assert any(line.startswith("line 4, column billing_start_on: 第5条第3項") for line in lines)
        assert Contract.objects.count() == 0

    def test_item_changes_are_checked_against_each_other_and_the_month(self, tmp_path):
        ContractFactory(code="SK-1", in_service=True, item="enterprise")
        lines = run_failing(
            "item_changes",
            "contract_code,item,effective_month,requested_on,accepted_on\n"
            "SK-1,service_provider,2026-06,2026-05-10,2026-05-12\n"
            "SK-1,service_provider,2026-08,2026-07-10,2026-07-12\n"
            "SK-1,enterprise,2026-10,2026-10-01,2026-10-02\n"
            "SK-1,enterprise,2026-13,2026-10-01,2026-10-02\n",
            tmp_path,
        )
        assert lines[0].startswith(
            "line 3, column item: 第4条（契約内容の変更）: 2026年8月より前の品目はすでにサービスプロバイダです"
        )
        assert lines[1].startswith(
            "line 4, column effective_month: 第4条（契約内容の変更）: 変更の承諾日が2026年10月2日のため、適用できるのは早くても2026年11月から"
        )
        assert lines[2] == "line 5, column effective_month: '2026-13' は年月ではありません（YYYY-MM）"
        assert ItemChange.objects.count() == 0

    def test_termination_of_an_unaccepted_contract_is_refused(self, tmp_path):
        ContractFactory(code="SK-1")
        lines = run_failing(
            "terminations",
            "contract_code,notice_received_on,on_prescribed_form\nSK-1,2026-04-01,maybe\nSK-1,2026-04-01,yes\n",
            tmp_path,
        )
        assert lines == [
            "line 2, column on_prescribed_form: 'maybe' は yes または no ではありません",
            "line 3, column contract_code: 第6条（解除の効力が生ずる日）: 承諾済みの契約だけを解約できます。",
        ]

    def test_a_bad_row_anywhere_keeps_the_good_rows_out(self, tmp_path):
        ItemChangeFactory(contract__code="SK-1")
        before = ItemChange.objects.count()
        run_failing(
            "item_changes",
            "contract_code,item,effective_month,requested_on,accepted_on\n"
            "SK-1,enterprise,2026-09,2026-08-01,2026-08-02\n"
            "SK-404,enterprise,2026-09,2026-08-01,2026-08-02\n",
            tmp_path,
        )
        assert ItemChange.objects.count() == before

    def test_missing_file_is_a_clear_error(self, tmp_path):
        with pytest.raises(CommandError, match="No such file"):
            call_command("import_csv", "customers", str(tmp_path / "nope.csv"))


HEADER = "customer_code,name,billing_name\n"
SHOWN = "…ほかに少なくとも{more}件の問題があります（表示したのは最初の100件です）"
NO_ENGLISH = ("unexpected", "expected after", "field limit", "new-line", "quoted field", "end of data")


class TestCsvSyntax:
    """Each error of the csv module's reader, in Japanese, on its line."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                HEADER + 'C1,a,b\nC2,"a,b\n',
                'line 3: この行をCSVとして読めません: この行かそれ以降で開いた引用符（"）が閉じられないまま、'
                "ファイルが終わっています。引用符を閉じるか、取り除いてください",
            ),
            (
                HEADER + 'C1,"a"b,c\n',
                "line 2: この行をCSVとして読めません: 引用符で囲んだ値の閉じ引用符の後ろに文字が続いています"
                '（"…"x）。値全体を引用符で囲み、値の中の引用符は2つ重ねて（""）書いてください',
            ),
            (
                HEADER + "C1,a,b\n" + 'C2,"' + ("x" * 1000 + "\n") * 200 + '",b\n',
                "line 3: この行をCSVとして読めません: 値が131,072文字を超えています。この行かそれ以降で開いた"
                '引用符（"）が閉じられていないようです。引用符を閉じるか、取り除いてください',
            ),
            (
                '"customer_code,name,billing_name\nC1,a,b\n',
                'line 1: 見出し行をCSVとして読めません: この行かそれ以降で開いた引用符（"）が閉じられないまま、'
                "ファイルが終わっています。引用符を閉じるか、取り除いてください",
            ),
            (
                'customer_code,"name"x,billing_name\nC1,a,b\n',
                "line 1: 見出し行をCSVとして読めません: 引用符で囲んだ値の閉じ引用符の後ろに文字が続いています"
                '（"…"x）。値全体を引用符で囲み、値の中の引用符は2つ重ねて（""）書いてください',
            ),
        ],
        ids=[
            "unexpected-end-of-data",
            "text-after-quote",
            "field-limit",
            "header-end-of-data",
            "header-quote",
        ],
    )
    def test_each_reader_error_is_explained_in_japanese(self, tmp_path, text, expected):
        assert run_failing("customers", text, tmp_path) == [expected]

    @pytest.mark.parametrize(
        ("lines", "expected"),
        [
            (
                ["a\rb\n"],
                '引用符で囲まれていない値の中に改行があります。値を引用符（"…"）で囲むか、改行を取り除いてください',
            ),
            (
                ['"a\n'],
                'この行かそれ以降で開いた引用符（"）が閉じられないまま、ファイルが終わっています。引用符を閉じるか、取り除いてください',
            ),
        ],
    )
    def test_the_messages_are_those_of_the_running_pythons_csv_module(self, lines, expected):
        """The reader is never given a lone CR inside a line (text_lines splits there), but
        the message is known: produced by the csv module itself, so a new Python that words
        it differently is noticed here."""
        from contracts.csvimport import csv_message

        with pytest.raises(csv.Error) as raised:
            list(csv.reader(iter(lines), strict=True))
        assert csv_message(raised.value) == expected

    def test_an_error_a_later_python_may_add_is_still_japanese_around_it(self):
        from contracts.csvimport import csv_message

        assert csv_message(csv.Error("something new")) == (
            'CSVの形式がここで崩れています（something new）。この行の引用符（"）とカンマを確かめてください'
        )

    def test_no_message_of_the_corpus_shows_the_csv_modules_english(self, tmp_path):
        from tests.e2e.malformed_csv import corpus

        for bad in corpus():
            if bad.kind != "customers" or bad.options:
                continue
            path = tmp_path / "bad.csv"
            path.write_bytes(bad.data)
            err = io.StringIO()
            with pytest.raises(CommandError):
                call_command("import_csv", "customers", str(path), stdout=io.StringIO(), stderr=err)
            assert not any(word in err.getvalue() for word in NO_ENGLISH), (bad.id, err.getvalue())


class TestLimits:
    """Bad input of any size, and a report of bounded size."""

    def test_the_first_100_problems_are_shown_then_how_many_more(self, tmp_path):
        text = HEADER + "".join(f"C{n},,b\n" for n in range(250))
        path = tmp_path / "customers.csv"
        path.write_text(text)
        err = io.StringIO()
        with pytest.raises(CommandError) as raised:
            call_command("import_csv", "customers", str(path), stdout=io.StringIO(), stderr=err)
        lines = err.getvalue().splitlines()
        assert lines[:100] == [f"line {n}, column name: 値が必要です" for n in range(2, 102)]
        assert lines[100:] == [SHOWN.format(more=150)]
        assert str(raised.value) == f"{path}: 問題が250件あるため、何も取り込んでいません。"

    def test_the_first_problems_in_file_order_whichever_check_finds_them(self, tmp_path):
        """Line 2 names an unknown customer, which only the database check finds, after 150
        rows with a bad date were read: it still comes first."""
        CustomerFactory(code="C1", with_iijid=False)
        text = "customer_code,iijid_contract_code,start_on\nC9,ID-0,2026-01-01\n" + "".join(
            f"C1,ID-{n},2026-02-30\n" for n in range(1, 151)
        )
        lines = run_failing("iijid_contracts", text, tmp_path)
        assert lines[0] == "line 2, column customer_code: 顧客 'C9' は登録されていません"
        assert lines[1:100] == [
            f"line {n}, column start_on: 2026-02-30 は存在しない日付です（2026年2月は28日まで）"
            for n in range(3, 102)
        ]
        assert lines[100:] == [SHOWN.format(more=51)]

    def test_more_unknown_references_than_shown_are_each_left_out_of_the_model_checks(self, tmp_path):
        """150 rows naming unknown customers: the model kind skips each of them (it reads
        the lines of the problems its reference check added), though only 100 are kept."""
        text = "customer_code,iijid_contract_code,start_on\n" + "".join(
            f"C{n},ID-{n},2026-01-01\n" for n in range(150)
        )
        lines = run_failing("iijid_contracts", text, tmp_path)
        assert lines[:100] == [
            f"line {n + 2}, column customer_code: 顧客 'C{n}' は登録されていません" for n in range(100)
        ]
        assert lines[100:] == [SHOWN.format(more=50)]
        assert IIJIDContract.objects.count() == 0

    def test_identical_rows_are_duplicates_counted_beyond_the_first_100(self, tmp_path):
        lines = run_failing("customers", HEADER + "C1,a,b\n" * 1000, tmp_path)
        assert lines[:100] == [
            f"line {n}, column customer_code: 2行目と重複しています（customer_code が同じ）"
            for n in range(3, 103)
        ]
        assert lines[100:] == [SHOWN.format(more=899)]

    def test_a_header_wider_than_any_kind_is_one_problem(self, tmp_path):
        header = HEADER.strip() + "".join(f",extra{n}" for n in range(48))
        lines = run_failing("customers", header + "\n", tmp_path)
        assert lines == [
            "line 1: 見出し行に51列あり、上限の50列を超えています。customers の列は次のとおりです: customer_code, "
            "name, billing_name, email, postal_code, address, payment_terms_days, email_cc"
        ]
        fifty = HEADER.strip() + "".join(f",extra{n}" for n in range(47))  # 50: each unknown column
        assert len(run_failing("customers", fifty + "\n", tmp_path)) == 47

    def test_a_header_of_a_million_columns_is_one_problem(self, tmp_path):
        header = HEADER.strip() + "".join(f",c{n}" for n in range(1_000_000))
        lines = run_failing("customers", header + "\nC1,a,b\n", tmp_path)
        assert lines == [
            f"line 1: 見出し行が{len(header):,}文字あり、上限の131,072文字を超えています。customers の列は次のとおり"
            "です: customer_code, name, billing_name, email, postal_code, address, payment_terms_days, email_cc"
        ]

    def test_each_line_longer_than_a_line_may_be_is_one_problem_and_the_rest_is_read(self, tmp_path):
        long = "C9,".ljust(200_000, "x") + ",b\n"
        text = HEADER + "C1,a,b\n" + long + "C2,,b\n" + long * 2 + "C3," + "," * 300_000 + "\n"
        lines = run_failing("customers", text, tmp_path)
        too_long = "文字あり、上限の131,072文字を超えています。これほど長い値はありません。正しいファイルか確かめてください"
        assert lines == [
            f"line 3: この行は200,002{too_long}",
            "line 4, column name: 値が必要です",
            f"line 5: この行は200,002{too_long}",
            f"line 6: この行は200,002{too_long}",
            f"line 7: この行は300,003{too_long}",
        ]

    def test_a_file_over_the_size_limit_is_refused_unless_allowed(self, tmp_path, settings):
        settings.IMPORT_MAX_BYTES = 1024 * 1024
        path = tmp_path / "customers.csv"
        path.write_text(HEADER + "C1,a,b\n" + ",,\n" * 400_000)  # 1.1 MB: blank lines but one row
        with pytest.raises(CommandError) as raised:
            call_command("import_csv", "customers", str(path), stdout=io.StringIO(), stderr=io.StringIO())
        assert str(raised.value) == (
            f"{path} は 1.1 MB あり、取り込める上限の 1.0 MB（IMPORT_MAX_BYTES）を超えています。ファイルを分けるか、"
            "そのまま取り込むには --allow-large を付けてください。"
        )
        assert Customer.objects.count() == 0
        output = run("customers", path.read_bytes(), tmp_path, "--allow-large")
        assert "新規 1件" in output and Customer.objects.count() == 1

    def test_a_file_of_exactly_the_limit_is_read(self, tmp_path, settings):
        data = (HEADER + "C1,a,b\n").encode()
        settings.IMPORT_MAX_BYTES = len(data)
        assert "新規 1件" in run("customers", data, tmp_path)

    def test_a_pipe_is_read_no_further_than_the_limit(self, tmp_path, settings):
        """A named pipe (or a device) has no size to look at: it is read up to the limit."""
        settings.IMPORT_MAX_BYTES = 1024 * 1024
        fifo = tmp_path / "customers.csv"
        os.mkfifo(fifo)

        def feed():
            with contextlib.suppress(BrokenPipeError), fifo.open("wb") as pipe:
                pipe.write((HEADER + "C1,a,b\n" + ",,\n" * 1_000_000).encode())

        writer = threading.Thread(target=feed)
        writer.start()
        try:
            with pytest.raises(CommandError, match=r"は > 1\.0 MB あり.*--allow-large"):
                call_command("import_csv", "customers", str(fifo), stdout=io.StringIO(), stderr=io.StringIO())
        finally:
            writer.join(timeout=30)
        assert Customer.objects.count() == 0


class ClosedAfter(io.StringIO):
    """A pipe whose reader stops after ``lines`` writes."""

    def __init__(self, lines):
        super().__init__()
        self.lines = lines

    def write(self, text):
        if self.getvalue().count("\n") >= self.lines:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)

    def fileno(self):
        return 97


class TestReaderStoppingEarly:
    def test_the_summary_to_a_reader_that_is_gone_ends_quietly(self, tmp_path, monkeypatch):
        redirected = []
        monkeypatch.setattr("os.dup2", lambda fd, target: redirected.append(target))
        path = tmp_path / "customers.csv"
        path.write_text(CUSTOMERS)
        err = io.StringIO()
        call_command("import_csv", "customers", str(path), stdout=ClosedAfter(0), stderr=err)
        assert (redirected, err.getvalue()) == ([97], "")
        assert Customer.objects.count() == 2

    def test_problems_to_a_reader_that_stops_still_end_in_the_refusal(self, tmp_path, monkeypatch):
        """`import_csv … 2>&1 | head -1`: the exit status still says the file was refused."""
        redirected = []
        monkeypatch.setattr("os.dup2", lambda fd, target: redirected.append(target))
        path = tmp_path / "customers.csv"
        path.write_text(HEADER + "".join(f"C{n},,b\n" for n in range(20)))
        err = ClosedAfter(1)
        with pytest.raises(CommandError, match="問題が20件あるため"):
            call_command("import_csv", "customers", str(path), stdout=io.StringIO(), stderr=err)
        assert err.getvalue() == "line 2, column name: 値が必要です\n" and redirected == [97]


@pytest.mark.django_db(transaction=True)
def test_import_csv_piped_into_a_reader_that_is_gone_ends_quietly(tmp_path):
    """`import_csv customers FILE | true`: the summary meets a closed pipe when the
    interpreter would flush it on exit."""
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS)
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, MANAGE, "import_csv", "customers", str(path)],
            env=command_env(),
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        process.stdout.close()
        status = process.wait(timeout=120)
    assert (status, errors.read_text()) == (0, "")
    assert Customer.objects.count() == 2


@pytest.mark.postgres
class TestPsycopgErrors:
    """COPY runs on psycopg's own cursor, which Django does not wrap: its errors are made
    Django's, so that the engine's and the commands' `except DatabaseError` see them."""

    def test_an_error_inside_a_copy_is_djangos(self):
        from django.db import IntegrityError

        from contracts.csvimport import bulk_insert

        with pytest.raises(IntegrityError) as raised:
            bulk_insert(Customer, ("code", "name", "billing_name"), [("C1", None, "x")])  # NOT NULL
        assert isinstance(raised.value.__cause__, psycopg.errors.NotNullViolation)

    @pytest.mark.parametrize(
        ("cause", "outcome"),
        [
            (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), "refused"),
            (psycopg.OperationalError("sending copy data failed: server closed the connection"), "lost"),
        ],
    )
    def test_a_kinds_own_copy_failing_is_a_problem_or_a_lost_connection(self, monkeypatch, cause, outcome):
        from django.db import OperationalError

        from contracts.csvimport import ImportRejected, run_import
        from contracts.imports import CustomerKind

        def check(self, rows, problems):
            raise cause  # as a kind's COPY on psycopg's cursor would

        monkeypatch.setattr(CustomerKind, "check", check)
        if outcome == "refused":
            with pytest.raises(ImportRejected) as rejected:
                run_import("customers", b"customer_code,name,billing_name\nC1,a,b\n")
            assert str(rejected.value.problems[0]) == (
                "line 1: データベースでエラーが発生しました。何も書き込んでいません: canceling statement due to lock timeout"
            )
        else:
            with pytest.raises(OperationalError) as raised:
                run_import("customers", b"customer_code,name,billing_name\nC1,a,b\n")
            assert raised.value.__cause__ is cause


def test_customers_carry_several_addresses_and_a_cc(db, tmp_path):
    """R19: where invoices are sent; each address checked, the wrong one named."""
    header = "customer_code,name,billing_name,email,email_cc\n"
    good = 'C1,アルファ,アルファ 御中,"a@alpha.example.jp, b@alpha.example.jp",eigyo@iij.example.jp\n'
    lines = run_failing(
        "customers", header + good + "C2,ベータ,ベータ 御中,c@beta.example.jp;x@,y\n", tmp_path
    )
    assert lines == [
        "line 3, column email: x@ はメールアドレスではありません。",
        "line 3, column email_cc: y はメールアドレスではありません。",
    ]
    assert not Customer.objects.exists()
    run("customers", header + good, tmp_path)
    assert Customer.objects.get(code="C1").mail_recipients() == (
        ["a@alpha.example.jp", "b@alpha.example.jp"],
        ["eigyo@iij.example.jp"],
    )
