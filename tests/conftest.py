import pytest


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (browser tests screenshot on failure)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL (row locks, triggers, concurrency)."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    default = "row locks, triggers or concurrency"
    for item in items:
        marker = item.get_closest_marker("postgres")
        if marker is not None:
            why = marker.kwargs.get("reason", default)
            item.add_marker(
                pytest.mark.skip(reason=f"needs PostgreSQL ({why}); run with DATABASE_URL=postgres://…")
            )


@pytest.fixture(autouse=True)
def _japanese():
    """Each test starts in the product's language; a request in another language (the
    language switch) must not leak into the next test through the thread's state."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def staff_client(client, django_user_model):
    """A logged-in superuser (role tests use real groups; these test the screens)."""
    user = django_user_model.objects.create_superuser("admin", "admin@example.jp", "pw")
    client.force_login(user)
    client.user = user
    return client


def count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


@pytest.fixture(scope="session", autouse=True)
def _close_stray_sessions(django_db_setup, django_db_blocker):
    """Live-server threads (browser tests) can keep a PostgreSQL session open after the
    browser went away; end them before the test database is dropped, so the drop never
    meets "database is being accessed by other users"."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
