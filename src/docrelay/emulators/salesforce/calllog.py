"""Log of every call that reached the emulated org, for tests and benchmarks."""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from docrelay import clock


@dataclasses.dataclass
class CallRecord:
    """One HTTP call: when, what, how it ended, and its kind (``sobject_create``, ``query``...)."""

    time: str
    method: str
    path: str
    status: int
    kind: str
    duration_ms: float
    api_counted: bool

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class CallLog:
    """Calls in arrival order, capped so a long benchmark cannot exhaust memory."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.entries: collections.deque[CallRecord] = collections.deque(maxlen=max_entries)
        self.counts: collections.Counter[str] = collections.Counter()

    def add(
        self, method: str, path: str, status: int, kind: str, duration_ms: float, api_counted: bool
    ) -> None:
        moment = clock.now().isoformat()
        self.entries.append(
            CallRecord(moment, method, path, status, kind, round(duration_ms, 3), api_counted)
        )
        self.counts[kind] += 1

    def clear(self) -> None:
        self.entries.clear()
        self.counts.clear()

    def summary(self) -> dict[str, Any]:
        return {
            "total": sum(self.counts.values()),
            "counts": dict(self.counts),
            "api_calls": sum(1 for entry in self.entries if entry.api_counted),
            "calls": [entry.as_dict() for entry in self.entries],
        }
