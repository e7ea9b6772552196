"""What every management command of ours shares (``SmartKeyCommand``):

- **A reader that stops early** (``bill_month 2026-10 | head -1``) is no error: once the
  reader of standard output or error is gone, the command's writes to it are dropped and
  the stream is pointed at /dev/null, so that neither a write nor the interpreter's last
  flush ends in a BrokenPipe traceback. The command itself carries on and ends as it
  would have (its work done, its exit status unchanged). Exports write their bytes through
  ``write_bytes``, which does the same.
- **Only visible text reaches the terminal**: invisible characters (``contracts/text.py``:
  ESC sequences, BEL, bidirectional overrides; data stored before the rule refused them)
  are shown as escapes (``\\x1b``, ``\\u202e``) in everything written through
  ``self.stdout`` and ``self.stderr``; line breaks stay line breaks, and the bytes of an
  export are left as they are.
- **A lost database connection** (an administrator's ``pg_terminate_backend``, a restart,
  the network) ends as one line on standard error, not a traceback. Every command writes
  in one transaction, which the server rolls back when the session ends: nothing was
  written. (A connection lost during the COMMIT itself is the one case the client cannot
  tell apart: it may have committed, and the message would then claim too much.)
- the arguments several commands take: a month (``YYYY-MM``) and ``--user USERNAME``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import unicodedata
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext as _
from simple_history.models import HistoricalRecords

from .csvimport import connection_lost
from .periods import parse_month
from .text import INVISIBLE_CATEGORIES, invisible_character


def visible(text: str) -> str:
    """``text`` with every invisible character but the line break written as its escape."""
    if invisible_character(text) is None:  # nearly always: one fast check
        return text
    return "".join(
        char if char == "\n" or unicodedata.category(char) not in INVISIBLE_CATEGORIES else _escape(char)
        for char in text
    )


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class CommandOutput(OutputWrapper):
    """Standard output or error of a command: visible text only, and quiet once its
    reader has stopped reading."""

    #: the reader closed its end of the pipe; later writes are dropped
    reader_gone = False

    @classmethod
    def wrapping(cls, wrapper: OutputWrapper) -> CommandOutput:
        if isinstance(wrapper, cls):
            return wrapper
        output = cls(wrapper._out, wrapper.ending)
        output._style_func = wrapper._style_func  # as Django chose it (colours on a terminal)
        return output

    def write(self, msg="", style_func=None, ending=None):
        if self.reader_gone:
            return
        try:
            super().write(visible(msg), style_func, ending)
        except BrokenPipeError:
            self.stop()

    def write_bytes(self, chunk: bytes, encoding: str) -> None:
        """Write an export's bytes as they are (to the binary buffer of a real stream)."""
        if self.reader_gone:
            return
        binary = getattr(self._out, "buffer", None)
        try:
            if binary is not None:
                binary.write(chunk)
            else:  # a text stream without a buffer (call_command's StringIO)
                self._out.write(chunk.decode("utf-8-sig" if encoding == "utf-8-sig" else encoding))
        except BrokenPipeError:
            self.stop()

    def flush(self):
        if self.reader_gone:
            return
        try:
            super().flush()
        except BrokenPipeError:
            self.stop()

    def stop(self) -> None:
        """The reader is gone: drop what follows, and point the stream's file descriptor
        at /dev/null, where whatever is still buffered goes when the interpreter flushes
        it on exit (instead of a BrokenPipeError printed after the command ended)."""
        self.reader_gone = True
        try:
            fileno = self._out.fileno()
        except (AttributeError, OSError, ValueError):  # no descriptor (a StringIO)
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fileno)
        finally:
            os.close(devnull)


class SmartKeyCommand(BaseCommand):
    """The base of our commands; see the module's docstring."""

    # Django assigns self.stdout and self.stderr (in __init__, and in execute for
    # call_command's stdout=/stderr=); each assignment is wrapped here.
    @property
    def stdout(self) -> CommandOutput:
        return self._stdout

    @stdout.setter
    def stdout(self, wrapper: OutputWrapper) -> None:
        self._stdout = CommandOutput.wrapping(wrapper)

    @property
    def stderr(self) -> CommandOutput:
        return self._stderr

    @stderr.setter
    def stderr(self, wrapper: OutputWrapper) -> None:
        self._stderr = CommandOutput.wrapping(wrapper)

    def execute(self, *args, **options):
        psycopg_logger = logging.getLogger("psycopg")
        psycopg_logger.addFilter(_ignored_end_of_copy)
        try:
            return super().execute(*args, **options)
        except (OperationalError, InterfaceError) as error:
            if not connection_lost(error):
                raise
            raise CommandError(
                _(
                    "The connection to the database was lost; nothing was written. Check that "
                    "the database is running and run the command again."
                )
            ) from error
        finally:
            psycopg_logger.removeFilter(_ignored_end_of_copy)
            # what is still buffered meets a reader that is gone here, not on exit
            self.stdout.flush()
            self.stderr.flush()


def _ignored_end_of_copy(record: logging.LogRecord) -> bool:
    """psycopg warns that it "ignored" the error of ending a COPY that an error (the
    connection lost, say) interrupted; that error itself is what the command reports."""
    return not str(record.msg).startswith("error ignored terminating")


@contextlib.contextmanager
def output_file(output):
    """A binary file to write ``output`` through: written beside it and renamed at the end,
    so that a failure never leaves half a file (and an earlier file stays as it was)."""
    import tempfile
    from pathlib import Path

    directory = Path(output).resolve().parent
    if not directory.is_dir():
        raise CommandError(_("%(dir)s is not a directory.") % {"dir": directory})
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{Path(output).name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def date_argument(value: str | None, *, default: dt.date | None = None) -> dt.date:
    """A command's date (YYYY-MM-DD), or ``default`` (today in Japan) when none is given."""
    if not value:
        from django.utils import timezone

        return default or timezone.localdate()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("%(value)r is not a date (YYYY-MM-DD).") % {"value": value}) from None


def month_argument(value: str) -> dt.date:
    """The first day of the month ``YYYY-MM``, or the CommandError a person can act on."""
    try:
        return parse_month(value)
    except ValueError:
        raise CommandError(_("%(value)r is not a month (YYYY-MM).") % {"value": value}) from None


def staff_member(username: str | None):
    """The active staff member named by ``--user``, None without the option."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True, is_staff=True).first()
    if user is None:
        raise CommandError(_("--user %(name)r is not an active staff member.") % {"name": username})
    return user


@contextlib.contextmanager
def acting_as(user):
    """Record ``user`` as the author of the audit-trail entries (django-simple-history)
    written meanwhile, as its middleware does for a request of the admin."""
    if user is None:
        yield
        return
    context = HistoricalRecords.context
    previous = getattr(context, "request", None)
    context.request = SimpleNamespace(user=user)
    try:
        yield
    finally:
        if previous is None:
            del context.request
        else:
            context.request = previous
