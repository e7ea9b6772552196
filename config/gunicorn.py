"""gunicorn's configuration, given on its command line: ``--config python:config.gunicorn``
(the README's production command).

Before the master binds its socket or starts any worker, the settings are loaded once,
in a process of their own (``python -m config.startup``): a configuration error stops
gunicorn there, with its one line and exit status 3. Without this check each worker
still stops with the line (config/wsgi.py), but when several workers fail to boot at
once gunicorn's master ends in a traceback of its own (HaltServer raised again while
it halts). A process of its own, so that the master imports no settings module that
workers started after a reload (HUP) would inherit instead of loading it anew.
"""

import subprocess
import sys


def on_starting(server):
    check = subprocess.run([sys.executable, "-m", "config.startup"], check=False)
    if check.returncode != 0:
        raise SystemExit(check.returncode)
