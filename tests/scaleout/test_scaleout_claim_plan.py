"""The claim reads the partial indexes of due and expired deliveries, not the whole table.

The statements are captured from a real ``claim_due`` call and explained on a
table that holds mostly finished rows, after ANALYZE. The session turns
``enable_seqscan`` off so the planner's choice does not depend on how small
the test table is; the test then shows that an index matching the claim's
predicate exists and is the one chosen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from scaleout_seed import bulk_backlog, seed_documents
from sqlalchemy import event, text

from docrelay import clock
from docrelay.delivery import repository
from docrelay.runtime import Runtime

pytestmark = [pytest.mark.postgres]


def _claim_statements(runtime: Runtime) -> list[tuple[str, Any]]:
    """Run one claim and return the UPDATE statements it sent, with their parameters."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE DELIVERIES"):
            captured.append((statement, parameters))

    engine = runtime.database.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        claimed = repository.claim_due(runtime.database, clock.now(), 60, 50)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(claimed) == 50
    return captured


def _plan(runtime: Runtime, statement: str, parameters: Any) -> str:
    with runtime.database.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        connection.rollback()
    return "\n".join(row[0] for row in rows)


def test_claim_uses_partial_indexes(pg_runtime: Runtime, receiver: Any) -> None:
    seeded = seed_documents(pg_runtime, receiver.url, 400)
    bulk_backlog(pg_runtime, seeded, 10)
    with pg_runtime.database.transaction() as session:
        # Most rows are finished, as in a long-running installation; a few leases expired.
        session.execute(text("UPDATE deliveries SET state = 'delivered' WHERE sequence <= 8"))
        session.execute(
            text(
                "UPDATE deliveries SET state = 'in_flight', lease_until = :past, claim_token = 'x' "
                "WHERE sequence = 9 AND document_id IN "
                "(SELECT id FROM documents ORDER BY id LIMIT 5)"
            ),
            {"past": clock.now() - dt.timedelta(minutes=5)},
        )
        session.execute(text("ANALYZE deliveries"))

    statements = _claim_statements(pg_runtime)
    assert len(statements) == 2, "one statement for expired leases, one for due deliveries"
    expired_plan, due_plan = (_plan(pg_runtime, *item) for item in statements)

    assert "ix_deliveries_in_flight" in expired_plan, expired_plan
    assert "ix_deliveries_due" in due_plan, due_plan
    # The order rule is checked per candidate through the pair index, not by a table scan.
    assert "ix_deliveries_pair" in due_plan, due_plan
    assert "Seq Scan on deliveries" not in expired_plan + due_plan
    assert "LockRows" in expired_plan and "LockRows" in due_plan
