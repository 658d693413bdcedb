"""``summary``: one line per exercise, and "all checks passed" only when every one has."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from micrograd_lite.exercises.display import ALL_PASSED, NOT_DONE, TO_FIX, Table, TableReport


class Report(Protocol):
    """What every exercise report offers: ``status``, one of ``passed``, ``to fix``, ``not done yet``."""

    @property
    def status(self) -> str: ...


@dataclass(frozen=True, repr=False)  # shown as its table (TableReport)
class Summary(TableReport):
    """The state of each exercise, in order."""

    items: tuple[tuple[str, str], ...]

    @property
    def all_passed(self) -> bool:
        return all(state == "passed" for _, state in self.items)

    def _table(self) -> Table:
        if self.all_passed:
            return Table(ALL_PASSED, (), ())
        passed = sum(state == "passed" for _, state in self.items)
        title = f"{passed} of {len(self.items)} exercises passed"
        return Table(title, ("exercise", "state"), self.items, verdict_column=1)


def summary(reports: Mapping[str, Report | Sequence[Report]]) -> Summary:
    """Each exercise's state from its report(s); an exercise with several reports takes the worst."""
    rank = {"passed": 0, NOT_DONE: 1, TO_FIX: 2}
    items = []
    for name, entry in reports.items():
        group = list(entry) if isinstance(entry, Sequence) else [entry]
        if not group:
            raise ValueError(f"summary: exercise {name!r} has no report")
        items.append((name, max((r.status for r in group), key=rank.__getitem__)))
    return Summary(tuple(items))
