"""CSV files as Japanese accountants' software and Excel read them: UTF-8 with BOM or
CP932 (Shift_JIS), CRLF line ends, streamed a row at a time."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

ENCODINGS = ("utf-8-sig", "cp932")


@dataclass
class EncodingReport:
    replaced: list[str] = field(default_factory=list)


def encoded_csv(
    rows: Iterable[list[str]], header: tuple[str, ...] | None, encoding: str, report: EncodingReport
) -> Iterator[bytes]:
    """CSV bytes, a chunk per row, CRLF line ends. Characters CP932 cannot hold are
    written as '?' and listed in ``report``. ``header`` None: no header row (formats
    such as 弥生インポート形式 have none)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def chunk(row) -> bytes:
        writer.writerow(row)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if encoding == "cp932":
            data = text.encode("cp932", errors="replace")
            if data.count(b"?") != text.count("?"):  # CP932 trail bytes are never 0x3F
                report.replaced.append(text.strip()[:80])
            return data
        return text.encode("utf-8")

    yield (codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"") + (
        chunk(header) if header is not None else b""
    )
    for row in rows:
        yield chunk(row)
