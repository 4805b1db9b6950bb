"""P5: one worker process against two on PostgreSQL, receiver with 20 ms service time.

Each run starts from a fresh copy (``CREATE DATABASE ... TEMPLATE``) of one backlog
database. The rate is taken from the receiver's log, first to last 2xx, so process
start-up is not counted. Workers are not pinned: two workers need both cores, which
they share with PostgreSQL and the receiver.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from benchmarks import docrelay_app
from benchmarks.processes import ReceiverProcess, WorkerProcess, receiver_process, wait_until
from benchmarks.receiver import ReceiverConfig, check_log, read_log
from benchmarks.runner import Context, Outcome, interleave
from benchmarks.scenarios.latency import WORKER_MODULES
from benchmarks.stats import safe_ratio
from benchmarks.workloads import interleaved_changes

SERVICE_MS = 20.0
GOAL_RATIO = 1.7
PER_DOCUMENT = 3
RUN_TIMEOUT = 300.0


@contextlib.contextmanager
def _copy_of(admin_url: str, template: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"docrelay_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _drain(
    context: Context,
    admin_url: str,
    template: str,
    receiver: ReceiverProcess,
    workers: int,
    expected: dict[str, int],
) -> dict[str, Any]:
    total = sum(expected.values())
    with _copy_of(admin_url, template) as url:
        runtime = docrelay_app.make_runtime(context.work_dir / "p5-watch", url)
        processes = [
            WorkerProcess(
                ["--data-dir", str(context.work_dir / f"p5-worker-{index}"), "--database-url", url]
            )
            for index in range(workers)
        ]
        try:
            drained = wait_until(
                lambda: docrelay_app.count_by_state(runtime).get("delivered", 0) >= total,
                RUN_TIMEOUT,
                0.1,
            )
        finally:
            for process in processes:
                process.stop()
            runtime.close()
    log = context.work_dir / f"p5-{workers}-log.jsonl"
    receiver.dump(log)
    records = read_log(log)
    accepted = sorted(record[3] for record in records if 200 <= record[4] < 300)
    seconds = accepted[-1] - accepted[0] if len(accepted) > 1 else None
    check = check_log(records, expected).as_dict()
    return {
        "workers": workers,
        "delivered": len(accepted),
        "seconds": round(seconds, 3) if seconds else None,
        "per_second": round(len(accepted) / seconds, 1) if seconds else None,
        "drained": drained,
        **{key: check[key] for key in ("lost", "duplicates", "order_violations")},
    }


def run(context: Context) -> Outcome:
    docrelay_app.require(*WORKER_MODULES)
    admin_url = context.postgres_url()
    documents = context.size(1_000, 40)
    with (
        receiver_process(ReceiverConfig(service_ms=SERVICE_MS)) as receiver,
        docrelay_app.postgres_database(admin_url) as template_url,
    ):
        runtime = docrelay_app.make_runtime(context.work_dir / "p5-setup", template_url)
        try:
            docrelay_app.migrate(runtime)
            _, ids = docrelay_app.seed_documents(
                runtime, documents, design_config=docrelay_app.webhook_config(receiver.url)
            )
            docrelay_app.record_many(runtime, interleaved_changes(ids, PER_DOCUMENT))
        finally:
            runtime.close()
        version = docrelay_app.postgres_version(template_url)
        template = template_url.rsplit("/", 1)[1]
        expected = dict.fromkeys(ids, PER_DOCUMENT)
        pairs = interleave(
            context.pairs,
            lambda i: _drain(context, admin_url, template, receiver, 2, expected),
            lambda i: _drain(context, admin_url, template, receiver, 1, expected),
            lambda a, b: safe_ratio(a["per_second"], b["per_second"]),
        )
        pinned = receiver.pinned
    outcome = Outcome(
        a_label="2 DocRelay worker processes",
        b_label="1 DocRelay worker process",
        ratio_name="deliveries/s, 2 workers / 1 worker (PostgreSQL, 20 ms receiver)",
        pairs=pairs,
        goal_met=None,
        verdict="",
        params={
            "documents": documents,
            "changes_per_document": PER_DOCUMENT,
            "receiver_service_ms": SERVICE_MS,
            "postgresql": version,
            "receiver_pinned": pinned,
        },
        columns=("per_second", "seconds", "lost", "order_violations"),
    )
    median = outcome.ratio["median"]
    clean = all(
        pair[side]["lost"] == 0 and pair[side]["order_violations"] == 0
        for pair in pairs
        for side in ("a", "b")
    )
    outcome.goal_met = median is not None and median >= GOAL_RATIO and clean
    outcome.verdict = f"median ratio {median} vs goal >= {GOAL_RATIO}" + (
        "" if clean else "; losses or order violations"
    )
    return outcome
