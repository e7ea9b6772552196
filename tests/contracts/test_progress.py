"""Long commands show progress on a terminal and stay quiet otherwise (issue 6)."""

import io

import pytest
from django.core.management import call_command

from contracts.progress import report_every, terminal_progress

from .factories import CustomerFactory


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_one_bar_per_stage():
    screen = Terminal()
    progress = terminal_progress(screen)
    for done in (1, 2, 3):
        progress("契約", done, 3)
    progress("書き込んだ行", 10, 10)
    text = screen.getvalue()
    assert "契約: 100%" in text and "3/3" in text
    assert "書き込んだ行: 100%" in text


def test_a_file_or_pipe_gets_nothing():
    assert terminal_progress(io.StringIO()) is None
    tick = report_every(None, "x", 10)
    assert tick(5) is None


def test_report_every_reports_each_step_and_the_end():
    seen = []
    tick = report_every(lambda stage, done, total: seen.append((stage, done, total)), "rows", 25, step=10)
    for done in range(1, 26):
        tick(done)
    assert seen == [("rows", 10, 25), ("rows", 20, 25), ("rows", 25, 25)]


@pytest.mark.django_db
def test_commands_stay_quiet_when_not_on_a_terminal(tmp_path, capsys):
    CustomerFactory(code="C1", with_iijid=False)
    path = tmp_path / "iijid.csv"
    path.write_text("customer_code,iijid_contract_code,start_on\nC1,ID-1,2026-01-01\n")
    out = io.StringIO()
    call_command("import_csv", "iijid_contracts", str(path), stdout=out)
    call_command("bill_month", "2026-10", stdout=out)
    captured = capsys.readouterr()
    assert captured.err == ""  # pytest's stderr is not a terminal: no bars
    assert "新規 1件" in out.getvalue()
