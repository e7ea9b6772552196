"""Bad input (issue 4, item 5): every file of the generated corpus (``malformed_csv.py``)
is refused by every import kind, with and without ``--dry-run``, on a database that
already holds data: a ``CommandError``, never another exception; every line on standard
error a line-numbered problem; no table changed. A fuzz test throws random bytes and
random mutations of valid files at the same command (``FUZZ_EXAMPLES=5000`` for a
longer hunt than CI's; best on SQLite: on PostgreSQL every example is a savepoint of
one long transaction, and thousands of them slow it down)."""

import functools
import io
import os
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contracts.csvimport import run_import
from contracts.models import Customer
from contracts.text import invisible_character
from tests.billing.approvals import import_rate_cards

from .. import processes
from . import malformed_csv
from .malformed_csv import BASE, KINDS, SEED

pytestmark = pytest.mark.django_db

PROBLEM = re.compile(r"^line \d+(, column [^:]+)?: .+")
#: after the first 100 problems, the one line that counts the others
MORE = re.compile(r"^…ほかに少なくとも[\d,]+件の問題があります（表示したのは最初の100件です）$")
REFUSED = "何も取り込んでいません"
#: the summary of an accepted file, e.g. "確認のみ（書き込みなし）。customers: 3行: 新規 2件、更新 1件、変更なし 0件"
SUMMARY = re.compile(
    r"^(確認のみ（書き込みなし）。)?[a-z_]+: \d+行: 新規 \d+件、更新 \d+件、変更なし \d+件\n$"
)

CORPUS = malformed_csv.corpus()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The valid data of ``SEED``, once for the module: inside a transaction that is rolled
    back at the end, each test's own transaction nested in it (a savepoint), so that
    nothing is ever committed and every test starts from the same rows."""
    with django_db_blocker.unblock(), transaction.atomic():
        staff = {}
        for name in ("nyuryoku", "shonin"):
            staff[name] = get_user_model().objects.create_user(name, password="x", is_staff=True)
            staff[name].groups.add(Group.objects.get(name="Sales"))  # may enter and approve rate cards
        for kind in KINDS:
            if kind == "rate_cards":
                import_rate_cards(SEED[kind], author=staff["nyuryoku"], approver=staff["shonin"])
            else:
                run_import(kind, SEED[kind].encode(), user=staff["nyuryoku"])
        yield
        transaction.set_rollback(True)


@functools.cache
def _tables() -> tuple[str, ...]:
    tables = tuple(connection.introspection.table_names())
    assert "contracts_customer" in tables and "billing_ratecard" in tables
    return tables


def snapshot() -> dict[str, object]:
    """Every row of every table of the database. Plain SQL, one statement on PostgreSQL:
    it is taken some 10,000 times, and ORM queries or a round trip per table would be
    most of the run time."""
    quote = connection.ops.quote_name
    tables = _tables()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT "
                + ", ".join(
                    f"(SELECT string_agg(t::text, E'\\n' ORDER BY t::text) FROM {quote(t)} t)" for t in tables
                )
            )
            return dict(zip(tables, cursor.fetchone(), strict=True))
        rows = {}
        for table in tables:
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY 1")
            rows[table] = cursor.fetchall()
        return rows


@dataclass
class Outcome:
    error: CommandError | None
    stdout: str
    stderr: str

    def problems(self) -> list[str]:
        return self.stderr.splitlines()


def import_csv(kind, path, *options) -> Outcome:
    """The command as an operator runs it, naming themselves (``--user nyuryoku``). Any
    exception but ``CommandError`` propagates: a traceback is a failure of the test."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_csv", kind, str(path), "--user", "nyuryoku", *options, stdout=out, stderr=err)
    except CommandError as error:
        return Outcome(error, out.getvalue(), err.getvalue())
    return Outcome(None, out.getvalue(), err.getvalue())


def assert_refused_cleanly(outcome: Outcome, what: str) -> None:
    assert outcome.error is not None, f"{what}: accepted: {outcome.stdout}"
    assert REFUSED in str(outcome.error), f"{what}: {outcome.error}"
    assert outcome.stdout == "", f"{what}: {outcome.stdout}"
    problems = outcome.problems()
    assert problems, f"{what}: refused without a problem on standard error"
    if MORE.match(problems[-1]):
        problems = problems[:-1]
        assert len(problems) == 100, f"{what}: {len(problems)} problems before the count of the others"
    assert len(problems) <= 100, f"{what}: {len(problems)} problems shown"
    unnumbered = [line for line in problems if not PROBLEM.match(line)]
    assert not unnumbered, f"{what}: not a line-numbered problem: {unnumbered[:3]}"


def test_the_corpus_is_large_and_covers_every_category():
    assert len(CORPUS) >= 200
    categories = {bad.id.split("/")[0] for bad in CORPUS}
    assert categories >= {
        "encoding",
        "binary",
        "empty",
        "header-only",
        "header",
        "rows",
        "line-ends",
        "bom-in-the-middle",
        "dates",
        "months",
        "amounts",
        "counts",
        "tiers",
        "duplicate-key",
        "unknown",
        "codes",
        "choices",
        "formula",
        "control",
        "long",
        "rules",
        "limits",
    }
    assert {bad.kind for bad in CORPUS} == set(KINDS)
    assert malformed_csv.corpus() == CORPUS  # generated, and the same every time


@pytest.mark.parametrize("kind", KINDS)
def test_each_base_file_is_accepted_and_would_create_and_update(seeded, tmp_path, kind):
    """Each bad file is a base file with one thing broken: the base itself imports, so a
    refusal comes from what was broken, and a half-write would change the database."""
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(malformed_csv.base_text(kind).encode())
    before = snapshot()
    dry = import_csv(kind, path, "--dry-run")
    assert dry.error is None, dry.stderr
    assert SUMMARY.match(dry.stdout), dry.stdout
    created, updated = map(int, re.search(r"新規 (\d+)件、更新 (\d+)件", dry.stdout).groups())
    assert created >= 1 and updated >= 1, dry.stdout
    assert snapshot() == before
    assert import_csv(kind, path).error is None
    assert snapshot() != before


@pytest.mark.parametrize(
    "value", [v for v in malformed_csv.FORMULAS if invisible_character(v.strip()) is None]
)
def test_formula_like_text_is_text(seeded, tmp_path, value):
    """``@cosme株式会社`` is a company name: imported as it is (the admin takes it too);
    the exports neutralise it where a spreadsheet reads it (test_exports.py)."""
    path = tmp_path / "names.csv"
    path.write_bytes(malformed_csv.with_cells("customers", 1, {"name": value})[0].encode())
    outcome = import_csv("customers", path)
    assert outcome.error is None, outcome.stderr
    assert Customer.objects.filter(name=value.strip()).count() == 1


@pytest.mark.parametrize("bad", CORPUS, ids=lambda bad: bad.id)
def test_every_kind_refuses_the_file_and_writes_nothing(seeded, tmp_path, bad):
    path = tmp_path / "bad.csv"
    path.write_bytes(bad.data)
    before = snapshot()
    for kind in KINDS:
        for dry_run in ((), ("--dry-run",)):
            what = f"{bad.id} as {kind} {' '.join((*bad.options, *dry_run))}"
            outcome = import_csv(kind, path, *bad.options, *dry_run)
            assert_refused_cleanly(outcome, what)
            assert snapshot() == before, f"{what}: the database changed"
            if kind == bad.kind and bad.line is not None:
                prefix = f"line {bad.line}" + (f", column {bad.column}:" if bad.column else "")
                assert any(p.startswith(prefix) for p in outcome.problems()), (
                    f"{what}: expected a problem at {prefix!r}, got {outcome.problems()[:5]}"
                )


# --- fuzzing -----------------------------------------------------------------------------

CELL_VALUES = sorted(
    {
        *malformed_csv.BAD_DATES,
        *malformed_csv.BAD_MONTHS,
        *malformed_csv.BAD_AMOUNTS[:-1],
        *malformed_csv.BAD_COUNTS[:-2],
        *malformed_csv.BAD_TIERS[:-2],
        *malformed_csv.BAD_CODES,
        *malformed_csv.FORMULAS,
        *malformed_csv.CONTROLS,
        *(cell for _, rows in BASE.values() for row in rows for cell in row),
        "",
        " ",
        "yes",
        "no",
        "enterprise",
        "service_provider",
        "per_unit",
        "volume",
        "2016-03-01",
        "0",
    }
)


@st.composite
def mutated_files(draw):
    """A base file with a few cells replaced, columns reordered or dropped, other line
    ends, another encoding, and a few bytes inserted, deleted or changed."""
    kind = draw(st.sampled_from(KINDS))
    header = list(BASE[kind][0])
    rows = [list(row) for row in BASE[kind][1]]
    for _ in range(draw(st.integers(0, 3))):
        row = draw(st.sampled_from(rows))
        row[draw(st.integers(0, len(header) - 1))] = draw(
            st.one_of(st.sampled_from(CELL_VALUES), st.text(max_size=12))
        )
    if draw(st.booleans()):
        order = draw(st.permutations(range(len(header))))
        keep = order[: draw(st.integers(1, len(order)))] if draw(st.booleans()) else order
        header = [header[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    rows = draw(st.lists(st.sampled_from(rows), max_size=5)) if draw(st.booleans()) else rows
    text = malformed_csv.to_text(header, rows, draw(st.sampled_from(["\n", "\r\n", "\r"])))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp932", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # mostly none: reach the row checks
        position = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=4))
        if operation == "insert":
            data = data[:position] + chunk + data[position:]
        elif operation == "delete":
            data = data[:position] + data[position + len(chunk) :]
        else:
            data = data[:position] + chunk + data[position + len(chunk) :]
    target = draw(st.one_of(st.just(kind), st.sampled_from(KINDS)))
    return target, data


def assert_clean_outcome(tmp_path, kind, data, dry_run):
    """Accepted with the summary line, or refused with line-numbered problems and nothing
    written. Each example runs in a savepoint rolled back afterwards, so that every
    example starts from the seeded database."""
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    with transaction.atomic():
        before = snapshot()
        outcome = import_csv(kind, path, *(["--dry-run"] if dry_run else []))
        if outcome.error is None:
            event("accepted")
        else:
            event("refused on line 1" if outcome.problems()[0].startswith("line 1") else "refused on a row")
        if outcome.error is None:
            assert SUMMARY.match(outcome.stdout), outcome.stdout
            assert outcome.stderr == ""
            if dry_run:
                assert snapshot() == before
        else:
            assert_refused_cleanly(outcome, f"{kind} {data[:80]!r}")
            assert snapshot() == before
        transaction.set_rollback(True)


FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(kind=st.sampled_from(KINDS), data=st.binary(max_size=2000), dry_run=st.booleans())
def test_random_bytes_are_accepted_or_refused_cleanly(seeded, tmp_path, kind, data, dry_run):
    assert_clean_outcome(tmp_path, kind, data, dry_run)


@FUZZ
@given(file=mutated_files(), dry_run=st.booleans())
def test_mutated_files_are_accepted_or_refused_cleanly(seeded, tmp_path, file, dry_run):
    kind, data = file
    assert_clean_outcome(tmp_path, kind, data, dry_run)


# --- memory ------------------------------------------------------------------------------

#: what ``import_csv`` may take to refuse any of the files below: Django and the project
#: take about 60 MB, the file (up to 20 MB here) is held as bytes and as text
MEMORY_BOUND = 250 * 1024 * 1024
ACCOUNTS = "contract_code,account_id,registered_on,deregistered_on\n"
HUGE = {
    "a-header-of-a-million-columns": ACCOUNTS.strip()
    + "".join(f",c{n}" for n in range(1_000_000))
    + "\nE1,A1,2026-10-01,\n",
    "a-million-bad-rows": ACCOUNTS + "E1,A1,2026-02-30,\n" * 1_000_000,
    "300-thousand-identical-rows": ACCOUNTS + "E1,A1,2026-10-01,\n" * 300_000,
    "a-hundred-lines-longer-than-a-line": ACCOUNTS + ("E1," + "A" * 200_000 + ",2026-10-01,\n") * 100,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", HUGE)
def test_a_huge_bad_file_is_refused_in_bounded_memory_with_at_most_101_problem_lines(tmp_path, name):
    """In a process of its own, as an operator runs it. Before the limits, the header of a
    million columns printed 1,000,001 lines (120 MB) at a peak of 0.9 GB, the million bad
    rows as many lines at 0.8 GB, the identical rows 1.7 GB (a million of them)."""
    path = tmp_path / "huge.csv"
    path.write_text(HUGE[name])
    result, peak = processes.manage_measured("import_csv", "accounts", str(path), stats=tmp_path / "rss")
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and result.stdout == "", result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("CommandError: ") and REFUSED in lines[-1]
    problems = lines[:-1]
    assert 1 <= len(problems) <= 101
    assert all(PROBLEM.match(line) for line in problems[:100])
    assert len(problems) < 101 or MORE.match(problems[-1]), problems[-1]
    assert peak < MEMORY_BOUND, f"{name}: peak RSS {peak / 2**20:.0f} MB"
