"""Designs, workflow and delivery log endpoints."""

from __future__ import annotations

from delivery_factory import create_document, design_id, make_template, move, set_tracking

from docrelay.delivery.worker import drain
from docrelay.runtime import Runtime
from docrelay.storage.models import Design

WEBHOOK = {
    "name": "Order system",
    "kind": "webhook",
    "allowed_events": None,
    "failure_contacts": ["ops@example.com"],
    "notify_on": "all",
    "retry_policy": {"delays_seconds": [5, 60], "jitter": 0.1},
    "config": {
        "url": "https://orders.example.com/hook",
        "method": "POST",
        "content_type": "application/json",
        "headers": {"X-Source": "DocRelay"},
        "body_template": '{"id": "[Document ID]", "status": "[Document Status]"}',
        "auth": {"type": "bearer", "token": "s3cr3t-token"},
    },
}


def _template(runtime: Runtime, account_id: str) -> str:
    with runtime.database.transaction() as session:
        return make_template(session, account_id).id


def test_new_account_lists_builtin_designs(user) -> None:
    items = user.client.get("/api/v1/designs").json()["items"]
    assert sorted((item["name"], item["kind"], item["builtin"]) for item in items) == [
        ("Salesforce Status Update", "salesforce_status", True),
        ("Salesforce Status Update With Document", "salesforce_status_with_document", True),
    ]


def test_webhook_design_hides_secrets(runtime: Runtime, user) -> None:
    created = user.client.post("/api/v1/designs", json=WEBHOOK)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["signing_secret"].startswith("whsec_")
    assert "s3cr3t-token" not in created.text
    assert body["config"]["auth"] == {
        "type": "bearer",
        "use_account_credential": False,
        "username": None,
    }

    read = user.client.get(f"/api/v1/designs/{body['id']}")
    assert read.status_code == 200
    assert "signing_secret" not in read.json()
    assert "s3cr3t" not in read.text
    with runtime.database.session() as session:
        stored = session.get(Design, body["id"])
        assert stored is not None and stored.secrets_encrypted is not None
        assert "s3cr3t" not in stored.secrets_encrypted


def test_design_name_unique_and_copy(user) -> None:
    first = user.client.post("/api/v1/designs", json=WEBHOOK).json()
    again = user.client.post("/api/v1/designs", json=WEBHOOK)
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "name"

    copy = user.client.post(f"/api/v1/designs/{first['id']}/copy")
    assert copy.status_code == 201
    assert copy.json()["name"] == "Copy of Order system"
    assert copy.json()["signing_secret"] != first["signing_secret"]


def test_design_update_and_validation(user) -> None:
    created = user.client.post("/api/v1/designs", json=WEBHOOK).json()
    changed = {**WEBHOOK, "name": "Orders v2", "enabled": False}
    updated = user.client.put(f"/api/v1/designs/{created['id']}", json=changed)
    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["enabled"]) == ("Orders v2", False)

    bad = user.client.post(
        "/api/v1/designs", json={**WEBHOOK, "name": "x", "retry_policy": {"jitter": 3}}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "retry_policy.jitter"
    unknown = user.client.post(
        "/api/v1/designs", json={**WEBHOOK, "name": "y", "kind": "carrier_pigeon"}
    )
    assert unknown.json()["errors"][0]["field"] == "kind"


def test_workflow_needs_tracking(runtime: Runtime, user) -> None:
    template = _template(runtime, user.account_id)
    status = design_id(runtime, user.account_id, "salesforce_status")
    refused = user.client.put(
        f"/api/v1/templates/{template}/workflow",
        json={"assignments": [{"event": "document.created", "design_id": status}]},
    )
    assert refused.status_code == 409
    assert refused.json()["setting"] == "tracking_enabled"


def test_workflow_rules(runtime: Runtime, user) -> None:
    set_tracking(runtime, user.account_id, True)
    template = _template(runtime, user.account_id)
    status = design_id(runtime, user.account_id, "salesforce_status")
    with_document = design_id(runtime, user.account_id, "salesforce_status_with_document")
    url = f"/api/v1/templates/{template}/workflow"

    wrong = user.client.put(
        url,
        json={
            "assignments": [
                {"event": "document.created", "design_id": status},
                {"event": "document.started", "design_id": with_document},
                {"event": "document.pre_expiration_warning", "design_id": status},
                {"event": "step.started", "design_id": status, "step": 0},
            ]
        },
    )
    assert wrong.status_code == 422
    fields = [error["field"] for error in wrong.json()["errors"]]
    assert fields == [
        "assignments[1].design_id",
        "assignments[2].pre_expiration_days",
        "assignments[3].step",
    ]

    good = user.client.put(
        url,
        json={
            "assignments": [
                {"event": "document.created", "design_id": status},
                {"event": "document.completed", "design_id": with_document},
                {
                    "event": "document.pre_expiration_warning",
                    "design_id": status,
                    "pre_expiration_days": 3,
                },
            ]
        },
    )
    assert good.status_code == 200, good.text
    listed = user.client.get(url).json()["assignments"]
    assert [(item["event"], item["design_kind"]) for item in listed] == [
        ("document.created", "salesforce_status"),
        ("document.completed", "salesforce_status_with_document"),
        ("document.pre_expiration_warning", "salesforce_status"),
    ]

    in_use = user.client.delete(f"/api/v1/designs/{status}")
    assert in_use.status_code == 409


def test_workflow_of_other_account_is_not_found(runtime: Runtime, user, other_user) -> None:
    template = _template(runtime, other_user.account_id)
    assert user.client.get(f"/api/v1/templates/{template}/workflow").status_code == 404


def test_delivery_log_and_resend(runtime: Runtime, user) -> None:
    set_tracking(runtime, user.account_id, True)
    status = design_id(runtime, user.account_id, "salesforce_status")
    document = create_document(
        runtime, user.account_id, [{"event": "document.started", "design_id": status}]
    )
    move(runtime, document, "DSS")

    listed = user.client.get(f"/api/v1/documents/{document}/deliveries").json()["items"]
    assert [(item["event"], item["state"]) for item in listed] == [("document.started", "pending")]
    delivery = listed[0]["id"]

    conflict = user.client.post(f"/api/v1/deliveries/{delivery}/resend")
    assert conflict.status_code == 409

    from docrelay.delivery.destinations.base import DestinationRegistry

    drain(
        runtime, 10, registry=DestinationRegistry()
    )  # no destination installed: fails permanently
    failed = user.client.get("/api/v1/deliveries", params={"state": "failed"}).json()
    assert [item["id"] for item in failed["items"]] == [delivery]

    resent = user.client.post(f"/api/v1/deliveries/{delivery}/resend")
    assert resent.status_code == 202
    assert (resent.json()["id"], resent.json()["state"]) == (delivery, "pending")

    detail = user.client.get(f"/api/v1/deliveries/{delivery}").json()
    assert [(a["number"], a["outcome"], a["resend"]) for a in detail["attempt_log"]] == [
        (1, "failed", False)
    ]
    assert user.client.get("/api/v1/deliveries", params={"state": "bogus"}).status_code == 422


def test_delivery_list_pages(runtime: Runtime, user, other_user) -> None:
    set_tracking(runtime, user.account_id, True)
    status = design_id(runtime, user.account_id, "salesforce_status")
    for _ in range(5):
        create_document(
            runtime, user.account_id, [{"event": "document.created", "design_id": status}]
        )

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = user.client.get("/api/v1/deliveries", params=params).json()
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert other_user.client.get("/api/v1/deliveries").json()["items"] == []
    assert other_user.client.get(f"/api/v1/deliveries/{seen[0]}").status_code == 404


def test_alerts_empty_by_default(user) -> None:
    assert user.client.get("/api/v1/alerts").json() == {"items": []}
