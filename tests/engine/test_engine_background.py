"""run_background: the worker and the scheduler inside one event loop, and the app lifespan."""

from __future__ import annotations

import asyncio
import time

from delivery_factory import create_document, deliveries_of, design_id, set_tracking
from fastapi.testclient import TestClient

from docrelay.background import EXPIRY_LEASE, run_background
from docrelay.runtime import Runtime
from docrelay.storage import leases
from docrelay.web.app import create_app


def test_background_runs_expiry_pass_and_stops(runtime: Runtime, user) -> None:
    runtime.settings.scheduler_interval = 0.05

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_background(runtime, stop))
        await asyncio.sleep(0.4)
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(scenario())
    assert leases.last_run(runtime.database, EXPIRY_LEASE) is not None


def test_served_app_delivers_in_process(runtime: Runtime, user) -> None:
    set_tracking(runtime, user.account_id, True)
    status = design_id(runtime, user.account_id, "salesforce_status")
    app = create_app(runtime, run_background=True)
    with TestClient(app):
        document = create_document(
            runtime, user.account_id, [{"event": "document.created", "design_id": status}]
        )
        deadline = time.monotonic() + 10
        while (
            deliveries_of(runtime, document)[0].state == "pending" and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    (row,) = deliveries_of(runtime, document)
    # No Salesforce credential is stored, so the destination parks the delivery.
    assert (row.state, row.last_error_class) == ("paused", "credential_missing")


def test_worker_command_is_registered() -> None:
    from typer.testing import CliRunner

    from docrelay.cli.main import app as cli

    result = CliRunner().invoke(cli, ["worker", "--help"])
    assert result.exit_code == 0
    assert "Deliver document events" in result.output
