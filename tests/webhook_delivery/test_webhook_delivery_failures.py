"""Retries, a rejected credential and a receiver that is gone, through the real worker."""

from __future__ import annotations

import base64

from hook_receiver import Answer, HookReceiver
from standardwebhooks import Webhook
from webhook_flow import (
    attach,
    attempts,
    create_document,
    create_template,
    create_webhook_design,
    deliveries,
    design_row,
    drain,
    enable_tracking,
    open_alerts,
    send_document,
    signatures_by,
    signing_paths,
    update_webhook_design,
)

from docrelay import clock
from docrelay.storage.models import Design

BODY = '{"event": "[Event]", "id": "[Document ID]"}'


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_retries_keep_webhook_id(runtime, user, hook_receiver: HookReceiver) -> None:
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    enable_tracking(runtime, user.account_id)
    template_id = create_template(user.client)
    design_id, secret = create_webhook_design(
        runtime, user, "Flaky", {"url": hook_receiver.url("/flaky"), "body_template": BODY}
    )
    attach(user, template_id, design_id, {"event": "document.created"})
    hook_receiver.script("/flaky", Answer(503), Answer(500), Answer(200))
    create_document(user.client, template_id)

    assert drain(runtime) == 1
    (delivery,) = deliveries(runtime, design_id)
    assert delivery.state == "retrying"
    for _ in range(2):
        frozen.advance(minutes=2)  # past the 10 s and 1 min retries, jitter included
        drain(runtime)

    (delivery,) = deliveries(runtime, design_id)
    assert delivery.state == "delivered"
    received = hook_receiver.at("/flaky")
    assert len(received) == 3
    assert {request.header("webhook-id") for request in received} == {delivery.id}
    assert len({request.header("webhook-timestamp") for request in received}) == 3
    assert all(signatures_by(secret, request) for request in received)
    assert [attempt.outcome for attempt in attempts(runtime, delivery.id)] == [
        "retry",
        "retry",
        "delivered",
    ]


def test_rejected_credential_pauses_design(runtime, user, hook_receiver: HookReceiver) -> None:
    enable_tracking(runtime, user.account_id)
    template_id = create_template(user.client)
    config = {
        "url": hook_receiver.url("/auth"),
        "body_template": BODY,
        "auth": {"type": "basic", "username": "svc", "password": "wrong"},
    }
    design_id, secret = create_webhook_design(runtime, user, "Authenticated", config)
    other_id, _ = create_webhook_design(
        runtime, user, "Open", {"url": hook_receiver.url("/open"), "body_template": BODY}
    )
    for target in (design_id, other_id):
        attach(
            user,
            template_id,
            target,
            {"event": "step.started"},
            {"event": "landing_page.visited"},
        )
    hook_receiver.required_authorization["/auth"] = _basic("svc", "right")

    document = create_document(user.client, template_id)
    send_document(user.client, document["id"])
    drain(runtime)
    first_signer = signing_paths(user.client, document["id"])[0]
    assert user.client.get(first_signer).status_code == 200
    drain(runtime)

    assert [row.state for row in deliveries(runtime, design_id)] == ["paused", "paused"]
    assert [row.state for row in deliveries(runtime, other_id)] == ["delivered", "delivered"]
    assert len(hook_receiver.at("/auth")) == 1  # the second delivery waits without a login attempt
    alert_keys = {alert.key for alert in open_alerts(runtime, user.account_id)}
    assert f"design:{design_id}:credential" in alert_keys

    config["auth"] = {"type": "basic", "username": "svc", "password": "right"}
    update_webhook_design(runtime, user, design_id, "Authenticated", config)
    drain(runtime)

    rows = deliveries(runtime, design_id)
    assert [row.state for row in rows] == ["delivered", "delivered"]
    accepted = [
        request
        for request in hook_receiver.at("/auth")
        if request.header("Authorization") == _basic("svc", "right")
    ]
    assert [request.header("webhook-id") for request in accepted] == [row.id for row in rows]
    assert [
        Webhook(secret).verify(request.body, request.headers)["event"] for request in accepted
    ] == ["step.started", "landing_page.visited"]
    assert f"design:{design_id}:credential" not in {
        alert.key for alert in open_alerts(runtime, user.account_id)
    }
    assert all(row.attempts == 1 for row in rows)  # the paused attempt was not counted


def test_gone_receiver_disables_design(runtime, user, hook_receiver: HookReceiver) -> None:
    enable_tracking(runtime, user.account_id)
    template_id = create_template(user.client)
    design_id, _ = create_webhook_design(
        runtime, user, "Retired", {"url": hook_receiver.url("/gone"), "body_template": BODY}
    )
    attach(
        user,
        template_id,
        design_id,
        {"event": "document.created"},
        {"event": "document.started"},
    )
    hook_receiver.script("/gone", Answer(410, b"endpoint removed"))

    document = create_document(user.client, template_id)
    drain(runtime)
    (delivery,) = deliveries(runtime, design_id)
    assert delivery.state == "failed"
    assert delivery.last_error_class == "http_410"
    design = design_row(runtime, design_id)
    assert design.enabled is False
    assert "410" in (design.disabled_reason or "")
    alerts = [
        alert
        for alert in open_alerts(runtime, user.account_id)
        if alert.key == f"design:{design_id}:gone"
    ]
    assert len(alerts) == 1
    assert alerts[0].kind == "design_disabled"

    send_document(user.client, document["id"])
    drain(runtime)
    assert len(deliveries(runtime, design_id)) == 1  # a disabled design gets no new deliveries
    assert len(hook_receiver.at("/gone")) == 1

    config = {"url": hook_receiver.url("/moved"), "body_template": BODY}
    update_webhook_design(runtime, user, design_id, "Retired", config)
    design = design_row(runtime, design_id)
    assert design.enabled is True
    assert design.disabled_reason is None
    assert f"design:{design_id}:gone" not in {
        alert.key for alert in open_alerts(runtime, user.account_id)
    }


def test_unreadable_design_secrets_fail_the_delivery(
    runtime, user, hook_receiver: HookReceiver
) -> None:
    enable_tracking(runtime, user.account_id)
    template_id = create_template(user.client)
    design_id, _ = create_webhook_design(
        runtime, user, "Broken", {"url": hook_receiver.url("/broken"), "body_template": BODY}
    )
    attach(user, template_id, design_id, {"event": "document.created"})
    with runtime.database.transaction() as session:
        session.get(Design, design_id).secrets_encrypted = "not-a-valid-token"

    create_document(user.client, template_id)
    drain(runtime)

    (delivery,) = deliveries(runtime, design_id)
    assert delivery.state == "failed"
    assert delivery.last_error_class == "design_invalid"
    assert hook_receiver.at("/broken") == []
