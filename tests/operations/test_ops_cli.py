"""``docrelay deliveries list`` and ``resend`` against the test database, scoped by context id."""

from __future__ import annotations

import json
import logging

from delivery_factory import create_document, deliveries_of
from ops_cli_env import settings_env
from ops_destination import Ops
from typer.testing import CliRunner, Result

from docrelay.cli.main import app
from docrelay.config import get_settings
from docrelay.delivery.outcome import AttemptOutcome, OutcomeKind
from docrelay.delivery.worker import drain
from docrelay.runtime import Runtime


def _run(runtime: Runtime, *args: str) -> Result:
    get_settings.cache_clear()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        return CliRunner().invoke(app, list(args), env=settings_env(runtime))
    finally:
        get_settings.cache_clear()
        root.handlers[:] = handlers
        root.setLevel(level)


def test_list_and_resend_failed_deliveries(runtime: Runtime, ops: Ops) -> None:
    ops.recorder.decide = lambda job: AttemptOutcome(
        OutcomeKind.FAIL, error_class="http_422", message="Unprocessable"
    )
    workflow = [{"event": "document.created", "design_id": ops.design_id}]
    documents = [create_document(runtime, ops.account_id, workflow) for _ in range(3)]
    drain(runtime, 10, registry=ops.registry)

    listed = _run(runtime, "deliveries", "list", "--account", ops.context_id, "--json")
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert sorted(row["document_id"] for row in rows) == sorted(documents)
    assert {row["state"] for row in rows} == {"failed"}

    dry = _run(runtime, "deliveries", "resend", "--account", ops.context_id, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 deliveries would be resent (0 skipped" in dry.output

    resent = _run(runtime, "deliveries", "resend", "--account", ops.context_id, "--state", "failed")
    assert resent.exit_code == 0, resent.output
    assert "succeeded: 3 resent, 0 skipped" in resent.output
    assert {deliveries_of(runtime, document)[0].state for document in documents} == {"pending"}


def test_unknown_account_and_bad_state_are_rejected(runtime: Runtime, ops: Ops) -> None:
    unknown = _run(runtime, "deliveries", "list", "--account", "no-such-context")
    assert unknown.exit_code == 1
    assert "No account with context id 'no-such-context'" in unknown.output
    bad = _run(runtime, "deliveries", "resend", "--account", ops.context_id, "--state", "retrying")
    assert bad.exit_code == 2
    assert "Invalid option: state" in bad.output
