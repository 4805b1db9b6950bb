"""The event hash chain verifies, and a changed, removed or reordered event breaks it."""

from __future__ import annotations

import itertools

from core_helpers import create_template, sign_all, started_document
from sqlalchemy import delete, select, update

from docrelay.documents.events import history, verify_chain
from docrelay.storage.models import Event


def _chain_valid(client, document_id: str) -> bool:
    return client.get(f"/api/v1/documents/{document_id}/history").json()["chain_valid"]


def test_chain_valid_after_signing(runtime, user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    sign_all(user.client, paths)
    body = user.client.get(f"/api/v1/documents/{document['id']}/history").json()
    assert body["chain_valid"] is True
    events = body["events"]
    assert [event["sequence"] for event in events] == list(range(1, len(events) + 1))
    assert all(
        later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(events)
    )


def test_changed_data_detected(runtime, user) -> None:
    template = create_template(user.client)
    document, _paths = started_document(user.client, template["id"])
    with runtime.database.transaction() as session:
        session.execute(
            update(Event)
            .where(Event.document_id == document["id"], Event.sequence == 3)
            .values(data={"step": 2})
        )
    assert _chain_valid(user.client, document["id"]) is False


def test_removed_event_detected(runtime, user) -> None:
    template = create_template(user.client)
    document, _paths = started_document(user.client, template["id"])
    with runtime.database.transaction() as session:
        session.execute(
            delete(Event).where(Event.document_id == document["id"], Event.sequence == 2)
        )
    assert _chain_valid(user.client, document["id"]) is False


def test_changed_status_detected(runtime, user) -> None:
    template = create_template(user.client)
    document, _paths = started_document(user.client, template["id"])
    with runtime.database.transaction() as session:
        assert verify_chain(history(session, document["id"]))
        first = session.scalar(
            select(Event).where(Event.document_id == document["id"], Event.sequence == 1)
        )
        first.status = "DCO"
        session.flush()
        assert not verify_chain(history(session, document["id"]))
