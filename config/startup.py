"""How every entry point starts: a configuration error stops it with one line on stderr.

The settings raise ``ImproperlyConfigured`` with one line naming the variable and what
is wrong (``config/settings/environment.py``). ``manage.py``, ``config.wsgi`` and
``config.asgi`` load the settings inside ``stop_on_configuration_error``: the line is
written to stderr, with no traceback, and the process exits. ``python -m config.startup``
only loads the settings (gunicorn.conf.py runs it before gunicorn starts any worker).
"""

import os
import sys
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured

#: A gunicorn worker that exits with 3 makes the master halt ("Worker failed to boot.")
#: instead of starting another worker, forever, that fails the same way.
WORKER_BOOT_ERROR = 3


@contextmanager
def stop_on_configuration_error(*, status: int):
    try:
        yield
    except ImproperlyConfigured as error:
        sys.stderr.write(" ".join(str(error).splitlines()) + "\n")
        sys.stderr.flush()
        raise SystemExit(status) from None


def load_settings() -> None:
    """Read the settings now, whatever comes next (Django reads them lazily, and some
    commands, ``help`` among them, would only mention an error and go on)."""
    from django.conf import settings

    settings.INSTALLED_APPS  # noqa: B018  (the first access loads the settings module)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    with stop_on_configuration_error(status=WORKER_BOOT_ERROR):
        load_settings()


if __name__ == "__main__":
    main()
