"""A whole attempt against a real receiver: render, authenticate, sign, send, classify."""

from __future__ import annotations

import standardwebhooks
from webhook_harness import LOOPBACK_ALLOWED, Receiver, Reply, run

from docrelay import clock
from docrelay.delivery.outcome import OutcomeKind
from docrelay.webhooks.attempt import AttemptReport, WebhookDesign, attempt_delivery
from docrelay.webhooks.checks import ResponseCheck
from docrelay.webhooks.classify import MAX_BODY_BYTES
from docrelay.webhooks.merge import build_merge_values, render, sample_merge_source
from docrelay.webhooks.sender import make_client_session
from docrelay.webhooks.signature import generate_secret

SOAP = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<Notify xmlns="urn:x"><Id>[Document ID]</Id><User>[Authentication - Username]</User></Notify>
</soap:Body></soap:Envelope>"""


def attempt(design: WebhookDesign, values: dict[str, str]) -> AttemptReport:
    async def go() -> AttemptReport:
        async with make_client_session(LOOPBACK_ALLOWED) as session:
            return await attempt_delivery(session, design, values, "dlv_42", clock.now())

    return run(go)


def test_soap_attempt_delivered_and_verifiable(receiver: Receiver) -> None:
    secret = generate_secret()
    values = build_merge_values(sample_merge_source())
    design = WebhookDesign(
        url=receiver.url("/soap"),
        signing_secrets=(secret,),
        content_type="text/xml",
        body_template=SOAP,
        soap_action="urn:x/Notify",
        headers={"X-Document": "[Document ID]"},
        auth_type="basic",
        username="svc",
        password="pw",
        response_checks=(ResponseCheck(source="body", operator="contains", value="ok"),),
    )

    report = attempt(design, values)
    received = receiver.requests[0]

    assert report.outcome.kind is OutcomeKind.DELIVERED
    assert received.body == render(SOAP, values, "text/xml").encode()
    assert received.headers["SOAPAction"] == '"urn:x/Notify"'
    assert received.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert received.headers["X-Document"] == values["Document ID"]
    assert received.headers["Authorization"].startswith("Basic ")
    assert received.headers["webhook-id"] == "dlv_42"
    standardwebhooks.Webhook(secret).verify(received.body, received.headers, json_parse=False)
    assert "Authorization: Basic ***" in (report.outcome.request_summary or "")
    assert [verdict.passed for verdict in report.verdicts] == [True]


def test_attempt_with_rejected_credential_pauses(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(status=401))
    design = WebhookDesign(
        url=receiver.url(), signing_secrets=(generate_secret(),), auth_type="bearer", token="t"
    )

    report = attempt(design, {})

    assert report.outcome.kind is OutcomeKind.PAUSE


def test_header_injection_fails_without_sending(receiver: Receiver) -> None:
    design = WebhookDesign(
        url=receiver.url(), signing_secrets=(generate_secret(),), headers={"X-Name": "[Feedback]"}
    )

    report = attempt(design, {"Feedback": "a\r\nX-Evil: 1"})

    assert report.outcome.kind is OutcomeKind.FAIL
    assert report.outcome.error_class == "render_failed"
    assert "headers.X-Name" in (report.outcome.message or "")
    assert receiver.requests == []


def test_oversized_body_fails_without_sending(receiver: Receiver) -> None:
    design = WebhookDesign(
        url=receiver.url(),
        signing_secrets=(generate_secret(),),
        content_type="text/plain",
        body_template="[Completed Document Base64]",
    )

    report = attempt(design, {"Completed Document Base64": "A" * (MAX_BODY_BYTES + 1)})

    assert report.outcome.kind is OutcomeKind.FAIL
    assert report.outcome.error_class == "body_too_large"
    assert receiver.requests == []
