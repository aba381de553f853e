"""CPU time and memory of process trees, read from /proc (Linux), for the server side of each figure.

A server is a few named groups of root processes (api, workers, postgres...). A group's CPU is the sum of
utime+stime+cutime+cstime over each root and all its living descendants: when a child (a PostgreSQL backend, a
pool process) exits and is reaped, its time moves into its parent's cutime/cstime, so a delta taken across a
measurement counts every process that ran during it exactly once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: everything after the last ')' is fixed.
    return text[text.rindex(")") + 2 :].split()


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree(roots: Iterable[int]) -> set[int]:
    """The roots and all their living descendants."""
    children = _children_map()
    found: set[int] = set()
    todo = [pid for pid in roots if _stat_fields(pid)]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def cpu_seconds(roots: Iterable[int]) -> float:
    total = 0
    for pid in tree(roots):
        if fields := _stat_fields(pid):
            # utime, stime, cutime, cstime are fields 14-17 of /proc/<pid>/stat.
            total += sum(int(value) for value in fields[11:15])
    return total / TICKS


def rss_bytes(roots: Iterable[int]) -> int:
    total = 0
    for pid in tree(roots):
        try:
            total += int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


class CpuMeter:
    """CPU seconds per named group between `start()` and `stop()`."""

    def __init__(self, groups: Mapping[str, list[int]]) -> None:
        self.groups = dict(groups)
        self.before: dict[str, float] = {}

    def snapshot(self) -> dict[str, float]:
        return {name: cpu_seconds(pids) for name, pids in self.groups.items()}

    def start(self) -> None:
        self.before = self.snapshot()

    def stop(self) -> dict[str, float]:
        after = self.snapshot()
        return {name: after[name] - self.before[name] for name in self.groups}
