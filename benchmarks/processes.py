"""CPU pinning and the receiver subprocess.

The harness pins itself (writer and worker) to CPU 0 and the receiver to CPU 1 so the
two never compete for a core. Pinning needs Linux affinity support and at least two
CPUs. Elsewhere everything runs unpinned, and the result line records ``"pinning": "none"``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.receiver import LOOPBACK, ReceiverConfig

# An empty ProxyHandler keeps http_proxy variables from routing loopback control calls away.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

HARNESS_CPU = 0
RECEIVER_CPU = 1


def usable_cpus() -> list[int]:
    """Return the CPUs this process may run on right now."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


ORIGINAL_CPUS = usable_cpus()
"""The CPUs available before the harness pinned itself; children may be pinned to any of them."""


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and len(ORIGINAL_CPUS) >= 2


def pin_current_process(cpu: int = HARNESS_CPU) -> bool:
    """Pin this process to one CPU; return False when the machine does not allow it."""
    if not can_pin() or cpu not in ORIGINAL_CPUS:
        return False
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return False
    return True


def unpin_current_process(cpus: list[int]) -> None:
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, set(cpus))


def taskset_prefix(*cpus: int) -> list[str]:
    """Return ``["taskset", "-c", "<cpus>"]`` when taskset exists and pinning is possible, else [].

    Children inherit the harness's own pinning to CPU 0, so a child meant to use every
    CPU needs this prefix too.
    """
    if not can_pin() or not set(cpus) <= set(ORIGINAL_CPUS):
        return []
    taskset = shutil.which("taskset")
    return [taskset, "-c", ",".join(str(cpu) for cpu in cpus)] if taskset else []


class ReceiverProcess:
    """A receiver running in its own (pinned) process, driven over its control paths."""

    def __init__(
        self, config: ReceiverConfig, *, pin: bool = True, max_seconds: float = 3600.0
    ) -> None:
        command = [
            *(taskset_prefix(RECEIVER_CPU) if pin else []),
            sys.executable,
            "-m",
            "benchmarks.receiver",
            "--service-ms",
            str(config.service_ms),
            "--error-5xx",
            str(config.error_5xx),
            "--error-429",
            str(config.error_429),
            "--retry-after",
            str(config.retry_after_seconds),
            "--timeouts",
            str(config.timeouts),
            "--resets",
            str(config.resets),
            "--seed",
            str(config.seed),
            "--max-seconds",
            str(max_seconds),
        ]
        self.pinned = bool(pin and command[0].endswith("taskset"))
        root = Path(__file__).resolve().parents[1]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, cwd=root, env=_env_with_root(root)
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"receiver did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://{LOOPBACK}:{self.port}/hook"

    def stats(self) -> dict[str, Any]:
        with _OPENER.open(f"http://{LOOPBACK}:{self.port}/_bench/stats", timeout=10) as reply:
            return dict(json.loads(reply.read()))

    def dump(self, path: Path) -> int:
        """Write the receiver's log to ``path`` and clear it; return the record count."""
        request = urllib.request.Request(
            f"http://{LOOPBACK}:{self.port}/_bench/dump", data=str(path).encode(), method="POST"
        )
        with _OPENER.open(request, timeout=60) as reply:
            return int(json.loads(reply.read())["dumped"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _env_with_root(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


@contextlib.contextmanager
def receiver_process(config: ReceiverConfig, *, pin: bool = True) -> Iterator[ReceiverProcess]:
    receiver = ReceiverProcess(config, pin=pin)
    try:
        yield receiver
    finally:
        receiver.stop()


def wait_until(predicate: Any, timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it returns true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class WorkerProcess:
    """A DocRelay worker (``benchmarks.worker_process``) in its own process."""

    def __init__(
        self, arguments: list[str], *, cpu: int | None = None, ready_timeout: float = 60.0
    ) -> None:
        root = Path(__file__).resolve().parents[1]
        command = [
            *taskset_prefix(*([cpu] if cpu is not None else ORIGINAL_CPUS)),
            sys.executable,
            "-m",
            "benchmarks.worker_process",
            *arguments,
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, cwd=root, env=_env_with_root(root)
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + ready_timeout
        line = ""
        while time.monotonic() < deadline and not line.startswith("READY"):
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"worker process did not start (exit code {self.process.poll()})")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 60.0) -> int:
        """Ask the worker to stop (SIGTERM), wait for it, return its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return int(self.process.returncode)
