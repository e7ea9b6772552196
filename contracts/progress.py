"""Progress of long commands on a terminal (tqdm), and nothing elsewhere.

Services and the import engine take an optional ``progress(stage, done, total)``
callback and know nothing about terminals; commands pass ``terminal_progress(stream)``,
which is None when the stream is a file or a pipe, so output stays quiet there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

#: ``progress(stage, done, total)``: ``done`` of ``total`` units of ``stage`` are finished
Progress = Callable[[str, int, int], None]


def terminal_progress(stream: TextIO) -> Progress | None:
    """A progress callback drawing one bar per stage on ``stream``, if it is a terminal."""
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return None
    bars: dict[str, tqdm] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=total, desc=stage, file=stream, unit_scale=total >= 100_000, leave=True
            )
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return report


def report_every(progress: Progress | None, stage: str, total: int, step: int = 10_000):
    """A function to call per unit of work; it reports every ``step`` units (cheap in loops)."""
    if progress is None:
        return lambda done: None

    def tick(done: int) -> None:
        if done % step == 0 or done == total:
            progress(stage, done, total)

    return tick
