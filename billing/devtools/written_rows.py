"""The rows an operation wrote, for a benchmark's ``COPY`` bound: marked by the last key
of each table before it, copied out, taken away and copied back into the same tables
(``benchmark_payments``, ``benchmark_imports``). ``written``: ``(table, key column)`` pairs,
parents before children; ``since``: the last key of each before the operation."""

from __future__ import annotations


def last_ids(conn, written) -> dict[str, int]:
    return {
        table: conn.execute(f"SELECT COALESCE(MAX({key}), 0) FROM {table}").fetchone()[0]
        for table, key in written
    }


def take_away(conn, written, since: dict[str, int]) -> None:
    """Delete the rows written since ``since`` (audit trails refuse it: triggers off, for
    this transaction only; so a superuser, as the benchmark's role is)."""
    conn.execute("SET LOCAL session_replication_role = replica")
    for table, key in reversed(written):
        conn.execute(f"DELETE FROM {table} WHERE {key} > %s", [since[table]])
    conn.execute("SET LOCAL session_replication_role = origin")


def copy_out(conn, written, since: dict[str, int]) -> dict[str, bytes]:
    """The rows written since ``since``, as ``COPY`` text, table by table, in key order."""
    copied = {}
    for table, key in written:
        with conn.cursor().copy(
            f"COPY (SELECT * FROM {table} WHERE {key} > {int(since[table])} ORDER BY {key}) TO STDOUT"
        ) as copy:
            copied[table] = b"".join(bytes(block) for block in copy)
    return copied


def copy_in(conn, written, copied: dict[str, bytes]) -> None:
    """``copy_out``'s rows back into their tables, a megabyte at a time."""
    for table, _key in written:
        data = copied[table]
        with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start : start + (1 << 20)])
