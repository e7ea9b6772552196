"""Every text the code marks for translation is shipped in Japanese: the messages are
extracted as ``makemessages`` extracts them (from a copy of the source, so that the
catalogs in the repository are never rewritten), and each must come back translated
from the compiled catalogs the application really loads. A string added without its
Japanese entry, or a .po entry whose .mo was not recompiled, fails here."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

SOURCES = ("manage.py", "config", "billing", "contracts", "templates")

#: texts that are the same in Japanese: names of formats and of a protocol header
SAME_IN_JAPANESE = {"PDF", "SHA-256", "Shift_JIS", "HTTP Accept"}

pytestmark = pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgcat") is None,
    reason="GNU gettext (xgettext, msgcat) is not installed: makemessages cannot extract the texts",
)


def _unquote(quoted: str) -> str:
    """The text of a .po string literal (its escapes: \\" \\\\ \\n \\t)."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), quoted)


def _entries(po: Path) -> list[tuple[str | None, str, str | None]]:
    """(context, msgid, plural) of every entry of ``po``, one line per string (msgcat)."""
    text = subprocess.run(["msgcat", "--no-wrap", str(po)], capture_output=True, text=True, check=True).stdout
    entries = []
    for block in text.split("\n\n"):
        msgid = re.search(r'^msgid "(.*)"$', block, re.M)
        if not msgid or not msgid.group(1):
            continue  # the header
        context = re.search(r'^msgctxt "(.*)"$', block, re.M)
        plural = re.search(r'^msgid_plural "(.*)"$', block, re.M)
        entries.append(
            (
                _unquote(context.group(1)) if context else None,
                _unquote(msgid.group(1)),
                _unquote(plural.group(1)) if plural else None,
            )
        )
    return entries


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> list[tuple[str | None, str, str | None]]:
    copy = tmp_path_factory.mktemp("source")
    base = Path(settings.BASE_DIR)
    ignore = shutil.ignore_patterns("__pycache__", "*.mo", "*.pyc")
    for name in SOURCES:
        source = base / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=ignore)
        else:
            shutil.copy2(source, copy / name)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "ja", "--no-obsolete", "--verbosity", "0"],
        cwd=copy,
        check=True,
        capture_output=True,
    )
    entries = [entry for po in sorted(copy.rglob("django.po")) for entry in _entries(po)]
    return entries


def _translated(context, msgid, plural) -> str:
    if context is not None and plural is not None:
        return translation.npgettext(context, msgid, plural, 1)
    if context is not None:
        return translation.pgettext(context, msgid)
    if plural is not None:
        return translation.ngettext(msgid, plural, 1)
    return translation.gettext(msgid)


def test_every_marked_text_is_shipped_in_japanese(extracted):
    # the extraction found the code's texts (not an empty copy): a message of each catalog
    assert {"No exceptions.", "customer code", "SmartKey back office"} <= {msgid for _c, msgid, _p in extracted}
    with translation.override("ja"):
        missing = [
            msgid
            for context, msgid, plural in extracted
            if msgid not in SAME_IN_JAPANESE and _translated(context, msgid, plural) == msgid
        ]
    assert missing == []


def test_a_text_added_without_its_japanese_is_caught(extracted):
    """The check above is not blind: a text no catalog holds comes back as itself."""
    with translation.override("ja"):
        assert _translated(None, "A text added yesterday without its Japanese.", None) == (
            "A text added yesterday without its Japanese."
        )
        assert _translated(None, "No exceptions.", None) == "要対応事項はありません。"
