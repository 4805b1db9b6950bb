"""Every event of a document's life reaches a receiver: signing, feedback, decline, cancel, lockout, expiry."""

from __future__ import annotations

import json
from collections import defaultdict

from hook_receiver import HookReceiver
from sqlalchemy import select
from webhook_flow import (
    attach,
    create_document,
    create_template,
    create_webhook_design,
    deliveries,
    drain,
    enable_tracking,
    send_document,
    sign,
    signatures_by,
    signing_paths,
)

from docrelay import clock
from docrelay.documents.expiry import run_expiry_pass
from docrelay.storage.models import Event
from docrelay.webhooks.events import EVENT_TYPES, event_data_fields

BODY = """{"event": "[Event]", "event_id": "[Event ID]", "at": "[Event Time]", "document_id": "[Document ID]",
 "sequence": "[Document Sequence]", "status": "[Document Status]", "status_name": "[Document Status Name]",
 "account": "[Account Context ID]"}"""
DECLINE_BODY = '{"reason": "[Decline Reason]", "who": "[Acting Signatory Full Name]", "number": "[Acting Signatory Number]"}'


def _life_of_documents(user, template_id: str, frozen: clock.FrozenClock) -> dict[str, str]:
    client = user.client
    documents: dict[str, str] = {}

    signed = create_document(client, template_id)["id"]
    drain(user.runtime)  # send document.created before a newer status supersedes it
    send_document(client, signed)
    first, second = signing_paths(client, signed)
    assert client.post(f"{first}/feedback", json={"feedback": "Smooth, thanks"}).status_code == 204
    sign(client, first, "Dana Customer")
    sign(client, second, "Sam Seller")
    documents["signed"] = signed

    declined = create_document(client, template_id)["id"]
    drain(user.runtime)  # send document.created before a newer status supersedes it
    send_document(client, declined)
    path = signing_paths(client, declined)[0]
    assert (
        client.post(f"{path}/decline", json={"reason": 'Price is "too" <high>'}).status_code == 200
    )
    documents["declined"] = declined

    cancelled = create_document(client, template_id)["id"]
    drain(user.runtime)  # send document.created before a newer status supersedes it
    assert (
        client.post(
            f"/api/v1/documents/{cancelled}/cancel", json={"remarks": "duplicate"}
        ).status_code
        == 200
    )
    documents["cancelled"] = cancelled

    signatories = [
        {"name": "Locked Out", "email": "locked@example.com", "access_code": "2468"},
        {"name": "Sam Seller", "email": "sam@example.net"},
    ]
    locked = create_document(client, template_id, signatories=signatories)["id"]
    drain(user.runtime)  # send document.created before a newer status supersedes it
    send_document(client, locked)
    path = signing_paths(client, locked)[0]
    statuses = [
        client.post(f"{path}/access-code", json={"access_code": "0000"}).status_code
        for _ in range(5)
    ]
    assert statuses[-1] == 403
    assert all(status in (403, 422) for status in statuses)
    documents["locked"] = locked
    cancel = client.post(f"/api/v1/documents/{locked}/cancel", json={})
    assert cancel.status_code == 200  # so the expiry pass below concerns one document only

    expiring = create_document(client, template_id)["id"]
    drain(user.runtime)  # send document.created before a newer status supersedes it
    send_document(client, expiring)
    documents["expiring"] = expiring
    for days in (5, 2, 3):  # 5 and 3 days before expiry, then past the 10-day expiry
        frozen.advance(days=days, minutes=1)
        run_expiry_pass(user.runtime)
    return documents


def test_every_event_type_is_delivered(runtime, user, hook_receiver: HookReceiver) -> None:
    user.runtime = runtime
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    enable_tracking(runtime, user.account_id)
    template_id = create_template(user.client)
    design_id, secret = create_webhook_design(
        runtime, user, "Everything", {"url": hook_receiver.url("/all"), "body_template": BODY}
    )
    decline_id, _ = create_webhook_design(
        runtime,
        user,
        "Declines",
        {"url": hook_receiver.url("/declined"), "body_template": DECLINE_BODY},
        allowed_events=["document.declined"],
    )
    assignments = [
        {"event": event} for event in EVENT_TYPES if event != "document.pre_expiration_warning"
    ]
    assignments += [
        {"event": "document.pre_expiration_warning", "pre_expiration_days": 5},
        {"event": "document.pre_expiration_warning", "pre_expiration_days": 3},
    ]
    attach(user, template_id, design_id, *assignments)
    attach(user, template_id, decline_id, {"event": "document.declined"})

    documents = _life_of_documents(user, template_id, frozen)
    drain(runtime)

    received = hook_receiver.at("/all")
    assert all(signatures_by(secret, request) for request in received)
    payloads = [json.loads(request.body) for request in received]
    assert {payload["event"] for payload in payloads} == set(EVENT_TYPES)
    rows = deliveries(runtime, design_id)
    # A waiting status-only notification gives way to a newer status-only one; nothing else may.
    assert {row.state for row in rows} <= {"delivered", "superseded"}
    assert all(row.status_only for row in rows if row.state == "superseded")

    by_document: dict[str, list[dict]] = defaultdict(list)
    for payload in payloads:
        by_document[payload["document_id"]].append(payload)
    for items in by_document.values():
        sequences = [int(item["sequence"]) for item in items]
        assert sequences == sorted(sequences)
        assert all(item["account"] == user.context_id for item in items)

    expiring = [(item["event"], item["status"]) for item in by_document[documents["expiring"]]]
    assert expiring[-3:] == [
        ("document.pre_expiration_warning", "DSS"),
        ("document.pre_expiration_warning", "DSS"),
        ("document.expired", "DEX"),
    ]
    assert [item["status_name"] for item in by_document[documents["declined"]]][-1] == "Declined"
    assert by_document[documents["cancelled"]][-1]["status"] == "DCA"
    assert "signer.authentication_failed" in [
        item["event"] for item in by_document[documents["locked"]]
    ]
    assert "signer.feedback_submitted" in [
        item["event"] for item in by_document[documents["signed"]]
    ]

    (decline,) = hook_receiver.at("/declined")
    assert json.loads(decline.body) == {
        "reason": 'Price is "too" <high>',
        "who": 'Dana "Quote" Customer',
        "number": "1",
    }

    with runtime.database.session() as session:
        events = session.scalars(select(Event).where(Event.account_id == user.account_id)).all()
    for event in events:
        missing = set(event_data_fields(event.type)) - set(event.data)
        assert not missing, f"{event.type} lacks {sorted(missing)} in its data"
    warnings = sorted(
        event.data["days_before"]
        for event in events
        if event.type == "document.pre_expiration_warning"
    )
    assert warnings == [3, 5]
