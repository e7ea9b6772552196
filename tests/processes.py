"""manage.py as operators run it: in a process of its own, on the test database (which
sees only committed rows: tests that use it commit, ``django_db(transaction=True)``)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")

#: runs the command given after the file name, then writes its peak RSS there (kilobytes,
#: on Linux): a process of its own, whose only child is the command
_MEASURED = (
    "import resource, subprocess, sys\n"
    "status = subprocess.run(sys.argv[2:]).returncode\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(status)\n"
)


def command_env() -> dict[str, str]:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.base"}


def manage_measured(*args: str, stats: Path, timeout: int = 600) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``manage.py *args``; returns its completed process (output as text) and its
    peak resident set size in bytes."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(stats), sys.executable, MANAGE, *args],
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result, int(stats.read_text()) * 1024
