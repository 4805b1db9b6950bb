"""The design test button, secret rotation and design copies."""

from __future__ import annotations

import json

from hook_receiver import Answer, HookReceiver
from sqlalchemy import func, select
from standardwebhooks import Webhook
from webhook_flow import (
    attach,
    copy_webhook_design,
    create_document,
    create_template,
    create_webhook_design,
    drain,
    enable_tracking,
    signatures_by,
)

from docrelay import clock
from docrelay.storage.models import Delivery, DeliveryAttempt

BODY = '{"event": "[Event]", "id": "[Document ID]", "name": "[Document Name]"}'
CHECKS = [
    {"source": "status_code", "operator": "equals", "value": "2xx"},
    {"source": "json_path", "expression": "$.result", "operator": "equals", "value": "accepted"},
    {"source": "body", "operator": "not_contains", "value": "error"},
]


def _count(runtime, model) -> int:
    with runtime.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_design_test_masks_secrets_and_reports(runtime, user, hook_receiver: HookReceiver) -> None:
    config = {
        "url": hook_receiver.url("/test"),
        "body_template": BODY,
        "headers": {"X-Api-Key": "key-[Document ID]"},
        "auth": {"type": "bearer", "token": "tok-SECRET-123"},
        "response_checks": CHECKS,
    }
    design_id, secret = create_webhook_design(runtime, user, "Tested", config)
    hook_receiver.script(
        "/test", Answer(200, b'{"result": "accepted"}'), Answer(200, b'{"result": "error"}')
    )

    response = user.client.post(
        f"/api/v1/designs/{design_id}/test", json={"event": "document.completed"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["outcome"] == "delivered"
    assert report["passed"] is True
    assert [verdict["passed"] for verdict in report["checks"]] == [True, True, True]
    assert report["checks"][1]["actual"] == "accepted"
    request = report["request"]
    assert request["method"] == "POST"
    assert request["url"] == hook_receiver.url("/test")
    assert request["headers"]["Authorization"] == "Bearer ***"
    assert json.loads(request["body"]) == {
        "event": "document.completed",
        "id": "doc_sample_0000000000000001",
        "name": "Sample Services Agreement",
    }
    assert "tok-SECRET-123" not in response.text
    assert secret not in response.text
    assert report["response"]["status"] == 200
    assert "accepted" in report["response"]["body"]

    (sent,) = hook_receiver.at("/test")
    assert sent.header("Authorization") == "Bearer tok-SECRET-123"
    assert sent.body.decode() == request["body"]  # the report shows the bytes on the wire
    Webhook(secret).verify(sent.body, sent.headers)

    failing = user.client.post(f"/api/v1/designs/{design_id}/test", json={}).json()
    assert failing["outcome"] == "fail"
    assert failing["error_class"] == "response_check_failed"
    assert [verdict["passed"] for verdict in failing["checks"]] == [True, False, False]
    assert _count(runtime, Delivery) == 0
    assert _count(runtime, DeliveryAttempt) == 0


def test_design_test_renders_a_chosen_document(runtime, user, hook_receiver: HookReceiver) -> None:
    template_id = create_template(user.client)
    document = create_document(user.client, template_id)
    design_id, _ = create_webhook_design(
        runtime, user, "Doc test", {"url": hook_receiver.url("/doc"), "body_template": BODY}
    )

    report = user.client.post(
        f"/api/v1/designs/{design_id}/test",
        json={"event": "document.created", "document_id": document["id"]},
    ).json()
    assert report["outcome"] == "delivered"
    assert json.loads(report["request"]["body"]) == {
        "event": "document.created",
        "id": document["id"],
        "name": document["name"],
    }

    missing = user.client.post(f"/api/v1/designs/{design_id}/test", json={"document_id": "nope"})
    assert missing.status_code == 404
    bad_event = user.client.post(
        f"/api/v1/designs/{design_id}/test", json={"event": "document.exploded"}
    )
    assert bad_event.status_code == 422
    assert "event" in bad_event.text
    assert _count(runtime, Delivery) == 0


def test_rotation_signs_with_both_secrets_for_24_hours(
    runtime, user, hook_receiver: HookReceiver
) -> None:
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    enable_tracking(runtime, user.account_id)
    template_id = create_template(user.client)
    design_id, old_secret = create_webhook_design(
        runtime, user, "Rotated", {"url": hook_receiver.url("/rot"), "body_template": BODY}
    )
    attach(user, template_id, design_id, {"event": "document.created"})

    rotated = user.client.post(f"/api/v1/designs/{design_id}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["signing_secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != old_secret

    create_document(user.client, template_id)
    drain(runtime)
    frozen.advance(hours=23)
    create_document(user.client, template_id)
    drain(runtime)
    frozen.advance(hours=2)
    create_document(user.client, template_id)
    drain(runtime)

    first, second, third = hook_receiver.at("/rot")
    Webhook(old_secret).verify(first.body, first.headers)
    Webhook(new_secret).verify(first.body, first.headers)
    for request in (first, second):
        assert len(request.header("webhook-signature").split(" ")) == 2
        assert signatures_by(old_secret, request)
        assert signatures_by(new_secret, request)
    assert len(third.header("webhook-signature").split(" ")) == 1
    assert signatures_by(new_secret, third)
    assert not signatures_by(old_secret, third)
    assert new_secret not in user.client.get(f"/api/v1/designs/{design_id}").text


def test_copy_gets_new_secret(runtime, user, hook_receiver: HookReceiver) -> None:
    enable_tracking(runtime, user.account_id)
    template_id = create_template(user.client)
    design_id, secret = create_webhook_design(
        runtime, user, "Original", {"url": hook_receiver.url("/orig"), "body_template": BODY}
    )
    copy_id, copy_secret = copy_webhook_design(runtime, user, design_id, "Copy of original")
    assert copy_id != design_id
    assert copy_secret.startswith("whsec_")
    assert copy_secret != secret
    attach(user, template_id, copy_id, {"event": "document.created"})

    create_document(user.client, template_id)
    drain(runtime)
    (request,) = hook_receiver.at("/orig")
    Webhook(copy_secret).verify(request.body, request.headers)
    assert not signatures_by(secret, request)
