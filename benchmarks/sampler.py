"""A small sampling profiler that covers every thread, for code cProfile misses.

cProfile only follows the thread that enabled it, while DocRelay's worker does its
database work in thread pools. This sampler reads ``sys._current_frames()`` every few
milliseconds and counts, per function, how often it was on top of a stack (self) and
anywhere in a stack (total). Waiting threads are counted too, so read the "total"
column of busy functions, not of ``wait`` or ``select``.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from types import FrameType

IDLE_FUNCTIONS = frozenset(
    {"wait", "select", "poll", "_worker", "get", "acquire", "sleep", "readline"}
)


def _label(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename.rsplit('/site-packages/', 1)[-1]}:{frame.f_lineno}({code.co_name})"


def _function(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename.rsplit('/site-packages/', 1)[-1]}({code.co_name})"


class StackSampler:
    """Sample all threads' stacks in a daemon thread until stopped."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.samples = 0
        self.self_counts: collections.Counter[str] = collections.Counter()
        self.total_counts: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def __enter__(self) -> StackSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        own = threading.get_ident()
        while not self._stop.is_set():
            for ident, frame in sys._current_frames().items():
                if ident != own:
                    self._record(frame)
            self.samples += 1
            time.sleep(self.interval)

    def _record(self, frame: FrameType) -> None:
        if frame.f_code.co_name in IDLE_FUNCTIONS:
            return
        self.self_counts[_label(frame)] += 1
        seen: set[str] = set()
        current: FrameType | None = frame
        while current is not None:
            name = _function(current)
            if name not in seen:
                seen.add(name)
                self.total_counts[name] += 1
            current = current.f_back

    def report(self, top: int = 25) -> str:
        """Return the busiest functions as text: share of samples on top and anywhere in a stack."""
        if not self.samples:
            return "no samples"
        lines = [
            f"{self.samples} samples every {self.interval * 1000:.0f} ms (idle waits left out)"
        ]
        lines.append("self%   where")
        for label, count in self.self_counts.most_common(top):
            lines.append(f"{100 * count / self.samples:5.1f}  {label}")
        lines.append("total%  function")
        for label, count in self.total_counts.most_common(top):
            lines.append(f"{100 * count / self.samples:5.1f}  {label}")
        return "\n".join(lines)
