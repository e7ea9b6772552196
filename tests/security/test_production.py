"""Production settings (issue 4): check --deploy is clean with the documented
environment, secrets have no default, and repeated failed logins are throttled."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")

DOCUMENTED_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
    "DATABASE_URL": "postgres://smartkey@db.internal:5432/smartkey",
    "ALLOWED_HOSTS": "smartkey.example.jp",
    "CSRF_TRUSTED_ORIGINS": "https://smartkey.example.jp",
    "ISSUER_NAME": "株式会社インターネットイニシアティブ",
    "ISSUER_ADDRESS": "東京都千代田区富士見2-10-2",
    "ISSUER_REGISTRATION_NUMBER": "T2010001034531",
}


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in DOCUMENTED_ENVIRONMENT}
    return subprocess.run(
        [sys.executable, MANAGE, *args], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_the_documented_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **DOCUMENTED_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "ISSUER_REGISTRATION_NUMBER"]
)
def test_a_missing_secret_stops_start_up(missing):
    environment = {k: v for k, v in DOCUMENTED_ENVIRONMENT.items() if k != missing}
    result = manage("check", **environment)
    assert result.returncode != 0
    assert missing in result.stderr


def test_a_bad_registration_number_stops_start_up():
    result = manage("check", **{**DOCUMENTED_ENVIRONMENT, "ISSUER_REGISTRATION_NUMBER": "T2010001034532"})
    assert result.returncode != 0
    assert "billing.E001" in result.stderr


@pytest.mark.django_db
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=5)
def test_repeated_failed_logins_are_throttled(client, django_user_model):
    django_user_model.objects.create_user("keiri", password="correct-horse", is_staff=True)
    url = reverse("admin:login")
    for _ in range(4):
        response = client.post(url, {"username": "keiri", "password": "wrong"})
        assert response.status_code == 200  # the form again, with an error
    assert client.post(url, {"username": "keiri", "password": "wrong"}).status_code == 429  # the 5th
    locked = client.post(url, {"username": "keiri", "password": "correct-horse"})
    assert locked.status_code == 429
    assert "ログインの失敗が続いた" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_registration_number_is_checked_whole():
    from billing.qualified_invoice import is_valid_registration_number

    assert is_valid_registration_number("T2010001034531")
    assert not is_valid_registration_number("T2010001034531\n")
    assert not is_valid_registration_number("T２０１０００１０３４５３１")
    assert not is_valid_registration_number("T2010001034532")
    assert not is_valid_registration_number(" T2010001034531")
