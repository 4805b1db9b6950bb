"""Expiry and pre-expiration warnings, driven by a frozen clock."""

from __future__ import annotations

import datetime as dt

import pytest
from core_helpers import create_template, started_document, two_step_definition
from sqlalchemy import update

from docrelay import clock
from docrelay.documents.expiry import run_expiry_pass
from docrelay.storage.models import Document

START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen() -> clock.FrozenClock:
    source = clock.FrozenClock(START)
    clock.set_clock(source)
    return source


def _events(client, document_id: str, event_type: str) -> list[dict]:
    events = client.get(f"/api/v1/documents/{document_id}/history").json()["events"]
    return [event for event in events if event["event"] == event_type]


def _workflow(runtime, document_id: str, workflow: list[dict]) -> None:
    with runtime.database.transaction() as session:
        session.execute(
            update(Document).where(Document.id == document_id).values(workflow=workflow)
        )


def test_warning_then_expiry(runtime, user, frozen) -> None:
    template = create_template(user.client)  # expiration_days 10, warning 3 days before
    document, paths = started_document(user.client, template["id"])
    assert document["id"]
    assert run_expiry_pass(runtime) == 0

    frozen.advance(days=6, hours=23)
    assert run_expiry_pass(runtime) == 0
    frozen.advance(hours=1)
    assert run_expiry_pass(runtime) == 1
    assert run_expiry_pass(runtime) == 0
    warnings = _events(user.client, document["id"], "document.pre_expiration_warning")
    assert [event["data"] for event in warnings] == [{"days_before": 3}]
    assert user.client.get(f"/api/v1/documents/{document['id']}").json()["status"] == "DSS"

    frozen.advance(days=3)
    assert run_expiry_pass(runtime) == 1
    view = user.client.get(f"/api/v1/documents/{document['id']}").json()
    assert view["status"] == "DEX"
    assert len(_events(user.client, document["id"], "document.expired")) == 1
    assert user.client.get(paths[0]).status_code == 410
    assert run_expiry_pass(runtime) == 0


def test_link_closes_at_expiry_before_pass(runtime, user, frozen) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    frozen.advance(days=10)
    response = user.client.post(f"{paths[0]}/sign", json={"signature": {"typed_name": "Late"}})
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]
    assert user.client.get(f"/api/v1/documents/{document['id']}").json()["status"] == "DSS"
    assert run_expiry_pass(runtime) == 1
    assert user.client.get(f"/api/v1/documents/{document['id']}").json()["status"] == "DEX"


def test_warning_days_union_with_workflow(runtime, user, frozen) -> None:
    template = create_template(user.client)
    document, _paths = started_document(user.client, template["id"])
    assignment = {
        "id": "a1",
        "event": "document.pre_expiration_warning",
        "step": None,
        "design_id": "d1",
        "pre_expiration_days": 5,
    }
    _workflow(
        runtime, document["id"], [assignment, {**assignment, "id": "a2", "pre_expiration_days": 3}]
    )
    with runtime.database.transaction() as session:
        row = session.get(Document, document["id"])
        row.expiry_check_at = row.sent_at  # re-plan with the new workflow on the next pass

    frozen.advance(days=5)
    assert run_expiry_pass(runtime) == 1
    frozen.advance(days=2)
    assert run_expiry_pass(runtime) == 1
    warnings = _events(user.client, document["id"], "document.pre_expiration_warning")
    assert [event["data"]["days_before"] for event in warnings] == [5, 3]
    with runtime.database.transaction() as session:
        assert sorted(session.get(Document, document["id"]).warnings_sent) == [3, 5]


def test_late_pass_sends_each_warning_once(runtime, user, frozen) -> None:
    definition = {**two_step_definition(), "pre_expiration_warning_days": [2, 4]}
    template = create_template(user.client, definition)
    document, _paths = started_document(user.client, template["id"])
    frozen.advance(days=8, hours=12)
    assert run_expiry_pass(runtime) == 2
    warnings = _events(user.client, document["id"], "document.pre_expiration_warning")
    assert [event["data"]["days_before"] for event in warnings] == [4, 2]
    assert run_expiry_pass(runtime) == 0


def test_unsent_and_completed_documents_never_expire(runtime, user, frozen) -> None:
    template = create_template(user.client)
    created = user.client.post(
        "/api/v1/documents",
        json={
            "template_id": template["id"],
            "signatories": [
                {"name": "A", "email": "a@example.com"},
                {"name": "B", "email": "b@example.com"},
            ],
        },
    ).json()
    frozen.advance(days=400)
    assert run_expiry_pass(runtime) == 0
    assert user.client.get(f"/api/v1/documents/{created['id']}").json()["status"] == "DCR"


def test_expiry_in_batches(runtime, user, frozen) -> None:
    template = create_template(user.client)
    ids = [started_document(user.client, template["id"])[0]["id"] for _ in range(5)]
    frozen.advance(days=11)
    # Past the expiry, a document expires without a late warning: one event each.
    assert run_expiry_pass(runtime, batch_size=2) == 5
    statuses = {user.client.get(f"/api/v1/documents/{item}").json()["status"] for item in ids}
    assert statuses == {"DEX"}


def test_landing_visit_again_after_interval(runtime, user, frozen) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    user.client.get(paths[0])
    frozen.advance(minutes=10)
    user.client.get(paths[0])
    assert len(_events(user.client, document["id"], "landing_page.visited")) == 1
    frozen.advance(minutes=31)
    user.client.get(paths[0])
    assert len(_events(user.client, document["id"], "landing_page.visited")) == 2
