"""Bytes to text: UTF-8 with or without BOM, or CP932 (Shift_JIS as Excel writes it in
Japan), detected; what no encoding can read is one problem with its line.

A file is checked and read a block at a time (``detect_encoding``, ``file_lines``): an
import holds a megabyte or two of it, whatever its size. ``decode`` does the same checks
on bytes already in memory."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from django.utils.translation import gettext as _

from .problems import ImportRejected, Problem

ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp932")

#: bytes read at a time
BLOCK_BYTES = 1 << 20


def decode(data: bytes, encoding: str = "auto") -> str:
    """Bytes to text. ``auto`` takes UTF-8 (with or without BOM), then CP932."""
    codec, _line_ends = detect_encoding(io.BytesIO(data), encoding)
    return codecs.decode(data, codec)


def detect_encoding(handle: BinaryIO, encoding: str = "auto") -> tuple[str, int]:
    """The codec that reads the file ``handle`` (``auto``: UTF-8 with or without BOM, then
    CP932), and how many line ends it has, found reading it a block at a time; what no
    codec reads is refused (``ImportRejected``) with its line: a NUL byte, a byte no
    candidate decodes, a stray byte CP932 maps but Shift_JIS has not, UTF-8 lines in a
    file read as CP932."""
    if encoding not in ENCODINGS:
        raise ImportRejected([Problem(1, None, _("unknown encoding %(enc)r") % {"enc": encoding})])
    candidates = ["utf-8-sig", "cp932"] if encoding == "auto" else [encoding]
    first_error: _Undecodable | None = None
    for candidate in candidates:
        if candidate == "utf-8":
            candidate = "utf-8-sig"  # a BOM is never part of the first column's name
        try:
            return candidate, _check_file(handle, candidate, candidates, utf8_error=first_error)
        except _Undecodable as error:
            first_error = first_error or error
    assert first_error is not None
    raise _unreadable(first_error.line, first_error.byte, candidates)


class _Undecodable(Exception):
    def __init__(self, line: int, byte: int):
        super().__init__(line, byte)
        self.line, self.byte = line, byte


class _LineCounter:
    """The line a position of a file falls on, with LF, CRLF and a lone CR as line ends
    (as the CSV reader counts them), fed the file a block at a time (a CRLF may be split
    between two blocks)."""

    def __init__(self) -> None:
        self.line = 1  # the line the next block starts on
        self._after_cr = False

    def line_of(self, block: bytes | str, offset: int) -> int:
        return self.line + self._ends(block[:offset])

    def feed(self, block: bytes | str) -> None:
        self.line += self._ends(block)
        if block:
            self._after_cr = block[-1:] in (b"\r", "\r")

    def _ends(self, part: bytes | str) -> int:
        ends = _line_of(part, len(part)) - 1
        if self._after_cr and part[:1] in (b"\n", "\n"):
            ends -= 1  # the CR before it was counted: one CRLF
        return ends


def _check_file(handle: BinaryIO, codec: str, candidates: list[str], *, utf8_error) -> int:
    """Read the whole file with ``codec``; its number of line ends. Raises ``_Undecodable``
    at the first byte the codec refuses, ``ImportRejected`` for what is refused whatever
    the codec; in the order ``decode`` has always found them: a NUL byte anywhere, then the
    first byte the codec refuses, then a stray byte, then a UTF-8 line."""
    handle.seek(0)
    decoder = codecs.getincrementaldecoder(codec)()
    lines = _LineCounter()
    mixed = _Utf8Lines() if codec == "cp932" and utf8_error is not None else None
    failure: _Undecodable | None = None
    stray: tuple[int, int] | None = None  # (line, byte)
    utf8_line: int | None = None
    while True:
        data = handle.read(BLOCK_BYTES)
        if b"\x00" in data:
            line = lines.line_of(data, data.index(b"\x00"))
            raise ImportRejected(
                [Problem(line, None, _("the file contains NUL bytes: it is not a CSV text file"))]
            )
        if failure is None:  # after a failure the rest is only looked at for NUL bytes
            pending = decoder.getstate()[0]  # the start of a character split between blocks
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as error:
                # the pending bytes hold no line end: they are part of one character
                undecoded = pending + data
                failure = _Undecodable(lines.line_of(undecoded, error.start), undecoded[error.start])
                text = ""
            if codec == "cp932" and stray is None and (found := _CP932_STRAY_RE.search(text)):
                stray = (lines.line_of(text, found.start()), _CP932_STRAY[found.group()])
            if mixed is not None and utf8_line is None:
                utf8_line = mixed.feed(data, final=not data)
        if not data:
            break
        lines.feed(data)
    if failure is not None:
        raise failure
    if stray is not None:
        raise _unreadable(*stray, candidates)
    if utf8_line is not None:
        raise _mixed(utf8_error.line, utf8_line)
    return lines.line - 1


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


def _mixed(utf8_error_line: int, utf8_line: int) -> ImportRejected:
    return ImportRejected(
        [
            Problem(
                utf8_error_line,
                None,
                _(
                    "line %(line)d is UTF-8 but this line is not: the file mixes "
                    "encodings; save the whole file as UTF-8 or Shift_JIS (CP932)"
                )
                % {"line": utf8_line},
            )
        ]
    )


#: Windows' CP932, and so Python's, reads these single bytes although they are not
#: Shift_JIS at all: 0x80 as U+0080 and 0xA0, 0xFD–0xFF as private-use characters.
_CP932_STRAY = {"\x80": 0x80, "\uf8f0": 0xA0, "\uf8f1": 0xFD, "\uf8f2": 0xFE, "\uf8f3": 0xFF}
_CP932_STRAY_RE = re.compile("[\x80\uf8f0-\uf8f3]")
_BYTE_LINE_END_RE = re.compile(rb"\r\n|\r|\n")
#: the longest line looked at for UTF-8 (a longer one is refused anyway: ``MAX_LINE_LENGTH``)
_LONGEST_UTF8_LINE = 1 << 20


class _Utf8Lines:
    """Finds the first line of a file read as CP932 that is UTF-8 text (when UTF-8 was tried
    first and failed): CP932 would turn it into mojibake (株式会社 → 譬ｪ蠑丈ｼ夂､ｾ) instead
    of refusing it. Fed the file a block at a time, one line at a time."""

    def __init__(self) -> None:
        self.number = 0  # lines looked at
        self._carry = b""  # the start of a line split between blocks
        self._skipping = False  # inside a line too long to look at

    def feed(self, data: bytes, *, final: bool) -> int | None:
        """The number of the first UTF-8 line in what was fed, or None."""
        data = self._carry + data
        position = 0
        for match in _BYTE_LINE_END_RE.finditer(data):  # line ends: a pattern of lines backtracks
            if match.end() == len(data) and match.group() == b"\r" and not final:
                break  # perhaps the first half of a CRLF
            line = data[position : match.start()]
            position = match.end()
            self.number += 1
            if self._skipping:
                self._skipping = False
            elif _utf8_text(line):
                return self.number
        rest = data[position:]
        if final:
            if rest and not self._skipping:
                self.number += 1
                if _utf8_text(rest):
                    return self.number
            return None
        if len(rest) > _LONGEST_UTF8_LINE:
            self._skipping, rest = True, b""
        self._carry = rest
        return None


def _utf8_text(line: bytes) -> bool:
    if line.isascii():
        return False
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    # Beyond U+0800 (kana, kanji, a BOM): short runs of half-width katakana in CP932
    # can look like two-byte UTF-8 (ﾃｽ = C3 BD = ý); three-byte lookalikes are rare.
    return any(ord(ch) >= 0x800 for ch in decoded)


_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def text_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends, split as ``io.StringIO(text, newline="")``
    splits them (at \\n, \\r or \\r\\n), one at a time: a StringIO holds 4 bytes a
    character (140 MB for a file of a million accounts)."""
    return (match.group() for match in _LINE_RE.finditer(text))


_LINE_END_RE = re.compile(r"\r\n|\r|\n")


def file_lines(handle: BinaryIO, codec: str, limit: int) -> Iterator[str | int]:
    """The lines of the file ``handle`` read with ``codec`` (as ``detect_encoding`` chose
    it), with their ends, split as ``text_lines`` splits them, a block at a time. A line
    longer than ``limit`` characters is never held whole: it comes as its length (without
    its end) instead."""
    handle.seek(0)
    decoder = codecs.getincrementaldecoder(codec)()
    buffer = ""
    long_line: int | None = None  # characters of a line too long to keep, so far
    while True:
        data = handle.read(BLOCK_BYTES)
        final = not data
        buffer += decoder.decode(data, final=final)
        position = 0
        # line ends, not a pattern of whole lines: that one backtracks over a long line
        for match in _LINE_END_RE.finditer(buffer):
            if not final and match.end() == len(buffer) and match.group() == "\r":
                break  # perhaps the first half of a CRLF
            line = buffer[position : match.end()]
            position = match.end()
            if long_line is not None:
                yield long_line + len(line.rstrip("\r\n"))
                long_line = None
            else:
                yield line
        buffer = buffer[position:]
        if final:
            if long_line is not None:
                yield long_line + len(buffer)
            elif buffer:
                yield buffer
            return
        if long_line is not None or len(buffer) > limit + 2:
            # keep a last CR: the LF of its CRLF may come with the next block
            keep = 1 if buffer.endswith("\r") else 0
            long_line = (long_line or 0) + len(buffer) - keep
            buffer = buffer[len(buffer) - keep :]
