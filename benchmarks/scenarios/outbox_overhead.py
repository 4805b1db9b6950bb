"""P6: what writing outbox rows costs a status-change transaction.

Two accounts share one database: documents of account A send every status change to
a webhook design (tracking on, so ``record_event`` inserts a delivery row), documents
of account B have tracking off (``record_event`` writes the event, no delivery). Each
pair records the same number of changes on each side, one transaction each, from
one thread, alternating A and B in 10 blocks.
The same comparison with raw ``sqlite3`` statements (the bare loop's tables) is
reported as the floor.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks import bare_loop, docrelay_app
from benchmarks.runner import Context, NotAvailable, Outcome, console, profiled
from benchmarks.stats import safe_ratio
from benchmarks.workloads import document_names

GOAL_RATIO = 0.7
DOCUMENTS = 100
BLOCKS = 10
"""Each pair alternates A and B this many times."""


def _timed_changes(runtime: Any, document_ids: list[str], count: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        docrelay_app.record_status_change(runtime, document_ids[index % len(document_ids)])
    return time.perf_counter() - started


def _alternating_pair(
    runtime: Any, with_outbox: list[str], without_outbox: list[str], count: int
) -> dict[str, Any]:
    """Time A and B in alternating blocks, so a burst of load elsewhere hits both sides alike."""
    block = max(1, count // BLOCKS)
    seconds = {"a": 0.0, "b": 0.0}
    done = 0
    while done < count:
        size = min(block, count - done)
        seconds["a"] += _timed_changes(runtime, with_outbox, size)
        seconds["b"] += _timed_changes(runtime, without_outbox, size)
        done += size
    return {
        side: {
            "transactions": count,
            "seconds": round(spent, 3),
            "per_second": round(count / spent, 1),
        }
        for side, spent in seconds.items()
    }


def _pairs(
    context: Context, runtime: Any, with_outbox: list[str], without_outbox: list[str], count: int
) -> list[dict[str, Any]]:
    pairs = []
    for index in range(context.pairs):
        pair = _alternating_pair(runtime, with_outbox, without_outbox, count)
        ratio = safe_ratio(pair["a"]["per_second"], pair["b"]["per_second"])
        pairs.append({**pair, "ratio": round(ratio, 4) if ratio is not None else None})
        shown = f"{ratio:.3f}" if ratio is not None else "-"
        console.print(f"  pair {index + 1}/{context.pairs}: ratio {shown}")
    return pairs


def _measure(
    context: Context, runtime: Any, variant: str, count: int, extra: dict[str, Any]
) -> Outcome:
    docrelay_app.migrate(runtime)
    # The design points at a closed port: nothing is delivered, only rows are written.
    config = docrelay_app.webhook_config("http://127.0.0.1:9/hook")
    _, with_outbox = docrelay_app.seed_documents(
        runtime, DOCUMENTS, design_config=config, tracking=True
    )
    _, without_outbox = docrelay_app.seed_documents(
        runtime, DOCUMENTS, design_config=config, tracking=False
    )
    _timed_changes(runtime, with_outbox + without_outbox, min(count, 200))  # warm-up

    pairs = _pairs(context, runtime, with_outbox, without_outbox, count)
    if context.profile_dir is not None:
        with profiled(context, f"P6-{variant}-with-outbox"):
            _timed_changes(runtime, with_outbox, count)
        with profiled(context, f"P6-{variant}-without-outbox"):
            _timed_changes(runtime, without_outbox, count)

    states = docrelay_app.count_by_state(runtime)
    outcome = Outcome(
        a_label="record_event with one delivery row per change (tracking on)",
        b_label="record_event without delivery rows (tracking off)",
        ratio_name=f"status-change transactions/s, with / without outbox ({variant})",
        pairs=pairs,
        goal_met=None,
        verdict="",
        params={"database": variant, "transactions_per_run": count, "documents": DOCUMENTS},
        extra={**extra, "delivery_rows_written": states},
        columns=("per_second", "seconds"),
        variant=variant,
    )
    median = outcome.ratio["median"]
    outcome.goal_met = median is not None and median >= GOAL_RATIO
    outcome.verdict = f"median ratio {median} vs goal >= {GOAL_RATIO}"
    return outcome


def raw_sqlite_floor(path: Path, count: int) -> dict[str, Any]:
    """Time the same two transactions as bare SQL: the ceiling of the SQLite variant."""
    connection = bare_loop.connect(path)
    names = document_names(DOCUMENTS)
    bare_loop.create_documents(connection, names)
    results = {}
    for name, function in (
        ("with_outbox", bare_loop.record_change),
        ("without_outbox", bare_loop.update_without_outbox),
    ):
        started = time.perf_counter()
        for index in range(count):
            function(connection, names[index % DOCUMENTS], "DSS")
        results[f"{name}_per_second"] = round(count / (time.perf_counter() - started), 1)
    connection.close()
    return results


def run(context: Context) -> list[Outcome]:
    docrelay_app.require("docrelay.documents.events", "docrelay.delivery.outbox")
    outcomes = []
    count = context.size(2_000, 100)
    floor = raw_sqlite_floor(context.work_dir / "p6-floor.db", count * 2)
    runtime = docrelay_app.make_runtime(context.work_dir / "p6-sqlite")
    try:
        outcomes.append(_measure(context, runtime, "sqlite", count, {"raw_sqlite_floor": floor}))
    finally:
        runtime.close()
    try:
        admin_url = context.postgres_url()
    except NotAvailable as exc:
        console.print(f"P6 postgresql variant not available: {exc.missing}")
        return outcomes
    with docrelay_app.postgres_database(admin_url) as url:
        runtime = docrelay_app.make_runtime(context.work_dir / "p6-pg", database_url=url)
        try:
            version = docrelay_app.postgres_version(url)
            outcomes.append(
                _measure(
                    context, runtime, "postgresql", context.size(500, 50), {"postgresql": version}
                )
            )
        finally:
            runtime.close()
    return outcomes
