"""The scenario catalogue: id, title, goal and the module that runs it.

Modules are imported only when their scenario runs, so a DocRelay piece missing from
this build makes just its scenarios report "not available".
"""

from __future__ import annotations

from benchmarks.runner import Scenario

_PACKAGE = "benchmarks.scenarios"

SCENARIOS: dict[str, Scenario] = {
    scenario.id: scenario
    for scenario in (
        Scenario(
            "baselines",
            "HTTP client ceilings: raw asyncio streams, bare aiohttp loop, bare httpx loop",
            "reported only (no goal): the yardsticks the DocRelay ratios divide by",
            f"{_PACKAGE}.baselines",
        ),
        Scenario(
            "P1",
            "drain 5,000 queued status-change deliveries (--scale 4: 20,000), one worker, 0 ms receiver",
            "DocRelay / bare aiohttp loop >= 0.8",
            f"{_PACKAGE}.drain",
        ),
        Scenario(
            "P2",
            "100 and 500 status changes/s for 10 s through record_event; commit to 2xx latency",
            "p99 <= max(25 ms, 3 x bare loop p99)",
            f"{_PACKAGE}.latency",
            "run_sqlite",
        ),
        Scenario(
            "P3",
            "P2 on PostgreSQL, worker in another process, NOTIFY on and off",
            "p99 <= 100 ms with NOTIFY",
            f"{_PACKAGE}.latency_postgres",
        ),
        Scenario(
            "P4",
            "Salesforce calls per status update at 1, 10 and 1,000 pending updates for one org",
            "<= 1.0 at any load, <= 0.01 at 1,000; <= 1 login per session",
            f"{_PACKAGE}.salesforce_calls",
        ),
        Scenario(
            "P5",
            "1 vs 2 workers on PostgreSQL, receiver with 20 ms service time",
            ">= 1.7x",
            f"{_PACKAGE}.scale_out",
        ),
        Scenario(
            "P6",
            "status-change transactions/s with vs without outbox rows, SQLite and PostgreSQL",
            ">= 0.7",
            f"{_PACKAGE}.outbox_overhead",
        ),
        Scenario(
            "P7",
            "pull refresh of 10,000 documents linked to records in one org",
            "Salesforce calls <= ceil(changed/200); 0 per-document reads",
            f"{_PACKAGE}.pull_refresh",
        ),
        Scenario(
            "P8",
            "complete a 4-page document (stamp, audit trail, seal) vs pyHanko signing alone",
            "<= 2.0",
            f"{_PACKAGE}.completion",
        ),
        Scenario(
            "P9",
            "worker resident memory with 500 deliveries in flight (receiver holds 2 s)",
            "<= 150 MB",
            f"{_PACKAGE}.memory",
        ),
    )
}
