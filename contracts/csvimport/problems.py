"""What is wrong with a file, line by line: problems collected while reading and checking,
the first ones kept, the rest counted."""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

# --- problems ----------------------------------------------------------------------

#: Problems reported in full; beyond them a file's problems are counted, and the report
#: ends with one line saying how many more there were (a header of a million columns, or
#: a million bad rows, would otherwise print a million lines).
MAX_REPORTED_PROBLEMS = 100


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.column:
            return f"line {self.line}, column {self.column}: {self.message}"
        return f"line {self.line}: {self.message}"


class ImportRejected(Exception):
    """The file was not imported; ``problems`` says why, row by row: the first
    ``MAX_REPORTED_PROBLEMS`` in file order. ``count`` is how many were found in all."""

    def __init__(self, problems: Iterable[Problem], count: int | None = None):
        ordered = sorted(problems, key=lambda p: p.line)  # stable: file order within a line
        self.problems = ordered[:MAX_REPORTED_PROBLEMS]
        self.count = max(len(ordered), count or 0)
        lines = [str(p) for p in self.problems]
        if self.more:
            lines.append(self.more_message())
        super().__init__("\n".join(lines))

    @property
    def more(self) -> int:
        """How many problems were found beyond those in ``problems``."""
        return self.count - len(self.problems)

    def more_message(self) -> str:
        return _("… and at least %(count)s more problem(s) (only the first %(shown)d are shown)") % {
            "count": f"{self.more:,}",
            "shown": len(self.problems),
        }


class CellError(ValueError):
    """Raised by a column parser; its message is shown to the person who made the file."""


class Problems:
    """The problems of one file, as they are found.

    Only the first ``limit`` in file order (line, then the order found) are kept whole;
    the others are counted, and their lines remembered (8 bytes each), so that a file of
    a million bad rows costs megabytes, not a million messages. ``items`` is the list of
    every problem as the kinds have always read it (``len``, slices, ``.line``); a problem
    beyond the limit appears there by its line only. With ``track_lines=False`` (files of
    any size: ``StagedImportKind``) those lines are not remembered either, and ``items`` is
    not available: memory is the same for ten bad rows or ten million."""

    def __init__(self, limit: int = MAX_REPORTED_PROBLEMS, *, track_lines: bool = True) -> None:
        self.limit = limit
        self.count = 0
        self.track_lines = track_lines
        self._lines = array("q")  # the line of every problem, in the order found
        self._heap: list[tuple[int, int, Problem]] = []  # the kept: (-line, -order, problem)
        self._kept: dict[int, Problem] = {}  # order → problem, for ``items``

    def add(self, line: int, column: str | None, message: str) -> None:
        order = self.count
        self.count += 1
        if self.track_lines:
            self._lines.append(line)
        if len(self._heap) == self.limit and (-line, -order) < self._heap[0][:2]:
            return  # later in the file than every problem kept: counted only
        problem = Problem(line, column, str(message))
        heapq.heappush(self._heap, (-line, -order, problem))
        self._kept[order] = problem
        if len(self._heap) > self.limit:
            _line, dropped, _problem = heapq.heappop(self._heap)
            del self._kept[-dropped]

    def count_more(self, count: int) -> None:
        """Count ``count`` more problems found after every problem kept (a check in SQL
        reads its first ``limit`` problems in file order, and counts the others)."""
        if self.track_lines:
            raise TypeError("problems counted without their lines need track_lines=False")
        self.count += count

    @property
    def full(self) -> bool:
        """Whether the file is refused already and its report full: what follows is counted."""
        return self.count >= self.limit

    def rejected(self) -> ImportRejected:
        return ImportRejected(self._kept.values(), count=self.count)

    @property
    def items(self) -> _ProblemItems:
        if not self.track_lines:
            raise TypeError("Problems(track_lines=False) keeps no list of every problem")
        return _ProblemItems(self, range(self.count))

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0


class _ProblemItems(Sequence):
    """``Problems.items``: every problem in the order found, computed on demand."""

    def __init__(self, problems: Problems, orders: range) -> None:
        self._problems = problems
        self._orders = orders

    def __len__(self) -> int:
        return len(self._orders)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return _ProblemItems(self._problems, self._orders[index])
        order = self._orders[index]
        kept = self._problems._kept.get(order)
        return kept if kept is not None else Problem(self._problems._lines[order], None, "")
