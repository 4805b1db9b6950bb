"""Order and supersession through the real web-notification destination and a flaky receiver."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "webhook_delivery"))

from delivery_factory import create_document as create_document_row
from delivery_factory import deliveries_of, design_id, move
from flaky_receiver import FlakyReceiver
from ops_destination import Ops, unavailable
from webhook_flow import (
    attach,
    create_document,
    create_template,
    deliveries,
    drain,
    enable_tracking,
    send_document,
    sign,
    signing_paths,
)

from docrelay.delivery import ordering
from docrelay.delivery.worker import drain as drain_with
from docrelay.runtime import Runtime

BODY = '{"event": "[Event]", "sequence": "[Document Sequence]", "status": "[Document Status]"}'


def _design(user, url: str) -> str:
    response = user.client.post(
        "/api/v1/designs",
        json={
            "name": "Flaky receiver",
            "kind": "webhook",
            "config": {"url": url, "body_template": BODY},
            "retry_policy": {"delays_seconds": [0.2] * 8, "jitter": 0},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_newer_status_replaces_waiting_and_retrying_ones(runtime: Runtime, user) -> None:
    enable_tracking(runtime, user.account_id)
    template_id = create_template(user.client)
    with FlakyReceiver(failures=3) as receiver:
        design = _design(user, receiver.url)
        attach(
            user,
            template_id,
            design,
            {"event": "document.created"},
            {"event": "document.started"},
            {"event": "document.cancelled"},
        )
        document = create_document(user.client, template_id)["id"]
        send_document(user.client, document)  # created still waits: superseded by started
        drain(runtime)  # started: the first attempt fails, so it retries
        created, started = deliveries(runtime, design)
        assert (created.state, started.state) == ("superseded", "retrying")

        cancelled = user.client.post(f"/api/v1/documents/{document}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert [row.state for row in deliveries(runtime, design)] == [
            "superseded",
            "superseded",
            "pending",
        ]
        drain(runtime, wait_for_retries=True)

    rows = deliveries(runtime, design)
    assert [(row.event_type, row.state, row.attempts) for row in rows] == [
        ("document.created", "superseded", 0),
        ("document.started", "superseded", 1),
        ("document.cancelled", "delivered", 4),
    ]
    sequences = [int(item.payload["sequence"]) for item in receiver.requests]
    assert sequences == [rows[1].sequence] + [rows[2].sequence] * 4
    accepted = [(item.payload["event"], item.payload["status"]) for item in receiver.accepted]
    assert accepted == [("document.cancelled", "DCA")]


def test_facts_and_files_are_never_superseded(runtime: Runtime, user) -> None:
    enable_tracking(runtime, user.account_id)
    template_id = create_template(user.client)
    with FlakyReceiver(failures=3) as receiver:
        design = _design(user, receiver.url)
        attach(
            user,
            template_id,
            design,
            {"event": "document.started"},
            {"event": "step.completed"},
            {"event": "document.completed"},
        )
        document = create_document(user.client, template_id)["id"]
        send_document(user.client, document)
        first, second = signing_paths(user.client, document)
        sign(user.client, first, "Dana Customer")
        sign(user.client, second, "Sam Seller")
        drain(runtime, wait_for_retries=True)

    rows = deliveries(runtime, design)
    assert [(row.event_type, row.state, row.attempts) for row in rows] == [
        ("document.started", "delivered", 4),
        ("step.completed", "delivered", 4),
        ("step.completed", "delivered", 4),
        ("document.completed", "delivered", 4),
    ]
    sequences = [int(item.payload["sequence"]) for item in receiver.requests]
    assert sequences == sorted(sequences)  # failed attempts included: never an older one later
    accepted = [(item.payload["event"], item.payload["status"]) for item in receiver.accepted]
    assert accepted == [
        ("document.started", "DSS"),
        ("step.completed", "DSS"),
        ("step.completed", "DSS"),
        ("document.completed", "DCO"),
    ]


def test_retry_that_fails_while_a_newer_status_arrives_is_superseded(
    runtime: Runtime, ops: Ops
) -> None:
    salesforce = design_id(runtime, ops.account_id, "salesforce_status")
    workflow = [
        {"event": "document.created", "design_id": salesforce},
        {"event": "document.started", "design_id": salesforce},
    ]
    document = create_document_row(runtime, ops.account_id, workflow)

    def newer_status_during_the_attempt(job):
        if job.claimed.sequence == 1:
            move(runtime, document, "DSS")  # committed while sequence 1 is in flight
            return unavailable()
        return None

    ops.recorder.decide = newer_status_during_the_attempt
    drain_with(runtime, 10, registry=ops.registry, wait_for_retries=True)

    assert [item.sequence for item in ops.recorder.sent] == [1, 2]
    assert [row.state for row in deliveries_of(runtime, document)] == ["superseded", "delivered"]


def test_resend_of_an_older_status_is_refused(runtime: Runtime, ops: Ops, user) -> None:
    salesforce = design_id(runtime, ops.account_id, "salesforce_status")
    workflow = [
        {"event": "document.created", "design_id": salesforce},
        {"event": "document.started", "design_id": salesforce},
    ]
    document = create_document_row(runtime, ops.account_id, workflow)
    drain_with(runtime, 10, registry=ops.registry)
    move(runtime, document, "DSS")
    drain_with(runtime, 10, registry=ops.registry)
    older, newer = deliveries_of(runtime, document)

    refused = user.client.post(f"/api/v1/deliveries/{older.id}/resend")
    assert refused.status_code == 409
    assert newer.id in refused.text
    accepted = user.client.post(f"/api/v1/deliveries/{newer.id}/resend")
    assert accepted.status_code == 202
    assert accepted.json()["id"] == newer.id
    assert accepted.json()["state"] == "pending"


def test_which_deliveries_carry_only_the_status() -> None:
    assert ordering.is_status_only("salesforce_status", "document.completed")
    assert ordering.is_status_only("salesforce_status_with_document", "document.started")
    assert not ordering.is_status_only("salesforce_status_with_document", "document.completed")
    assert ordering.is_status_only("webhook", "document.cancelled")
    for fact in (
        "document.completed",
        "document.declined",
        "step.completed",
        "signer.feedback_submitted",
        "landing_page.visited",
    ):
        assert not ordering.is_status_only("webhook", fact)
