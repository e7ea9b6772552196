"""Login throttling behind the TLS proxy (issue 10, item 5): django-axes locks a username
from one client address, and the address is the client's even behind proxies, whatever
the client writes into X-Forwarded-For. TRUSTED_PROXY_COUNT counts the proxies; with 0,
X-Forwarded-For is ignored.

Addresses are documentation and private ones; no traffic leaves the test client."""

import subprocess
import sys

import pytest
from axes.helpers import get_client_ip_address
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from config.settings.client_address import ipware_source

from .test_production import BASE_DIR, DOCUMENTED_ENVIRONMENT, environment

CLIENT_A = "198.51.100.10"
CLIENT_B = "198.51.100.20"
PROXY = "10.0.0.2"  # the TLS proxy, as the app sees it (REMOTE_ADDR)
OUTER_PROXY = "10.0.1.2"
FAKE = "10.9.9.9"  # what a client writes into X-Forwarded-For itself
PASSWORD = "correct-horse-battery"


def behind(trusted_proxy_count):
    """The settings TRUSTED_PROXY_COUNT gives, with axes on, 5 failures allowed."""
    precedence, proxy_count = ipware_source(trusted_proxy_count)
    return override_settings(
        AXES_ENABLED=True,
        AXES_FAILURE_LIMIT=5,
        AXES_IPWARE_META_PRECEDENCE_ORDER=precedence,
        AXES_IPWARE_PROXY_COUNT=proxy_count,
    )


def direct(address, x_forwarded_for=None):
    """A request straight from ``address``, which may write its own X-Forwarded-For."""
    meta = {"REMOTE_ADDR": address}
    if x_forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = x_forwarded_for
    return meta


def through_proxy(client_address, written_by_client=None):
    """A request from ``client_address`` through the proxy, which appends the address it
    saw to whatever X-Forwarded-For the client sent."""
    forwarded = client_address if written_by_client is None else f"{written_by_client}, {client_address}"
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded}


def login(meta, username="keiri", password=PASSWORD):
    client = Client()
    response = client.post(reverse("admin:login"), {"username": username, "password": password}, **meta)
    return response, client


def fail_five_times(meta, username="keiri"):
    statuses = [login(meta, username, "wrong")[0].status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def assert_logs_in(meta, username="keiri"):
    response, client = login(meta, username)
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.session["_auth_user_id"]


def assert_locked_out(meta, username="keiri"):
    response, client = login(meta, username)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.fixture
def users(django_user_model):
    for name in ("keiri", "sales1"):
        django_user_model.objects.create_user(name, password=PASSWORD, is_staff=True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("trusted_proxy_count", "client"),
    [(0, direct), (1, through_proxy)],
    ids=["no proxy", "behind one proxy"],
)
def test_a_lockout_is_of_the_username_from_one_address_only(users, trusted_proxy_count, client):
    with behind(trusted_proxy_count):
        fail_five_times(client(CLIENT_A))
        assert_locked_out(client(CLIENT_A))
        assert_logs_in(client(CLIENT_B))  # keiri elsewhere
        assert_logs_in(client(CLIENT_A), username="sales1")  # someone else at A


@pytest.mark.django_db
def test_behind_two_proxies_the_address_the_outer_proxy_saw(users):
    def through_two(client_address, written_by_client=None):
        meta = through_proxy(client_address, written_by_client)
        # the outer proxy appended the client's address, the inner one the outer's
        return {
            "REMOTE_ADDR": PROXY,
            "HTTP_X_FORWARDED_FOR": meta["HTTP_X_FORWARDED_FOR"] + f", {OUTER_PROXY}",
        }

    with behind(2):
        fail_five_times(through_two(CLIENT_A))
        assert_locked_out(through_two(CLIENT_A, written_by_client=CLIENT_B))
        assert_logs_in(through_two(CLIENT_B))


@pytest.mark.django_db
def test_a_client_writing_x_forwarded_for_is_still_known_by_its_real_address(users):
    with behind(1):
        # the attacker at CLIENT_A claims to be FAKE: the proxy sends "FAKE, CLIENT_A"
        fail_five_times(through_proxy(CLIENT_A, written_by_client=FAKE))
        # it cannot escape its lockout, whatever it writes
        for written in (None, FAKE, "10.9.9.10", CLIENT_B, "junk", f"{CLIENT_B}, {FAKE}", "unknown,"):
            assert_locked_out(through_proxy(CLIENT_A, written_by_client=written))
        # and it locked out neither the address it named nor any other
        assert_logs_in(through_proxy(FAKE))
        assert_logs_in(through_proxy(CLIENT_B))


@pytest.mark.django_db
def test_with_no_trusted_proxy_x_forwarded_for_changes_nothing(users):
    with behind(0):
        for n in range(5):  # a new claimed address each time: still CLIENT_A
            login(direct(CLIENT_A, x_forwarded_for=f"203.0.113.{n}"), password="wrong")
        assert_locked_out(direct(CLIENT_A))
        assert_locked_out(direct(CLIENT_A, x_forwarded_for=CLIENT_B))
        assert_logs_in(direct(CLIENT_B, x_forwarded_for=CLIENT_A))


@pytest.mark.parametrize(
    ("trusted_proxy_count", "remote_addr", "x_forwarded_for", "address"),
    [
        (0, CLIENT_A, None, CLIENT_A),
        (0, CLIENT_A, CLIENT_B, CLIENT_A),
        (1, PROXY, CLIENT_A, CLIENT_A),
        (1, PROXY, f"{FAKE}, {CLIENT_A}", CLIENT_A),
        (1, PROXY, f"{FAKE},{CLIENT_B}, {CLIENT_A}", CLIENT_A),
        (1, PROXY, f"junk, for=unknown, {CLIENT_A}", CLIENT_A),  # no address: skipped
        (1, PROXY, f"{FAKE},, {CLIENT_A}", CLIENT_A),  # the client's header ended in a comma
        (1, PROXY, "2001:db8::7", "2001:db8::7"),
        # a client on a private network, behind a proxy with a public address (just outside
        # the documentation range 203.0.113.0/24): the client, not the better-ranked proxy
        (1, "203.0.114.10", "10.1.2.3", "10.1.2.3"),
        (1, PROXY, None, None),  # not through the proxy: no address
        (2, PROXY, f"{CLIENT_A}, {OUTER_PROXY}", CLIENT_A),
        (2, PROXY, f"{FAKE}, {CLIENT_A}, {OUTER_PROXY}", CLIENT_A),
        (2, PROXY, OUTER_PROXY, None),  # one entry: it did not come through both proxies
    ],
)
def test_the_address_ipware_gives_axes(trusted_proxy_count, remote_addr, x_forwarded_for, address):
    meta = direct(remote_addr, x_forwarded_for)
    with behind(trusted_proxy_count):
        assert get_client_ip_address(RequestFactory().post("/admin/login/", **meta)) == address


SHOW_ADDRESS = """
import django
django.setup()
from axes.helpers import get_client_ip_address
from django.test import RequestFactory
print(get_client_ip_address(RequestFactory().post(
    "/admin/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.10, 10.0.1.2"
)))
"""


@pytest.mark.parametrize(
    ("value", "address"), [(None, "10.0.0.2"), ("0", "10.0.0.2"), ("1", "10.0.1.2"), ("2", "198.51.100.10")]
)
def test_trusted_proxy_count_is_read_from_the_environment(value, address):
    env = environment(**DOCUMENTED_ENVIRONMENT, TRUSTED_PROXY_COUNT=value)
    result = subprocess.run(
        [sys.executable, "-c", SHOW_ADDRESS],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == address
