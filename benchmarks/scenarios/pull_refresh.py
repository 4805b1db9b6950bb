"""P7: pull refresh of 10,000 documents linked to records in one org.

One account has 10,000 documents linked to 10 Opportunity records of the local
Salesforce emulator (1,000 per record, the most one refresh covers). A run refreshes
each record by calling the handler of ``POST /api/v1/salesforce/records/{record_id}/refresh``
(``docrelay.web.routes.salesforce_records.refresh_record``) with the account as caller,
while the emulator counts every call. Every document has a status Salesforce does not
hold yet in the first run, and each refresh re-pushes every linked document, so
"changed" is all 10,000. A = DocRelay's counted calls; B = the fewest possible, one
login and one sObject Collections upsert per 200 records. The pair ratio is DocRelay's
data calls divided by that minimum.
"""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks import docrelay_app
from benchmarks.runner import Context, Outcome, interleave
from benchmarks.scenarios.salesforce_calls import LOGIN_KINDS, store_credential

RECORDS = 10
PER_RECORD = 1_000
CHUNK = 200
READ_KINDS = ("sobject_get", "query", "query_all", "query_more", "sobject_get_by_external_id")
MODULES = (
    "docrelay.web.routes.salesforce_records",
    "docrelay.salesforce.push",
    "docrelay.emulators.salesforce",
)


def _opportunities(emulator: Any, count: int) -> list[str]:
    from docrelay.emulators.salesforce.client import connect

    client: Any = connect(emulator)
    return [
        str(
            client.Opportunity.create(
                {"Name": f"Deal {i}", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
            )["id"]
        )
        for i in range(count)
    ]


def _seed(runtime: Any, emulator: Any, records: list[str], per_record: int) -> tuple[Any, int]:
    """Create the account, its credential and the linked documents; return the caller and count."""
    from docrelay.web.caller import Caller

    documents = 0
    account_id = None
    for record_id in records:
        account_id = docrelay_app.add_linked_documents(runtime, account_id, record_id, per_record)
        documents += per_record
    assert account_id is not None
    store_credential(runtime, account_id, emulator)
    return Caller(account_id=account_id, context_id="bench", name="Bench"), documents


def _refresh_all(runtime: Any, emulator: Any, caller: Any, records: list[str]) -> dict[str, Any]:
    from docrelay.web.routes.salesforce_records import refresh_record

    emulator.clear_calls()
    written = 0
    started = time.perf_counter()
    for record_id in records:
        reply = refresh_record(runtime, caller, record_id)
        written += int(reply["written"])
    seconds = time.perf_counter() - started
    counts = emulator.calls()["counts"]
    logins = sum(counts.get(kind, 0) for kind in LOGIN_KINDS)
    data_calls = sum(counts.values()) - logins
    reads = sum(
        count
        for kind, count in counts.items()
        if kind in READ_KINDS or "get" in kind or "query" in kind
    )
    return {
        "written": written,
        "data_calls": data_calls,
        "reads": reads,
        "logins": logins,
        "seconds": round(seconds, 3),
        "by_kind": counts,
    }


def run(context: Context) -> Outcome:
    docrelay_app.require(*MODULES)
    from docrelay.emulators.salesforce import SalesforceEmulator

    records, per_record = (2, 50) if context.quick else (RECORDS, PER_RECORD)
    with SalesforceEmulator() as emulator:
        record_ids = _opportunities(emulator, records)
        runtime = docrelay_app.make_runtime(
            context.work_dir / "p7", salesforce_route_url=emulator.base_url
        )
        try:
            docrelay_app.migrate(runtime)
            caller, documents = _seed(runtime, emulator, record_ids, per_record)
            ideal = records * math.ceil(per_record / CHUNK)
            pairs = interleave(
                context.pairs,
                lambda i: _refresh_all(runtime, emulator, caller, record_ids),
                lambda i: {"data_calls": ideal, "reads": 0, "logins": 1},
                lambda a, b: a["data_calls"] / b["data_calls"],
            )
        finally:
            runtime.close()
    worst = max(pair["a"]["data_calls"] for pair in pairs)
    reads = max(pair["a"]["reads"] for pair in pairs)
    complete = all(pair["a"]["written"] == documents for pair in pairs)
    # One refresh covers one record, so the minimum is counted per record. At the full size
    # (1,000 per record) it equals the goal's ceil(changed / 200).
    limit = ideal
    return Outcome(
        a_label=f"refresh_record for {records} records x {per_record} linked documents",
        b_label=f"fewest possible: 1 login + 1 Collections upsert per {CHUNK} records",
        ratio_name="Salesforce data calls, DocRelay / fewest possible",
        pairs=pairs,
        goal_met=worst <= limit and reads == 0 and complete,
        verdict=(
            f"at most {worst} data calls for {documents} changed documents vs goal <= {limit};"
            f" {reads} reads" + ("" if complete else "; not every document was written")
        ),
        params={"records": records, "documents_per_record": per_record, "emulator_latency_ms": 0},
        columns=("data_calls", "reads", "logins", "seconds"),
    )
