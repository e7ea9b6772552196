"""Production settings (issues 4 and 10): check --deploy is clean with the documented
environment, secrets have no default, every configuration error stops every entry point
(manage.py, gunicorn with and without --preload, the WSGI and ASGI modules) with one
line naming the variable, and repeated failed logins are throttled."""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)
MANAGE = str(BASE_DIR / "manage.py")
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))

DOCUMENTED_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
    # never connected to: check, the start-up errors and the HTTPS redirect need no database
    "DATABASE_URL": "postgres://smartkey@db.internal:5432/smartkey",
    "ALLOWED_HOSTS": "smartkey.example.jp",
    "CSRF_TRUSTED_ORIGINS": "https://smartkey.example.jp",
    "ISSUER_NAME": "株式会社インターネットイニシアティブ",
    "ISSUER_ADDRESS": "東京都千代田区富士見2-10-2",
    "ISSUER_REGISTRATION_NUMBER": "T2010001034531",
    "PAYEE_BANK": "みずほ銀行",
    "PAYEE_BRANCH": "飯田橋支店",
    "PAYEE_ACCOUNT_TYPE": "普通",
    "PAYEE_ACCOUNT_NUMBER": "1234567",
    "PAYEE_ACCOUNT_HOLDER": "ｶ)ｲﾝﾀｰﾈﾂﾄｲﾆｼｱﾃｲﾌﾞ",
    "EMAIL_URL": "smtp+tls://smartkey:mail-password@smtp.example.jp:587",
    "DEFAULT_FROM_EMAIL": "IIJ SmartKey 請求書 <billing@smartkey.example.jp>",
}
#: every variable the settings read; none of the test runner's own reaches the subprocesses
VARIABLES = {
    *DOCUMENTED_ENVIRONMENT,
    "DEBUG",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_HOURS",
    "CONN_MAX_AGE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "LOG_LEVEL",
    "TRUSTED_PROXY_COUNT",
    "DATABASE_APP_ROLE",
    "IMPORT_MAX_BYTES",
    "DUE_DATE_ROLL",
    "PAYMENT_FEE_TOLERANCE",
    "JOURNAL_RECEIVABLE_ACCOUNT",
    "JOURNAL_SALES_ACCOUNT",
    "JOURNAL_BANK_ACCOUNT",
    "JOURNAL_ADVANCE_ACCOUNT",
    "JOURNAL_FEE_ACCOUNT",
    "JOURNAL_YAYOI_TAX_CATEGORY",
    "JOURNAL_FREEE_TAX_CATEGORY",
    "JOURNAL_MF_TAX_CATEGORY",
}
MISSING = None

#: (variable, value or MISSING): each one alone stops start-up
BROKEN = [
    ("SECRET_KEY", MISSING),
    ("SECRET_KEY", ""),
    ("SECRET_KEY", "   "),
    ("SECRET_KEY", "too-short-0123456789"),
    ("SECRET_KEY", "django-insecure-" + "0123456789abcdefghijklmnopqrstuvwxyz0123456789"),
    ("SECRET_KEY", "ab" * 30),  # long enough, but 2 different characters
    ("EMAIL_URL", MISSING),
    ("EMAIL_URL", ""),
    ("EMAIL_URL", "smtp.example.jp:587"),
    ("EMAIL_URL", "smtp://:587"),
    ("DEFAULT_FROM_EMAIL", MISSING),
    ("DATABASE_URL", MISSING),
    ("DATABASE_URL", ""),
    ("DATABASE_URL", "db.internal:5432/smartkey"),
    ("DATABASE_URL", "postgres://smartkey@db.internal:port/smartkey"),
    ("DATABASE_URL", "postgres://smartkey@[db.internal/smartkey"),
    ("DATABASE_URL", "mysql://smartkey@db.internal/smartkey"),
    ("DATABASE_URL", "sqlite:////var/lib/smartkey/db.sqlite3"),  # production is PostgreSQL
    ("DATABASE_URL", "postgres://smartkey@db.internal:5432/"),
    ("ALLOWED_HOSTS", MISSING),
    ("ALLOWED_HOSTS", ""),
    ("ALLOWED_HOSTS", " , "),
    ("ALLOWED_HOSTS", "https://smartkey.example.jp"),
    ("CSRF_TRUSTED_ORIGINS", "smartkey.example.jp"),
    ("CSRF_TRUSTED_ORIGINS", "https://smartkey.example.jp/"),
    ("CSRF_TRUSTED_ORIGINS", "https://smartkey.example.jp/admin"),
    ("CSRF_TRUSTED_ORIGINS", "https://"),
    ("CSRF_TRUSTED_ORIGINS", "ftp://smartkey.example.jp"),
    ("CSRF_TRUSTED_ORIGINS", "https://smartkey.example.jp:443x"),
    ("ISSUER_NAME", MISSING),
    ("ISSUER_NAME", ""),
    ("ISSUER_NAME", "株式会社\u200bインターネットイニシアティブ"),
    ("ISSUER_NAME", "株式会社インターネットイニシアティブ\n"),
    ("ISSUER_NAME", " 株式会社インターネットイニシアティブ"),
    ("ISSUER_ADDRESS", MISSING),
    ("ISSUER_ADDRESS", " "),
    ("ISSUER_ADDRESS", "東京都千代田区\x1b[2J富士見2-10-2"),
    ("ISSUER_REGISTRATION_NUMBER", MISSING),
    ("ISSUER_REGISTRATION_NUMBER", ""),
    ("ISSUER_REGISTRATION_NUMBER", "T2010001034532"),  # check digit
    ("ISSUER_REGISTRATION_NUMBER", "T2010001034531\n"),
    ("ISSUER_REGISTRATION_NUMBER", "T２０１０００１０３４５３１"),  # full-width digits
    ("ISSUER_REGISTRATION_NUMBER", "2010001034531"),
    ("ISSUER_REGISTRATION_NUMBER", "T20100010345310"),
    ("CONN_MAX_AGE", "sixty"),
    ("SECURE_HSTS_SECONDS", "-1"),
    ("SECURE_SSL_REDIRECT", "ture"),
    ("SECURE_HSTS_PRELOAD", ""),
    ("LOG_LEVEL", "verbose"),
    ("AXES_FAILURE_LIMIT", "0"),
    ("AXES_COOLOFF_HOURS", "an hour"),
    ("TRUSTED_PROXY_COUNT", ""),
    ("TRUSTED_PROXY_COUNT", "-1"),
    ("TRUSTED_PROXY_COUNT", "one"),
    ("TRUSTED_PROXY_COUNT", "1.5"),
    ("TRUSTED_PROXY_COUNT", "１"),  # a full-width digit
    ("PAYEE_BANK", MISSING),
    ("PAYEE_BRANCH", ""),
    ("PAYEE_ACCOUNT_TYPE", "ordinary"),
    ("PAYEE_ACCOUNT_NUMBER", "123456"),  # 7 digits
    ("PAYEE_ACCOUNT_NUMBER", "12345678"),
    ("PAYEE_ACCOUNT_NUMBER", "１２３４５６７"),
    ("PAYEE_ACCOUNT_HOLDER", "カ）インターネットイニシアティブ"),  # full-width: not as banks print it
    ("PAYEE_ACCOUNT_HOLDER", MISSING),
    ("DUE_DATE_ROLL", "before"),
    ("JOURNAL_SALES_ACCOUNT", ""),
    ("JOURNAL_SALES_ACCOUNT", "売上高\u200b"),  # an invisible character
    ("JOURNAL_RECEIVABLE_ACCOUNT", "売掛金𠮷"),  # Shift_JIS cannot hold it
    ("JOURNAL_YAYOI_TAX_CATEGORY", "課税売上内10%課税売上内10%課税売上"),  # over 24 half-width
]


def environment(**changes):
    """The test runner's environment without any variable the settings read, plus
    ``changes``; a change to MISSING leaves the variable out."""
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return {**clean, **{k: v for k, v in changes.items() if v is not MISSING}}


def broken(variable, value):
    return environment(**{**DOCUMENTED_ENVIRONMENT, variable: value})


def run(command, env, timeout=60):
    return subprocess.run(command, env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=timeout)


def manage(*args, **env):
    return run([sys.executable, MANAGE, *args], environment(**env), timeout=120)


def assert_one_line_naming(stderr, variable):
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"設定エラー: {variable} "), stderr


def test_check_deploy_is_clean_with_the_documented_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **DOCUMENTED_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(("variable", "value"), BROKEN)
def test_a_configuration_error_stops_manage_py_with_one_line_naming_the_variable(variable, value):
    result = run([sys.executable, MANAGE, "check"], broken(variable, value))
    assert result.returncode != 0
    assert_one_line_naming(result.stderr, variable)


def test_the_messages_are_japanese_and_say_what_is_wrong():
    messages = {
        (variable, value): run([sys.executable, MANAGE, "check"], broken(variable, value)).stderr.strip()
        for variable, value in [
            ("SECRET_KEY", ""),
            ("SECRET_KEY", "too-short-0123456789"),
            ("DATABASE_URL", MISSING),
            ("ISSUER_REGISTRATION_NUMBER", "T2010001034532"),
            ("ISSUER_REGISTRATION_NUMBER", "T2010001034531\n"),
        ]
    }
    assert messages == {
        ("SECRET_KEY", ""): "設定エラー: SECRET_KEY が空です。50文字以上のランダムな値を設定してください。",
        ("SECRET_KEY", "too-short-0123456789"): (
            "設定エラー: SECRET_KEY が短すぎます（20文字）。50文字以上のランダムな値を設定してください。"
        ),
        ("DATABASE_URL", MISSING): (
            "設定エラー: DATABASE_URL が設定されていません。環境変数 DATABASE_URL を設定してください。"
        ),
        ("ISSUER_REGISTRATION_NUMBER", "T2010001034532"): (
            "設定エラー: ISSUER_REGISTRATION_NUMBER の 'T2010001034532' はチェックディジット（先頭の数字）"
            "が正しくありません。登録番号を確かめてください。"
        ),
        ("ISSUER_REGISTRATION_NUMBER", "T2010001034531\n"): (
            "設定エラー: ISSUER_REGISTRATION_NUMBER の 'T2010001034531\\n' は T と13桁の半角数字ではありません"
            "（例: T2010001034531）。"
        ),
    }


def test_secrets_are_never_repeated_in_the_message():
    url = "postgres://smartkey:s3cret-Passw0rd@db.internal:port/smartkey"
    result = run([sys.executable, MANAGE, "check"], broken("DATABASE_URL", url))
    assert "s3cret-Passw0rd" not in result.stderr
    short_key = "only-19-characters!"
    result = run([sys.executable, MANAGE, "check"], broken("SECRET_KEY", short_key))
    assert short_key not in result.stderr


@pytest.mark.parametrize(
    "command",
    [["help"], ["migrate", "--plan"], ["collectstatic", "--noinput", "--dry-run"], ["bill_month", "2026-10"]],
)
@pytest.mark.parametrize(
    ("variable", "value"), [("SECRET_KEY", ""), ("ISSUER_REGISTRATION_NUMBER", "T2010001034532")]
)
def test_every_command_stops_not_only_check(command, variable, value):
    result = run([sys.executable, MANAGE, *command], broken(variable, value))
    assert result.returncode != 0
    assert_one_line_naming(result.stderr, variable)


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi"])
def test_the_wsgi_and_asgi_modules_exit_with_3_and_one_line(module):
    result = run([sys.executable, "-c", f"import {module}"], broken("SECRET_KEY", ""))
    assert result.returncode == 3  # gunicorn: "Worker failed to boot", the master halts
    assert_one_line_naming(result.stderr, "SECRET_KEY")


def gunicorn(*args, env, config="python:config.gunicorn"):
    """gunicorn as the README starts it (``--config python:config.gunicorn``)."""
    return run(
        [GUNICORN, "config.wsgi", "--config", config, "--bind", "127.0.0.1:0", "--no-control-socket", *args],
        env,
        timeout=30,
    )


@pytest.mark.parametrize("preload", [[], ["--preload"]], ids=["workers", "preload"])
@pytest.mark.parametrize(
    ("variable", "value"),
    [("SECRET_KEY", ""), ("DATABASE_URL", MISSING), ("ISSUER_REGISTRATION_NUMBER", "T2010001034532")],
)
def test_gunicorn_stops_at_once_with_the_one_line(preload, variable, value):
    started = time.monotonic()
    result = gunicorn("--workers", "3", *preload, env=broken(variable, value))
    assert time.monotonic() - started < 15
    assert result.returncode == 3
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("設定エラー")]
    assert len(lines) == 1 and lines[0].startswith(f"設定エラー: {variable} "), result.stderr


def test_a_gunicorn_worker_stops_the_master_even_without_gunicorn_conf(tmp_path):
    """Started with another configuration file, gunicorn's master loads nothing itself:
    the worker writes the line and exits with 3, on which the master halts instead of
    starting another worker forever."""
    empty = tmp_path / "gunicorn.conf.py"
    empty.write_text("")
    started = time.monotonic()
    result = gunicorn("--workers", "1", env=broken("SECRET_KEY", ""), config=str(empty))
    assert time.monotonic() - started < 15
    assert result.returncode == 3
    assert "Traceback" not in result.stderr, result.stderr
    assert "設定エラー: SECRET_KEY が空です。" in result.stderr
    assert "Worker failed to boot." in result.stderr


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_serves_with_the_documented_environment():
    port = free_port()
    process = subprocess.Popen(
        [
            *(GUNICORN, "config.wsgi", "--config", "python:config.gunicorn"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket"),
        ],
        env=environment(**DOCUMENTED_ENVIRONMENT),
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/admin/login/", headers={"Host": "smartkey.example.jp"})
                response = connection.getresponse()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.2)
        # plain HTTP: the app sends the browser to HTTPS, before touching any database
        assert response.status == 301
        assert response.getheader("Location") == "https://smartkey.example.jp/admin/login/"
        connection.close()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "設定エラー" not in stderr and "Traceback" not in stderr, stderr


def test_the_registration_number_is_checked_whole():
    from billing.qualified_invoice import is_valid_registration_number

    assert is_valid_registration_number("T2010001034531")
    assert not is_valid_registration_number("T2010001034531\n")
    assert not is_valid_registration_number("T２０１０００１０３４５３１")
    assert not is_valid_registration_number("T2010001034532")
    assert not is_valid_registration_number(" T2010001034531")


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
