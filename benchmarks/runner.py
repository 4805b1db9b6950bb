"""Run scenarios: interleave A/B pairs, summarise pair ratios, write and print results.

Every ratio is measured side by side in one run, A B A B ..., and the reported figure
is the median of the pair ratios with their min and max. Each run appends one JSON
line to ``<results-dir>/<scenario>.jsonl`` with the machine facts, the parameters,
every pair's raw numbers and the verdict against the scenario's goal.
"""

from __future__ import annotations

import contextlib
import cProfile
import dataclasses
import datetime as dt
import importlib
import json
import os
import pstats
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.machine import REPO_ROOT, machine_facts
from benchmarks.processes import (
    HARNESS_CPU,
    pin_current_process,
    unpin_current_process,
    usable_cpus,
)
from benchmarks.sampler import StackSampler
from benchmarks.stats import ratio_summary

DEFAULT_RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_PAIRS = 5
QUICK_PAIRS = 1

# Without a terminal rich would wrap tables at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)


class NotAvailable(Exception):
    """A DocRelay piece the scenario needs does not exist in this build."""

    def __init__(self, missing: str) -> None:
        super().__init__(missing)
        self.missing = missing


@dataclasses.dataclass
class Context:
    """Options shared by every scenario of one invocation."""

    quick: bool
    pairs: int
    results_dir: Path
    work_dir: Path
    profile_dir: Path | None = None
    duration: float | None = None
    """Overrides the steady-load duration of the latency scenarios, in seconds."""
    use_postgres: bool = True
    scale: float = 1.0
    """Multiplies the full-run sizes (not the quick ones)."""
    _postgres_url: str | None = None

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else max(1, round(full * self.scale))

    def postgres_url(self) -> str:
        """Return an admin URL from ``scripts/ensure-postgres``; raise NotAvailable without one."""
        if not self.use_postgres:
            raise NotAvailable("PostgreSQL (--no-postgres given)")
        if self._postgres_url is None:
            script = REPO_ROOT / "scripts" / "ensure-postgres"
            try:
                result = subprocess.run([str(script)], capture_output=True, text=True, timeout=180)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise NotAvailable(f"PostgreSQL ({exc})") from exc
            if result.returncode != 0 or not result.stdout.strip():
                raise NotAvailable(f"PostgreSQL (ensure-postgres exited {result.returncode})")
            self._postgres_url = result.stdout.strip().splitlines()[-1]
        return self._postgres_url


@dataclasses.dataclass
class Outcome:
    """The numbers one scenario (or variant) measured, ready to be written as a result line."""

    a_label: str
    b_label: str
    ratio_name: str
    pairs: list[dict[str, Any]]
    goal_met: bool | None
    verdict: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    columns: tuple[str, ...] = ()
    """Keys of each side's numbers to show in the printed table."""
    variant: str | None = None
    """Names one of several result lines of a scenario, e.g. ``sqlite`` or ``500/s``."""

    @property
    def ratio(self) -> dict[str, Any]:
        return ratio_summary(
            [pair["ratio"] for pair in self.pairs if pair.get("ratio") is not None]
        )


@dataclasses.dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    goal: str
    module: str
    function: str = "run"


def interleave(
    pairs: int,
    run_a: Callable[[int], dict[str, Any]],
    run_b: Callable[[int], dict[str, Any]],
    ratio: Callable[[dict[str, Any], dict[str, Any]], float | None],
) -> list[dict[str, Any]]:
    """Run A then B ``pairs`` times and return each pair's numbers and ratio."""
    results: list[dict[str, Any]] = []
    for index in range(pairs):
        a = run_a(index)
        b = run_b(index)
        value = ratio(a, b)
        results.append({"a": a, "b": b, "ratio": round(value, 4) if value is not None else None})
        console.print(f"  pair {index + 1}/{pairs}: ratio {_fmt(value)}")
    return results


@contextlib.contextmanager
def profiled(context: Context, name: str) -> Iterator[None]:
    """Profile the block when ``--profile`` is given: cProfile and an all-thread sampler.

    Writes ``<name>.pstats`` (cProfile, the calling thread only) and ``<name>.txt`` (the
    sampler's report over every thread) into the profile folder and prints both tops.
    """
    if context.profile_dir is None:
        yield
        return
    profiler = cProfile.Profile()
    with StackSampler() as sampler:
        profiler.enable()
        try:
            yield
        finally:
            profiler.disable()
    context.profile_dir.mkdir(parents=True, exist_ok=True)
    path = context.profile_dir / f"{name}.pstats"
    profiler.dump_stats(path)
    report = sampler.report()
    (context.profile_dir / f"{name}.txt").write_text(report + "\n", encoding="utf-8")
    console.print(f"  profile written to {path} and {name}.txt")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(15)
    print(report)


def run_scenario(scenario: Scenario, context: Context) -> list[Outcome]:
    """Run one scenario and write a result line per outcome; none when it is not available."""
    console.rule(f"{scenario.id}: {scenario.title}")
    console.print(f"goal: {scenario.goal}")
    function = getattr(importlib.import_module(scenario.module), scenario.function)
    cpus = usable_cpus()
    load_before = _load_average()
    pinned = pin_current_process(HARNESS_CPU)
    started = time.time()
    try:
        produced: Outcome | list[Outcome] = function(context)
    except NotAvailable as exc:
        console.print(f"{scenario.id} not available: {exc.missing}")
        return []
    finally:
        if pinned:
            unpin_current_process(cpus)
    outcomes = produced if isinstance(produced, list) else [produced]
    for outcome in outcomes:
        record = _record(scenario, context, outcome, started, pinned)
        record["machine"]["load_average_1min"] = {"start": load_before, "end": _load_average()}
        path = write_result(context.results_dir, scenario.id, record)
        print_outcome(scenario, outcome)
        console.print(f"result appended to {path}")
    return outcomes


def _record(
    scenario: Scenario, context: Context, outcome: Outcome, started: float, pinned: bool
) -> dict[str, Any]:
    return {
        "scenario": scenario.id,
        "variant": outcome.variant,
        "title": scenario.title,
        "run_id": uuid.uuid4().hex,
        "started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(),
        "wall_seconds": round(time.time() - started, 2),
        "quick": context.quick,
        "machine": {**machine_facts(), "harness_pinned_to_cpu0": pinned},
        "params": outcome.params,
        "a": outcome.a_label,
        "b": outcome.b_label,
        "ratio_name": outcome.ratio_name,
        "pairs": outcome.pairs,
        "ratio": outcome.ratio,
        "goal": {"text": scenario.goal, "met": outcome.goal_met, "verdict": outcome.verdict},
        "extra": outcome.extra,
    }


def _load_average() -> float | None:
    """Return the 1-minute load average: other work on the machine skews absolute numbers."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def write_result(results_dir: Path, scenario_id: str, record: dict[str, Any]) -> Path:
    """Append ``record`` as one JSON line to ``<results_dir>/<scenario_id>.jsonl``."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{scenario_id}.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, separators=(",", ":"), default=str))
        handle.write("\n")
    return path


def print_outcome(scenario: Scenario, outcome: Outcome) -> None:
    name = f"{scenario.id} {outcome.variant}" if outcome.variant else scenario.id
    table = Table(title=f"{name}: {outcome.ratio_name}")
    table.add_column("pair", justify="right")
    for column in outcome.columns:
        table.add_column(f"A {column}", justify="right")
    for column in outcome.columns:
        table.add_column(f"B {column}", justify="right")
    table.add_column("ratio", justify="right")
    for index, pair in enumerate(outcome.pairs, start=1):
        cells = [str(index)]
        cells += [_fmt(pair["a"].get(column)) for column in outcome.columns]
        cells += [_fmt(pair["b"].get(column)) for column in outcome.columns]
        cells.append(_fmt(pair.get("ratio")))
        table.add_row(*cells)
    console.print(f"A = {outcome.a_label}\nB = {outcome.b_label}")
    console.print(table)
    summary = outcome.ratio
    console.print(
        f"median {_fmt(summary['median'])}  min {_fmt(summary['min'])}  max {_fmt(summary['max'])}"
        f"  over {summary['pairs']} pairs"
    )
    mark = {True: "MET", False: "MISSED", None: "NOT JUDGED"}[outcome.goal_met]
    console.print(f"goal {mark}: {outcome.verdict}")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def run_many(scenarios: list[Scenario], context: Context) -> int:
    """Run scenarios one after another; return 1 if any raised, else 0."""
    status = 0
    for scenario in scenarios:
        try:
            run_scenario(scenario, context)
        except Exception:
            status = 1
            console.print(f"{scenario.id} failed:")
            console.print(traceback.format_exc())
    return status
