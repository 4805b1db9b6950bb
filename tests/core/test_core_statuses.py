"""The status machine: every pair of statuses, and the API's 409 on a forbidden move."""

from __future__ import annotations

import itertools

import pytest
from core_helpers import create_document, create_template, send, sign_all, started_document

from docrelay.documents.statuses import DocumentStatus, check_transition
from docrelay.errors import ConflictError

S = DocumentStatus
ALLOWED = {
    (S.CREATED, S.STARTED),  # send
    (S.CREATED, S.CANCELLED),  # cancel before sending
    (S.STARTED, S.COMPLETED),  # last signature
    (S.STARTED, S.EXPIRED),  # expiry pass
    (S.STARTED, S.CANCELLED),  # cancel during signing
    (S.STARTED, S.DECLINED),  # a signatory declines
}


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(S, S)), ids=lambda s: s.value
)
def test_transition_table(current: DocumentStatus, target: DocumentStatus) -> None:
    if (current, target) in ALLOWED:
        check_transition(current.value, target)
        return
    with pytest.raises(ConflictError) as caught:
        check_transition(current.value, target)
    assert caught.value.details["current_status"] == current.value


def test_final_statuses_never_change() -> None:
    for current in S:
        if current.is_final:
            for target in S:
                with pytest.raises(ConflictError):
                    check_transition(current.value, target)


def test_send_twice_answers_409(user) -> None:
    template = create_template(user.client)
    document = create_document(user.client, template["id"])
    send(user.client, document["id"])
    response = user.client.post(f"/api/v1/documents/{document['id']}/send")
    assert response.status_code == 409
    assert response.json()["current_status"] == "DSS"


def test_cancel_after_cancel_answers_409(user) -> None:
    template = create_template(user.client)
    document = create_document(user.client, template["id"])
    first = user.client.post(
        f"/api/v1/documents/{document['id']}/cancel", json={"remarks": "wrong customer"}
    )
    assert first.status_code == 200
    assert first.json()["status"] == "DCA"
    assert first.json()["remarks"] == "wrong customer"
    again = user.client.post(f"/api/v1/documents/{document['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["current_status"] == "DCA"


def test_completed_document_cannot_be_cancelled(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    sign_all(user.client, paths)
    response = user.client.post(f"/api/v1/documents/{document['id']}/cancel")
    assert response.status_code == 409
    assert response.json()["current_status"] == "DCO"


def test_status_times_recorded(user) -> None:
    template = create_template(user.client)
    document = create_document(user.client, template["id"])
    sent = send(user.client, document["id"])
    assert sent["status_changed_at"] >= document["status_changed_at"]
    assert sent["sent_at"] is not None
    assert sent["expires_at"] is not None
    assert sent["sequence"] == 3
