"""P4: Salesforce calls per status update at 1, 10 and 1,000 pending updates for one org.

For each load N, a fresh account (with a password credential for the local Salesforce
emulator, ``docrelay.emulators.salesforce.SalesforceEmulator``) gets N documents
linked to one Opportunity, each with one pending ``salesforce_status`` delivery. The
worker drains them while the emulator counts every call it serves. A = DocRelay's
counted calls; B = the fewest calls that could carry the same updates (one login and
one sObject Collections upsert per 200 records). The pair ratio is DocRelay's calls
per status update, logins excluded.
"""

from __future__ import annotations

import asyncio
import math
import shutil
from typing import Any

from benchmarks import docrelay_app
from benchmarks.runner import Context, Outcome, interleave

LOGIN_KINDS = ("soap_login", "oauth_token")
COLLECTION_SIZE = 200
MODULES = (
    "docrelay.delivery.worker",
    "docrelay.salesforce.destination",
    "docrelay.salesforce.credential",
    "docrelay.emulators.salesforce",
)


def store_credential(runtime: Any, account_id: str, emulator: Any) -> None:
    """Store a password credential for the emulator's org, as the settings API would."""
    from docrelay import clock
    from docrelay.salesforce.credential import credential_purpose
    from docrelay.storage.models import Account

    org = emulator.org
    credential = {
        "auth_method": "password",
        "username": org.username,
        "password": org.password,
        "security_token": org.security_token,
        "login_host": "login.salesforce.com",
    }
    with runtime.database.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        account.salesforce_credential_encrypted = runtime.secrets.encrypt_json(
            credential, credential_purpose(account_id)
        )
        account.salesforce_auth_method = "password"
        account.salesforce_credential_version = (account.salesforce_credential_version or 0) + 1
        account.salesforce_credential_changed_at = clock.now()
        account.salesforce_mapping = _default_mapping()


def _default_mapping() -> dict[str, Any]:
    from docrelay.accounts.service import DEFAULT_SALESFORCE_MAPPING

    return dict(DEFAULT_SALESFORCE_MAPPING)


def _opportunity(emulator: Any) -> str:
    from docrelay.emulators.salesforce.client import connect

    client: Any = connect(emulator)
    created = client.Opportunity.create(
        {"Name": "Benchmark deal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    return str(created["id"])


def _one_run(
    context: Context, emulator: Any, record_id: str, pending: int, index: int
) -> dict[str, Any]:
    from docrelay.delivery.worker import Worker

    data_dir = context.work_dir / f"p4-{pending}-{index}"
    shutil.rmtree(data_dir, ignore_errors=True)
    runtime = docrelay_app.make_runtime(data_dir, salesforce_route_url=emulator.base_url)
    try:
        docrelay_app.migrate(runtime)
        account_id, ids = docrelay_app.seed_documents(
            runtime, pending, design_kind="salesforce_status", crm_record_id=record_id
        )
        store_credential(runtime, account_id, emulator)
        docrelay_app.record_many(runtime, ids)
        emulator.clear_calls()

        async def drain() -> int:
            worker = Worker(runtime)
            try:
                return await worker.run_until_idle(timeout=600)
            finally:
                await worker.registry.close()
                worker.close()

        attempts = asyncio.run(drain())
        states = docrelay_app.count_by_state(runtime)
    finally:
        runtime.close()
    calls = emulator.calls()
    logins = sum(calls["counts"].get(kind, 0) for kind in LOGIN_KINDS)
    data_calls = calls["total"] - logins
    return {
        "updates": pending,
        "attempts": attempts,
        "delivered": states.get("delivered", 0),
        "calls": calls["total"],
        "logins": logins,
        "data_calls": data_calls,
        "calls_per_update": round(data_calls / pending, 4),
        "by_kind": calls["counts"],
    }


def _ideal(pending: int) -> dict[str, Any]:
    data_calls = math.ceil(pending / COLLECTION_SIZE)
    return {
        "updates": pending,
        "logins": 1,
        "data_calls": data_calls,
        "calls_per_update": round(data_calls / pending, 4),
    }


def _judge(outcome: Outcome, pending: int) -> None:
    worst = max(pair["a"]["calls_per_update"] for pair in outcome.pairs)
    logins = max(pair["a"]["logins"] for pair in outcome.pairs)
    delivered = all(pair["a"]["delivered"] == pending for pair in outcome.pairs)
    limit = 0.01 if pending >= 1_000 else 1.0
    outcome.goal_met = worst <= limit and logins <= 1 and delivered
    outcome.verdict = (
        f"worst {worst} calls per update vs goal <= {limit}; at most {logins} login(s) per run"
        + ("" if delivered else "; not every update was delivered")
    )


def run(context: Context) -> list[Outcome]:
    docrelay_app.require(*MODULES)
    from docrelay.emulators.salesforce import SalesforceEmulator

    loads = (1, 10, 100) if context.quick else (1, 10, 1_000)
    outcomes = []
    with SalesforceEmulator() as emulator:
        record_id = _opportunity(emulator)

        def pairs_at(pending: int) -> list[dict[str, Any]]:
            return interleave(
                context.pairs,
                lambda i: _one_run(context, emulator, record_id, pending, i),
                lambda i: _ideal(pending),
                lambda a, b: a["calls_per_update"],
            )

        for pending in loads:
            pairs = pairs_at(pending)
            outcome = Outcome(
                a_label="DocRelay salesforce_status deliveries drained by one Worker",
                b_label=f"fewest possible: 1 login + 1 Collections upsert per {COLLECTION_SIZE} records",
                ratio_name=f"Salesforce calls per status update (logins excluded), {pending} pending",
                pairs=pairs,
                goal_met=None,
                verdict="",
                params={
                    "pending_updates": pending,
                    "emulator": "docrelay.emulators.salesforce, 0 ms latency",
                },
                columns=("calls_per_update", "data_calls", "logins"),
                variant=f"{pending} pending",
            )
            _judge(outcome, pending)
            outcomes.append(outcome)
    return outcomes
