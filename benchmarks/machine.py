"""Machine facts recorded with every result line, so numbers are never read out of context."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.bare_httpx_loop import load_httpx
from benchmarks.processes import ORIGINAL_CPUS, can_pin

LIBRARIES = ("docrelay", "aiohttp", "sqlalchemy", "psycopg", "pyhanko", "pypdf", "rich", "psutil")
REPO_ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if result.returncode != 0:
        return "none (no commit yet)"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.strip()
    return result.stdout.strip() + ("+dirty" if dirty else "")


def library_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    _, httpx_label = load_httpx()
    versions["httpx"] = httpx_label
    return versions


def machine_facts() -> dict[str, Any]:
    """Return nproc, CPU model, memory, Python, SQLite, library versions, pinning and git commit."""
    facts: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "usable_cpus": ORIGINAL_CPUS,
        "cpu_model": cpu_model(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "libraries": library_versions(),
        "pinning": "taskset/sched_setaffinity" if can_pin() and shutil.which("taskset") else "none",
        "git_commit": git_commit(),
    }
    return facts


def _memory_gib() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return round(psutil.virtual_memory().total / 2**30, 1)
