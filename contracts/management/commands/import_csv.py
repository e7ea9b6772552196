import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from contracts.cli import SmartKeyCommand, staff_member
from contracts.csvimport import ENCODINGS, REGISTRY, ImportRejected, run_import
from contracts.progress import terminal_progress


def max_bytes() -> int:
    """The largest file imported without --allow-large (setting ``IMPORT_MAX_BYTES``): a
    larger one is more often the wrong file than a month's data."""
    return settings.IMPORT_MAX_BYTES


class Command(SmartKeyCommand):
    help = (
        "Import one CSV file. The whole file is checked first; if any row is wrong the "
        "problems are printed (the first 100, then how many more) and nothing is imported. "
        "Importing the same file twice changes nothing the second time."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(REGISTRY), help="what the file holds")
        parser.add_argument("file", type=Path, help="path of the CSV file (header row required)")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and report what would change, without writing anything",
        )
        parser.add_argument(
            "--user",
            help="username of the staff member running the import: recorded as the author of "
            "new rate cards, who then cannot also be their approver (four-eyes rule)",
        )
        parser.add_argument(
            "--encoding",
            choices=ENCODINGS,
            default="auto",
            help="auto (default) reads UTF-8 with or without BOM, and CP932 (Shift_JIS)",
        )
        parser.add_argument(
            "--allow-large",
            action="store_true",
            help="import a file larger than IMPORT_MAX_BYTES (100 MB unless set); it is read "
            "a block at a time, and checked as a whole before anything is written",
        )

    def handle(self, *args, kind, file, dry_run, encoding, user, allow_large, **options):
        importer = staff_member(user)
        try:
            with _open(file, None if allow_large else max_bytes()) as handle:
                result = run_import(
                    kind,
                    handle,
                    encoding=encoding,
                    dry_run=dry_run,
                    user=importer,
                    progress=terminal_progress(sys.stderr),
                )
        except ImportRejected as rejected:
            for problem in rejected.problems:
                self.stderr.write(str(problem))
            if rejected.more:
                self.stderr.write(rejected.more_message())
            raise CommandError(
                _("%(file)s: %(count)d problem(s); nothing was imported.")
                % {"file": file, "count": rejected.count}
            ) from None
        message = _("%(kind)s: %(rows)d rows: %(counts)s") % {
            "kind": kind,
            "rows": result.rows,
            "counts": result.counts,
        }
        if dry_run:
            message = _("Dry run, nothing written. %(message)s") % {"message": message}
        self.stdout.write(message)


def _open(file: Path, limit: int | None) -> BinaryIO:
    """The file, open for reading (binary): read a block at a time, and more than once, by
    the import, never held whole. More than ``limit`` bytes is a CommandError: found out
    before reading a regular file; anything else (a pipe, a device) is copied to a
    temporary file first, and refused after ``limit`` bytes."""
    try:
        handle = file.open("rb")
    except OSError as error:
        raise CommandError(f"{file}: {error.strerror}") from error
    try:
        info = os.fstat(handle.fileno())
        if stat.S_ISREG(info.st_mode):
            if limit is None or info.st_size <= limit:
                return handle
            size = info.st_size
        else:
            spool = tempfile.TemporaryFile()
            copied = 0
            while block := handle.read(1 << 20):
                copied += len(block)
                if limit is not None and copied > limit:
                    break
                spool.write(block)
            handle.close()
            if limit is None or copied <= limit:
                return spool
            spool.close()
            size = None
    except OSError as error:
        handle.close()
        raise CommandError(f"{file}: {error.strerror}") from error
    handle.close()
    raise CommandError(
        _(
            "%(file)s is %(size)s MB, larger than the %(limit)s MB an import accepts "
            "(IMPORT_MAX_BYTES): split it into smaller files, or add --allow-large to import "
            "it as it is."
        )
        % {
            "file": file,
            "size": _megabytes(size) if size is not None else f"> {_megabytes(limit)}",
            "limit": _megabytes(limit),
        }
    )


def _read(file: Path, limit: int | None) -> bytes:
    """The file's bytes, for commands that need them whole (``import_payments``); the same
    limit and refusals as ``_open``."""
    with _open(file, limit) as handle:
        try:
            return handle.read()
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from error


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f}"
