"""Where a login attempt comes from: the address that django-axes locks with the username.

django-axes asks django-ipware, whose python-ipware "modern" engine (read in its source,
``python_ipware/modern/engine.py``) does this with the settings below:

- ``TRUSTED_PROXY_COUNT = 0`` (the default): only ``REMOTE_ADDR`` is read.
  ``X-Forwarded-For`` is ignored entirely: with no proxy, anyone can write it.
- ``TRUSTED_PROXY_COUNT = N >= 1``: only ``X-Forwarded-For`` is read, as written by the
  proxies, each of which appends the address it saw (nginx's
  ``$proxy_add_x_forwarded_for``). ipware splits it left to right into a chain of
  addresses (``left-most``), skipping tokens that are no address (``IPWARE_STRICT =
  False``), and with ``proxy_count = N - 1`` takes ``chain[-N]``: the N-th entry from
  the right, which the outermost trusted proxy appended. Whatever the client wrote
  itself stands to the left of it and is never taken.

Why not ipware's strict mode: it refuses the whole header when its length is not
exactly N or one token is no address, so a client writing ``X-Forwarded-For: junk``
would not be identified by its real address. Why not ``REMOTE_ADDR`` after
``X-Forwarded-For``: ipware ranks the candidates of all the headers (global before
private before loopback), so clients on a private network behind a proxy with a public
address would all get the proxy's address again. A request with no (or too short an)
``X-Forwarded-For`` did not come through the proxies: it has no address, and such
requests share one lockout per username.
"""

from __future__ import annotations


def ipware_source(trusted_proxy_count: int) -> tuple[tuple[str, ...], int | None]:
    """``AXES_IPWARE_META_PRECEDENCE_ORDER`` and ``AXES_IPWARE_PROXY_COUNT``."""
    if trusted_proxy_count == 0:
        return ("REMOTE_ADDR",), None
    return ("HTTP_X_FORWARDED_FOR",), trusted_proxy_count - 1
