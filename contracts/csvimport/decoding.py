"""Bytes to text: UTF-8 with or without BOM, or CP932 (Shift_JIS as Excel writes it in
Japan), detected; what no encoding can read is one problem with its line."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from django.utils.translation import gettext as _

from .problems import ImportRejected, Problem

ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp932")


def decode(data: bytes, encoding: str = "auto") -> str:
    """Bytes to text. ``auto`` takes UTF-8 (with or without BOM), then CP932."""
    if encoding not in ENCODINGS:
        raise ImportRejected([Problem(1, None, _("unknown encoding %(enc)r") % {"enc": encoding})])
    if b"\x00" in data:
        line = _line_of(data, data.index(b"\x00"))
        raise ImportRejected(
            [Problem(line, None, _("the file contains NUL bytes: it is not a CSV text file"))]
        )
    candidates = ["utf-8-sig", "cp932"] if encoding == "auto" else [encoding]
    first_error: UnicodeDecodeError | None = None
    for candidate in candidates:
        if candidate == "utf-8":
            candidate = "utf-8-sig"  # a BOM is never part of the first column's name
        try:
            text = codecs.decode(data, candidate)
        except UnicodeDecodeError as error:
            first_error = first_error or error
            continue
        if candidate == "cp932":
            _check_cp932(data, text, candidates, utf8_error=first_error)
        return text
    assert first_error is not None
    raise _unreadable(_line_of(data, first_error.start), data[first_error.start], candidates)


def _line_of(data: bytes | str, offset: int) -> int:
    """The line of ``data[offset]``, with LF, CRLF and a lone CR as line ends (as the CSV
    reader counts them)."""
    nl, cr, crlf = ("\n", "\r", "\r\n") if isinstance(data, str) else (b"\n", b"\r", b"\r\n")
    head = data[:offset]
    return head.count(nl) + head.count(cr) - head.count(crlf) + 1


def _unreadable(line: int, byte: int, candidates: list[str]) -> ImportRejected:
    return ImportRejected(
        [
            Problem(
                line,
                None,
                _(
                    "byte 0x%(byte)02x cannot be read as %(encodings)s; "
                    "save the file as UTF-8 or Shift_JIS (CP932)"
                )
                % {"byte": byte, "encodings": " / ".join(candidates)},
            )
        ]
    )


#: Windows' CP932, and so Python's, reads these single bytes although they are not
#: Shift_JIS at all: 0x80 as U+0080 and 0xA0, 0xFD–0xFF as private-use characters.
_CP932_STRAY = {"\x80": 0x80, "\uf8f0": 0xA0, "\uf8f1": 0xFD, "\uf8f2": 0xFE, "\uf8f3": 0xFF}
_CP932_STRAY_RE = re.compile("[\x80\uf8f0-\uf8f3]")
_BYTE_LINE_RE = re.compile(rb"([^\r\n]*)(?:\r\n|\r|\n|\Z)")


def _check_cp932(
    data: bytes, text: str, candidates: list[str], *, utf8_error: UnicodeDecodeError | None
) -> None:
    """Refuse what CP932 decodes but is no Shift_JIS text: stray single bytes, and (when
    UTF-8 was tried first and failed) a file with UTF-8 lines in it, which CP932 would
    turn into mojibake (株式会社 → 譬ｪ蠑丈ｼ夂､ｾ) instead of refusing."""
    stray = _CP932_STRAY_RE.search(text)
    if stray:
        raise _unreadable(_line_of(text, stray.start()), _CP932_STRAY[stray.group()], candidates)
    if utf8_error is None:
        return
    # one line at a time: a list of a large file's lines would cost more than the file
    for number, match in enumerate(_BYTE_LINE_RE.finditer(data), start=1):
        line = match.group(1)
        if line.isascii():
            continue
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        # Beyond U+0800 (kana, kanji, a BOM): short runs of half-width katakana in CP932
        # can look like two-byte UTF-8 (ﾃｽ = C3 BD = ý); three-byte lookalikes are rare.
        if any(ord(ch) >= 0x800 for ch in decoded):
            raise ImportRejected(
                [
                    Problem(
                        _line_of(data, utf8_error.start),
                        None,
                        _(
                            "line %(line)d is UTF-8 but this line is not: the file mixes "
                            "encodings; save the whole file as UTF-8 or Shift_JIS (CP932)"
                        )
                        % {"line": number},
                    )
                ]
            )


_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def text_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends, split as ``io.StringIO(text, newline="")``
    splits them (at \\n, \\r or \\r\\n), one at a time: a StringIO holds 4 bytes a
    character (140 MB for a file of a million accounts)."""
    return (match.group() for match in _LINE_RE.finditer(text))


#: The longest line read: the csv module's own limit for one value (131,072 characters),
#: where the kinds' lines are a few hundred characters long. A longer line is one problem
#: and is never split into cells (a line of a million commas would be a million cells).
