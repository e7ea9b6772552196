"""What every command shares (contracts/cli.py): visible output, a reader that stops early,
a lost database connection, the month and --user arguments."""

import datetime as dt
import io
import sqlite3

import psycopg
import pytest
from django.core.management.base import CommandError, OutputWrapper
from django.db import OperationalError

from contracts import cli

from ..billing.factories import UserFactory


class TestVisible:
    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            ("SK-1 株式会社アルファ", "SK-1 株式会社アルファ"),
            ("\x1b[2J", "\\x1b[2J"),
            ("a\x07b\x7fc\x9bd", "a\\x07b\\x7fc\\x9bd"),  # BEL, DEL, C1 CSI
            ("\u202eevil\u200b", "\\u202eevil\\u200b"),  # bidirectional override, zero-width space
            ("tag\U000e0041", "tag\\U000e0041"),
            ("a\r\tb", "a\\x0d\\x09b"),
            ("two\nlines\n", "two\nlines\n"),  # a line break stays one
        ],
    )
    def test_invisible_characters_are_shown_as_escapes(self, text, shown):
        assert cli.visible(text) == shown


class PipeClosedEarly(io.StringIO):
    """A pipe whose reader stops after the first write."""

    def write(self, text):
        if self.getvalue():
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)

    def fileno(self):
        return 99


class TestCommandOutput:
    def test_writes_after_the_reader_stopped_are_dropped_and_the_stream_points_at_devnull(self, monkeypatch):
        redirected = []
        monkeypatch.setattr("os.dup2", lambda fd, target: redirected.append(target))
        stream = PipeClosedEarly()
        output = cli.CommandOutput.wrapping(OutputWrapper(stream))
        output.write("first")
        output.write("second")
        output.write("third")
        output.flush()
        assert stream.getvalue() == "first\n"
        assert output.reader_gone and redirected == [99]

    def test_a_stream_without_a_descriptor_is_left_alone(self, monkeypatch):
        redirected = []
        monkeypatch.setattr("os.dup2", lambda fd, target: redirected.append(target))

        class Gone:
            def write(self, text):
                raise BrokenPipeError(32, "Broken pipe")

        output = cli.CommandOutput.wrapping(OutputWrapper(Gone()))
        output.write("x")
        output.write("y")
        assert output.reader_gone and redirected == []

    def test_output_is_escaped_before_it_is_styled(self):
        stream = io.StringIO()
        output = cli.CommandOutput.wrapping(OutputWrapper(stream))
        output.write("a\x1bb", style_func=lambda text: "[" + text + "]")
        assert stream.getvalue() == "[a\\x1bb\n]"

    def test_bytes_are_written_as_they_are(self):
        stream = io.StringIO()
        output = cli.CommandOutput.wrapping(OutputWrapper(stream))
        output.write_bytes("\ufeffa,\x1b\r\n".encode("utf-8-sig"), "utf-8-sig")
        assert stream.getvalue() == "\ufeffa,\x1b\r\n"


class Failing(cli.SmartKeyCommand):
    """A command whose handle raises the error it is given."""

    def __init__(self, error):
        super().__init__(stdout=io.StringIO(), stderr=io.StringIO())
        self.error = error

    def handle(self, *args, **options):
        raise self.error


def wrapped(cause):
    """Django's OperationalError from the driver's, as Django's cursor wraps it."""
    error = OperationalError(*cause.args)
    error.__cause__ = cause
    return error


LOST = [
    psycopg.errors.lookup("57P01")("terminating connection due to administrator command"),
    psycopg.errors.lookup("57P02")("terminating connection because of crash of another server process"),
    psycopg.errors.lookup("08006")("connection failure"),
    # the client found the connection closed: no message from the server, no SQLSTATE
    psycopg.OperationalError("sending copy data failed: server closed the connection unexpectedly"),
    psycopg.OperationalError("the connection is closed"),
]
NOT_LOST = [
    psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
    psycopg.errors.SerializationFailure("could not serialize access due to concurrent update"),
    psycopg.errors.DiskFull("could not extend file"),
    sqlite3.OperationalError("database is locked"),
]


class TestLostConnection:
    @pytest.mark.parametrize("cause", LOST, ids=lambda c: type(c).__name__ + (c.sqlstate or ""))
    def test_a_lost_connection_is_one_line_saying_nothing_was_written(self, cause):
        with pytest.raises(CommandError) as raised:
            Failing(wrapped(cause)).execute(force_color=False, no_color=True, skip_checks=True)
        assert str(raised.value) == (
            "データベースとの接続が切れました。何も書き込んでいません。"
            "データベースが動いていることを確かめてから、もう一度実行してください。"
        )

    @pytest.mark.parametrize("cause", NOT_LOST, ids=lambda c: type(c).__name__)
    def test_another_database_error_is_not_called_a_lost_connection(self, cause):
        """The database refused something, or is busy: the error is raised as it is."""
        with pytest.raises(OperationalError):
            Failing(wrapped(cause)).execute(force_color=False, no_color=True, skip_checks=True)

    def test_an_error_django_did_not_wrap_is_not_called_a_lost_connection(self):
        with pytest.raises(OperationalError):
            Failing(OperationalError("could not serialize access")).execute(
                force_color=False, no_color=True, skip_checks=True
            )


def test_a_month_argument():
    assert cli.month_argument("2026-10") == dt.date(2026, 10, 1)
    for value in ("2026-13", "2026/10", "10-2026", "\x1b[2J"):
        with pytest.raises(CommandError) as raised:
            cli.month_argument(value)
        assert str(raised.value) == f"{value!r} は年月ではありません（YYYY-MM）。"


@pytest.mark.django_db
def test_a_staff_member_argument():
    keiri = UserFactory(username="keiri1")
    UserFactory(username="gone", is_active=False)
    UserFactory(username="customer", is_staff=False)
    assert cli.staff_member("keiri1") == keiri
    assert cli.staff_member(None) is None
    for name in ("gone", "customer", "nobody"):
        with pytest.raises(CommandError, match=f"--user '{name}' は有効なスタッフではありません。"):
            cli.staff_member(name)
