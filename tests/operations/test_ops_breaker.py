"""The circuit breaker per destination: opening, one probe at a time, release in order."""

from __future__ import annotations

from delivery_factory import create_document, deliveries_of, design_id, record
from ops_destination import Ops, unavailable

from docrelay import clock
from docrelay.delivery import breaker, repository
from docrelay.delivery.worker import drain
from docrelay.runtime import Runtime
from docrelay.storage.models import Design


def _slow_retries(runtime: Runtime, design: str) -> None:
    with runtime.database.transaction() as session:
        row = session.get(Design, design)
        assert row is not None
        row.retry_policy = {"delays_seconds": [10] * 8, "jitter": 0}


def _open_alert_keys(runtime: Runtime, account_id: str) -> list[str]:
    with runtime.database.session() as session:
        return [alert.key for alert in repository.open_alerts(session, account_id)]


def test_breaker_opens_probes_one_at_a_time_and_releases_in_order(
    runtime: Runtime, ops: Ops, user
) -> None:
    down = {"value": True}
    ops.recorder.decide = lambda job: unavailable() if down["value"] else None
    ops.recorder.delay = 0.02
    _slow_retries(runtime, ops.design_id)
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    workflow = [
        {"event": "document.created", "design_id": ops.design_id},
        {"event": "landing_page.visited", "design_id": ops.design_id},
    ]
    held = [create_document(runtime, ops.account_id, workflow, name=f"Held {n}") for n in range(5)]
    for document in held:
        record(runtime, document, "landing_page.visited", {"signatory": 1, "step": 1})
    drain(runtime, 10, registry=ops.registry)

    view = user.client.get(f"/api/v1/designs/{ops.design_id}").json()["breaker"]
    assert view == {
        "state": "open",
        "since": frozen().isoformat(),
        "consecutive_failures": 5,
        "threshold": breaker.THRESHOLD,
    }
    assert _open_alert_keys(runtime, ops.account_id) == [
        breaker.alert_key(f"design:{ops.design_id}")
    ]

    # The held retries come due but wait; first attempts of new events go out one at a time.
    frozen.advance(seconds=20)
    ops.recorder.sent.clear()
    ops.recorder.max_concurrent = 0
    probes = [
        create_document(runtime, ops.account_id, workflow, name=f"Probe {n}") for n in range(3)
    ]
    drain(runtime, 10, registry=ops.registry)
    assert sorted(item.document_id for item in ops.recorder.sent) == sorted(probes)
    assert ops.recorder.max_concurrent == 1
    assert [deliveries_of(runtime, doc)[0].attempts for doc in held] == [1] * 5

    # Without new events, one held retry is tried a minute after the last failure.
    frozen.advance(seconds=breaker.PROBE_SECONDS + 1)
    ops.recorder.sent.clear()
    drain(runtime, 10, registry=ops.registry)
    assert len(ops.recorder.sent) == 1
    assert ops.recorder.sent[0].attempt == 2

    # The first success closes the breaker and releases the held retries in their order.
    down["value"] = False
    ops.recorder.sent.clear()
    ops.recorder.max_concurrent = 0
    newcomer = create_document(runtime, ops.account_id, workflow, name="Newcomer")
    drain(runtime, 10, registry=ops.registry)
    assert ops.recorder.sent[0].document_id == newcomer
    for document in [*held, *probes]:
        sent = [item.sequence for item in ops.recorder.sent if item.document_id == document]
        assert sent == sorted(sent)
    for document in held:
        assert [item.sequence for item in ops.recorder.sent if item.document_id == document] == [
            1,
            2,
        ]
        assert {row.state for row in deliveries_of(runtime, document)} == {"delivered"}
    view = user.client.get(f"/api/v1/designs/{ops.design_id}").json()["breaker"]
    assert (view["state"], view["since"], view["consecutive_failures"]) == ("closed", None, 0)
    assert _open_alert_keys(runtime, ops.account_id) == []


def test_salesforce_designs_share_the_org_breaker(runtime: Runtime, ops: Ops, user) -> None:
    status = design_id(runtime, ops.account_id, "salesforce_status")
    with_document = design_id(runtime, ops.account_id, "salesforce_status_with_document")
    ops.recorder.decide = lambda job: unavailable()
    for design in (status, with_document):
        _slow_retries(runtime, design)
    for _ in range(3):
        create_document(
            runtime, ops.account_id, [{"event": "document.created", "design_id": status}]
        )
    for _ in range(2):
        create_document(
            runtime, ops.account_id, [{"event": "document.created", "design_id": with_document}]
        )
    drain(runtime, 10, registry=ops.registry)

    for design in (status, with_document):
        view = user.client.get(f"/api/v1/designs/{design}").json()["breaker"]
        assert (view["state"], view["consecutive_failures"]) == ("open", 5)
    assert _open_alert_keys(runtime, ops.account_id) == [
        breaker.alert_key(f"salesforce:{ops.account_id}")
    ]
    own = user.client.get(f"/api/v1/designs/{ops.design_id}").json()["breaker"]
    assert own["state"] == "closed"  # another destination is not affected
